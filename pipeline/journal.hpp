// The in-flight journal: which image is in which phase (decode, a stage, review, report) since when, kept in
// memory shared between the supervisor and its worker process, so that after the worker dies the supervisor
// can still read it. The worker writes it; the supervisor only reads it (and clears it between workers).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/stage.hpp"

namespace cluetrace {

// Where an image is. The stages' phases are 1 + their StageKind index.
enum class Phase : int { decode = 0, review = 1 + static_cast<int>(kAllStageKinds.size()), report };
inline constexpr int kPhaseCount = static_cast<int>(Phase::report) + 1;
inline Phase phase_of(StageKind kind) { return static_cast<Phase>(1 + static_cast<int>(kind)); }
std::optional<StageKind> stage_of(Phase phase);

// CLOCK_MONOTONIC in nanoseconds: one clock for every process on the machine.
std::int64_t monotonic_ns();

// One image in flight, as the supervisor reads it after the fact.
struct JournalImage {
  std::size_t seq = 0;
  std::int64_t entered_ns = 0;          // when it entered decode
  std::vector<std::pair<Phase, std::int64_t>> running;  // phases running now, with their start
  std::optional<Phase> last_finished;  // the phase it finished last (when none runs)
};

// What the worker's crash handler left: the image and phase of the thread that received the signal.
struct JournalCrash {
  int signal = 0;
  std::optional<std::size_t> seq;  // none: the thread was not working on an image
  std::optional<Phase> phase;
  std::optional<StageKind> loading;  // the thread was loading this stage (Stage::load), not working on an image
};

// A stage loading while the worker's images already run (StageLoading), as the supervisor reads it.
struct JournalLoading {
  StageKind stage;
  std::int64_t since_ns = 0;
};

struct JournalShared;  // the shared pages' layout (journal.cpp)

class Journal {
 public:
  // Shared anonymous memory for `capacity` images in flight; made before the worker is forked, so the
  // worker and the supervisor see the same pages.
  explicit Journal(std::size_t capacity);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Supervisor side.
  std::vector<JournalImage> in_flight() const;
  JournalCrash crash() const;
  std::optional<JournalLoading> loading() const;
  void clear();  // before a new worker starts

  // Worker side (any thread). A slot is taken when an image enters decode and freed when its report was sent.
  int enter_image(std::size_t seq);
  void leave_image(int slot);
  void begin_phase(int slot, Phase phase);
  void end_phase(int slot, Phase phase);
  // Worker side: a stage's load() runs (one at a time).
  void begin_loading(StageKind stage);
  void end_loading();

  // Worker side, once: on SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP and SIGSYS the thread's current
  // image and phase are written to the journal, then the signal takes its default course (the process dies).
  void install_crash_handler();

 private:
  JournalShared* shared_ = nullptr;
  std::size_t bytes_ = 0;
};

// Marks one phase of one image on the calling thread for as long as it lives (the crash handler reads the
// thread's innermost mark). Safe to nest: a thread that helps with other tasks while it waits inside a
// parallel loop marks the other image, then returns to its own.
class PhaseMark {
 public:
  PhaseMark(Journal* journal, int slot, Phase phase);
  ~PhaseMark();
  PhaseMark(const PhaseMark&) = delete;
  PhaseMark& operator=(const PhaseMark&) = delete;

 private:
  Journal* journal_;
  int slot_;
  Phase phase_;
  int saved_slot_;
  int saved_phase_;
};

// Marks the calling thread as loading `stage` for as long as it lives: a crash on it is the stage's, not an
// image's, and the supervisor sees how long the load has been running.
class LoadMark {
 public:
  LoadMark(Journal* journal, StageKind stage);
  ~LoadMark();
  LoadMark(const LoadMark&) = delete;
  LoadMark& operator=(const LoadMark&) = delete;

 private:
  Journal* journal_;
};

}  // namespace cluetrace
