// OpenCV's own parallel loops (the detector and recogniser nets, resizing, SIFT's pyramid) run in a task arena
// of OpenCV's, not in the caller's: left alone it is as wide as the machine. A run given --threads N must use
// N cores, on a workstation shared with other work and on a cluster node whose scheduler granted N: on this
// 2-core machine a run at 1 thread used 1.3 cores, and at 2 threads on a 16-core node the nets would spread
// over all 16. This scope sets OpenCV's thread count for as long as it lives and puts the previous one back.
#pragma once

namespace cluetrace {

class OpenCvThreads {
 public:
  explicit OpenCvThreads(int threads);
  ~OpenCvThreads();
  OpenCvThreads(const OpenCvThreads&) = delete;
  OpenCvThreads& operator=(const OpenCvThreads&) = delete;

 private:
  int previous_;
};

}  // namespace cluetrace
