// Contract: `cluetrace run` on the bundled samples (data/samples) writes one schema-valid `ok` report per
// sample and finds the words the samples were drawn with (data/samples/truth.jsonl) at a minimum rate.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "pipeline/json_schema.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace cluetrace;
using namespace cluetrace::test;

namespace {

// Case-folded tokens of 3+ characters (ASCII folding only; diacritics stay as they are).
std::set<std::string> tokens(const std::string& text) {
  std::set<std::string> out;
  std::string word;
  auto flush = [&] {
    if (word.size() >= 3) out.insert(word);
    word.clear();
  };
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c >= 0x80) {
      word.push_back(static_cast<char>(std::tolower(c)));
    } else {
      flush();
    }
  }
  flush();
  return out;
}

TEST(Samples, EverySampleGetsAValidOkReportAndItsWordsAreFound) {
  const fs::path samples = source_dir() / "data" / "samples";
  ASSERT_TRUE(fs::exists(samples / "truth.jsonl"));
  TempDir dir;
  const auto r = run_cli({"run", "--config", (source_dir() / "config" / "default.yaml").string(), "--out",
                          (dir / "out").string(), samples.string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;

  std::map<std::string, std::set<std::string>> truth;
  std::ifstream in(samples / "truth.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    std::string all;
    for (const auto& t : j["texts"]) all += t.get<std::string>() + " ";
    truth[j["image"].get<std::string>()] = tokens(all);
  }
  const auto schema = JsonSchema::from_file(source_dir() / "docs" / "clue-report.schema.json");
  const auto reports = read_reports(dir / "out");
  ASSERT_EQ(reports.size(), truth.size());
  std::size_t expected_words = 0, found_words = 0;
  for (const auto& report : reports) {
    const auto violations = schema.validate(report);
    EXPECT_TRUE(violations.empty()) << report["image"]["path"] << " " << violations.front().instance_path;
    EXPECT_EQ(report["status"], "ok") << report.dump();
    const auto name = fs::path(report["image"]["path"].get<std::string>()).filename().string();
    ASSERT_TRUE(truth.contains(name)) << name;
    std::set<std::string> read;
    for (const auto& clue : report["clues"]) {
      for (const auto& t : tokens(clue["value"].get<std::string>())) read.insert(t);
    }
    for (const auto& word : truth[name]) {
      ++expected_words;
      found_words += read.contains(word);
    }
  }
  const double recall = static_cast<double>(found_words) / static_cast<double>(std::max<std::size_t>(1, expected_words));
  // Detector + line OCR read 0.97 of these words when this bar was set.
  EXPECT_GE(recall, 0.85) << found_words << " of " << expected_words << " sample words read";
  RecordProperty("sample_word_recall", std::to_string(recall));

  // The case outputs lie beside the reports, and the database finds a word read on the samples.
  for (const char* name : {"index.html", "clues.sqlite", "summary.csv", "vics.json", "links.json"}) {
    EXPECT_TRUE(fs::exists(dir / "out" / name)) << name;
  }
  const auto search = run_cli({"search", (dir / "out").string(), "Erdbeeren", "--json"});
  ASSERT_EQ(search.exit_code, 0) << search.output;
  EXPECT_NE(search.output.find("flyer-angebot.jpg"), std::string::npos) << search.output;
}

}  // namespace
