// StartUpHeap: while a worker starts, glibc's malloc serves even its largest blocks from the heap; once every
// thread has finished an image, such blocks are mapped on their own again (pipeline/start_up_heap.hpp).
#include "pipeline/start_up_heap.hpp"

#include "pipeline/sanitizer_malloc.hpp"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace cluetrace {
namespace {

constexpr std::size_t kLarge = std::size_t{64} << 20;  // over glibc's largest mmap threshold (32 MiB)

// Bytes glibc holds in blocks mapped on their own (mallinfo2's hblkhd) while a large block is allocated.
std::size_t mapped_while_holding_a_large_block() {
  void* p = std::malloc(kLarge);
  EXPECT_NE(p, nullptr);
  const std::size_t mapped = ::mallinfo2().hblkhd;
  std::free(p);
  return mapped;
}

// Under a sanitizer, glibc's mallopt() and mallinfo2() do not describe the allocator in use.
class StartUpHeapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!kGlibcMalloc) GTEST_SKIP() << "a sanitizer's allocator replaces glibc's in this build";
  }
};

TEST_F(StartUpHeapTest, LargeBlocksComeFromTheHeapUntilEveryThreadHasFinishedAnImage) {
  const std::size_t before = ::mallinfo2().hblkhd;
  ASSERT_GE(mapped_while_holding_a_large_block(), before + kLarge) << "glibc maps a 64 MiB block on its own by default";
  {
    StartUpHeap heap(2);
    EXPECT_TRUE(heap.starting());
    EXPECT_LT(mapped_while_holding_a_large_block(), before + kLarge);
    heap.image_finished();
    EXPECT_TRUE(heap.starting());
    EXPECT_LT(mapped_while_holding_a_large_block(), before + kLarge);
    heap.image_finished();
    EXPECT_FALSE(heap.starting());
    EXPECT_GE(mapped_while_holding_a_large_block(), before + kLarge);
    heap.image_finished();  // more images change nothing
    EXPECT_FALSE(heap.starting());
  }
  EXPECT_GE(mapped_while_holding_a_large_block(), before + kLarge);
}

TEST_F(StartUpHeapTest, AWorkerThatEndsBeforeItsImagesGivesGlibcItsRuleBack) {
  const std::size_t before = ::mallinfo2().hblkhd;
  {
    StartUpHeap heap(4);
    heap.image_finished();
    EXPECT_LT(mapped_while_holding_a_large_block(), before + kLarge);
  }
  EXPECT_GE(mapped_while_holding_a_large_block(), before + kLarge);
}

TEST_F(StartUpHeapTest, ImagesFinishedOnSeveralThreadsEndTheStartOnce) {
  StartUpHeap heap(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) threads.emplace_back([&] { heap.image_finished(); });
  for (auto& t : threads) t.join();
  EXPECT_FALSE(heap.starting());
  const std::size_t before = ::mallinfo2().hblkhd;
  EXPECT_GE(mapped_while_holding_a_large_block(), before + kLarge);
}

}  // namespace
}  // namespace cluetrace
