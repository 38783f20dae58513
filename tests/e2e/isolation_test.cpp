// Contract: a native crash or a hang inside third-party code costs the image it happened on, nothing else.
// The real CLI runs with a fault-injection library preloaded (tests/support/fault_inject.cpp: zxing-cpp's
// ReadBarcodes crashes with SIGSEGV, SIGABRT or SIGFPE, or hangs, on marked images). Every image gets exactly
// one report, the bad ones `failed` naming the stage and the cause, the good ones exactly as in a run without
// the bad ones, and --resume afterwards changes nothing.
#include <algorithm>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "pipeline/json_schema.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace cluetrace;
using namespace cluetrace::test;

namespace {

const std::string kPreload = std::string("LD_PRELOAD=") + CLUETRACE_FAULT_INJECT;

enum class Fault { segv = 1, abort = 2, fpe = 3, hang = 4, exception = 5 };

// A text image whose top-left grey pixels tell the injected ReadBarcodes which fault to cause.
cv::Mat marked(const std::string& text, Fault fault) {
  cv::Mat image = text_image({text});
  const int values[] = {13, 37, 201, static_cast<int>(fault)};
  for (int x = 0; x < 4; ++x) image.at<cv::Vec3b>(0, x) = cv::Vec3b::all(static_cast<unsigned char>(values[x]));
  return image;
}

// Each report's clues as comparable text, by file name.
std::map<std::string, std::vector<std::string>> clues_by_name(const std::vector<nlohmann::json>& reports) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& r : reports) {
    auto& clues = out[fs::path(r["image"]["path"].get<std::string>()).filename().string()];
    for (const auto& c : r["clues"]) clues.push_back(c["kind"].get<std::string>() + ":" + c["value"].get<std::string>() + ":" + c.value("box", nlohmann::json()).dump());
  }
  return out;
}

class Isolation : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(good_);
    const std::vector<std::string> texts = {"BAKERY 0221 334455", "OPEN MONDAY TO FRIDAY", "WWW.EXAMPLE.NL",
                                            "FRESH BREAD DAILY", "TEL 030 1234567", "HOTEL CENTRAL"};
    for (std::size_t i = 0; i < texts.size(); ++i) {
      write_bytes(good_ / ("good" + std::to_string(i) + ".png"), encode(text_image({texts[i]}), ".png"));
    }
    fs::create_directories(mixed_);
    for (const auto& e : fs::directory_iterator(good_)) fs::copy_file(e.path(), mixed_ / e.path().filename());
    write_bytes(mixed_ / "crash_segv.png", encode(marked("SEGMENTATION", Fault::segv), ".png"));
    write_bytes(mixed_ / "crash_abort.png", encode(marked("ABORTED", Fault::abort), ".png"));
    write_bytes(mixed_ / "crash_fpe.png", encode(marked("DIVIDED", Fault::fpe), ".png"));
    write_bytes(mixed_ / "hang.png", encode(marked("FOREVER", Fault::hang), ".png"));
  }

  TempDir root_;
  fs::path good_ = root_ / "good";
  fs::path mixed_ = root_ / "mixed";
};

TEST_F(Isolation, CrashesAndAHangCostOnlyTheirImages) {
  const std::vector<std::string> common = {"--threads", "2", "--max-in-flight", "4", "--image-timeout", "20", "--progress", "never"};
  auto args = [&](const fs::path& out, const fs::path& in, std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {"run", "--out", out.string()};
    a.insert(a.end(), common.begin(), common.end());
    a.insert(a.end(), extra.begin(), extra.end());
    a.push_back(in.string());
    return a;
  };
  const auto clean = run_cli(args(root_ / "out_good", good_), {kPreload});
  ASSERT_EQ(clean.exit_code, 0) << clean.output;

  const auto run = run_cli(args(root_ / "out_mixed", mixed_), {kPreload});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto reports = read_reports(root_ / "out_mixed");
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& r : reports) {
    const auto name = fs::path(r["image"]["path"].get<std::string>()).filename().string();
    EXPECT_TRUE(by_name.emplace(name, r).second) << name << " reported twice";
  }
  ASSERT_EQ(by_name.size(), 10u) << run.output;

  const std::map<std::string, std::string> expected_cause = {{"crash_segv.png", "SIGSEGV"},
                                                             {"crash_abort.png", "SIGABRT"},
                                                             {"crash_fpe.png", "SIGFPE"},
                                                             {"hang.png", "timed out after 20 s in barcode.zxing"}};
  for (const auto& [name, cause] : expected_cause) {
    const auto& r = by_name.at(name);
    EXPECT_EQ(r["status"], "failed") << name;
    ASSERT_EQ(r["errors"].size(), 1u) << r.dump();
    EXPECT_EQ(r["errors"][0]["stage"], "barcode.zxing") << r.dump();
    const auto message = r["errors"][0]["message"].get<std::string>();
    EXPECT_NE(message.find(cause), std::string::npos) << message;
    if (name != "hang.png") {
      EXPECT_NE(message.find("while running barcode.zxing on this image"), std::string::npos) << message;
    }
    // The evidence record is whole even though the image's processing died: the hashes cover every byte.
    EXPECT_EQ(r["image"]["sha256"].get<std::string>().size(), 64u);
    EXPECT_TRUE(r["image"]["hashes_complete"].get<bool>()) << r.dump();
    EXPECT_EQ(r["image"]["bytes"].get<std::uint64_t>(), fs::file_size(mixed_ / name));
  }
  const auto good_clues = clues_by_name(read_reports(root_ / "out_good"));
  const auto mixed_clues = clues_by_name(reports);
  for (const auto& [name, clues] : good_clues) {
    EXPECT_EQ(by_name.at(name)["status"], "ok") << by_name.at(name).dump();
    EXPECT_EQ(mixed_clues.at(name), clues) << name << ": not the clues of the run without the bad images";
  }
  const auto schema = JsonSchema::from_file(source_dir() / "docs" / "clue-report.schema.json");
  for (const auto& r : reports) EXPECT_TRUE(schema.validate(r).empty()) << r.dump();

  const auto record = read_json(root_ / "out_mixed" / "run.json");
  EXPECT_EQ(record["status"], "complete");
  EXPECT_EQ(record["isolation"]["crashed_images"], 3);
  EXPECT_EQ(record["isolation"]["timed_out_images"], 1);

  // --resume finds every image reported (the crashed ones too) and changes nothing.
  const auto before = read_bytes(root_ / "out_mixed" / "reports.jsonl");
  const auto resumed = run_cli(args(root_ / "out_mixed", mixed_, {"--resume"}), {kPreload});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(read_bytes(root_ / "out_mixed" / "reports.jsonl"), before);
  EXPECT_EQ(read_json(root_ / "out_mixed" / "run.json")["isolation"]["worker_deaths"], 0);
}

