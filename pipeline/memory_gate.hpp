// A bound on how many threads hold one kind of large, short-lived working set at once. The logo stage's SIFT
// scale space of a whole photo is ~270 MB (OpenCV doubles the image and keeps 11 float levels of it); with one
// per worker thread, peak memory grew by that much per thread. Through a gate of share 0.5, two threads hold
// one between them, four hold two.
#pragma once

#include <condition_variable>
#include <mutex>

namespace cluetrace {

class MemoryGate {
 public:
  // `share`: of the calling task arena's threads, how many may be inside at once (at least one).
  explicit MemoryGate(double share) : share_(share) {}
  MemoryGate(const MemoryGate&) = delete;
  MemoryGate& operator=(const MemoryGate&) = delete;

  // Runs `work` once fewer than the bound are inside, in isolation from other tasks of the arena: a thread
  // waiting for its own parallel loops inside must not take up another task that would wait at this gate.
  template <typename Work>
  void run(const Work& work);

  int inside() const;
  // How many may be inside at once, for the calling task arena.
  int bound() const;

 private:
  void enter();
  void leave();

  double share_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  int inside_ = 0;
};

// The process's gate for the largest working sets, of a hundred MB or more each: the SIFT scale space of a
// whole scene or a large window (the logo stage), the text detector's finer pass over a large photo (~280 MB
// of net buffers for 12 megapixels) and a large Tesseract model set being loaded (the Latin model's 89 MB file
// held two or three times over for a moment). One gate for all, share 0.5: with a gate each, one thread could hold
// a scale space while another loaded Tesseract, and a run peaked at their sum.
MemoryGate& large_working_sets();

}  // namespace cluetrace

#include <oneapi/tbb/task_arena.h>

namespace cluetrace {

template <typename Work>
void MemoryGate::run(const Work& work) {
  enter();
  struct Leave {
    MemoryGate& gate;
    ~Leave() { gate.leave(); }
  } leave{*this};
  oneapi::tbb::this_task_arena::isolate(work);
}

}  // namespace cluetrace
