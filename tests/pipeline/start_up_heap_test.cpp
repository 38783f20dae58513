// StartUpHeap: while a worker starts, glibc's malloc serves even its largest blocks from the heap and the kernel
// gives no transparent huge pages; once every thread has finished an image, such blocks are mapped on their own
// again and huge pages come back (pipeline/start_up_heap.hpp).
#include "pipeline/start_up_heap.hpp"

#include "pipeline/sanitizer_malloc.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
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

// Huge pages the kernel gave a fresh 8 MiB region that asks for them (madvise, as glibc's heap does here) and
// is written through: AnonHugePages of its line in /proc/self/smaps, in kB.
std::size_t huge_page_kb_of_a_fresh_region() {
  constexpr std::size_t kBytes = std::size_t{8} << 20;
  void* p = ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    ADD_FAILURE() << "mmap of 8 MiB failed";
    return 0;
  }
  ::madvise(p, kBytes, MADV_HUGEPAGE);
  std::memset(p, 1, kBytes);
  std::size_t kb = 0;
  std::ifstream smaps("/proc/self/smaps");
  const auto start = reinterpret_cast<std::uintptr_t>(p);
  bool in_region = false;
  for (std::string line; std::getline(smaps, line);) {
    std::uintptr_t from = 0, to = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> from >> dash >> to && dash == '-') {  // a mapping's first line: "from-to perms ..."
      in_region = from <= start && start < to;
    } else if (in_region && line.rfind("AnonHugePages:", 0) == 0) {
      kb = std::stoul(line.substr(14));
    }
  }
  ::munmap(p, kBytes);
  return kb;
}

bool huge_pages_off() { return ::prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1; }

// Whether a fresh region gets huge pages, within three tries: where huge pages are allowed, the kernel may still
// find no free 2 MiB block at one moment (memory in use by other tests).
bool gets_huge_pages() {
  for (int attempt = 0; attempt < 3; ++attempt)
    if (huge_page_kb_of_a_fresh_region() > 0) return true;
  return false;
}

// Whether this kernel gives huge pages to a region that asks for them at all (THP "always" or "madvise", and
// free 2 MiB blocks): otherwise there is nothing to turn off.
class StartUpHugePagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(huge_pages_off()) << "this test process was started with huge pages off";
    if (!gets_huge_pages())
      GTEST_SKIP() << "the kernel gives no transparent huge pages here (/sys/kernel/mm/transparent_hugepage/enabled)";
  }
};

TEST_F(StartUpHugePagesTest, NoneUntilEveryThreadHasFinishedAnImage) {
  {
    StartUpHeap heap(2);
    EXPECT_TRUE(huge_pages_off());
    EXPECT_EQ(huge_page_kb_of_a_fresh_region(), 0u);
    heap.image_finished();
    EXPECT_EQ(huge_page_kb_of_a_fresh_region(), 0u);
    heap.image_finished();
    EXPECT_FALSE(huge_pages_off());
    EXPECT_TRUE(gets_huge_pages());
  }
  EXPECT_FALSE(huge_pages_off());
  {
    StartUpHeap heap(3);  // a worker that ends before its images
    EXPECT_EQ(huge_page_kb_of_a_fresh_region(), 0u);
  }
  EXPECT_TRUE(gets_huge_pages());
}

TEST_F(StartUpHugePagesTest, AProcessStartedWithThemOffKeepsThemOff) {
  ASSERT_EQ(::prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0), 0);
  {
    StartUpHeap heap(1);
    heap.image_finished();
    EXPECT_TRUE(huge_pages_off());
    EXPECT_EQ(huge_page_kb_of_a_fresh_region(), 0u);
  }
  EXPECT_TRUE(huge_pages_off());
  ASSERT_EQ(::prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0), 0);
}

}  // namespace
}  // namespace cluetrace