TEST_F(Isolation, ARunThatCrashesOnEverythingStopsWithAMessage) {
  TempDir all_bad;
  for (int i = 0; i < 8; ++i) {
    write_bytes(all_bad / ("bad" + std::to_string(i) + ".png"), encode(marked("BAD " + std::to_string(i), Fault::segv), ".png"));
  }
  // Only the barcode stage, so each new worker starts in a moment; a budget of 3 crashes in any 5 images.
  write_text(root_ / "config.yaml",
             "run:\n  crash_limit: 3\n  crash_window: 5\nstages:\n  text_detect:\n    enabled: false\n  ocr:\n    enabled: false\n"
             "  logo:\n    enabled: false\n");
  const auto run = run_cli({"run", "--config", (root_ / "config.yaml").string(), "--out", (root_ / "out").string(),
                            "--threads", "1", "--max-in-flight", "1", all_bad.path().string()},
                           {kPreload});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("stopped: 4 of the last 4 images crashed or hung the worker process"), std::string::npos) << run.output;
  const auto reports = read_reports(root_ / "out");
  EXPECT_EQ(reports.size(), 4u);
  for (const auto& r : reports) EXPECT_EQ(r["status"], "failed");
  EXPECT_EQ(read_json(root_ / "out" / "run.json")["status"], "stopped");
}

// The language stage loads its dictionaries while the first images go through the other stages
// (pipeline/stage_loading.hpp). A crash, a hang or an error there is the stage's: the run stops with a message
// naming the stage, no image is failed for it, and --resume afterwards (the fault gone) reports every image.
TEST_F(Isolation, AFaultWhileAStageLoadsStopsTheRunAndCostsNoImage) {
  struct Case {
    Fault fault;
    std::string message;
  };
  const std::vector<Case> cases = {
      {Fault::segv, "(Segmentation fault)) while loading stage language (language.evidence)"},
      {Fault::hang, "stage language (language.evidence) was still loading after 3 s"},
      {Fault::exception, "stage language (language.evidence) cannot load: injected fault"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    // English alone, from a folder whose name tells the injected hunspell constructor to fault.
    const auto dictionaries = root_ / ("cluetrace-fault-load-" + std::to_string(static_cast<int>(c.fault)));
    fs::create_directories(dictionaries);
    for (const char* file : {"en_US.aff", "en_US.dic"}) fs::create_symlink(fs::path("/usr/share/hunspell") / file, dictionaries / file);
    const auto config = root_ / "config.yaml";
    write_text(config, "stages:\n  logo:\n    enabled: false\n  language:\n    languages: [en]\n    dictionaries: hunspell\n    hunspell_dir: " +
                           dictionaries.string() + "\n");
    const auto out = root_ / ("out" + std::to_string(static_cast<int>(c.fault)));
    const std::vector<std::string> args = {"run", "--config", config.string(), "--out", out.string(), "--threads", "2",
                                           "--image-timeout", "3", "--progress", "never", good_.string()};
    const auto run = run_cli(args, {kPreload});
    EXPECT_EQ(run.exit_code, 1) << run.output;
    EXPECT_NE(run.output.find(c.message), std::string::npos) << run.output;
    const auto record = read_json(out / "run.json");
    EXPECT_EQ(record["status"], "stopped");
    EXPECT_NE(record["stopped"].get<std::string>().find(c.message), std::string::npos) << record.dump();
    EXPECT_EQ(record["isolation"]["crashed_images"], 0);
    EXPECT_EQ(record["isolation"]["timed_out_images"], 0);
    EXPECT_EQ(record["isolation"]["retried_alone"], 0);
    for (const auto& r : read_reports(out)) EXPECT_EQ(r["status"], "ok") << r.dump();

    // The same run without the fault finishes what was left, and the words were read with the dictionary.
    auto resume = args;
    resume.insert(resume.end() - 1, "--resume");
    const auto resumed = run_cli(resume);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    const auto reports = read_reports(out);
    EXPECT_EQ(reports.size(), 6u);
    for (const auto& r : reports) {
      EXPECT_EQ(r["status"], "ok") << r.dump();
      EXPECT_FALSE(r["clues"].empty()) << r.dump();
    }
    const auto stages = read_json(out / "run.json")["stages"];
    const auto language = std::find_if(stages.begin(), stages.end(), [](const auto& st) { return st["kind"] == "language"; });
    ASSERT_NE(language, stages.end());
    EXPECT_GT(language->value("load_ms", 0.0), 0.0) << language->dump();
  }
}

}  // namespace
