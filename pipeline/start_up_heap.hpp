// Memory while a worker process starts: every block of glibc's from the heap, none mapped on its own, and no
// transparent huge pages.
//
// Blocks over 32 MiB (glibc's largest mmap threshold, pipeline/main.cpp) are mapped one by one, and each such
// mapping is memory the kernel has to zero on first touch. On the machines this runs on (virtual machines that
// hand freed memory back to the host), that costs ~1.8 ms a MB (bench/RESULTS.md, issue 16, thirteenth
// session). A start makes such blocks that live only a moment: Tesseract loading the Latin model reads its 89 MB
// word list into one buffer and copies it into another before building it. Taken from the heap instead, the
// freed blocks stay there and the first images' working sets reuse them rather than fault in fresh memory: a
// one-photo run reached its first report 0.12–0.31 s sooner (medians over three photos; bench/RESULTS.md,
// issue 16, fifteenth session).
//
// Once each worker thread has finished an image, glibc's own rule is back: a large image's largest buffers are
// mapped and unmapped again, so a free block in the middle of the heap never holds its memory for the rest of
// the run (the 90-MP scenes peaked up to 90 MB higher with the heap alone). tcmalloc builds ignore mallopt().
//
// Huge pages likewise: glibc's heap asks the kernel for them (pipeline/huge_pages.hpp), and for the images'
// working sets they save time (ICDAR 2003 took 10 % more CPU without them, sixteenth session). But each first
// touch of a huge page is 2 MB the kernel zeroes and the host backs, and a start touches its models and
// buffers once, sparsely: on the sixteenth session's machine a one-photo run took 4.26 s of CPU with huge pages
// and 3.43 s without (medians of 6). So the worker process turns them off (prctl PR_SET_THP_DISABLE) until each
// thread has finished an image, and on again after; memory faulted in meanwhile keeps its small pages. A
// process started with them off keeps them off.
#pragma once

#include <atomic>
#include <cstddef>

namespace cluetrace {

class StartUpHeap {
 public:
  // Large blocks come from the heap, and the kernel gives no huge pages, until `images` images have been
  // finished (image_finished()).
  explicit StartUpHeap(std::size_t images);
  ~StartUpHeap();  // glibc's rule again, if the images never came
  StartUpHeap(const StartUpHeap&) = delete;
  StartUpHeap& operator=(const StartUpHeap&) = delete;

  // Called once per finished image, from any thread.
  void image_finished();
  bool starting() const { return !ended_.load(); }

 private:
  void end();

  std::size_t images_;
  std::atomic<std::size_t> finished_{0};
  std::atomic<bool> ended_{false};
  bool huge_pages_off_ = false;  // this object turned them off, and turns them on again at the end
};

}  // namespace cluetrace
