// Contract: a truncated JPEG or PNG whose first rows decode is analysed as `partial` on those rows, the report
// saying which rows are valid and why; one with nothing decodable stays `failed`.
#include <map>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <fmt/format.h>

#include "pipeline/decode.hpp"
#include "pipeline/salvage.hpp"
#include "pipeline/json_schema.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace cluetrace;
using namespace cluetrace::test;

namespace {

// A tall picture: a phone number in its top part, a web address in its bottom part.
cv::Mat two_part_picture() {
  cv::Mat top = text_image({"OPENING HOURS"});
  cv::Mat gap(500, top.cols, CV_8UC3, cv::Scalar(235, 235, 235));
  cv::Mat bottom = text_image({"BOTTOM LINE"});
  cv::Mat out;
  cv::vconcat(std::vector<cv::Mat>{top, gap, bottom}, out);
  return out;
}

std::vector<unsigned char> cut(std::vector<unsigned char> bytes, double keep) {
  bytes.resize(static_cast<std::size_t>(static_cast<double>(bytes.size()) * keep));
  return bytes;
}

bool has_clue(const nlohmann::json& report, const std::string& kind, const std::string& words) {
  for (const auto& c : report["clues"]) {
    if (c["kind"] == kind && c["value"].get<std::string>().find(words) != std::string::npos) return true;
  }
  return false;
}

TEST(Salvage, TheIntactTopRowsOfATruncatedJpegAndPngAreAnalysed) {
  TempDir dir;
  const auto picture = two_part_picture();
  // Baseline JPEG and PNG cut about half-way down the gap (where a file of only the rows above it would
  // end): the top part survives, the bottom does not.
  fs::create_directories(dir / "in");
  for (const std::string ext : {".jpg", ".png"}) {
    // zlib holds back a stretch of input before it writes, so a PNG's rows lag behind its bytes.
    const cv::Mat upper = picture.rowRange(0, 128 + (ext == ".png" ? 480 : 250));
    auto bytes = encode(picture, ext);
    bytes.resize(encode(upper, ext).size());
    write_bytes(dir / "in" / ("cut" + ext), bytes);
  }
  // Cut inside the header: nothing to salvage.
  write_bytes(dir / "in" / "header_only.jpg", cut(encode(picture, ".jpg"), 0.02));
  const auto result = run_cli({"run", "--out", (dir / "out").string(), (dir / "in").string()});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& r : read_reports(dir / "out")) by_name[fs::path(r["image"]["path"].get<std::string>()).filename().string()] = r;
  ASSERT_EQ(by_name.size(), 3u);
  for (const char* name : {"cut.jpg", "cut.png"}) {
    const auto& r = by_name.at(name);
    EXPECT_EQ(r["status"], "partial") << r.dump();
    const auto& salvaged = r["image"]["salvaged"];
    ASSERT_TRUE(salvaged.is_object()) << r.dump();
    EXPECT_EQ(salvaged["declared_height"], picture.rows);
    EXPECT_EQ(salvaged["declared_width"], picture.cols);
    const int valid = salvaged["valid_rows"].get<int>();
    EXPECT_GT(valid, 128) << name << ": the top text's rows were lost: " << r["errors"].dump();
    EXPECT_LT(valid, picture.rows) << name;
    EXPECT_EQ(r["image"]["height"], valid);
    EXPECT_EQ(r["errors"][0]["stage"], "decode");
    EXPECT_NE(r["errors"][0]["message"].get<std::string>().find(fmt::format("rows 0-{} of {}", valid - 1, picture.rows)),
              std::string::npos) << r.dump();
    EXPECT_TRUE(has_clue(r, "text", "OPENING")) << name << ": " << r["clues"].dump();
    EXPECT_FALSE(has_clue(r, "text", "BOTTOM")) << name << ": a clue from rows that are not there";
    EXPECT_TRUE(r["image"]["hashes_complete"].get<bool>());
  }
  EXPECT_EQ(by_name.at("header_only.jpg")["status"], "failed");
  EXPECT_NE(by_name.at("header_only.jpg")["errors"][0]["message"].get<std::string>().find("no intact rows"), std::string::npos);
  const auto schema = JsonSchema::from_file(source_dir() / "docs" / "clue-report.schema.json");
  for (const auto& [name, r] : by_name) EXPECT_TRUE(schema.validate(r).empty()) << r.dump();
}

TEST(Salvage, TheSalvagedRowsAreTheRowsOfTheIntactFile) {
  TempDir dir;
  cv::Mat picture(400, 300, CV_8UC3);
  cv::randu(picture, cv::Scalar::all(0), cv::Scalar::all(255));
  cv::GaussianBlur(picture, picture, {9, 9}, 3);
  for (const std::string ext : {".png", ".jpg"}) {
    const auto whole = encode(picture, ext);
    const auto reference = cv::imdecode(whole, cv::IMREAD_COLOR);
    write_bytes(dir / ("cut" + ext), cut(whole, 0.6));
    ImageRecord image;
    image.input = {dir / ("cut" + ext), "cut" + ext};
    read_and_decode(image, DecodeOptions{});
    ASSERT_TRUE(image.decoded) << ext;
    ASSERT_TRUE(image.salvage) << ext;
    ASSERT_GE(image.pixels.rows, kMinSalvagedRows) << ext;
    // Every salvaged row equals the same row of the whole file, decoded by OpenCV (JPEG: up to rounding).
    cv::Mat diff;
    cv::absdiff(image.pixels, reference.rowRange(0, image.pixels.rows), diff);
    double worst = 0;
    cv::minMaxLoc(diff.reshape(1), nullptr, &worst);
    EXPECT_LE(worst, ext == ".png" ? 0 : 2) << ext;
  }
}

}  // namespace
