// Contract: the PP-OCRv4 second reader loads the frozen models prepared at set-up, reads rendered and degraded
// words, outputs only Latin-script characters, and the OCR stage keeps its reading unless Tesseract is surer
// or read a letter PP-OCR cannot spell.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <thread>

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>
#include <opencv2/freetype.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/models.hpp"
#include "stages/ocr/line_vote.hpp"
#include "stages/ocr/ppocr_reader.hpp"
#include "stages/ocr/tesseract_line.hpp"
#include "tests/support/test_support.hpp"

using namespace cluetrace;
namespace fs = std::filesystem;

namespace {

constexpr const char* kFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

// `text` in dark ink on a light label, `height` pixels high, with a margin of half that around it.
cv::Mat render(const std::string& text, int height) {
  auto face = cv::freetype::createFreeType2();
  face->loadFontData(kFont, 0);
  int baseline = 0;
  const cv::Size size = face->getTextSize(text, height, -1, &baseline);
  cv::Mat img(height * 2, size.width + height, CV_8UC3, cv::Scalar(225, 232, 236));
  face->putText(img, text, cv::Point(height / 2, height / 2), height, cv::Scalar(40, 30, 30), -1, cv::LINE_AA, false);
  return img;
}

// What a small, soft, JPEG-compressed word in a photo looks like: scaled down, blurred, re-encoded.
cv::Mat degrade(const cv::Mat& img, double scale) {
  cv::Mat small, blurred;
  cv::resize(img, small, cv::Size(), scale, scale, cv::INTER_AREA);
  cv::GaussianBlur(small, blurred, cv::Size(3, 3), 0.9);
  std::vector<unsigned char> jpeg;
  cv::imencode(".jpg", blurred, jpeg, {cv::IMWRITE_JPEG_QUALITY, 45});
  return cv::imdecode(jpeg, cv::IMREAD_COLOR);
}

// The characters read, without leading or trailing spaces.
std::string text_of(const ocr::PpocrReading& r) {
  std::string s;
  for (const auto& c : r.characters) s += c.utf8;
  const auto first = s.find_first_not_of(' ');
  return first == std::string::npos ? "" : s.substr(first, s.find_last_not_of(' ') - first + 1);
}

class Ppocr : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    reader_ = new ocr::PpocrReader(models_dir() / "ppocr-rec", {160, 320, 640, 1280});
    reader_->prepare();  // scripts/fetch-models.sh (run by ./test.sh) prepares the models
  }
  static void TearDownTestSuite() { delete reader_; }
  static ocr::PpocrReader* reader_;
};
ocr::PpocrReader* Ppocr::reader_ = nullptr;

TEST_F(Ppocr, ReadsRenderedWordsAtEveryFrozenWidth) {
  // Lines of every length land in the 160-, 320-, 640- and 1280-pixel nets.
  for (const std::string text : {"PARKING", "Opening hours 9-18", "Fresh bread and cakes every morning",
                                 "Bahnhofstrasse 12, 8001 Zurich, Tel. 044 123 45 67, www.example.ch"}) {
    const auto reading = reader_->read(render(text, 40));
    EXPECT_EQ(text_of(reading), text);
    for (const auto& c : reading.characters) EXPECT_GT(c.probability, 0.3) << text << ": " << c.utf8;
  }
  // A line longer than the widest net is left to Tesseract: squeezed, it would be garbled.
  std::string longest;
  for (int i = 0; i < 4; ++i) longest += "Bahnhofstrasse 12, 8001 Zurich, ";
  EXPECT_TRUE(reader_->read(render(longest, 40)).characters.empty());
}

