// Contract: a run killed with SIGKILL and rerun with --resume yields the same set of reports as an
// uninterrupted run — nothing lost, nothing duplicated — and resume respects the config hash.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace cluetrace::test;

namespace {

constexpr int kImages = 16;

std::size_t complete_lines(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::size_t n = 0;
  for (char c; in.get(c);) n += c == '\n';
  return n;
}

// What must match between two runs: everything but timings.
std::set<std::string> essence(const std::vector<nlohmann::json>& reports) {
  std::set<std::string> out;
  for (auto r : reports) {
    r.erase("timings_ms");
    r.erase("run_id");  // names the run that wrote the report: differs by design
    out.insert(r.dump());
  }
  return out;
}

class Resume : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(input_);
    for (int i = 0; i < kImages; ++i) {
      const std::string name = "img" + std::to_string(100 + i) + ".png";
      write_bytes(input_ / name, encode(text_image({"IMAGE NUMBER " + std::to_string(i), "CASE FOLDER TEST"}), ".png"));
    }
  }
  TempDir root_;
  fs::path input_ = root_ / "case";
};

TEST_F(Resume, KilledRunResumedEqualsUninterruptedRun) {
  const fs::path reference = root_ / "reference";
  const auto full = run_cli({"run", "--out", reference.string(), "--threads", "1", input_.string()});
  ASSERT_EQ(full.exit_code, 0) << full.output;
  const auto expected = read_reports(reference);
  ASSERT_EQ(expected.size(), static_cast<std::size_t>(kImages));

  const fs::path out = root_ / "killed";
  const int pid = spawn_cli({"run", "--out", out.string(), "--threads", "1", input_.string()}, root_ / "killed.log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (complete_lines(out / "reports.jsonl") < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it could be killed";
  const auto written_before_kill = complete_lines(out / "reports.jsonl");
  ASSERT_GE(written_before_kill, 4u);
  ASSERT_LT(written_before_kill, static_cast<std::size_t>(kImages));
  EXPECT_EQ(read_json(out / "run.json")["status"], "running");

  // Simulate the kill landing in the middle of a write: a torn last line must be redone, not kept.
  {
    std::ofstream torn(out / "reports.jsonl", std::ios::app);
    torn << R"({"schema":"clue-report/1","image":{"path":)";
  }
  const auto resumed = run_cli({"run", "--out", out.string(), "--resume", "--threads", "2", input_.string()});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const auto actual = read_reports(out);
  EXPECT_EQ(actual.size(), static_cast<std::size_t>(kImages));
  EXPECT_EQ(essence(actual), essence(expected));
  // The resumed file reads as one run: input order, like the uninterrupted one.
  for (std::size_t i = 0; i < actual.size() && i < expected.size(); ++i) {
    EXPECT_EQ(actual[i]["image"]["path"], expected[i]["image"]["path"]);
  }
  const auto run = read_json(out / "run.json");
  EXPECT_EQ(run["status"], "complete");
  EXPECT_EQ(run["counts"]["kept_from_earlier_run"].get<std::size_t>(), written_before_kill);
  EXPECT_EQ(run["counts"]["reported"], kImages);
}

TEST_F(Resume, ReportsMadeUnderAnotherConfigAreNeverSilentlyReplaced) {
  const fs::path out = root_ / "out";
  ASSERT_EQ(run_cli({"run", "--out", out.string(), input_.string()}).exit_code, 0);
  const auto before = read_reports(out);
  const fs::path config = root_ / "other.yaml";
  write_text(config, "stages:\n  ocr:\n    min_confidence: 0.9\n");
  const auto resumed = run_cli({"run", "--config", config.string(), "--out", out.string(), "--resume", input_.string()});
  EXPECT_EQ(resumed.exit_code, 1);
  EXPECT_NE(resumed.output.find("made with another config"), std::string::npos) << resumed.output;
  EXPECT_EQ(essence(read_reports(out)), essence(before)) << "the refused resume changed the reports";

  const auto replaced = run_cli({"run", "--config", config.string(), "--out", out.string(), "--overwrite", input_.string()});
  ASSERT_EQ(replaced.exit_code, 0) << replaced.output;
  const auto reports = read_reports(out);
  EXPECT_EQ(reports.size(), static_cast<std::size_t>(kImages));
  std::set<std::string> hashes;
  for (const auto& r : reports) hashes.insert(r["config_sha256"].get<std::string>());
  EXPECT_EQ(hashes.size(), 1u);
  EXPECT_NE(*hashes.begin(), before[0]["config_sha256"].get<std::string>());
}

TEST_F(Resume, ResumingWithFewerInputsKeepsTheOtherReports) {
  const fs::path out = root_ / "out";
  ASSERT_EQ(run_cli({"run", "--out", out.string(), input_.string()}).exit_code, 0);
  const auto before = read_reports(out);
  const auto one = (input_ / "img100.png").string();
  const auto resumed = run_cli({"run", "--out", out.string(), "--resume", one});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(essence(read_reports(out)), essence(before)) << "a resume with fewer inputs lost reports";
  const auto run = read_json(out / "run.json");
  EXPECT_EQ(run["counts"]["kept_from_earlier_run"], 1);
  EXPECT_EQ(run["counts"]["kept_for_other_inputs"], kImages - 1);
}

TEST_F(Resume, ASecondRunOnTheSameOutputFolderIsRefused) {
  // More images, so the first run is still going while the second starts up (its stages load first).
  for (int i = kImages; i < 4 * kImages; ++i) {
    write_bytes(input_ / ("img" + std::to_string(100 + i) + ".png"),
                encode(text_image({"MORE IMAGES " + std::to_string(i)}), ".png"));
  }
  const fs::path out = root_ / "out";
  const int pid = spawn_cli({"run", "--out", out.string(), "--threads", "1", input_.string()}, root_ / "first.log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (complete_lines(out / "reports.jsonl") < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto second = run_cli({"run", "--out", out.string(), "--resume", input_.string()});
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.output.find("another cluetrace run is writing"), std::string::npos) << second.output;
  EXPECT_EQ(read_reports(out).size(), static_cast<std::size_t>(4 * kImages));  // the first run finished alone
}

TEST_F(Resume, AFreshRunRefusesToOverwriteEarlierReports) {
  const fs::path out = root_ / "out";
  ASSERT_EQ(run_cli({"run", "--out", out.string(), input_.string()}).exit_code, 0);
  const auto before = read_reports(out);
  const auto again = run_cli({"run", "--out", out.string(), input_.string()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("--resume"), std::string::npos) << again.output;
  EXPECT_EQ(read_reports(out).size(), before.size());
  const auto overwritten = run_cli({"run", "--out", out.string(), "--overwrite", input_.string()});
  EXPECT_EQ(overwritten.exit_code, 0) << overwritten.output;
  EXPECT_EQ(read_reports(out).size(), before.size());
}

}  // namespace
