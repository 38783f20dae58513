// Contract: OpenCV's image codecs, loaded on first use (pipeline/image_codecs.hpp), give OpenCV's bytes and
// pixels; the CLI does not link them, so a process start does not load their ~140 libraries.
#include <cstdio>
#include <memory>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/image_codecs.hpp"
#include "tests/support/test_support.hpp"

using namespace cluetrace;

namespace {

cv::Mat scene() {
  cv::Mat img = test::text_image({"Apotheke am Markt", "Tel 089 123456"}, 640);
  cv::circle(img, {500, 60}, 40, cv::Scalar(30, 120, 220), cv::FILLED);
  return img;
}

std::string command_output(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  std::string out;
  if (!pipe) return out;
  char buffer[4096];
  while (const std::size_t n = std::fread(buffer, 1, sizeof(buffer), pipe.get())) out.append(buffer, n);
  return out;
}

}  // namespace

TEST(ImageCodecs, EncodeGivesOpenCvsBytesAndDecodeItsPixels) {
  const cv::Mat img = scene();
  for (const auto& [ext, params] : std::vector<std::pair<std::string, std::vector<int>>>{
           {".jpg", {cv::IMWRITE_JPEG_QUALITY, 85}}, {".png", {}}, {".webp", {}}, {".tiff", {}}, {".bmp", {}}}) {
    std::vector<uchar> ours, opencv;
    ASSERT_TRUE(codecs::imencode(ext, img, ours, params)) << ext;
    ASSERT_TRUE(cv::imencode(ext, img, opencv, params)) << ext;
    EXPECT_EQ(ours, opencv) << ext;
    const cv::Mat decoded = codecs::imdecode(ours, cv::IMREAD_COLOR);
    const cv::Mat reference = cv::imdecode(opencv, cv::IMREAD_COLOR);
    ASSERT_FALSE(decoded.empty()) << ext;
    EXPECT_EQ(cv::norm(decoded, reference, cv::NORM_INF), 0.0) << ext;
  }
  EXPECT_TRUE(codecs::imdecode(std::vector<uchar>{1, 2, 3, 4}, cv::IMREAD_COLOR).empty()) << "not an image";
}

TEST(ImageCodecs, WriteAndReadGoThroughFilesAsOpenCvs) {
  test::TempDir dir;
  const cv::Mat img = scene();
  const auto file = (dir / "scene.png").string();
  ASSERT_TRUE(codecs::imwrite(file, img));
  EXPECT_EQ(cv::norm(codecs::imread(file, cv::IMREAD_COLOR), img, cv::NORM_INF), 0.0);
  EXPECT_EQ(cv::norm(cv::imread(file, cv::IMREAD_COLOR), img, cv::NORM_INF), 0.0);
  EXPECT_TRUE(codecs::imread((dir / "missing.png").string(), cv::IMREAD_COLOR).empty());
}

TEST(ImageCodecs, TheCliDoesNotLinkThem) {
  const std::string needed = command_output("readelf -d '" + test::cli_path().string() + "' 2>&1");
  ASSERT_NE(needed.find("(NEEDED)"), std::string::npos) << needed;
  EXPECT_NE(needed.find("libopencv_core"), std::string::npos) << needed;
  EXPECT_EQ(needed.find("libopencv_imgcodecs"), std::string::npos) << needed;
  EXPECT_NE(std::string(codecs::library_name()).find("libopencv_imgcodecs.so"), std::string::npos);
}