TEST_F(Ppocr, TheDecodersSoftmaxGivesTheNetsProbabilities) {
  // The default reader stops each net before its softmax and computes the kept classes' probabilities itself;
  // a reader told to use the net's own softmax must read the same characters at the same steps, with the same
  // probabilities within float rounding (1e-4: a sum of 6,625 single-precision exponentials, two ways). Clean,
  // degraded and noise lines, at every width.
  ocr::PpocrReader by_net(models_dir() / "ppocr-rec", {160, 320, 640, 1280}, ocr::PpocrReader::Softmax::net);
  by_net.prepare();
  std::vector<cv::Mat> lines;
  for (const std::string text : {"PARKING", "Opening hours 9-18", "Fresh bread and cakes every morning",
                                 "Bahnhofstrasse 12, 8001 Zurich, Tel. 044 123 45 67, www.example.ch"}) {
    lines.push_back(render(text, 40));
    lines.push_back(degrade(render(text, 60), 0.3));
  }
  cv::RNG rng(11);
  for (int i = 0; i < 4; ++i) {
    cv::Mat noise(48, 100 + 150 * i, CV_8UC3);
    rng.fill(noise, cv::RNG::UNIFORM, 0, 255);
    cv::GaussianBlur(noise, noise, cv::Size(0, 0), 1.5);
    lines.push_back(noise);
  }
  std::size_t compared = 0, unsure = 0;
  for (const auto& line : lines) {
    const auto ours = reader_->read(line), theirs = by_net.read(line);
    ASSERT_EQ(ours.characters.size(), theirs.characters.size()) << text_of(theirs);
    for (std::size_t i = 0; i < ours.characters.size(); ++i) {
      EXPECT_EQ(ours.characters[i].utf8, theirs.characters[i].utf8);
      EXPECT_EQ(ours.characters[i].step, theirs.characters[i].step);
      EXPECT_NEAR(ours.characters[i].probability, theirs.characters[i].probability, 1e-4);
      unsure += theirs.characters[i].probability < 0.9;
      ++compared;
    }
  }
  EXPECT_GT(compared, 150u);
  EXPECT_GT(unsure, 5u);  // not only the near-certain characters
}

TEST_F(Ppocr, ReadsSmallBlurredWords) {
  for (const std::string text : {"PHARMACY", "Bakery", "SALE"}) {
    EXPECT_EQ(text_of(reader_->read(degrade(render(text, 60), 0.3))), text);  // about 18 pixels high
  }
}

TEST_F(Ppocr, OutputsOnlyWhatItCanSpell) {
  // Noise and a picture make the network guess: whatever it outputs must be Latin script, never the CJK
  // characters, full-width forms or circled digits of its dictionary.
  cv::RNG rng(7);
  for (int i = 0; i < 12; ++i) {
    cv::Mat noise(48, 80 + 40 * i, CV_8UC3);
    rng.fill(noise, cv::RNG::UNIFORM, 0, 255);
    cv::GaussianBlur(noise, noise, cv::Size(0, 0), 1 + i % 3);
    for (const auto& c : reader_->read(noise).characters) {
      EXPECT_TRUE(c.utf8 == " " || reader_->spells(c.utf8)) << c.utf8;
    }
  }
  EXPECT_TRUE(reader_->spells("é"));
  EXPECT_TRUE(reader_->spells("ü"));
  EXPECT_FALSE(reader_->spells("ß"));
  EXPECT_FALSE(reader_->spells("ł"));
  EXPECT_FALSE(reader_->spells("东"));
}

TEST_F(Ppocr, StepsGiveWordBoxesInReadingOrder) {
  const cv::Mat img = render("Fresh bread daily", 40);
  cv::Mat line;
  cv::resize(img, line, cv::Size(img.cols * 48 / img.rows, 48));
  const auto reading = ocr::words_from_steps(reader_->read(line), 48, 0.3);
  ASSERT_EQ(reading.words.size(), 3u);
  EXPECT_EQ(reading.text, "Fresh bread daily");
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& q = reading.words[i].quad;
    EXPECT_LT(q[0].x, q[1].x);
    EXPECT_GE(q[0].x, 0);
    EXPECT_LE(q[1].x, line.cols + 16);
    if (i > 0) {
      EXPECT_LE(reading.words[i - 1].quad[0].x, q[0].x);
    }
  }
  // "bread" lies in the middle third of the line.
  EXPECT_GT(reading.words[1].quad[0].x, line.cols * 0.2);
  EXPECT_LT(reading.words[1].quad[1].x, line.cols * 0.8);
  EXPECT_GT(reading.confidence, 0.8);
  EXPECT_LE(reading.weakest, reading.confidence);
}

