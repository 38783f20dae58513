// Contract: the odd files a seizure holds each get one report through the real CLI, and where the picture can
// be decoded its text is read: CMYK and progressive JPEG, 16-bit and palette PNG with transparency, multi-page
// TIFF, animated GIF and WebP, an EXIF-rotated JPEG, 1 x 100,000 strips, zero-size headers, a file that grows
// while it is read, non-UTF-8 and 255-byte names, and a folder of 100,000 empty files.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <csetjmp>
#include <cstdio>
#include <fstream>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <jpeglib.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <png.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include "pipeline/json_schema.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace cluetrace;
using namespace cluetrace::test;

namespace {

// A JPEG in Adobe's inverted CMYK, as print workflows and old scanners write it.
std::vector<unsigned char> cmyk_jpeg(const cv::Mat& bgr) {
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr err{};
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(bgr.cols);
  cinfo.image_height = static_cast<JDIMENSION>(bgr.rows);
  cinfo.input_components = 4;
  cinfo.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 92, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<unsigned char> row(static_cast<std::size_t>(bgr.cols) * 4);
  while (cinfo.next_scanline < cinfo.image_height) {
    const auto* in = bgr.ptr<cv::Vec3b>(static_cast<int>(cinfo.next_scanline));
    for (int x = 0; x < bgr.cols; ++x) {
      // Inverted: a stored value is the paper showing through (R, G, B), K at 255 = no black ink.
      row[4 * x] = in[x][2];
      row[4 * x + 1] = in[x][1];
      row[4 * x + 2] = in[x][0];
      row[4 * x + 3] = 255;
    }
    JSAMPROW r = row.data();
    jpeg_write_scanlines(&cinfo, &r, 1);
  }
  jpeg_finish_compress(&cinfo);
  std::vector<unsigned char> out(buffer, buffer + size);
  jpeg_destroy_compress(&cinfo);
  std::free(buffer);
  return out;
}

// A 2-colour palette PNG whose background entry is fully transparent.
std::vector<unsigned char> palette_png_with_transparency(const cv::Mat& bgr) {
  std::vector<unsigned char> out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_set_write_fn(png, &out, [](png_structp p, png_bytep data, png_size_t n) {
    auto* o = static_cast<std::vector<unsigned char>*>(png_get_io_ptr(p));
    o->insert(o->end(), data, data + n);
  }, nullptr);
  png_set_IHDR(png, info, static_cast<png_uint_32>(bgr.cols), static_cast<png_uint_32>(bgr.rows), 8, PNG_COLOR_TYPE_PALETTE,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_color palette[2] = {{250, 250, 250}, {10, 10, 10}};
  png_set_PLTE(png, info, palette, 2);
  png_byte alpha[1] = {0};
  png_set_tRNS(png, info, alpha, 1, nullptr);
  png_write_info(png, info);
  cv::Mat gray;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  std::vector<png_byte> row(static_cast<std::size_t>(bgr.cols));
  for (int y = 0; y < gray.rows; ++y) {
    for (int x = 0; x < gray.cols; ++x) row[static_cast<std::size_t>(x)] = gray.at<unsigned char>(y, x) < 128 ? 1 : 0;
    png_write_row(png, row.data());
  }
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return out;
}

// A GIF whose frames are written without compression gains: every pixel a 9-bit literal code, a clear code
// often enough that the code size never grows (what simple encoders produce).
std::vector<unsigned char> animated_gif(const std::vector<cv::Mat>& frames) {
  const int w = frames[0].cols, h = frames[0].rows;
  std::vector<unsigned char> out = {'G', 'I', 'F', '8', '9', 'a'};
  auto u16 = [&](int v) { out.push_back(static_cast<unsigned char>(v & 0xff)); out.push_back(static_cast<unsigned char>(v >> 8)); };
  u16(w);
  u16(h);
  out.insert(out.end(), {0xF7, 0, 0});  // global colour table of 256 grey levels
  for (int i = 0; i < 256; ++i) out.insert(out.end(), {static_cast<unsigned char>(i), static_cast<unsigned char>(i), static_cast<unsigned char>(i)});
  out.insert(out.end(), {0x21, 0xFF, 0x0B, 'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0', 3, 1, 0, 0, 0});  // loop
  for (const auto& frame : frames) {
    cv::Mat gray;
    cv::cvtColor(frame, gray, cv::COLOR_BGR2GRAY);
    out.insert(out.end(), {0x21, 0xF9, 4, 0, 50, 0, 0, 0});  // graphic control: 0.5 s
    out.push_back(0x2C);
    u16(0); u16(0); u16(w); u16(h);
    out.push_back(0);
    out.push_back(8);  // LZW minimum code size
    std::vector<unsigned char> bits;
    std::uint32_t acc = 0;
    int nbits = 0;
    auto code = [&](int c) {
      acc |= static_cast<std::uint32_t>(c) << nbits;
      nbits += 9;
      while (nbits >= 8) { bits.push_back(static_cast<unsigned char>(acc & 0xff)); acc >>= 8; nbits -= 8; }
    };
    int since_clear = 0;
    code(256);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        if (since_clear == 250) { code(256); since_clear = 0; }
        code(gray.at<unsigned char>(y, x));
        ++since_clear;
      }
    }
    code(257);
    if (nbits > 0) bits.push_back(static_cast<unsigned char>(acc & 0xff));
    for (std::size_t i = 0; i < bits.size(); i += 255) {
      const auto n = std::min<std::size_t>(255, bits.size() - i);
      out.push_back(static_cast<unsigned char>(n));
      out.insert(out.end(), bits.begin() + static_cast<long>(i), bits.begin() + static_cast<long>(i + n));
    }
    out.push_back(0);
  }
  out.push_back(0x3B);
  return out;
}

