// Contract: text_detect.ppocr_db finds text at known places in generated images (also small text in a
// large photo, via the detail pass, in one piece or in tiles) and nothing on a blank one; a missing or corrupt model gives the documented
// MSER fallback or, when configured, a clear start-up error — never a crash.
#include <chrono>
#include <fstream>
#include <future>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "pipeline/models.hpp"
#include "stages/text_detect/ppocr_db.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace cluetrace;
using namespace cluetrace::test;

namespace {

text_detect::DbOptions options_from(const std::string& yaml) { return test::options_from_yaml<text_detect::DbOptions>(yaml); }

ImageRecord record_of(const cv::Mat& pixels) { return test::decoded_record(pixels); }

double covered(const cv::Rect& truth, const std::vector<TextRegion>& regions) {
  double best = 0;
  for (const auto& r : regions) {
    const cv::Rect box = cv::boundingRect(std::vector<cv::Point2f>(r.quad.begin(), r.quad.end()));
    best = std::max(best, static_cast<double>((box & truth).area()) / truth.area());
  }
  return best;
}

// Draws `text` at (x, y) (top-left) and returns its box.
cv::Rect draw(cv::Mat& img, const std::string& text, cv::Point at, double scale, cv::Scalar ink) {
  int baseline = 0;
  const cv::Size size = cv::getTextSize(text, cv::FONT_HERSHEY_DUPLEX, scale, 2, &baseline);
  cv::putText(img, text, {at.x, at.y + size.height}, cv::FONT_HERSHEY_DUPLEX, scale, ink, 2, cv::LINE_AA);
  return {at.x, at.y, size.width, size.height + baseline};
}

void require_model() {
  ASSERT_TRUE(fs::exists(models_dir() / "ppocr-v4-det.onnx"))
      << "the detector model is missing: scripts/fetch-models.sh (run by ./test.sh) fetches it";
}

TEST(PpocrDb, FindsTextAtKnownBoxesAndNothingElse) {
  require_model();
  cv::Mat img(720, 960, CV_8UC3, cv::Scalar(200, 210, 190));
  cv::rectangle(img, cv::Rect(500, 380, 400, 260), cv::Scalar(40, 40, 90), cv::FILLED);  // a dark panel
  const std::vector<cv::Rect> truth{
      draw(img, "OPENING HOURS", {60, 80}, 1.4, cv::Scalar(20, 20, 20)),
      draw(img, "Call 0301234567", {60, 220}, 0.9, cv::Scalar(60, 30, 10)),
      draw(img, "SALE 50%", {540, 460}, 1.6, cv::Scalar(240, 240, 240)),  // light on dark
  };
  text_detect::DbStage stage(options_from("{}"));
  stage.prepare();
  EXPECT_EQ(stage.id(), "text_detect.ppocr_db");
  auto image = record_of(img);
  StageResult out;
  stage.process(image, out);
  for (const auto& box : truth) EXPECT_GE(covered(box, image.text_regions), 0.7) << box;
  // Every region lies on one of the texts: the blank wall and the panel's empty part hold none.
  for (const auto& r : image.text_regions) {
    const cv::Rect box = cv::boundingRect(std::vector<cv::Point2f>(r.quad.begin(), r.quad.end()));
    bool on_text = false;
    for (const auto& t : truth) on_text = on_text || (box & t).area() > 0;
    EXPECT_TRUE(on_text) << "region on no text: " << box;
    EXPECT_GT(r.score, 0.5);
  }
}

TEST(PpocrDb, BlankImageHasNoRegions) {
  require_model();
  text_detect::DbStage stage(options_from("{}"));
  stage.prepare();
  auto image = record_of(cv::Mat(600, 800, CV_8UC3, cv::Scalar(128, 128, 128)));
  StageResult out;
  stage.process(image, out);
  EXPECT_TRUE(image.text_regions.empty());
}

TEST(PpocrDb, SmallTextInALargePhotoIsFoundByTheDetailPass) {
  require_model();
  cv::Mat img(1800, 2400, CV_8UC3, cv::Scalar(190, 200, 205));
  const cv::Rect small = draw(img, "Made in Portugal 2024", {1700, 1500}, 0.6, cv::Scalar(30, 30, 30));
  ASSERT_LT(small.height, 24);
  auto image = record_of(img);
  StageResult out;
  text_detect::DbStage global_only(options_from("detail_above: 0"));
  global_only.prepare();
  global_only.process(image, out);
  const double coarse = covered(small, image.text_regions);
  text_detect::DbStage with_detail(options_from("{}"));
  with_detail.prepare();
  with_detail.process(image, out);
  EXPECT_GE(covered(small, image.text_regions), 0.8) << "global pass alone covered " << coarse;
  // A budget large enough for full resolution cuts the detail pass into overlapping tiles.
  text_detect::DbStage tiled(options_from("detail_megapixels: 10"));
  tiled.prepare();
  tiled.process(image, out);
  EXPECT_GE(covered(small, image.text_regions), 0.8);
}

// The finer pass over a large photo holds ~280 MB of net buffers (12 megapixels): it shares one bound with the
// logo stage's scene scale spaces (large_working_sets). While the bound is reached it waits; the global pass of
// a photo that takes no finer pass does not.
TEST(PpocrDb, TheFinerPassWaitsForTheLargeWorkingSetsGateAndTheGlobalPassDoesNot) {
  require_model();
  text_detect::DbStage stage(options_from("{}"));
  stage.prepare();
  cv::Mat large(1800, 2400, CV_8UC3, cv::Scalar(190, 200, 205));
  const cv::Rect small_text = draw(large, "Made in Portugal 2024", {1700, 1500}, 0.6, cv::Scalar(30, 30, 30));
  cv::Mat photo(600, 800, CV_8UC3, cv::Scalar(200, 210, 190));
  const cv::Rect sign = draw(photo, "OPENING HOURS", {60, 80}, 1.4, cv::Scalar(20, 20, 20));
  auto large_image = record_of(large), photo_image = record_of(photo);
  StageResult large_out, photo_out;

  LargeWorkingSetsHeld held;
  auto global_only = in_two_thread_arena([&] { stage.process(photo_image, photo_out); });
  ASSERT_EQ(global_only.wait_for(std::chrono::seconds(120)), std::future_status::ready) << "the global pass waited for the gate";
  global_only.get();
  EXPECT_GE(covered(sign, photo_image.text_regions), 0.7);
  auto finer = in_two_thread_arena([&] { stage.process(large_image, large_out); });
  EXPECT_EQ(finer.wait_for(std::chrono::seconds(3)), std::future_status::timeout) << "the finer pass did not wait for the gate";
  held.release();
  ASSERT_EQ(finer.wait_for(std::chrono::seconds(120)), std::future_status::ready);
  finer.get();
  EXPECT_GE(covered(small_text, large_image.text_regions), 0.8) << "the finer pass ran once the gate was free";
}

TEST(PpocrDb, MissingModelFallsBackToMserOrFailsClearly) {
  TempDir dir;
  const auto missing = (dir / "nope.onnx").string();
  text_detect::DbStage fallback(options_from("model: " + missing));
  fallback.prepare();
  EXPECT_EQ(fallback.id(), "text_detect.mser");
  EXPECT_EQ(fallback.resources()["fallback"], "text_detect.mser");
  text_detect::DbStage strict(options_from("model: " + missing + "\nif_model_missing: error"));
  try {
    strict.prepare();
    FAIL() << "a missing model was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("nope.onnx"), std::string::npos) << e.what();
  }
}

TEST(PpocrDb, CorruptModelFallsBackOrFailsClearly) {
  TempDir dir;
  const auto corrupt = dir / "corrupt.onnx";
  std::vector<unsigned char> junk(4096);
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<unsigned char>(i * 131 + 7);
  write_bytes(corrupt, junk);
  text_detect::DbStage fallback(options_from("model: " + corrupt.string()));
  fallback.prepare();
  EXPECT_EQ(fallback.id(), "text_detect.mser");
  text_detect::DbStage strict(options_from("model: " + corrupt.string() + "\nif_model_missing: error"));
  EXPECT_THROW(strict.prepare(), std::runtime_error);
}

TEST(Mser, FallbackFindsTextLines) {
  cv::Mat img(400, 800, CV_8UC3, cv::Scalar(230, 230, 230));
  const cv::Rect a = draw(img, "WELCOME HOME", {40, 60}, 1.5, cv::Scalar(10, 10, 10));
  const cv::Rect b = draw(img, "Tel 0123 456789", {40, 220}, 1.0, cv::Scalar(10, 10, 10));
  text_detect::MserStage stage;
  auto image = record_of(img);
  StageResult out;
  stage.process(image, out);
  EXPECT_GE(covered(a, image.text_regions), 0.7);
  EXPECT_GE(covered(b, image.text_regions), 0.7);
}

TEST(Geometry, QuadsStartTopLeftInReadingOrder) {
  for (const float angle : {0.f, 15.f, -30.f, 89.f}) {
    const auto q = text_detect::text_quad(cv::RotatedRect({100, 100}, {120, 30}, angle));
    const cv::Point2f along = q[1] - q[0];
    EXPECT_GT(std::hypot(along.x, along.y), 100) << angle;  // the long side runs from q0 to q1
    EXPECT_GE(along.x, 0) << angle;                          // left to right
  }
}

TEST(Geometry, OverlappingDetectionsOfOneLineMerge) {
  const auto quad = [](float x0, float x1) {
    return TextRegion{{cv::Point2f(x0, 10), cv::Point2f(x1, 10), cv::Point2f(x1, 40), cv::Point2f(x0, 40)}, 0.9};
  };
  // The same line cut by a tile border, and seen whole by the global pass.
  const auto merged = text_detect::merge_regions({quad(0, 300), quad(0, 180), quad(150, 300), quad(500, 600)});
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_NEAR(merged[0].quad[1].x - merged[0].quad[0].x, 300, 2);
}

}  // namespace