TEST(LineVote, WordsFromStepsDropsUnsureWords) {
  ocr::PpocrReading r;
  r.pixels_per_step = 8;
  for (const auto& [c, p, step] : std::vector<std::tuple<std::string, float, int>>{
           {"O", 0.9f, 1}, {"K", 0.95f, 3}, {" ", 0.9f, 5}, {"x", 0.1f, 7}, {"y", 0.2f, 8}}) {
    r.characters.push_back({c, p, step});
  }
  const auto line = ocr::words_from_steps(r, 48, 0.3);
  ASSERT_EQ(line.words.size(), 1u);
  EXPECT_EQ(line.text, "OK");
  EXPECT_NEAR(line.confidence, 0.925, 1e-6);
  EXPECT_NEAR(line.weakest, 0.9, 1e-6);
  EXPECT_NEAR(line.words[0].quad[0].x, 4, 1e-6);   // half a step before step 1
  EXPECT_NEAR(line.words[0].quad[1].x, 36, 1e-6);  // half a step after step 3
}

ocr::LineReading reading(const std::string& text, double confidence, double weakest) {
  ocr::LineReading r;
  r.text = text;
  r.confidence = confidence;
  r.weakest = weakest;
  r.words.push_back({text, confidence, {}, false});
  return r;
}

TEST(LineVote, PrefersTheSureReadingAndKeepsUnspellableLetters) {
  const ocr::CanSpell can_spell = [](const std::string& c) { return c.size() == 1 || c == "é" || c == "ü"; };
  const ocr::VoteOptions o;  // sure 0.5, doubt 0.8
  const auto choose = [&](const ocr::LineReading& t, const ocr::LineReading& p) {
    return ocr::combine_readings(t, p, can_spell, o).text;
  };
  const auto sure_pp = reading("PARKING", 0.95, 0.7);
  const auto unsure_pp = reading("PARKlNG", 0.8, 0.3);
  EXPECT_EQ(choose(reading("PARKINC", 0.9, 0.9), sure_pp), "PARKING");       // PP-OCR sure of every letter
  EXPECT_EQ(choose(reading("PARKING", 0.9, 0.9), unsure_pp), "PARKING");     // Tesseract sure, PP-OCR not
  EXPECT_EQ(choose(reading("PARK1NG", 0.6, 0.6), unsure_pp), "PARKlNG");     // neither sure: PP-OCR
  EXPECT_EQ(choose(reading("Straße", 0.7, 0.7), reading("Strasse", 0.99, 0.9)), "Straße");   // ß kept
  EXPECT_EQ(choose(reading("Łódź", 0.5, 0.5), reading("Lodz", 0.99, 0.9)), "Łódź");          // Ł, ó, ź kept
  EXPECT_EQ(choose(reading("Łąę ßx", 0.5, 0.5), reading("PARKING", 0.99, 0.9)), "PARKING");  // not the same word
  EXPECT_EQ(choose(reading("Café", 0.9, 0.9), reading("Cafe", 0.99, 0.98)), "Café");   // same letters: accent kept
  EXPECT_EQ(choose(reading("Würstchen", 0.7, 0.7), reading("Wirstchen", 0.95, 0.9)), "Würstchen");  // ü read as i
  EXPECT_EQ(choose(reading("Würstchem", 0.7, 0.7), reading("Wirstchen", 0.95, 0.9)), "Wirstchen");  // two letters off
  EXPECT_EQ(choose(reading("Tel.035 98450", 0.9, 0.9), reading("Tel.03598450", 0.99, 0.98)), "Tel.035 98450");
  EXPECT_EQ(choose(ocr::LineReading{}, sure_pp), "PARKING");                  // one reader saw nothing
  EXPECT_EQ(choose(reading("EXIT", 0.9, 0.9), ocr::LineReading{}), "EXIT");
  // Where the readings differ, PP-OCR's words take Tesseract's spelling when the letters agree, alone or as a
  // run of words PP-OCR read without spaces.
  ocr::LineReading t;
  t.text = "Entrée Lait Fermé Rue";
  t.confidence = t.weakest = 0.7;
  for (const std::string w : {"Entrée", "Lait", "Fermé", "Rue"}) t.words.push_back({w, 0.7, {}, true});
  ocr::LineReading p;
  p.text = "Entree LaitFerme Rues";
  p.confidence = 0.9;
  p.weakest = 0.6;
  for (const std::string w : {"Entree", "LaitFerme", "Rues"}) p.words.push_back({w, 0.9, {}, false});
  const auto merged = ocr::combine_readings(t, p, can_spell, o);
  EXPECT_EQ(merged.text, "Entrée Lait Fermé Rues");
  ASSERT_EQ(merged.words.size(), 4u);
  EXPECT_TRUE(merged.words[1].dictionary);

  EXPECT_TRUE(ocr::has_unspellable_letter("Smørrebrød", can_spell));
  EXPECT_FALSE(ocr::has_unspellable_letter("Café 12 × 4 €", can_spell));  // no letter it cannot spell
}