std::vector<unsigned char> animated_webp(const std::vector<cv::Mat>& frames) {
  WebPAnimEncoderOptions options;
  WebPAnimEncoderOptionsInit(&options);
  WebPAnimEncoder* encoder = WebPAnimEncoderNew(frames[0].cols, frames[0].rows, &options);
  WebPConfig config;
  WebPConfigInit(&config);
  int timestamp = 0;
  for (const auto& frame : frames) {
    cv::Mat rgba;
    cv::cvtColor(frame, rgba, cv::COLOR_BGR2RGBA);
    WebPPicture picture;
    WebPPictureInit(&picture);
    picture.width = frame.cols;
    picture.height = frame.rows;
    picture.use_argb = 1;
    WebPPictureImportRGBA(&picture, rgba.data, static_cast<int>(rgba.step));
    WebPAnimEncoderAdd(encoder, &picture, timestamp, &config);
    WebPPictureFree(&picture);
    timestamp += 500;
  }
  WebPAnimEncoderAdd(encoder, nullptr, timestamp, nullptr);
  WebPData data;
  WebPDataInit(&data);
  WebPAnimEncoderAssemble(encoder, &data);
  std::vector<unsigned char> out(data.bytes, data.bytes + data.size);
  WebPDataClear(&data);
  WebPAnimEncoderDelete(encoder);
  return out;
}

// A JPEG stored turned a quarter left, with EXIF Orientation 6 telling a viewer to turn it back.
std::vector<unsigned char> exif_rotated_jpeg(const cv::Mat& upright) {
  cv::Mat stored;
  cv::rotate(upright, stored, cv::ROTATE_90_COUNTERCLOCKWISE);
  auto jpeg = encode(stored, ".jpg");
  const std::vector<unsigned char> tiff = {'I', 'I', 42, 0, 8, 0, 0, 0,           // little-endian, IFD0 at 8
                                           1, 0,                                   // one entry
                                           0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0,  // Orientation SHORT 6
                                           0, 0, 0, 0};                            // no next IFD
  std::vector<unsigned char> app1 = {0xFF, 0xE1, 0, 0, 'E', 'x', 'i', 'f', 0, 0};
  app1.insert(app1.end(), tiff.begin(), tiff.end());
  const auto length = app1.size() - 2;
  app1[2] = static_cast<unsigned char>(length >> 8);
  app1[3] = static_cast<unsigned char>(length & 0xff);
  jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
  return jpeg;
}

