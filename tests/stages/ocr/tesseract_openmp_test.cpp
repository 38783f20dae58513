// Contract: worker threads reading lines with Tesseract start no OpenMP threads, without OMP_THREAD_LIMIT in the
// environment (the CLI no longer sets it and starts itself again). This executable runs without it.
#include <dirent.h>

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>
#include <opencv2/imgproc.hpp>

#include <tesseract/baseapi.h>

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