TEST(LineVote, WordsBothReadersReadAlikeAreAsSureAsTheSurerReader) {
  const ocr::CanSpell can_spell = [](const std::string& c) { return c.size() == 1 || c == "é"; };
  const ocr::VoteOptions o;
  // The same letters on the whole line: Tesseract's spelling, PP-OCR's confidence where it is the higher.
  const auto same = ocr::combine_readings(reading("RedBull", 0.32, 0.32), reading("RedBull", 0.93, 0.53), can_spell, o);
  EXPECT_EQ(same.text, "RedBull");
  EXPECT_NEAR(same.confidence, 0.93, 1e-9);
  ASSERT_EQ(same.words.size(), 1u);
  EXPECT_NEAR(same.words[0].confidence, 0.93, 1e-9);
  // ... and Tesseract's where that is: never lowered.
  const auto surer = ocr::combine_readings(reading("EXIT", 0.9, 0.9), reading("EXIT", 0.6, 0.4), can_spell, o);
  EXPECT_NEAR(surer.confidence, 0.9, 1e-9);
  // Word by word: a PP-OCR word spelt by Tesseract's takes the higher confidence; the others keep PP-OCR's.
  ocr::LineReading t;
  t.text = "Lait Fermé";
  t.confidence = t.weakest = 0.35;
  for (const std::string w : {"Lait", "Fermé"}) t.words.push_back({w, 0.35, {}, true});
  ocr::LineReading p;
  p.text = "Lait Ferme 1L";
  p.confidence = 0.8;
  p.weakest = 0.6;
  for (const auto& [w, c] : std::vector<std::pair<std::string, double>>{{"Lait", 0.9}, {"Ferme", 0.7}, {"1L", 0.6}})
    p.words.push_back({w, c, {}, false});
  const auto merged = ocr::combine_readings(t, p, can_spell, o);
  EXPECT_EQ(merged.text, "Lait Fermé 1L");
  ASSERT_EQ(merged.words.size(), 3u);
  EXPECT_NEAR(merged.words[0].confidence, 0.9, 1e-9);
  EXPECT_NEAR(merged.words[1].confidence, 0.7, 1e-9);
  EXPECT_NEAR(merged.words[2].confidence, 0.6, 1e-9);
}

