// Fuzz target: KdForest::read_flann (stages/logo/kd_forest.hpp), the reader of the KD-trees OpenCV saves and the
// logo index keeps. Any bytes as the trees over a fixed 24 × 4 matrix: no crash; trees it accepts are searched
// without reading outside the matrix, and every query's neighbours are its rows, nearest first.
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string_view>

#include <opencv2/core.hpp>

#include "stages/logo/kd_forest.hpp"

namespace {

constexpr int kRows = 24, kCols = 4, kNeighbours = 4;

// The matrix the seed corpus's trees were saved over (tests/fuzz/corpus/kd_forest): the same values here.
const cv::Mat& rows() {
  static const cv::Mat m = [] {
    cv::Mat d(kRows, kCols, CV_32F);
    for (int r = 0; r < kRows; ++r)
      for (int c = 0; c < kCols; ++c) d.at<float>(r, c) = static_cast<float>((r * 7 + c * 13) % 17) / 17.0f;
    return d;
  }();
  return m;
}

const cv::Mat& queries() {
  static const cv::Mat q = [] {
    cv::Mat d(6, kCols, CV_32F);
    for (int r = 0; r < d.rows; ++r)
      for (int c = 0; c < kCols; ++c) d.at<float>(r, c) = static_cast<float>((r * 5 + c * 3) % 11) / 11.0f;
    return d;
  }();
  return q;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(bytes), size);
  const auto forest = cluetrace::logo::KdForest::read_flann(in, kRows, kCols);
  if (!forest) return 0;
  // The leaves to check: from the input's last byte, so that the fuzzer varies it too.
  const int checks = 1 + (size > 0 ? bytes[size - 1] : 0);
  cv::Mat indices, dists;
  forest->knn(rows(), queries(), kNeighbours, checks, indices, dists);
  for (int q = 0; q < queries().rows; ++q) {
    float previous = -1;
    for (int j = 0; j < kNeighbours; ++j) {
      const int row = indices.at<int>(q, j);
      const float dist = dists.at<float>(q, j);
      const bool none = row == -1 && dist == std::numeric_limits<float>::max();
      if (!none && (row < 0 || row >= kRows || !(dist >= 0))) std::abort();
      if (dist < previous) std::abort();
      previous = dist;
    }
  }
  return 0;
}
