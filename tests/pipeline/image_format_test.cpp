// Contract: image files are recognised by content, their pixel size is read from the header alone,
// and truncated or corrupt JPEG/PNG files are caught before a decoder half-decodes them.
#include <gtest/gtest.h>

#include "pipeline/image_format.hpp"
#include "tests/support/test_support.hpp"

using namespace cluetrace;
using namespace cluetrace::test;

namespace {

TEST(ImageFormat, RecognisesEncodedImagesAndReadsTheirSize) {
  const cv::Mat image(123, 217, CV_8UC3, cv::Scalar(10, 200, 30));
  const std::vector<std::pair<std::string, ImageFormat>> cases{
      {".jpg", ImageFormat::jpeg}, {".png", ImageFormat::png},   {".bmp", ImageFormat::bmp},
      {".tif", ImageFormat::tiff}, {".webp", ImageFormat::webp}, {".ppm", ImageFormat::pnm},
      {".jp2", ImageFormat::jpeg2000}};
  for (const auto& [ext, format] : cases) {
    const auto bytes = encode(image, ext);
    EXPECT_EQ(sniff_format(bytes), format) << ext;
    const auto size = read_pixel_size(format, bytes);
    ASSERT_TRUE(size.has_value()) << ext;
    EXPECT_EQ(size->width, 217u) << ext;
    EXPECT_EQ(size->height, 123u) << ext;
    EXPECT_FALSE(find_structural_damage(format, bytes).has_value()) << ext;
  }
}

TEST(ImageFormat, TextAndRandomBytesAreNotImages) {
  const std::string text = "Hello, this is a text file\n";
  EXPECT_EQ(sniff_format({reinterpret_cast<const unsigned char*>(text.data()), text.size()}), ImageFormat::unknown);
  EXPECT_EQ(sniff_format({}), ImageFormat::unknown);
}

TEST(ImageFormat, TruncatedJpegAndPngAreDamaged) {
  const cv::Mat image = text_image({"TRUNCATE ME"});
  for (const std::string ext : {".jpg", ".png"}) {
    auto bytes = encode(image, ext);
    bytes.resize(bytes.size() * 7 / 10);
    const auto damage = find_structural_damage(sniff_format(bytes), bytes);
    ASSERT_TRUE(damage.has_value()) << ext;
    EXPECT_NE(damage->find("truncated"), std::string::npos) << *damage;
  }
}

TEST(ImageFormat, JpegWithGarbageAfterTheHeaderIsCorrupt) {
  auto bytes = encode(text_image({"X"}), ".jpg");
  for (std::size_t i = 20; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(i * 31 + 7);
  const auto damage = find_structural_damage(ImageFormat::jpeg, bytes);
  ASSERT_TRUE(damage.has_value());
  EXPECT_NE(damage->find("corrupt JPEG"), std::string::npos) << *damage;
}

TEST(ImageFormat, ExtensionsAnalystsExpect) {
  EXPECT_TRUE(has_image_extension("IMG_0001.JPG"));
  EXPECT_TRUE(has_image_extension("scan.tiff"));
  EXPECT_FALSE(has_image_extension("notes.txt"));
  EXPECT_FALSE(has_image_extension("README"));
}

}  // namespace
