// A fuzz harness's scratch folder: one per process under the system's temporary folder, created on first use
// and removed when the process ends normally (replays, libFuzzer's -runs=N). A crashing input leaves it behind
// on purpose, beside the crash it reproduces.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace cluetrace::fuzz {

class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix)
      : path_(std::filesystem::temp_directory_path() / (prefix + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;  // nothing to report to at exit: a folder that cannot be removed stays
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace cluetrace::fuzz
