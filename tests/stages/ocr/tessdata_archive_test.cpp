// Contract: `cluetrace tessdata prepare` re-packs a traineddata file as a tar of its components, byte for byte;
// Tesseract reads the same text with the same confidences from it; the OCR stage's engines use it only while it
// matches the file it was made from, only for a set of one language, and say which in run.json's resources.
#include <sys/stat.h>
#include <utime.h>

#include <cstring>
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include <tesseract/baseapi.h>

#include "pipeline/models.hpp"
#include "stages/ocr/tessdata_archive.hpp"
#include "stages/ocr/tesseract_engine.hpp"
#include "tests/support/test_support.hpp"

using namespace cluetrace;
namespace fs = std::filesystem;

namespace {

const fs::path kSystem = ocr::system_tessdata_dir();

// A tessdata folder of our own with a copy of the system's `lang` model, so that the test can change it.
fs::path copy_model(const test::TempDir& dir, const std::string& lang) {
  const fs::path folder = dir / "tessdata";
  fs::create_directories(folder);
  fs::copy_file(kSystem / (lang + ".traineddata"), folder / (lang + ".traineddata"), fs::copy_options::overwrite_existing);
  return folder;
}

// Copies of two system models in the test's tessdata folder, each with its archive in dir/archives.
fs::path prepare_both(const test::TempDir& dir, const std::string& first, const std::string& second) {
  const auto folder = copy_model(dir, first);
  fs::copy_file(kSystem / (second + ".traineddata"), folder / (second + ".traineddata"));
  for (const auto& lang : {first, second}) ocr::prepare_traineddata(folder / (lang + ".traineddata"), dir / "archives");
  return folder;
}

// The members of an uncompressed ustar archive, read by hand: name -> bytes.
std::map<std::string, std::string> tar_members(const fs::path& file) {
  const auto bytes = test::read_bytes(file);
  std::map<std::string, std::string> out;
  std::size_t at = 0;
  while (at + 512 <= bytes.size()) {
    const char* h = reinterpret_cast<const char*>(bytes.data() + at);
    if (h[0] == '\0') break;
    const std::string name(h, strnlen(h, 100));
    EXPECT_EQ(std::string(h + 257, 5), "ustar") << name;
    const std::size_t size = std::stoull(std::string(h + 124, 11), nullptr, 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
    EXPECT_EQ(sum, std::stoul(std::string(h + 148, 6), nullptr, 8)) << "checksum of " << name;
    out[name] = std::string(reinterpret_cast<const char*>(bytes.data() + at + 512), size);
    at += 512 + (size + 511) / 512 * 512;
  }
  return out;
}

cv::Mat line_image(const std::string& text) {
  cv::Mat img(70, 900, CV_8UC1, cv::Scalar(240));
  cv::putText(img, text, {12, 50}, cv::FONT_HERSHEY_SIMPLEX, 1.3, cv::Scalar(15), 3, cv::LINE_AA);
  return img;
}

struct Reading {
  std::string text;
  std::vector<int> confidences;
};

Reading read_with(tesseract::TessBaseAPI& api, const cv::Mat& line) {
  api.SetPageSegMode(tesseract::PSM_SINGLE_LINE);
  api.SetImage(line.data, line.cols, line.rows, 1, static_cast<int>(line.step));
  Reading r;
  std::unique_ptr<char[]> text(api.GetUTF8Text());
  r.text = text.get();
  std::unique_ptr<int[]> conf(api.AllWordConfidences());
  for (int i = 0; conf[i] != -1; ++i) r.confidences.push_back(conf[i]);
  return r;
}

Reading read_from(const fs::path& folder, const std::string& lang, const cv::Mat& line) {
  tesseract::TessBaseAPI api;
  EXPECT_EQ(api.Init(folder.c_str(), lang.c_str(), tesseract::OEM_LSTM_ONLY), 0) << folder;
  return read_with(api, line);
}

void set_mtime(const fs::path& file, time_t seconds) {
  const struct utimbuf times{seconds, seconds};
  ASSERT_EQ(::utime(file.c_str(), &times), 0);
}

}  // namespace

TEST(TessdataArchive, HoldsEveryComponentByteForByteUnderTesseractsNames) {
  test::TempDir dir;
  const auto source = kSystem / "eng.traineddata";
  bool written = false;
  const auto prepared = ocr::prepare_traineddata(source, dir / "archives", &written);
  EXPECT_TRUE(written);
  EXPECT_EQ(prepared.archive, dir / "archives" / "eng.traineddata");
  EXPECT_EQ(prepared.source_bytes, fs::file_size(source));
  EXPECT_EQ(prepared.source_sha256.size(), 64u);

  const auto raw = test::read_bytes(source);
  const std::vector<char> bytes(raw.begin(), raw.end());
  const auto components = ocr::traineddata_components(bytes, source);
  const auto members = tar_members(prepared.archive);
  ASSERT_EQ(members.size(), components.size());
  bool word_list = false;
  for (const auto& c : components) {
    const auto it = members.find("eng." + c.suffix);
    ASSERT_NE(it, members.end()) << c.suffix;
    EXPECT_EQ(it->second, std::string(bytes.data() + c.offset, c.size)) << c.suffix;
    word_list |= c.suffix == "lstm-word-dawg";
  }
  EXPECT_TRUE(word_list);
}

// Latin, the default model, is the language every test of this file reads from an archive: Tesseract's cache of
// word lists has no name for an archive's, so a second language read from one in the same process would be given
// the first one's (the engines refuse that: ALanguageReadFromAnArchiveIsTheOnlyOneInTheProcess).
TEST(TessdataArchive, TesseractReadsTheSameTextWithTheSameConfidencesFromIt) {
  test::TempDir dir;
  for (const std::string lang : {"Latin"}) {
    ocr::prepare_traineddata(kSystem / (lang + ".traineddata"), dir / "archives");
    for (const std::string text : {"Bakery open daily 7-18", "Tel 030 1234567", "Grosse Auswahl"}) {
      const auto line = line_image(text);
      const auto from_file = read_from(kSystem, lang, line);
      const auto from_archive = read_from(dir / "archives", lang, line);
      EXPECT_FALSE(from_file.text.empty()) << lang << ": " << text;
      EXPECT_EQ(from_archive.text, from_file.text) << lang;
      EXPECT_EQ(from_archive.confidences, from_file.confidences) << lang << ": " << text;
    }
  }
}

TEST(TessdataArchive, IsMadeAgainOnlyWhenItsSourceChanged) {
  test::TempDir dir;
  const auto folder = copy_model(dir, "eng");
  const auto source = folder / "eng.traineddata";
  set_mtime(source, 1600000000);
  bool written = false;
  ocr::prepare_traineddata(source, dir / "archives", &written);
  EXPECT_TRUE(written);
  ocr::prepare_traineddata(source, dir / "archives", &written);
  EXPECT_FALSE(written) << "up to date: not written again";

  std::string why;
  EXPECT_TRUE(ocr::find_prepared_traineddata(source, dir / "archives", &why)) << why;
  set_mtime(source, 1600000100);  // the package was upgraded, say
  EXPECT_FALSE(ocr::find_prepared_traineddata(source, dir / "archives", &why));
  EXPECT_NE(why.find("changed since"), std::string::npos) << why;
  ocr::prepare_traineddata(source, dir / "archives", &written);
  EXPECT_TRUE(written);
  EXPECT_TRUE(ocr::find_prepared_traineddata(source, dir / "archives", &why)) << why;

  // An archive made from another folder's file is not this file's.
  const auto other = copy_model(dir, "eng").parent_path() / "elsewhere";
  fs::create_directories(other);
  fs::copy_file(source, other / "eng.traineddata");
  EXPECT_FALSE(ocr::find_prepared_traineddata(other / "eng.traineddata", dir / "archives", &why));
  EXPECT_NE(why.find("was made from"), std::string::npos) << why;
}

TEST(TessdataArchive, AFileThatIsNotTraineddataIsRefusedNamingIt) {
  test::TempDir dir;
  const auto bad = dir / "broken.traineddata";
  test::write_text(bad, "this is not a model at all, only some text");
  try {
    ocr::prepare_traineddata(bad, dir / "archives");
    FAIL() << "a text file was taken for a traineddata file";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos) << e.what();
  }
  // A real one cut short: its table points past the end.
  const auto raw = test::read_bytes(kSystem / "eng.traineddata");
  const auto cut = dir / "cut.traineddata";
  test::write_bytes(cut, std::vector<unsigned char>(raw.begin(), raw.begin() + 4096));
  EXPECT_THROW(ocr::prepare_traineddata(cut, dir / "archives"), std::runtime_error);
  EXPECT_FALSE(fs::exists(dir / "archives" / "cut.traineddata"));
}

