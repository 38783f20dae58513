// Shared helpers for the tests: temporary folders, generated images, running the real CLI, reading reports.
#pragma once

#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <yaml-cpp/yaml.h>

#include "pipeline/options.hpp"
#include "pipeline/types.hpp"

namespace cluetrace::test {

std::filesystem::path source_dir();
std::filesystem::path shared_dir();  // ../shared beside the project (may be absent)
std::filesystem::path cli_path();

// A fresh folder under the system temp folder, removed (with its contents) when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A light image with dark text lines drawn in OpenCV's Hershey font, large enough for Tesseract.
cv::Mat text_image(const std::vector<std::string>& lines, int width = 900, double scale = 1.6);
// A shop sign to use as a logo: "KONZ", a disc and a block on a blue plate (360x160, BGR).
cv::Mat brand_sign();
std::vector<unsigned char> encode(const cv::Mat& image, const std::string& ext);  // ".png", ".jpg", ...
void write_bytes(const std::filesystem::path& path, const std::vector<unsigned char>& bytes);
void write_text(const std::filesystem::path& path, const std::string& text);
std::vector<unsigned char> read_bytes(const std::filesystem::path& path);

struct CliResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string output;  // stdout and stderr together
};
// Runs build/cluetrace with `args` (and NAME=VALUE entries added to its environment) and waits for it.
CliResult run_cli(const std::vector<std::string>& args, const std::vector<std::string>& extra_env = {});
// Starts build/cluetrace without waiting; returns its pid. Output goes to `log`.
int spawn_cli(const std::vector<std::string>& args, const std::filesystem::path& log,
              const std::vector<std::string>& extra_env = {});

// A stage's options struct read from YAML the way the config loader reads it; any problem fails the test.
template <typename Options>
Options options_from_yaml(const std::string& yaml) {
  ConfigProblems problems;
  OptionReader reader(YAML::Load(yaml), "stages.under_test", "test", problems);
  auto options = Options::read(reader);
  reader.finish();
  EXPECT_TRUE(problems.empty()) << problems.to_string();
  return options;
}

// An image record as the decode node leaves it, for calling a stage directly.
ImageRecord decoded_record(const cv::Mat& pixels);
// The same, with the whole image as its one text region (a rendered line for the OCR stage to read).
ImageRecord line_record(const cv::Mat& pixels);

// Runs `work` on a thread of its own, in a task arena of two threads (where a gate of share 0.5 lets one in).
std::future<void> in_two_thread_arena(std::function<void()> work);

// Holds the process's gate for the largest working sets (pipeline/memory_gate.hpp) from a thread of a
// two-thread arena, from construction until release() or destruction: another two-thread arena's work
// that needs the gate waits meanwhile.
class LargeWorkingSetsHeld {
 public:
  LargeWorkingSetsHeld();
  ~LargeWorkingSetsHeld();
  LargeWorkingSetsHeld(const LargeWorkingSetsHeld&) = delete;
  LargeWorkingSetsHeld& operator=(const LargeWorkingSetsHeld&) = delete;
  void release();

 private:
  std::promise<void> release_;
  std::future<void> holder_;
  bool released_ = false;
};

std::vector<nlohmann::json> read_reports(const std::filesystem::path& out_dir);
nlohmann::json read_json(const std::filesystem::path& file);

// Every file under `dir` (recursively, not following links) with its SHA-256 and mtime, for
// checking that a run changed nothing.
std::vector<std::string> snapshot_tree(const std::filesystem::path& dir);

}  // namespace cluetrace::test
