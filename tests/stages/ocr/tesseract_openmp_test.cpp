// Contract: worker threads reading lines with Tesseract start no OpenMP threads, without OMP_THREAD_LIMIT in the
// environment (the CLI no longer sets it and starts itself again). This executable runs without it.
// Contract: a held thread's OpenMP regions run their bodies on it directly, sections in order, with no team built
// (stages/ocr/openmp_serial.hpp); other threads' regions go to libgomp; Tesseract reads the same either way.
#include <dirent.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>
#include <opencv2/imgproc.hpp>

#include <tesseract/baseapi.h>

#include "stages/ocr/openmp_serial.hpp"
#include "stages/ocr/tesseract_engine.hpp"

using namespace cluetrace;

namespace {

// The threads of this process now.
int thread_count() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (const dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
}

cv::Mat line_of(const std::string& text) {
  cv::Mat img(60, 40 + 22 * static_cast<int>(text.size()), CV_8UC1, cv::Scalar(255));
  cv::putText(img, text, {20, 42}, cv::FONT_HERSHEY_SIMPLEX, 1.0, cv::Scalar(0), 2, cv::LINE_AA);
  return img;
}

}  // namespace

TEST(TesseractOpenMp, ThreadsReadingLinesStartNoOpenMpThreads) {
  ASSERT_EQ(std::getenv("OMP_THREAD_LIMIT"), nullptr) << "OMP_THREAD_LIMIT would hide what this test checks";
  ocr::TesseractEngines engines({"eng"}, "");
  engines.check();
  const cv::Mat line = line_of("HARBOUR STREET 12");
  oneapi::tbb::task_arena arena(2);
  // The arena's own threads first, so that only threads started by the reading are counted below.
  arena.execute([] { oneapi::tbb::parallel_for(0, 64, [](int) { ::usleep(2000); }); });
  const int before = thread_count();
  std::atomic<int> read_right{0};
  arena.execute([&] {
    oneapi::tbb::parallel_for(0, 8, [&](int) {
      auto& api = engines.local();
      api.SetPageSegMode(tesseract::PSM_SINGLE_LINE);
      api.SetImage(line.data, line.cols, line.rows, 1, static_cast<int>(line.step));
      std::unique_ptr<char[]> text(api.GetUTF8Text());
      if (text && std::string(text.get()).find("HARBOUR") != std::string::npos) ++read_right;
      api.Clear();
    });
  });
  EXPECT_EQ(read_right.load(), 8);
  // libgomp keeps the threads of a region's team for the next one: with regions left active, each reading thread
  // would leave three behind (Tesseract's four LSTM gates).
  EXPECT_LE(thread_count(), before) << "Tesseract started OpenMP threads beside the reading threads";
}

namespace {

// What one section or iteration of a region saw: which it was, on which thread, at which OpenMP level.
struct Step {
  int index;
  std::thread::id thread;
  int level;
};

// A `parallel sections` region of four sections, the second of which opens a `parallel for` of three iterations
// (recorded as 10, 11, 12). Run on a thread of its own, held or not.
std::vector<Step> run_regions(bool held) {
  std::vector<Step> steps;
  std::mutex mutex;
  auto record = [&](int index) {
    const std::lock_guard lock(mutex);
    steps.push_back({index, std::this_thread::get_id(), omp_get_level()});
  };
  std::thread([&] {
    if (held) ocr::hold_openmp_to_this_thread();
#pragma omp parallel sections num_threads(2)
    {
#pragma omp section
      record(1);
#pragma omp section
      {
        record(2);
#pragma omp parallel for num_threads(2)
        for (int i = 0; i < 3; ++i) record(10 + i);
      }
#pragma omp section
      record(3);
#pragma omp section
      record(4);
    }
  }).join();
  return steps;
}

}  // namespace

TEST(TesseractOpenMp, AHeldThreadsRegionsRunOnItInOrderWithoutATeam) {
  const auto steps = run_regions(true);
  std::vector<int> order;
  for (const auto& s : steps) order.push_back(s.index);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 10, 11, 12, 3, 4}));
  for (const auto& s : steps) {
    EXPECT_EQ(s.thread, steps.front().thread) << s.index;
    // libgomp's team of one would have been level 1 (2 inside the nested loop).
    EXPECT_EQ(s.level, 0) << s.index;
  }
}

TEST(TesseractOpenMp, OtherThreadsRegionsStillGoToLibgomp) {
  ASSERT_EQ(std::getenv("OMP_THREAD_LIMIT"), nullptr) << "OMP_THREAD_LIMIT would hide what this test checks";
  const auto steps = run_regions(false);
  std::vector<int> indices;
  for (const auto& s : steps) {
    indices.push_back(s.index);
    EXPECT_GE(s.level, 1) << s.index << " ran outside a libgomp team";
  }
  std::sort(indices.begin(), indices.end());
  EXPECT_EQ(indices, (std::vector<int>{1, 2, 3, 4, 10, 11, 12}));
}

TEST(TesseractOpenMp, TesseractReadsTheSameWithItsRegionsRunDirectly) {
  ocr::TesseractEngines engines({"eng"}, "");
  engines.check();
  const cv::Mat line = line_of("OPEN 7 DAYS 0221 334455");
  // A thread of its own each: engines.local() holds OpenMP to the thread it serves, so the first reading is made
  // on a thread without the hold, through libgomp, by an instance made there.
  auto read = [&](bool held) {
    std::string text;
    int confidence = 0;
    std::thread([&] {
      tesseract::TessBaseAPI api;
      ASSERT_EQ(api.Init(nullptr, "eng"), 0);
      if (held) ocr::hold_openmp_to_this_thread();
      api.SetPageSegMode(tesseract::PSM_SINGLE_LINE);
      api.SetImage(line.data, line.cols, line.rows, 1, static_cast<int>(line.step));
      std::unique_ptr<char[]> t(api.GetUTF8Text());
      text = t ? t.get() : "";
      confidence = api.MeanTextConf();
      api.End();
    }).join();
    return std::make_pair(text, confidence);
  };
  const auto through_libgomp = read(false);
  const auto direct = read(true);
  EXPECT_NE(through_libgomp.first.find("0221"), std::string::npos) << through_libgomp.first;
  EXPECT_EQ(direct, through_libgomp);
}