TEST(TesseractEngines, AOneLanguageSetIsReadFromItsArchiveAndSaysSo) {
  test::TempDir dir;
  const auto folder = copy_model(dir, "Latin");
  ocr::prepare_traineddata(folder / "Latin.traineddata", dir / "archives");
  const auto line = line_image("Opening hours 9-17");

  ocr::TesseractEngines with_archive({"Latin"}, folder.string(), dir / "archives");
  with_archive.check();
  const auto resources = with_archive.resources();
  ASSERT_TRUE(resources.contains("archive")) << resources.dump();
  EXPECT_EQ(resources["archive"]["path"], (dir / "archives" / "Latin.traineddata").string());
  EXPECT_EQ(resources["traineddata"]["Latin"]["path"], (folder / "Latin.traineddata").string());
  const auto read = read_with(with_archive.local(), line);
  const auto reference = read_from(folder, "Latin", line);
  EXPECT_EQ(read.text, reference.text);
  EXPECT_EQ(read.confidences, reference.confidences);

  // The source changed: the engines read the file itself, and run.json says why.
  set_mtime(folder / "Latin.traineddata", 1500000000);
  ocr::TesseractEngines stale({"Latin"}, folder.string(), dir / "archives");
  stale.check();
  const auto note = stale.resources()["archive"]["note"].get<std::string>();
  EXPECT_NE(note.find("changed since"), std::string::npos) << note;
  EXPECT_EQ(read_with(stale.local(), line).text, read.text);
}