// A JPEG whose frame header declares zero rows.
std::vector<unsigned char> zero_height_jpeg() {
  auto jpeg = encode(text_image({"ZERO"}), ".jpg");
  for (std::size_t i = 2; i + 8 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {  // SOF0: length, precision, height, width
      jpeg[i + 5] = 0;
      jpeg[i + 6] = 0;
      break;
    }
  }
  return jpeg;
}

bool has_text(const nlohmann::json& report, const std::string& words) {
  for (const auto& c : report["clues"]) {
    if (c["kind"] == "text" && c["value"].get<std::string>().find(words) != std::string::npos) return true;
  }
  return false;
}

std::map<std::string, nlohmann::json> reports_by_name(const fs::path& out) {
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& r : read_reports(out)) {
    by_name[fs::path(r["image"]["path"].get<std::string>()).filename().string()] = r;
  }
  return by_name;
}

TEST(InputBattery, OddEncodingsAreDecodedAndRead) {
  TempDir dir;
  const fs::path in = dir / "in";
  fs::create_directories(in);
  const auto text = [](const std::string& words) { return text_image({words}, 900, 1.6); };
  write_bytes(in / "cmyk.jpg", cmyk_jpeg(text("CMYK PRINT")));
  write_bytes(in / "progressive.jpg", [&] {
    std::vector<unsigned char> b;
    cv::imencode(".jpg", text("PROGRESSIVE SCAN"), b, {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
    return b;
  }());
  cv::Mat deep;
  text("DEEP COLOUR").convertTo(deep, CV_16UC3, 257);
  write_bytes(in / "deep16.png", encode(deep, ".png"));
  write_bytes(in / "palette.png", palette_png_with_transparency(text("PALETTE SIGN")));
  cv::imwritemulti((in / "pages.tiff").string(), std::vector<cv::Mat>{text("FIRST PAGE"), text("SECOND PAGE")});
  write_bytes(in / "animated.gif", animated_gif({text("MOVING SIGN"), text("OTHER FRAME")}));
  write_bytes(in / "animated.webp", animated_webp({text("WEBP BANNER"), text("OTHER FRAME")}));
  write_bytes(in / "rotated.jpg", exif_rotated_jpeg(text("TURNED PHOTO")));
  const auto result = run_cli({"run", "--out", (dir / "out").string(), "--progress", "never", in.string()});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto by_name = reports_by_name(dir / "out");
  ASSERT_EQ(by_name.size(), 8u);
  const std::map<std::string, std::string> expected = {
      {"cmyk.jpg", "CMYK"},          {"progressive.jpg", "PROGRESSIVE"}, {"deep16.png", "DEEP"},
      {"palette.png", "PALETTE"},    {"pages.tiff", "FIRST"},            {"animated.gif", "MOVING"},
      {"animated.webp", "WEBP"},     {"rotated.jpg", "TURNED"}};
  for (const auto& [name, words] : expected) {
    const auto& r = by_name.at(name);
    EXPECT_NE(r["status"], "failed") << name << ": " << r["errors"].dump();
    EXPECT_TRUE(has_text(r, words)) << name << ": " << r["clues"].dump();
  }
  // The EXIF orientation is applied: the picture (and its boxes) as a viewer shows it.
  EXPECT_EQ(by_name.at("rotated.jpg")["image"]["width"], 900);
  const auto schema = JsonSchema::from_file(source_dir() / "docs" / "clue-report.schema.json");
  for (const auto& [name, r] : by_name) EXPECT_TRUE(schema.validate(r).empty()) << r.dump();
}

TEST(InputBattery, StripsZeroSizesGrowingFilesAndLongNames) {
  TempDir dir;
  const fs::path in = dir / "in";
  fs::create_directories(in);
  write_bytes(in / "strip_tall.png", encode(cv::Mat(100000, 1, CV_8UC3, cv::Scalar::all(128)), ".png"));
  write_bytes(in / "strip_wide.png", encode(cv::Mat(1, 100000, CV_8UC3, cv::Scalar::all(128)), ".png"));
  write_bytes(in / "zero_height.jpg", zero_height_jpeg());
  {
    auto png = encode(cv::Mat(4, 4, CV_8UC3, cv::Scalar::all(0)), ".png");
    for (int i = 16; i < 24; ++i) png[static_cast<std::size_t>(i)] = 0;  // IHDR width and height 0
    write_bytes(in / "zero_size.png", png);
  }
  const std::string long_name = std::string(251, 'n') + ".png";  // 255 bytes, the longest name Linux allows
  write_bytes(in / long_name, encode(text_image({"LONG NAME"}), ".png"));
  write_bytes(in / std::string("caf\xE9-\xFF.png"), encode(text_image({"LATIN ONE"}), ".png"));

  // A file being written while the run reads it (a copy still in progress): it keeps growing all along.
  const fs::path growing = in / "growing.jpg";
  write_bytes(growing, encode(text_image({"STILL COPYING"}), ".jpg"));
  std::atomic<bool> done{false};
  std::thread writer([&] {
    const int fd = ::open(growing.c_str(), O_WRONLY | O_APPEND);
    const std::vector<char> chunk(1 << 16, 0);
    while (!done) {
      if (::write(fd, chunk.data(), chunk.size()) < 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ::close(fd);
  });
  const auto result = run_cli({"run", "--out", (dir / "out").string(), "--progress", "never", in.string()});
  done = true;
  writer.join();
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto by_name = reports_by_name(dir / "out");
  ASSERT_EQ(by_name.size(), 7u) << result.output;
  for (const char* name : {"strip_tall.png", "strip_wide.png"}) {
    EXPECT_EQ(by_name.at(name)["status"], "ok") << by_name.at(name).dump();
  }
  for (const char* name : {"zero_height.jpg", "zero_size.png"}) {
    const auto& r = by_name.at(name);
    EXPECT_EQ(r["status"], "failed") << name;
    EXPECT_EQ(r["errors"][0]["stage"], "decode") << r.dump();
  }
  EXPECT_TRUE(has_text(by_name.at(long_name), "LONG")) << by_name.at(long_name).dump();
  EXPECT_TRUE(has_text(by_name.at("caf\\xE9-\\xFF.png"), "LATIN")) << by_name.at("caf\\xE9-\\xFF.png").dump();
  // The growing file: analysed as it was when opened, and the report says it changed meanwhile.
  const auto& grown = by_name.at("growing.jpg");
  EXPECT_EQ(grown["status"], "partial") << grown.dump();
  EXPECT_TRUE(has_text(grown, "COPYING")) << grown.dump();
  bool said = false;
  for (const auto& e : grown["errors"]) said = said || e["message"].get<std::string>().find("grew while it was read") != std::string::npos;
  EXPECT_TRUE(said) << grown["errors"].dump();
  EXPECT_LT(grown["image"]["bytes"].get<std::uint64_t>(), fs::file_size(growing));
}

TEST(InputBattery, AHundredThousandEmptyFilesEachGetAReport) {
  TempDir dir;
  const fs::path in = dir / "in";
  constexpr int kFiles = 100000;
  for (int folder = 0; folder < 100; ++folder) {
    const auto sub = in / fmt::format("{:03}", folder);
    fs::create_directories(sub);
    for (int i = 0; i < kFiles / 100; ++i) {
      const int fd = ::open((sub / fmt::format("img{:05}.jpg", i)).c_str(), O_WRONLY | O_CREAT, 0644);
      ::close(fd);
    }
  }
  // Only the reports (the HTML of 100,000 failed images is not what this is about).
  write_text(dir / "config.yaml", "outputs:\n  html: false\n  database: false\n  vics: false\n  links: false\n  summary_csv: false\n");
  const auto result = run_cli({"run", "--config", (dir / "config.yaml").string(), "--out", (dir / "out").string(),
                               "--progress", "never", in.string()});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::size_t count = 0, empty = 0;
  std::ifstream reports(dir / "out" / "reports.jsonl");
  for (std::string line; std::getline(reports, line);) {
    const auto r = nlohmann::json::parse(line);
    ++count;
    if (r["status"] == "failed" && r["errors"][0]["message"].get<std::string>().find("empty file") != std::string::npos) ++empty;
  }
  EXPECT_EQ(count, static_cast<std::size_t>(kFiles));
  EXPECT_EQ(empty, static_cast<std::size_t>(kFiles));
  EXPECT_EQ(read_json(dir / "out" / "run.json")["counts"]["failed"], kFiles);
}

}  // namespace
