#include "pipeline/start_up_heap.hpp"

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace cluetrace {
namespace {

#ifdef __GLIBC__
constexpr int kGlibcMmapMax = 65536;  // glibc's default M_MMAP_MAX (malloc/malloc.c, DEFAULT_MMAP_MAX)
#endif

}  // namespace

StartUpHeap::StartUpHeap(std::size_t images) : images_(images) {
#ifdef __GLIBC__
  if (images_ > 0) {
    ::mallopt(M_MMAP_MAX, 0);
  } else {
    ended_.store(true);
  }
#else
  ended_.store(true);
#endif
}

StartUpHeap::~StartUpHeap() { end(); }

void StartUpHeap::image_finished() {
  if (finished_.fetch_add(1) + 1 >= images_) end();
}

void StartUpHeap::end() {
  if (ended_.exchange(true)) return;
#ifdef __GLIBC__
  ::mallopt(M_MMAP_MAX, kGlibcMmapMax);
#endif
}

}  // namespace cluetrace
