#include "pipeline/start_up_heap.hpp"

#ifdef __GLIBC__
#include <malloc.h>
#endif
#ifdef __linux__
#include <sys/prctl.h>
#endif

namespace cluetrace {
namespace {

#ifdef __GLIBC__
constexpr int kGlibcMmapMax = 65536;  // glibc's default M_MMAP_MAX (malloc/malloc.c, DEFAULT_MMAP_MAX)
#endif

}  // namespace

StartUpHeap::StartUpHeap(std::size_t images) : images_(images) {
  if (images_ == 0) {
    ended_.store(true);
    return;
  }
#ifdef __GLIBC__
  ::mallopt(M_MMAP_MAX, 0);
#endif
#ifdef __linux__
  // A process that was started with huge pages off (by its parent, or a user's prctl) keeps them off.
  if (::prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 0) huge_pages_off_ = ::prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0;
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
#ifdef __linux__
  if (huge_pages_off_) ::prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
#endif
}

}  // namespace cluetrace