TEST(TesseractEngines, ASetOfSeveralLanguagesIsReadFromItsFiles) {
  // Tesseract would share one word list between two languages read from archives (tessdata_archive.hpp).
  test::TempDir dir;
  const auto folder = prepare_both(dir, "eng", "deu");
  ocr::TesseractEngines engines({"eng", "deu"}, folder.string(), dir / "archives");
  engines.check();
  const auto resources = engines.resources();
  ASSERT_TRUE(resources.contains("archive"));
  EXPECT_NE(resources["archive"]["note"].get<std::string>().find("several languages"), std::string::npos);
  const auto line = line_image("Backerei und Konditorei");
  tesseract::TessBaseAPI reference;
  ASSERT_EQ(reference.Init(folder.c_str(), "eng+deu", tesseract::OEM_LSTM_ONLY), 0);
  EXPECT_EQ(read_with(engines.local(), line).text, read_with(reference, line).text);
}

TEST(TesseractEngines, ALanguageReadFromAnArchiveIsTheOnlyOneInTheProcess) {
  test::TempDir dir;
  const auto folder = prepare_both(dir, "Latin", "eng");
  ocr::TesseractEngines latin({"Latin"}, folder.string(), dir / "archives");
  latin.check();
  ocr::TesseractEngines english({"eng"}, folder.string(), dir / "archives");
  english.check();
  EXPECT_TRUE(latin.resources()["archive"].contains("path")) << latin.resources().dump();
  const auto note = english.resources()["archive"]["note"].get<std::string>();
  EXPECT_NE(note.find("'Latin'"), std::string::npos) << note;
  // Read after the Latin set loaded its word lists: English still reads with its own.
  const auto line = line_image("Bakery open daily 7-18");
  read_with(latin.local(), line);
  const auto from_engines = read_with(english.local(), line);
  const auto from_file = read_from(folder, "eng", line);
  EXPECT_EQ(from_engines.text, from_file.text);
  EXPECT_EQ(from_engines.confidences, from_file.confidences);
}

TEST(TessdataCli, PreparesEachLanguageAndNamesTheOneItCannot) {
  test::TempDir dir;
  const auto folder = copy_model(dir, "eng");
  const auto ok = test::run_cli({"tessdata", "prepare", "--tessdata", folder.string(), "--out", (dir / "out").string(), "eng"});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("written"), std::string::npos) << ok.output;
  EXPECT_TRUE(fs::exists(dir / "out" / "eng.traineddata"));
  EXPECT_TRUE(fs::exists(dir / "out" / "eng.traineddata.source.json"));
  const auto again = test::run_cli({"tessdata", "prepare", "--tessdata", folder.string(), "--out", (dir / "out").string(), "eng"});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("up to date"), std::string::npos) << again.output;
  const auto missing = test::run_cli({"tessdata", "prepare", "--tessdata", folder.string(), "--out", (dir / "out").string(), "xyz"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find((folder / "xyz.traineddata").string()), std::string::npos) << missing.output;
}
