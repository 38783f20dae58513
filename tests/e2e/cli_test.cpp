// Contract: the cluetrace command line — version, config check with every problem and its key path,
// --dump-graph, @list inputs, and exit codes (0 when every image got a report, non-zero when the run
// could not proceed).
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "pipeline/json_schema.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace cluetrace;
using namespace cluetrace::test;

namespace {

TEST(Cli, VersionNamesTheLibraries) {
  const auto r = run_cli({"version"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* name : {"cluetrace", "tesseract", "leptonica", "opencv", "onetbb", "yaml-cpp", "openssl"}) {
    EXPECT_NE(r.output.find(name), std::string::npos) << name << "\n" << r.output;
  }
}

// The CLI runs with the allocator it was built with (tcmalloc unless CLUETRACE_ALLOCATOR=system or a sanitizer
// build), and says which in run.json as in `cluetrace version`.
TEST(Cli, RunsWithTheAllocatorItWasBuiltWithAndSaysWhich) {
  const std::string expected = std::string(CLUETRACE_CLI_ALLOCATOR) == "tcmalloc" ? "tcmalloc 2." : "glibc malloc 2.";
  const auto version = run_cli({"version"});
  EXPECT_NE(version.output.find("allocator      " + expected), std::string::npos) << version.output;
  TempDir dir;
  const auto r = run_cli({"run", "--out", (dir / "out").string(), (source_dir() / "data" / "samples" / "shop-sign-baeckerei.jpg").string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto run = read_json(dir / "out" / "run.json");
  EXPECT_EQ(run["libraries"]["allocator"].get<std::string>().rfind(expected, 0), 0u) << run["libraries"].dump();
}

// glibc's heap is asked for transparent huge pages (pipeline/huge_pages.hpp) where the kernel offers them, unless
// CLUETRACE_HUGE_PAGES=0 or whoever starts the CLI chose otherwise in GLIBC_TUNABLES; `cluetrace version` and
// run.json say so.
TEST(Cli, AsksForTransparentHugePagesWhereOfferedUnlessToldNot) {
  if (std::string(CLUETRACE_CLI_ALLOCATOR) == "tcmalloc") GTEST_SKIP() << "the CLI runs with tcmalloc";
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a sanitizer's allocator runs";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
  GTEST_SKIP() << "a sanitizer's allocator runs";
#endif
#endif
  std::ifstream thp("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string setting;
  std::getline(thp, setting);
  const bool offered = setting.find("[always]") != std::string::npos || setting.find("[madvise]") != std::string::npos;
  const std::string huge = ", transparent huge pages";
  const auto plain = run_cli({"version"});
  EXPECT_EQ(plain.output.find(huge) != std::string::npos, offered) << setting << "\n" << plain.output;
  // Other tunables the caller set are kept beside it.
  const auto beside = run_cli({"version"}, {"GLIBC_TUNABLES=glibc.malloc.tcache_count=4"});
  EXPECT_EQ(beside.output.find(huge) != std::string::npos, offered) << beside.output;
  EXPECT_EQ(run_cli({"version"}, {"CLUETRACE_HUGE_PAGES=0"}).output.find(huge), std::string::npos);
  EXPECT_EQ(run_cli({"version"}, {"GLIBC_TUNABLES=glibc.malloc.hugetlb=0"}).output.find(huge), std::string::npos);
  // The mark a restart carries: never a second restart, even where the loader dropped the tunable.
  EXPECT_EQ(run_cli({"version"}, {"CLUETRACE_HUGE_PAGES_RESTARTED=1"}).output.find(huge), std::string::npos);
  if (!offered) return;
  TempDir dir;
  const auto r = run_cli({"run", "--out", (dir / "out").string(), (source_dir() / "data" / "samples" / "shop-sign-baeckerei.jpg").string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(read_json(dir / "out" / "run.json")["libraries"]["allocator"].get<std::string>().find(huge), std::string::npos);
}

TEST(Cli, ConfigCheckAcceptsTheDefaultAndListsEveryProblem) {
  EXPECT_EQ(run_cli({"config", "check", (source_dir() / "config" / "default.yaml").string()}).exit_code, 0);
  TempDir dir;
  write_text(dir / "bad.yaml", "run:\n  threads: many\nstages:\n  ocr:\n    languages: [eng]\n    colour: red\n");
  const auto r = run_cli({"config", "check", (dir / "bad.yaml").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("bad.yaml:2: run.threads: expected a whole number"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("bad.yaml:6: stages.ocr.colour: unknown key"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("2 problem(s)"), std::string::npos) << r.output;
}

TEST(Cli, ConfigCheckReportsAMissingTesseractLanguage) {
  TempDir dir;
  write_text(dir / "lang.yaml", "stages:\n  ocr:\n    languages: [zzz]\n");
  const auto r = run_cli({"config", "check", (dir / "lang.yaml").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("stage ocr (ocr.tesseract_line) cannot start"), std::string::npos) << r.output;
}

TEST(Cli, DumpGraphWritesDot) {
  TempDir dir;
  const auto r = run_cli({"run", "--dump-graph", (dir / "g.dot").string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto dot = read_bytes(dir / "g.dot");
  const std::string text(dot.begin(), dot.end());
  EXPECT_EQ(text.rfind("digraph cluetrace {", 0), 0u);
  EXPECT_NE(text.find("\"decode\" -> \"text_detect\""), std::string::npos);
}

TEST(Cli, DumpGraphToAPlaceThatCannotBeWrittenFails) {
  TempDir dir;
  const auto result = run_cli({"run", "--dump-graph", (dir / "no" / "such" / "folder" / "graph.dot").string()});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("cannot write the graph"), std::string::npos) << result.output;
}

TEST(Cli, ListFileInputAndReportsValidate) {
  TempDir dir;
  write_bytes(dir / "one.png", encode(text_image({"FIRST IMAGE"}), ".png"));
  write_bytes(dir / "two.jpg", encode(text_image({"SECOND IMAGE"}), ".jpg"));
  write_text(dir / "list.txt", (dir / "two.jpg").string() + "\n" + (dir / "one.png").string() + "\n");
  const auto r = run_cli({"run", "--out", (dir / "out").string(), "@" + (dir / "list.txt").string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto reports = read_reports(dir / "out");
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0]["image"]["path"], (dir / "two.jpg").string());  // list order is kept
  const auto schema = JsonSchema::from_file(source_dir() / "docs" / "clue-report.schema.json");
  for (const auto& report : reports) {
    EXPECT_TRUE(schema.validate(report).empty()) << report.dump();
    EXPECT_EQ(report["status"], "ok");
    EXPECT_FALSE(report["clues"].empty()) << report.dump();
  }
  const auto run = read_json(dir / "out" / "run.json");
  EXPECT_EQ(run["config"]["sha256"], reports[0]["config_sha256"]);
  EXPECT_FALSE(run["libraries"]["tesseract"].get<std::string>().empty());
  // The stages ran in the worker process; run.json still records what they loaded: model files with their
  // SHA-256, not the empty fields of the supervisor's unprepared stages.
  std::map<std::string, nlohmann::json> resources;
  for (const auto& stage : run["stages"]) resources[stage["kind"].get<std::string>()] = stage["resources"];
  EXPECT_EQ(resources["text_detect"]["sha256"].get<std::string>().size(), 64u) << resources["text_detect"].dump();
  // Every width's model is hashed at the start, also those whose nets no line of the run needed.
  EXPECT_EQ(resources["ocr"]["ppocr"]["models"].size(), 7u) << resources["ocr"].dump();
  for (const auto& model : resources["ocr"]["ppocr"]["models"]) EXPECT_EQ(model["sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(resources["ocr"]["ppocr"]["keys_sha256"].get<std::string>().size(), 64u);
  EXPECT_GT(resources["ocr"]["traineddata"]["Latin"]["bytes"].get<double>(), 1e6);
  EXPECT_GT(resources["logo"]["brands"].get<int>(), 0);
}

TEST(Cli, RunThatCannotProceedExitsNonZero) {
  TempDir dir;
  const auto missing = run_cli({"run", "--out", (dir / "out").string(), (dir / "no-such-folder").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("does not exist"), std::string::npos) << missing.output;
  write_text(dir / "bad.yaml", "stages:\n  ocr:\n    min_confidence: high\n");
  write_bytes(dir / "one.png", encode(text_image({"X"}), ".png"));
  const auto bad_config = run_cli({"run", "--config", (dir / "bad.yaml").string(), "--out", (dir / "out").string(),
                                   (dir / "one.png").string()});
  EXPECT_EQ(bad_config.exit_code, 1);
  EXPECT_NE(bad_config.output.find("stages.ocr.min_confidence"), std::string::npos) << bad_config.output;
  EXPECT_EQ(run_cli({"run", (dir / "one.png").string()}).exit_code, 2) << "no --out";
}

}  // namespace
