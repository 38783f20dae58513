#include "pipeline/stage_loading.hpp"

#include <chrono>
#include <stdexcept>

#include <fmt/format.h>

namespace cluetrace {

StageLoading::StageLoading(Config& config, Journal* journal, Loaded on_loaded) {
  for (const auto& s : config.stages) {
    if (!s.stage) loaded_[static_cast<std::size_t>(s.kind)] = true;
  }
  thread_ = std::thread([this, &config, journal, on_loaded = std::move(on_loaded)] { load_all(config, journal, on_loaded); });
}

StageLoading::~StageLoading() { thread_.join(); }

void StageLoading::load_all(Config& config, Journal* journal, const Loaded& on_loaded) {
  for (auto& s : config.stages) {
    if (!s.stage) continue;
    std::string error;
    try {
      const LoadMark mark(journal, s.kind);
      const auto start = std::chrono::steady_clock::now();
      s.stage->load();
      s.load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    } catch (const std::exception& e) {
      error = fmt::format("stage {} ({}) cannot load: {}", to_string(s.kind), s.stage->id(), e.what());
    }
    const std::lock_guard lock(mutex_);
    if (!error.empty()) {
      // The stages after it are not loaded either: every waiter learns of the failure.
      error_ = std::move(error);
      loaded_.fill(true);
      changed_.notify_all();
      return;
    }
    loaded_[static_cast<std::size_t>(s.kind)] = true;
    changed_.notify_all();
  }
  if (on_loaded) on_loaded();
}

void StageLoading::wait(StageKind kind) const {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return loaded_[static_cast<std::size_t>(kind)]; });
  if (!error_.empty()) throw std::runtime_error(error_);
}

}  // namespace cluetrace
