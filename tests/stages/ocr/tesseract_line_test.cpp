// Contract: ocr.tesseract_line reads rendered words in European languages with their diacritics exactly,
// from rotated and light-on-dark regions, with the region's quad and box kept in original pixels.
#include <chrono>
#include <future>
#include <memory>

#include <gtest/gtest.h>
#include <opencv2/freetype.hpp>
#include <opencv2/imgproc.hpp>

#include <tesseract/baseapi.h>

#include "stages/ocr/tesseract_engine.hpp"
#include "stages/ocr/tesseract_line.hpp"
#include "tests/support/test_support.hpp"

using namespace cluetrace;

namespace {

constexpr const char* kFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

ocr::TesseractLineOptions options_from(const std::string& yaml) { return test::options_from_yaml<ocr::TesseractLineOptions>(yaml); }

struct Rendered {
  cv::Mat image;
  std::array<cv::Point2f, 4> quad;
};

// `text` drawn with DejaVu Sans, rotated by `angle` degrees about the image centre; quad = its region.
Rendered render(const std::string& text, double angle, bool light_on_dark) {
  auto face = cv::freetype::createFreeType2();
  face->loadFontData(kFont, 0);
  const int height = 36;
  int baseline = 0;
  const cv::Size size = face->getTextSize(text, height, -1, &baseline);
  cv::Mat img(400, size.width + 200, CV_8UC3, light_on_dark ? cv::Scalar(50, 30, 20) : cv::Scalar(235, 235, 225));
  const cv::Point org(100, 180);
  face->putText(img, text, org, height, light_on_dark ? cv::Scalar(250, 250, 250) : cv::Scalar(20, 20, 20), -1,
                cv::LINE_AA, false);
  const float pad = 8;
  const cv::Rect2f box(cv::Point2f(org), cv::Size2f(static_cast<float>(size.width), static_cast<float>(height)));
  std::vector<cv::Point2f> quad{{box.x - pad, box.y - pad},
                                {box.br().x + pad, box.y - pad},
                                {box.br().x + pad, box.br().y + pad},
                                {box.x - pad, box.br().y + pad}};
  const cv::Point2f centre(static_cast<float>(img.cols) / 2, static_cast<float>(img.rows) / 2);
  const cv::Mat rot = cv::getRotationMatrix2D(centre, angle, 1.0);
  cv::Mat rotated;
  cv::warpAffine(img, rotated, rot, img.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  std::vector<cv::Point2f> moved;
  cv::transform(quad, moved, rot);
  return {rotated, {moved[0], moved[1], moved[2], moved[3]}};
}

std::vector<Clue> read(ocr::TesseractLineStage& stage, const Rendered& r) {
  auto image = test::decoded_record(r.image);
  image.text_regions = {TextRegion{r.quad, 0.9}};
  StageResult out;
  stage.process(image, out);
  return out.clues;
}

class LineOcr : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stage_ = new ocr::TesseractLineStage(options_from("languages: [Latin]"));
    stage_->prepare();
  }
  static void TearDownTestSuite() { delete stage_; }
  static ocr::TesseractLineStage* stage_;
};
ocr::TesseractLineStage* LineOcr::stage_ = nullptr;

TEST_F(LineOcr, ReadsDiacriticsInSevenLanguagesExactly) {
  for (const std::string text : {"Bäckerei Müller Straße", "Crème brûlée à la française", "Łódź Źródło Świeże",
                                 "Příliš žluťoučký kůň", "Smørrebrød Åbningstider", "Mañana Jamón Azúcar",
                                 "Pão Açúcar Promoção"}) {
    const auto clues = read(*stage_, render(text, 0, false));
    ASSERT_EQ(clues.size(), 1u) << text;
    EXPECT_EQ(clues[0].value, text);
    EXPECT_GT(clues[0].confidence, 0.7) << text;
  }
}