TEST(LineStage, ASureLineOutsideTheDictionarySkipsPpocrOnlyWhenTheDictionaryIsNotNeeded) {
  // Tesseract reads these made-up words surely, but not from its dictionary.
  const cv::Mat line = render("Zorblax Quimbo 4711", 60);
  const auto ppocr_reads = [&](const std::string& needs_dictionary) {
    ocr::TesseractLineStage stage(test::options_from_yaml<ocr::TesseractLineOptions>(
        "reread_below: 0.0\nppocr_skip_above: 0.5\nppocr_skip_needs_dictionary: " + needs_dictionary));
    stage.prepare();
    auto image = test::line_record(line);
    StageResult out;
    stage.process(image, out);
    EXPECT_EQ(out.clues.size(), 1u);
    EXPECT_EQ(stage.reads().tesseract, 1u);
    return stage.reads().ppocr;
  };
  EXPECT_EQ(ppocr_reads("true"), 1u);
  EXPECT_EQ(ppocr_reads("false"), 0u);
}

TEST(LineStage, SecondReaderMissingIsNamedOrRefused) {
  const auto empty = fs::temp_directory_path() / "cluetrace_no_ppocr_models";
  fs::create_directories(empty);
  ocr::TesseractLineStage lenient(
      test::options_from_yaml<ocr::TesseractLineOptions>("ppocr_models: " + empty.string()));
  lenient.prepare();
  const auto resources = lenient.resources();
  ASSERT_TRUE(resources.contains("ppocr"));
  EXPECT_NE(resources["ppocr"]["off"].get<std::string>().find(empty.string()), std::string::npos);

  ocr::TesseractLineStage strict(test::options_from_yaml<ocr::TesseractLineOptions>(
      "ppocr_models: " + empty.string() + "\nif_ppocr_missing: error"));
  try {
    strict.prepare();
    FAIL() << "prepare() accepted a folder without models";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(empty.string()), std::string::npos) << e.what();
  }
  fs::remove_all(empty);
}

TEST(LineStage, WidthsMustBeMultiplesOfEight) {
  for (const std::string bad : {"ppocr_widths: [160, 100]", "ppocr_widths: [wide]"}) {
    ConfigProblems problems;
    OptionReader reader(YAML::Load(bad), "stages.ocr", "test", problems);
    ocr::TesseractLineOptions::read(reader);
    reader.finish();
    EXPECT_NE(problems.to_string().find("stages.ocr.ppocr_widths"), std::string::npos) << bad;
  }
  const auto o = test::options_from_yaml<ocr::TesseractLineOptions>("ppocr_widths: [320, 1280]");
  EXPECT_EQ(o.ppocr_widths, (std::vector<int>{320, 1280}));
}

TEST(LineStage, ReadsASmallSoftWordWithBothReaders) {
  // A word about 20 pixels high, soft and JPEG-compressed, as in a photo: read exactly, its word box in
  // original pixels.
  const cv::Mat word = degrade(render("WISTERIA", 70), 0.28);
  auto image = test::line_record(word);
  const auto w = static_cast<float>(word.cols);
  ocr::TesseractLineStage both(test::options_from_yaml<ocr::TesseractLineOptions>("languages: [Latin]"));
  both.prepare();
  StageResult out;
  both.process(image, out);
  ASSERT_EQ(out.clues.size(), 1u);
  EXPECT_EQ(out.clues[0].value, "WISTERIA");
  ASSERT_EQ(out.clues[0].words.size(), 1u);
  for (const auto& p : out.clues[0].words[0].quad) {
    EXPECT_GE(p.x, -2);
    EXPECT_LE(p.x, w + 2);
  }
  EXPECT_EQ(both.resources()["ppocr"]["models"].size(), 7u);  // 96, 128, 160, 224, 320, 480, 640 by default
}

}  // namespace

// A fresh folder `name` (in the temporary folder) holding the recogniser's key file and its 160-wide net.
static fs::path folder_with_the_160_net(const std::string& name) {
  const auto dir = fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(models_dir() / "ppocr-rec" / "keys.txt", dir / "keys.txt");
  fs::copy_file(models_dir() / "ppocr-rec" / "rec-160.onnx", dir / "rec-160.onnx");
  return dir;
}

