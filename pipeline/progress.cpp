#include "pipeline/progress.hpp"

#include <fmt/format.h>

namespace cluetrace {
namespace {

std::string format_duration(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

}  // namespace

Progress::Progress(std::size_t total, bool enabled, std::FILE* out) : total_(total), enabled_(enabled), out_(out) {}

void Progress::image_done(bool failed) {
  ++done_;
  if (failed) ++failed_;
  const auto now = std::chrono::steady_clock::now();
  // Redraw at most five times a second: a terminal is slow next to a fast batch.
  if (enabled_ && (now - last_draw_ > std::chrono::milliseconds(200) || done_ == total_)) {
    last_draw_ = now;
    draw();
  }
}

void Progress::draw() {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0;
  const std::string eta = rate > 0 ? format_duration(static_cast<double>(total_ - done_) / rate) : "?";
  fmt::print(out_, "\r\x1b[K{}/{} images  {:.1f} img/s  ETA {}  failed {}", done_, total_, rate, eta, failed_);
  std::fflush(out_);
}

void Progress::finish() {
  if (!enabled_) return;
  fmt::print(out_, "\r\x1b[K");
  std::fflush(out_);
}

}  // namespace cluetrace
