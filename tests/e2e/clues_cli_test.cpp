// End to end: a label with a phone number written without country code, a web address, a price and an EAN-13
// goes through `cluetrace run`; the report is valid against the contract, holds each structured clue and points
// to the right country. `cluetrace langid` prints one language per input line.
#include <gtest/gtest.h>

#include <ZXing/BitMatrix.h>
#include <ZXing/MultiFormatWriter.h>
#include <opencv2/imgproc.hpp>

#include "pipeline/json_schema.hpp"
#include "tests/support/test_support.hpp"

namespace cluetrace::test {
namespace {

namespace fs = std::filesystem;

cv::Mat label_with_barcode() {
  cv::Mat label = text_image({"Frische Broetchen und Kuchen", "Tel. 030 2345678", "www.baeckerei-konz.de",
                              "Heute nur 2,99 EUR"}, 1000, 1.6);
  const auto matrix = ZXing::MultiFormatWriter(ZXing::BarcodeFormat::EAN13).setMargin(10).encode("4006381333931", 0, 0);
  cv::Mat code(80, matrix.width() * 3, CV_8UC3);
  for (int x = 0; x < code.cols; ++x) code.col(x).setTo(matrix.get(x / 3, 0) ? cv::Scalar(20, 20, 20) : cv::Scalar(240, 240, 240));
  cv::Mat page(label.rows + code.rows + 40, std::max(label.cols, code.cols), CV_8UC3, cv::Scalar(240, 240, 240));
  label.copyTo(page(cv::Rect(0, 0, label.cols, label.rows)));
  code.copyTo(page(cv::Rect(40, label.rows + 20, code.cols, code.rows)));
  return page;
}

TEST(CluesCli, StructuredCluesAndTheCountryInAValidReport) {
  TempDir dir;
  write_bytes(dir / "label.png", encode(label_with_barcode(), ".png"));
  const auto r = run_cli({"run", "--config", (source_dir() / "config" / "default.yaml").string(), "--out",
                          (dir / "out").string(), (dir / "label.png").string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto reports = read_reports(dir / "out");
  ASSERT_EQ(reports.size(), 1u);
  const auto& report = reports[0];
  const auto schema = JsonSchema::from_file(source_dir() / "docs" / "clue-report.schema.json");
  const auto violations = schema.validate(report);
  EXPECT_TRUE(violations.empty()) << violations.front().instance_path << " " << violations.front().message;
  EXPECT_EQ(report["status"], "ok") << report.dump();

  std::map<std::string, std::set<std::string>> by_kind;
  for (const auto& clue : report["clues"]) by_kind[clue["kind"].get<std::string>()].insert(clue["value"].get<std::string>());
  EXPECT_TRUE(by_kind["barcode"].contains("4006381333931")) << report.dump();
  // Written without country code: the German text, the .de address and the GS1 prefix choose Germany.
  EXPECT_TRUE(by_kind["phone"].contains("+49302345678")) << report.dump();
  EXPECT_TRUE(by_kind["url"].contains("www.baeckerei-konz.de")) << report.dump();
  EXPECT_TRUE(by_kind["price"].contains("2.99 EUR")) << report.dump();
  ASSERT_FALSE(report["languages"].empty());
  EXPECT_EQ(report["languages"][0]["code"], "de");
  ASSERT_FALSE(report["regions"].empty());
  EXPECT_EQ(report["regions"][0]["code"], "DE");
  EXPECT_GT(report["regions"][0]["probability"].get<double>(), 0.9);
  // The evidence names clues by their rank in this report.
  for (const auto& rank : report["regions"][0]["evidence"]) {
    EXPECT_GE(rank.get<int>(), 1);
    EXPECT_LE(rank.get<int>(), static_cast<int>(report["clues"].size()));
  }
}

TEST(CluesCli, LangidPrintsOneLanguagePerLine) {
  TempDir dir;
  write_text(dir / "lines.txt", "der Hund und die Katze\nle chat et le chien\npies i kot\n12345\n");
  const auto r = run_cli({"langid", (dir / "lines.txt").string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream out(r.output);
  std::vector<std::string> codes;
  for (std::string line; std::getline(out, line);) codes.push_back(line.substr(0, line.find('\t')));
  EXPECT_EQ(codes, (std::vector<std::string>{"de", "fr", "pl", "und"})) << r.output;
  EXPECT_NE(run_cli({"langid", "--languages", "xx", (dir / "lines.txt").string()}).exit_code, 0);
}

}  // namespace
}  // namespace cluetrace::test