// A worker thread builds its nets from the files when it first reads: a model replaced after the run started (and
// hashed into run.json) is refused by name rather than read with.
TEST(LineStage, AModelChangedAfterPrepareIsRefusedByName) {
  const auto dir = folder_with_the_160_net("cluetrace-ppocr-changed");
  {
    ocr::PpocrReader unchanged(dir, {160});
    unchanged.prepare();
    EXPECT_EQ(text_of(unchanged.read(render("Hafen", 40))), "Hafen");
  }
  ocr::PpocrReader reader(dir, {160});
  reader.prepare();
  {
    std::ofstream out(dir / "rec-160.onnx", std::ios::binary | std::ios::app);
    out << "tampered";
  }
  // A read takes the net prepare() checked (built from the bytes it hashed). Reads at once in an arena of four
  // threads are two at a time: the second user's net is built from the file, which it finds changed. Two threads
  // of our own read in that arena (in its two slots kept for such threads: a parallel_for there ran every read on
  // one thread when the machine was busy), side by side within a few reads; on a loaded machine one may finish
  // before the other starts, so they try again (up to 20 times).
  EXPECT_EQ(text_of(reader.read(render("Hafen", 40))), "Hafen");
  std::string error;
  std::mutex error_mutex;
  const cv::Mat line = render("Hafen", 40);
  const auto reads = [&] {
    for (int i = 0; i < 16; ++i) {
      try {
        reader.read(line);
      } catch (const std::runtime_error& e) {
        const std::lock_guard lock(error_mutex);
        error = e.what();
        return;
      }
    }
  };
  oneapi::tbb::task_arena arena(4, 2);
  for (int round = 0; round < 20 && error.empty(); ++round) {
    std::thread a([&] { arena.execute(reads); }), b([&] { arena.execute(reads); });
    a.join();
    b.join();
  }
  EXPECT_NE(error.find((dir / "rec-160.onnx").string()), std::string::npos) << error;
  EXPECT_NE(error.find("changed since the run started"), std::string::npos) << error;
  fs::remove_all(dir);
}

// Each net's output shape is checked without reading a line: prepare() checks the narrowest net's, and with it
// the key file's classes; a wider net is checked when a line first needs it. A net frozen for another width, or
// one whose classes are not the key file's, is refused naming its file.
TEST(LineStage, ANetOfAnotherWidthOrOtherClassesIsRefusedByName) {
  const auto dir = folder_with_the_160_net("cluetrace-ppocr-shapes");
  fs::copy_file(models_dir() / "ppocr-rec" / "rec-160.onnx", dir / "rec-320.onnx");  // frozen for 160
  const auto refusal = [&](std::vector<int> widths, const std::string& text) {
    ocr::PpocrReader reader(dir, std::move(widths));
    try {
      reader.prepare();
      if (!text.empty()) reader.read(render(text, 40));
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(refusal({160}, "Hafen"), "");
  // The 320 net as the narrowest: refused by prepare().
  const auto at_start = refusal({320}, "");
  EXPECT_NE(at_start.find((dir / "rec-320.onnx").string()), std::string::npos) << at_start;
  // Beside the 160 net: a short line is read, a long one (wider than 160 at height 48) finds the 320 net wrong.
  EXPECT_EQ(refusal({160, 320}, "Hafen"), "");
  const auto when_needed = refusal({160, 320}, "Opening hours 9-18");
  EXPECT_NE(when_needed.find((dir / "rec-320.onnx").string()), std::string::npos) << when_needed;

  {
    std::ofstream keys(dir / "keys.txt", std::ios::app);
    keys << "\nextra";  // one class more than the net outputs
  }
  const auto wrong_classes = refusal({160}, "");
  EXPECT_NE(wrong_classes.find("does not output [1, 20, "), std::string::npos) << wrong_classes;
  EXPECT_NE(wrong_classes.find((dir / "rec-160.onnx").string()), std::string::npos) << wrong_classes;
  fs::remove_all(dir);
}