TEST_F(LineOcr, ReadsRotatedAndLightOnDarkLines) {
  const auto rotated = render("Öffnungszeiten Montag", 14, false);
  auto clues = read(*stage_, rotated);
  ASSERT_EQ(clues.size(), 1u);
  EXPECT_EQ(clues[0].value, "Öffnungszeiten Montag");
  ASSERT_TRUE(clues[0].quad.has_value());
  EXPECT_NEAR((*clues[0].quad)[0].x, rotated.quad[0].x, 0.5);  // the quad stays in original pixels
  EXPECT_NEAR((*clues[0].quad)[0].y, rotated.quad[0].y, 0.5);

  // Word boxes map back into the rotated region, in reading order.
  ASSERT_EQ(clues[0].words.size(), 2u);
  EXPECT_EQ(clues[0].words[0].text, "Öffnungszeiten");
  const std::vector<cv::Point2f> region(rotated.quad.begin(), rotated.quad.end());
  for (const auto& word : clues[0].words) {
    for (const auto& corner : word.quad) EXPECT_GE(cv::pointPolygonTest(region, corner, true), -3.0) << word.text;
  }
  EXPECT_LT(clues[0].words[0].quad[1].x, clues[0].words[1].quad[0].x + 1.0);

  clues = read(*stage_, render("Geöffnet täglich", -8, true));
  ASSERT_EQ(clues.size(), 1u);
  EXPECT_EQ(clues[0].value, "Geöffnet täglich");
}

TEST_F(LineOcr, NoiseIsNotAClue) {
  cv::Mat noise(120, 400, CV_8UC3);
  cv::randu(noise, 0, 255);
  auto image = test::decoded_record(noise);
  image.text_regions = {TextRegion{{cv::Point2f(10, 10), {390, 10}, {390, 110}, {10, 110}}, 0.9}};
  StageResult out;
  stage_->process(image, out);
  EXPECT_TRUE(out.clues.empty()) << out.clues[0].value;
}

}  // namespace

namespace {

// A thread's first use of `engines` in a two-thread arena: loads its model set and reads "GATE 42".
std::future<void> first_use_reads_a_line(ocr::TesseractEngines& engines, std::string& text) {
  return test::in_two_thread_arena([&engines, &text] {
    auto& api = engines.local();
    const cv::Mat line = test::text_image({"GATE 42"}, 400, 1.2);
    cv::Mat grey;
    cv::cvtColor(line, grey, cv::COLOR_BGR2GRAY);
    api.SetImage(grey.data, grey.cols, grey.rows, 1, static_cast<int>(grey.step));
    std::unique_ptr<char[]> utf8(api.GetUTF8Text());
    text = utf8 ? utf8.get() : "";
  });
}

}  // namespace

// Loading a Tesseract model set holds its files two or three times over for a moment (~270 MB for Latin's 89 MB):
// a thread's first load of a large set waits at the gate of the largest working sets while that is held, then
// loads and reads.
TEST(TesseractEngines, AThreadsFirstLoadOfALargeSetWaitsForTheLargeWorkingSetsGate) {
  ocr::TesseractEngines engines({"Latin"}, "");
  engines.check();
  std::string text;
  test::LargeWorkingSetsHeld held;
  auto first_use = first_use_reads_a_line(engines, text);
  EXPECT_EQ(first_use.wait_for(std::chrono::seconds(3)), std::future_status::timeout) << "the model loaded while the gate was held";
  held.release();
  ASSERT_EQ(first_use.wait_for(std::chrono::seconds(120)), std::future_status::ready);
  first_use.get();
  EXPECT_NE(text.find("GATE 42"), std::string::npos) << text;
}

// The re-read's set (eng+deu+fra, 7 MB of files) holds ~20 MB while it loads: it does not wait behind a scene's
// SIFT or another thread's Latin load.
TEST(TesseractEngines, ASmallSetLoadsWhileTheLargeWorkingSetsGateIsHeld) {
  ocr::TesseractEngines engines({"eng", "deu", "fra"}, "");
  engines.check();
  std::string text;
  test::LargeWorkingSetsHeld held;
  auto first_use = first_use_reads_a_line(engines, text);
  ASSERT_EQ(first_use.wait_for(std::chrono::seconds(60)), std::future_status::ready) << "a small set waited at the gate";
  first_use.get();
  EXPECT_NE(text.find("GATE 42"), std::string::npos) << text;
}
