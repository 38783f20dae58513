// Contract: ocr.tesseract_page reads rendered text with real Tesseract into text clues with boxes in
// original pixels, drops implausible lines, and fails at start-up (not per image) on missing languages.
#include <gtest/gtest.h>

#include "pipeline/config.hpp"
#include "stages/ocr/tesseract_page.hpp"
#include "stages/text_detect/whole_image.hpp"
#include "tests/support/test_support.hpp"

using namespace cluetrace;

namespace {

ocr::TesseractPageOptions options_from(const std::string& yaml) { return test::options_from_yaml<ocr::TesseractPageOptions>(yaml); }

// The whole image as the one text region, as text_detect.whole_image leaves it.
ImageRecord record_of(const cv::Mat& pixels) {
  auto image = test::decoded_record(pixels);
  StageResult unused;
  text_detect::WholeImageStage({}).process(image, unused);
  return image;
}

TEST(TesseractPage, ReadsRenderedLinesWithBoxes) {
  cv::Mat canvas(400, 1000, CV_8UC3, cv::Scalar(250, 250, 250));
  const cv::Mat text = test::text_image({"OPENING HOURS 9 TO 18", "CALL 0301234567"}, 900);
  text.copyTo(canvas(cv::Rect(50, 120, text.cols, text.rows)));
  auto image = record_of(canvas);
  ocr::TesseractPageStage stage(options_from("languages: [eng]"));
  stage.prepare();
  StageResult out;
  stage.process(image, out);
  ASSERT_GE(out.clues.size(), 2u);
  bool saw_hours = false, saw_phone = false;
  for (const auto& clue : out.clues) {
    EXPECT_EQ(clue.kind, ClueKind::text);
    EXPECT_EQ(clue.stage, "ocr.tesseract_page");
    EXPECT_GT(clue.confidence, 0.5);
    ASSERT_TRUE(clue.box.has_value());
    // The text was pasted at y >= 120: boxes are in the original image's pixels.
    EXPECT_GE(clue.box->y, 110);
    EXPECT_GE(clue.box->x, 50);
    saw_hours = saw_hours || clue.value == "OPENING HOURS 9 TO 18";
    saw_phone = saw_phone || clue.value == "CALL 0301234567";
  }
  EXPECT_TRUE(saw_hours);
  EXPECT_TRUE(saw_phone);
}

TEST(TesseractPage, BlankImageGivesNoClues) {
  auto image = record_of(cv::Mat(300, 300, CV_8UC3, cv::Scalar(128, 128, 128)));
  ocr::TesseractPageStage stage(options_from("{}"));
  stage.prepare();
  StageResult out;
  stage.process(image, out);
  EXPECT_TRUE(out.clues.empty());
}

TEST(TesseractPage, MissingLanguageFailsAtStartUpWithItsName) {
  ocr::TesseractPageStage stage(options_from("languages: [eng, xxq]"));
  try {
    stage.prepare();
    FAIL() << "prepare() accepted a language that is not installed";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("eng+xxq"), std::string::npos) << e.what();
  }
}

TEST(TesseractPage, PlausibleTextRejectsPunctuationNoise) {
  EXPECT_TRUE(ocr::plausible_text("Bäckerei", 2));
  EXPECT_TRUE(ocr::plausible_text("2,49 €", 2));
  EXPECT_FALSE(ocr::plausible_text("|", 2));
  EXPECT_FALSE(ocr::plausible_text("-- ~ '' ;", 2));
  EXPECT_FALSE(ocr::plausible_text("a.,;:!", 2));
  EXPECT_FALSE(ocr::plausible_text("Oooo", 2));
  EXPECT_FALSE(ocr::plausible_text("lll iii", 2));
  EXPECT_TRUE(ocr::plausible_text("Oooo 24", 2));
  EXPECT_TRUE(ocr::plausible_text("Schifffahrt", 2));
}

}  // namespace
