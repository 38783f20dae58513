// The threads a run given --threads N works on: N, on a workstation shared with other work and on a cluster
// node whose scheduler granted N cores.
//
// Two task arenas run the work: the run's own (the graph, the case outputs) and OpenCV's, in which its parallel
// loops run (the detector and recogniser nets, resizing, SIFT's pyramid). Each is N wide, but oneTBB lends
// its worker threads to both from one pool as large as the machine: at --threads 2 on a 16-core machine an
// image's net ran on workers of OpenCV's arena while the run's two threads went on with other images, and the
// run used 2.4 cores on average (bench/RESULTS.md, issue 16). Left alone, OpenCV's arena is as wide as the
// machine too (on the 2-core machine a run at 1 thread used 1.3 cores).
//
// This scope bounds both for as long as it lives: OpenCV's thread count is N, and oneTBB lends N - 1 workers
// in all, which with the thread that waits for the work makes N. On leaving, OpenCV's count is put back and
// oneTBB's bound is lifted (a bound set elsewhere in the process, lower, still holds: oneTBB keeps the lowest).
// Threads that are not oneTBB's (the stages' loading at the start of a run) are outside it.
#pragma once

#include <oneapi/tbb/global_control.h>

namespace cluetrace {

class ThreadLimit {
 public:
  explicit ThreadLimit(int threads);
  ~ThreadLimit();
  ThreadLimit(const ThreadLimit&) = delete;
  ThreadLimit& operator=(const ThreadLimit&) = delete;

 private:
  int previous_opencv_threads_;
  oneapi::tbb::global_control workers_;
};

}  // namespace cluetrace
