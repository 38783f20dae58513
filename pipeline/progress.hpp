// A one-line progress display on stderr: images done/total, rate, ETA, failures.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>

namespace cluetrace {

class Progress {
 public:
  Progress(std::size_t total, bool enabled, std::FILE* out = stderr);
  void image_done(bool failed);  // call from one thread at a time
  void finish();                 // clears the line

 private:
  void draw();

  std::size_t total_;
  std::size_t done_ = 0;
  std::size_t failed_ = 0;
  bool enabled_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace cluetrace
