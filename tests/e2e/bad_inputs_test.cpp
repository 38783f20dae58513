// Contract: bad input never stops a batch — every image file gets exactly one report (bad ones `failed`
// with a message naming the stage and cause), the run exits 0, and nothing under the input folder changes.
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "pipeline/json_schema.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace cluetrace;
using namespace cluetrace::test;

namespace {

std::uint32_t crc32(const unsigned char* data, std::size_t n) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void put_chunk(std::vector<unsigned char>& png, const std::string& type, const std::vector<unsigned char>& data) {
  const auto n = static_cast<std::uint32_t>(data.size());
  for (int s = 24; s >= 0; s -= 8) png.push_back(static_cast<unsigned char>(n >> s));
  std::vector<unsigned char> body(type.begin(), type.end());
  body.insert(body.end(), data.begin(), data.end());
  png.insert(png.end(), body.begin(), body.end());
  const auto crc = crc32(body.data(), body.size());
  for (int s = 24; s >= 0; s -= 8) png.push_back(static_cast<unsigned char>(crc >> s));
}

// A well-formed PNG whose header declares width x height (the pixel data is a stub): a decompression bomb's shape.
std::vector<unsigned char> png_declaring(std::uint32_t width, std::uint32_t height) {
  std::vector<unsigned char> png{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<unsigned char> ihdr;
  for (auto v : {width, height}) {
    for (int s = 24; s >= 0; s -= 8) ihdr.push_back(static_cast<unsigned char>(v >> s));
  }
  ihdr.insert(ihdr.end(), {8, 0, 0, 0, 0});  // 8-bit greyscale, deflate, no interlace
  put_chunk(png, "IHDR", ihdr);
  put_chunk(png, "IDAT", {0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
  put_chunk(png, "IEND", {});
  return png;
}

class BadInputs : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path in = root_ / "case";
    fs::create_directories(in / "nested" / "deeper");
    const auto jpeg = encode(text_image({"GOOD IMAGE 123"}), ".jpg");
    write_bytes(in / "good.jpg", jpeg);
    write_bytes(in / "nested" / "deeper" / "good.png", encode(text_image({"NESTED 456"}), ".png"));
    write_bytes(in / "empty.jpg", {});
    write_text(in / "notes.png", "This is a text file, not a picture.\n");
    write_bytes(in / "truncated.jpg", std::vector<unsigned char>(jpeg.begin(), jpeg.begin() + static_cast<long>(jpeg.size() * 6 / 10)));
    std::vector<unsigned char> random_after_header(jpeg.begin(), jpeg.begin() + 20);  // SOI + APP0 (JFIF)
    std::mt19937 rng(42);
    for (int i = 0; i < 20000; ++i) random_after_header.push_back(static_cast<unsigned char>(rng()));
    write_bytes(in / "random_after_header.jpg", random_after_header);
    write_bytes(in / "bomb.png", png_declaring(40000, 40000));
    write_bytes(in / "photo_named.txt", jpeg);  // a JPEG under a misleading name
    write_text(in / "readme.md", "# case notes\n");  // not an image by name or content: skipped, listed in run.json
    fs::create_directory_symlink("..", in / "nested" / "loop");
    input_ = in;
  }

  TempDir root_;
  fs::path input_;
};

TEST_F(BadInputs, EveryImageFileGetsExactlyOneReportAndTheRunCompletes) {
  const auto before = snapshot_tree(input_);
  const fs::path out = root_ / "out";
  const auto result = run_cli({"run", "--out", out.string(), "--threads", "2", input_.string()});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(snapshot_tree(input_), before) << "the run changed something under the input folder";

  const auto reports = read_reports(out);
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& r : reports) {
    const auto name = fs::path(r["image"]["path"].get<std::string>()).filename().string();
    EXPECT_TRUE(by_name.emplace(name, r).second) << "two reports for " << name;
  }
  const std::array expected{"good.jpg", "good.png", "empty.jpg", "notes.png", "truncated.jpg", "random_after_header.jpg",
                            "bomb.png", "photo_named.txt"};
  EXPECT_EQ(by_name.size(), expected.size());
  for (const auto* name : expected) EXPECT_TRUE(by_name.contains(name)) << "no report for " << name;

  const auto failed_with = [&](const std::string& name, const std::string& words) {
    const auto& r = by_name.at(name);
    EXPECT_EQ(r["status"], "failed") << name;
    ASSERT_FALSE(r["errors"].empty()) << name;
    const auto message = r["errors"][0]["message"].get<std::string>();
    EXPECT_NE(message.find(words), std::string::npos) << name << ": " << message;
    EXPECT_EQ(r["errors"][0]["stage"], "decode") << name;
  };
  failed_with("empty.jpg", "empty file");
  failed_with("notes.png", "not an image");
  // Its intact top rows are analysed (salvage, tests/e2e/salvage_test.cpp): partial, saying so.
  EXPECT_EQ(by_name.at("truncated.jpg")["status"], "partial");
  EXPECT_NE(by_name.at("truncated.jpg")["errors"][0]["message"].get<std::string>().find("truncated JPEG"), std::string::npos);
  failed_with("random_after_header.jpg", "corrupt JPEG");
  failed_with("bomb.png", "above decode.max_pixels");

  for (const auto* name : {"good.jpg", "good.png", "photo_named.txt"}) {
    const auto& r = by_name.at(name);
    EXPECT_EQ(r["status"], "ok") << name << ": " << r.dump();
    EXPECT_GT(r["image"]["width"].get<int>(), 0) << name;
  }
  EXPECT_EQ(by_name.at("photo_named.txt")["image"]["format"], "jpeg");
  // Hashes cover the file bytes, so the misnamed copy hashes like the original.
  EXPECT_EQ(by_name.at("photo_named.txt")["image"]["sha256"], by_name.at("good.jpg")["image"]["sha256"]);

  const auto schema = JsonSchema::from_file(source_dir() / "docs" / "clue-report.schema.json");
  for (const auto& r : reports) {
    const auto violations = schema.validate(r);
    EXPECT_TRUE(violations.empty()) << r["image"]["path"] << ": " << violations.front().instance_path << " "
                                    << violations.front().message;
  }

  const auto run = read_json(out / "run.json");
  EXPECT_EQ(run["status"], "complete");
  EXPECT_EQ(run["counts"]["images"], expected.size());
  EXPECT_EQ(run["counts"]["failed"], 4);
  EXPECT_EQ(run["counts"]["partial"], 1);
  EXPECT_EQ(run["counts"]["ok"], 3);
  EXPECT_EQ(run["failures"].size(), 5u);
  ASSERT_EQ(run["input_problems"].size(), 1u);
  EXPECT_NE(run["input_problems"][0]["reason"].get<std::string>().find("loop"), std::string::npos);
  ASSERT_EQ(run["skipped"].size(), 1u);
  EXPECT_NE(run["skipped"][0]["path"].get<std::string>().find("readme.md"), std::string::npos);
}

TEST_F(BadInputs, OddNamesAndUndecodableFormatsStillGetReports) {
  const fs::path dir = root_ / "odd";
  fs::create_directories(dir);
  // A name that is not UTF-8 (ISO-8859-1 "ä"), as old cameras and Windows shares produce.
  write_bytes(dir / std::string("b\xE4" "ckerei.jpg"), encode(text_image({"ODD NAME"}), ".jpg"));
  // A 1x1 GIF.
  write_bytes(dir / "tiny.gif", {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF,
                                 0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0x02, 0x02, 0x44, 0x01, 0, 0x3B});
  const fs::path out = root_ / "out";
  const auto result = run_cli({"run", "--out", out.string(), dir.string()});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto reports = read_reports(out);
  ASSERT_EQ(reports.size(), 2u);
  const auto schema = JsonSchema::from_file(source_dir() / "docs" / "clue-report.schema.json");
  for (const auto& r : reports) EXPECT_TRUE(schema.validate(r).empty()) << r.dump();
  EXPECT_NE(reports[0]["image"]["path"].get<std::string>().find("b\\xE4ckerei.jpg"), std::string::npos);
  EXPECT_EQ(reports[0]["status"], "ok");
  // GIF is decoded with giflib (Debian's OpenCV has no GIF decoder): even a 1x1 one is analysed, without error.
  EXPECT_EQ(reports[1]["status"], "ok") << reports[1].dump();
  EXPECT_EQ(reports[1]["image"]["format"], "gif");
  // The odd name is stable, so a resume recognises the report it already has.
  const auto again = run_cli({"run", "--out", out.string(), "--resume", dir.string()});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(read_json(out / "run.json")["counts"]["kept_from_earlier_run"], 2);
  EXPECT_EQ(read_reports(out).size(), 2u);
  // Named on the command line, the name goes into run.json and runs.jsonl as given: the run still completes
  // and records itself, and --overwrite loses nothing on the way.
  const auto named = run_cli({"run", "--out", out.string(), "--overwrite", (dir / std::string("b\xE4" "ckerei.jpg")).string()});
  ASSERT_EQ(named.exit_code, 0) << named.output;
  EXPECT_EQ(read_json(out / "run.json")["status"], "complete");
  EXPECT_EQ(read_reports(out).size(), 1u);
}

TEST_F(BadInputs, AnUnreadableFileGetsAFailedReport) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file; permission denied cannot be staged";
  const fs::path locked = input_ / "locked.jpg";
  write_bytes(locked, encode(text_image({"LOCKED"}), ".jpg"));
  ::chmod(locked.c_str(), 0);
  const fs::path out = root_ / "out";
  const auto result = run_cli({"run", "--out", out.string(), locked.string()});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto reports = read_reports(out);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0]["status"], "failed");
  EXPECT_EQ(reports[0]["errors"][0]["stage"], "read");
  EXPECT_EQ(reports[0]["image"]["hashes_complete"], false);
}

}  // namespace
