// What the tests of our own DNN layers share (tests/pipeline/dnn_*_test.cpp): random tensors, a batch norm as
// OpenCV's ONNX importer describes one, and how far one output is from another.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

namespace cluetrace::test {

inline cv::Mat random_blob(const std::vector<int>& shape, unsigned seed, float low = -1.0f, float high = 1.0f) {
  cv::Mat m(shape, CV_32F);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, low, high);
  return m;
}

// A batch norm over `channels` with random statistics.
inline cv::dnn::LayerParams batch_norm_params(int channels, unsigned seed) {
  cv::dnn::LayerParams p;
  p.name = "bn";
  p.type = "BatchNorm";
  p.blobs = {random_blob({1, channels}, seed), random_blob({1, channels}, seed + 1, 0.5f, 2.0f),
             random_blob({1, channels}, seed + 2, 0.5f, 1.5f), random_blob({1, channels}, seed + 3)};
  p.set("has_weight", true);
  p.set("has_bias", true);
  p.set("eps", 1e-5f);
  return p;
}

// The largest difference between two outputs of one shape, relative to the largest value of the first.
inline double relative_difference(const cv::Mat& a, const cv::Mat& b) {
  EXPECT_EQ(a.dims, b.dims);
  for (int i = 0; i < std::min(a.dims, b.dims); ++i) EXPECT_EQ(a.size[i], b.size[i]) << "axis " << i;
  if (a.total() != b.total()) return 1e9;
  return cv::norm(a.reshape(1, 1), b.reshape(1, 1), cv::NORM_INF) / std::max(1e-6, cv::norm(a, cv::NORM_INF));
}

}  // namespace cluetrace::test
