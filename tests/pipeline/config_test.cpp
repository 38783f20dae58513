// Contract: configs are read once, every problem is reported with its file, line and key path,
// and the config hash covers exactly the settings that shape results.
#include <gtest/gtest.h>

#include "pipeline/config.hpp"
#include "tests/support/test_support.hpp"

using namespace cluetrace;

namespace {

ConfigProblems problems_of(const std::string& yaml) {
  try {
    load_config_text(yaml, "test.yaml");
  } catch (const ConfigError& e) {
    return e.problems();
  }
  return {};
}

bool has_problem(const ConfigProblems& problems, const std::string& key_path, const std::string& words) {
  for (const auto& p : problems.all()) {
    if (p.key_path == key_path && p.message.find(words) != std::string::npos && p.file == "test.yaml") return true;
  }
  return false;
}

TEST(Config, ShippedDefaultLoadsAndMatchesTheBuiltInCopy) {
  const auto from_file = load_config_file(test::source_dir() / "config" / "default.yaml");
  const auto built_in = load_config_text(default_config_yaml(), "<built-in default>");
  EXPECT_EQ(from_file.sha256, built_in.sha256);
  EXPECT_EQ(from_file.sha256.size(), 64u);
  ASSERT_EQ(from_file.stages.size(), kAllStageKinds.size());
  EXPECT_EQ(from_file.decode.max_pixels, 100'000'000);
}

TEST(Config, EmptyFileMeansDefaultsWithTheSameHash) {
  EXPECT_EQ(load_config_text("", "empty.yaml").sha256, load_config_text(default_config_yaml(), "d").sha256);
}

TEST(Config, HashChangesWithResultsButNotWithThreads) {
  const auto base = load_config_text("", "a").sha256;
  EXPECT_NE(load_config_text("stages:\n  ocr:\n    min_confidence: 0.7\n", "b").sha256, base);
  EXPECT_NE(load_config_text("decode:\n  max_pixels: 5000\n", "c").sha256, base);
  EXPECT_EQ(load_config_text("run:\n  threads: 7\n  max_in_flight: 3\n", "d").sha256, base);
}

TEST(Config, UnknownKeysAreErrorsWithKeyPathAndLine) {
  const auto problems = problems_of("stages:\n  ocr:\n    languages: [eng]\n    langauges: [deu]\nfoo: 1\n");
  EXPECT_TRUE(has_problem(problems, "stages.ocr.langauges", "unknown key"));
  EXPECT_TRUE(has_problem(problems, "foo", "unknown key"));
  EXPECT_EQ(problems.all().size(), 2u) << problems.to_string();
  EXPECT_EQ(problems.all()[0].line, 4);
  EXPECT_NE(problems.to_string().find("test.yaml:4: stages.ocr.langauges: unknown key"), std::string::npos)
      << problems.to_string();
}

TEST(Config, WrongTypesAndRangesAreErrors) {
  const auto problems = problems_of(
      "decode:\n  max_pixels: lots\nstages:\n  ocr:\n    min_confidence: 1.5\n    languages: eng\n  rank:\n    enabled: maybe\n");
  EXPECT_TRUE(has_problem(problems, "decode.max_pixels", "whole number"));
  EXPECT_TRUE(has_problem(problems, "stages.ocr.min_confidence", "out of range"));
  EXPECT_TRUE(has_problem(problems, "stages.ocr.languages", "list of strings"));
  EXPECT_TRUE(has_problem(problems, "stages.rank.enabled", "true or false"));
  EXPECT_EQ(problems.all().size(), 4u) << problems.to_string();
}

TEST(Config, UnknownImplementationIsNamed) {
  const auto problems = problems_of("stages:\n  ocr:\n    impl: magic\n");
  EXPECT_TRUE(has_problem(problems, "stages.ocr.impl", "'magic' is not one of: tesseract_line, tesseract_page"));
}

TEST(Config, DisabledStageIsNotBuiltButItsOptionsAreStillChecked) {
  const auto config = load_config_text("stages:\n  ocr:\n    enabled: false\n", "x");
  EXPECT_EQ(config.stages[static_cast<std::size_t>(StageKind::ocr)].stage, nullptr);
  EXPECT_TRUE(has_problem(problems_of("stages:\n  ocr:\n    enabled: false\n    typo: 1\n"), "stages.ocr.typo", "unknown"));
}

TEST(Config, InvalidYamlNamesTheFileAndLine) {
  const auto problems = problems_of("stages:\n  ocr: [unclosed\n");
  ASSERT_EQ(problems.all().size(), 1u);
  EXPECT_NE(problems.all()[0].message.find("not valid YAML"), std::string::npos);
  EXPECT_GT(problems.all()[0].line, 0);
}

TEST(Config, MissingFileIsAClearError) {
  EXPECT_THROW(load_config_file("/nonexistent/cluetrace.yaml"), ConfigError);
}

}  // namespace

namespace {

// Found by fuzz_config (tests/fuzz/regressions/config): a Latin-1 byte in a text value used to escape as a JSON
// type_error from the config hash.
TEST(Config, TextThatIsNotUtf8IsAProblemNamingItsKey) {
  const auto problems = problems_of("outputs:\n  case_name: \"Fall M\xfcller\"\nstages:\n  barcode:\n    formats: [\"EAN\xff\"]\n");
  EXPECT_EQ(problems.all().size(), 2u) << problems.to_string();
  EXPECT_TRUE(has_problem(problems, "outputs.case_name", "not valid UTF-8")) << problems.to_string();
  EXPECT_TRUE(has_problem(problems, "stages.barcode.formats", "not valid UTF-8")) << problems.to_string();
}

}  // namespace
