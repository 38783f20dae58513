// Contract: the re-read models' scope (ocr.reread_scope) tells a reading that may hold a structured clue
// (price, phone number, web or mail address, postcode) from one of plain words, in any European script, and
// the option takes only its two values; with `needed` the re-read models read a doubtful line only where their
// reading can change it (a structured clue, or PP-OCR unsure), with `all` every doubtful line.
#include <string>

#include <gtest/gtest.h>
#include <opencv2/freetype.hpp>
#include <opencv2/imgproc.hpp>
#include <yaml-cpp/yaml.h>

#include "pipeline/options.hpp"
#include "stages/ocr/reread_scope.hpp"
#include "stages/ocr/tesseract_line.hpp"
#include "tests/support/test_support.hpp"

using namespace cluetrace;

TEST(RereadScope, ReadingsOfStructuredCluesLookStructured) {
  for (const char* text : {"€ 61,69", "61,69", "Tel 040 123", "£5", "9,90 zł", "₹ 120", "¥980", "$ 4.99", "50%",
                           "www.example", "WWW EXAMPLE", "shop.de", "info@fleurs", "http:", "2/3", "A1"}) {
    EXPECT_TRUE(ocr::looks_structured(text)) << text;
  }
}

TEST(RereadScope, PlainWordsDoNotLookStructured) {
  for (const char* text : {"", "EKOLOGISK", "Mjölk", "Dr. Oetker", "Rs.", "ÉCOLE — Straße", "pain, lait", "l'eau",
                           "Żabka", "Ørsted", "ww ww", "end."}) {
    EXPECT_FALSE(ocr::looks_structured(text)) << text;
  }
}

TEST(RereadScope, TheOptionTakesItsTwoValuesAndNeededByDefault) {
  EXPECT_EQ(test::options_from_yaml<ocr::TesseractLineOptions>("{}").reread_scope, ocr::RereadScope::needed);
  EXPECT_EQ(test::options_from_yaml<ocr::TesseractLineOptions>("reread_scope: all").reread_scope, ocr::RereadScope::all);
  ConfigProblems problems;
  OptionReader reader(YAML::Load("reread_scope: some"), "stages.ocr", "test", problems);
  (void)ocr::TesseractLineOptions::read(reader);
  reader.finish();
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems.to_string().find("reread_scope"), std::string::npos) << problems.to_string();
}

namespace {

// `text` in DejaVu Sans, 40 pixels high, dark on light, its region the whole image.
ImageRecord rendered_line(const std::string& text) {
  auto face = cv::freetype::createFreeType2();
  face->loadFontData("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0);
  int baseline = 0;
  const cv::Size size = face->getTextSize(text, 40, -1, &baseline);
  cv::Mat img(size.height + 24, size.width + 24, CV_8UC3, cv::Scalar(235, 235, 230));
  face->putText(img, text, cv::Point(12, 12), 40, cv::Scalar(25, 25, 25), -1, cv::LINE_AA, false);
  return test::line_record(img);
}

// The stage's reads of one line, every line taken as doubtful (reread_below 1) and read by PP-OCR.
ocr::LineReads reads_of(const std::string& text, const std::string& scope, std::string& read) {
  ocr::TesseractLineStage stage(test::options_from_yaml<ocr::TesseractLineOptions>(
      "reread_below: 1.0\nppocr_skip_above: 1.01\nreread_scope: " + scope));
  stage.prepare();
  auto image = rendered_line(text);
  StageResult out;
  stage.process(image, out);
  read = out.clues.empty() ? "" : out.clues[0].value;
  return stage.reads();
}

}  // namespace

TEST(RereadScope, PlainWordsPpocrIsSureOfAreNotReadByTheRereadModels) {
  std::string read;
  const auto needed = reads_of("WISTERIA GARDEN", "needed", read);
  EXPECT_EQ(read, "WISTERIA GARDEN");
  EXPECT_EQ(needed.tesseract, 1u);
  EXPECT_EQ(needed.other_polarity, 1u);
  EXPECT_EQ(needed.ppocr, 1u);
  EXPECT_EQ(needed.reread_models, 0u);
  const auto all = reads_of("WISTERIA GARDEN", "all", read);
  EXPECT_EQ(read, "WISTERIA GARDEN");
  EXPECT_EQ(all.reread_models, 1u);
  EXPECT_EQ(all.ppocr, 1u);
}

TEST(RereadScope, APriceIsReadByTheRereadModels) {
  std::string read;
  const auto needed = reads_of("Preis 12,99 €", "needed", read);
  EXPECT_NE(read.find("12,99"), std::string::npos) << read;
  EXPECT_EQ(needed.reread_models, 1u);
  EXPECT_EQ(needed.ppocr, 1u);
}
