// Contract: image files are recognised by content, their pixel size is read from the header alone (from a
// file, its first bytes only), and truncated or corrupt JPEG/PNG files are caught before a decoder half-decodes
// them.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "pipeline/decode.hpp"
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

TEST(ImageFormat, DeclaredPixelsComeFromAFilesFirstBytes) {
  TempDir dir;
  write_bytes(dir / "a.png", encode(cv::Mat(123, 217, CV_8UC3, cv::Scalar::all(90)), ".png"));
  EXPECT_EQ(declared_pixels((dir / "a.png").string()), std::optional<std::uint64_t>(123u * 217u));
  // A JPEG whose frame header follows 180 KB of metadata segments (Exif thumbnails, ICC profiles), as phones
  // write them: still found.
  auto jpeg = encode(cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(30)), ".jpg");
  std::vector<unsigned char> segments;
  for (int i = 0; i < 3; ++i) {
    const std::size_t length = 60000;  // the segment's length field counts itself, not the marker
    segments.insert(segments.end(), {0xFF, 0xE2, static_cast<unsigned char>(length >> 8), static_cast<unsigned char>(length & 0xFF)});
    segments.insert(segments.end(), length - 2, static_cast<unsigned char>('x'));
  }
  jpeg.insert(jpeg.begin() + 2, segments.begin(), segments.end());
  write_bytes(dir / "b.jpg", jpeg);
  EXPECT_EQ(declared_pixels((dir / "b.jpg").string()), std::optional<std::uint64_t>(48u * 64u));
  // Nothing that is not a readable image file says a size; a FIFO is not opened for reading into.
  const std::string text = "not an image\n";
  write_bytes(dir / "c.txt", std::vector<unsigned char>(text.begin(), text.end()));
  EXPECT_FALSE(declared_pixels((dir / "c.txt").string()).has_value());
  EXPECT_FALSE(declared_pixels((dir / "missing.png").string()).has_value());
  EXPECT_FALSE(declared_pixels(dir.path().string()).has_value());
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  EXPECT_FALSE(declared_pixels((dir / "fifo").string()).has_value());
}

TEST(ImageFormat, ExtensionsAnalystsExpect) {
  EXPECT_TRUE(has_image_extension("IMG_0001.JPG"));
  EXPECT_TRUE(has_image_extension("scan.tiff"));
  EXPECT_FALSE(has_image_extension("notes.txt"));
  EXPECT_FALSE(has_image_extension("README"));
}

}  // namespace
