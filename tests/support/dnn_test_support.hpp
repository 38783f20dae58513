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

// The layer in `params` (its type one registered with OpenCV's LayerFactory) as a net of its own, optionally
// followed by a batch norm and a ReLU, which the layer takes into itself where it can. Each net gets its own
// copy of the weights: OpenCV's layers fold a batch norm into the matrices they were given, in place.
inline cv::Mat forward_layer(const cv::Mat& input, cv::dnn::LayerParams params, bool then_norm_and_relu) {
  for (auto& blob : params.blobs) blob = blob.clone();
  cv::dnn::Net net;
  net.addLayerToPrev(params.name, params.type, params);
  if (then_norm_and_relu) {
    auto bn = batch_norm_params(params.get<int>("num_output"), 77);
    net.addLayerToPrev(bn.name, bn.type, bn);
    cv::dnn::LayerParams relu;
    relu.name = "relu";
    relu.type = "ReLU";
    net.addLayerToPrev(relu.name, relu.type, relu);
  }
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setInput(input);
  return net.forward().clone();
}

// The largest difference between two outputs of one shape, relative to the largest value of the first.
inline double relative_difference(const cv::Mat& a, const cv::Mat& b) {
  EXPECT_EQ(a.dims, b.dims);
  for (int i = 0; i < std::min(a.dims, b.dims); ++i) EXPECT_EQ(a.size[i], b.size[i]) << "axis " << i;
  if (a.total() != b.total()) return 1e9;
  return cv::norm(a.reshape(1, 1), b.reshape(1, 1), cv::NORM_INF) / std::max(1e-6, cv::norm(a, cv::NORM_INF));
}

}  // namespace cluetrace::test
