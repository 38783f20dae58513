// The stages' load() (pipeline/stage.hpp) in a worker process, on a thread of its own that starts once every
// stage is prepared: the first images go through the stages before a slow loader (the language stage's
// dictionaries, ~1 s) while it loads, instead of after it (bench/RESULTS.md, issue 16).
//
// An image waits for a stage's load at that stage's node, before the stage's phase begins, so the wait is not
// held against the image's time limit; the supervisor holds the load to that limit instead. The loading thread
// carries a LoadMark (pipeline/journal.hpp): a crash while loading is the stage's, and the supervisor stops
// the run with that rather than failing the images that were inside.
#pragma once

#include <array>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "pipeline/config.hpp"
#include "pipeline/journal.hpp"

namespace cluetrace {

class StageLoading {
 public:
  // Called on the loading thread once every stage's load() has returned, their load_ms filled in.
  using Loaded = std::function<void()>;

  // Starts loading the prepared stages of `config` (which must outlive this) in their order.
  StageLoading(Config& config, Journal* journal, Loaded on_loaded);
  ~StageLoading();  // waits for the loading thread
  StageLoading(const StageLoading&) = delete;
  StageLoading& operator=(const StageLoading&) = delete;

  // Blocks until `kind`'s load() has returned. Throws std::runtime_error naming the stage once any load has
  // failed: the run cannot go on.
  void wait(StageKind kind) const;

 private:
  void load_all(Config& config, Journal* journal, const Loaded& on_loaded);

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::array<bool, kAllStageKinds.size()> loaded_{};  // by StageKind; stages without a load count as loaded
  std::string error_;                                 // the first failure; empty while none
  std::thread thread_;
};

}  // namespace cluetrace
