// What the layers of pipeline/dnn_layers.hpp, pipeline/dnn_conv3.hpp and pipeline/dnn_deconv.hpp share:
// reading the convolution parameters OpenCV's ONNX importer hands to a layer (cv::dnn::LayerParams), and a
// forward pass's one input and one output.
#pragma once

#include <utility>
#include <vector>

#include <opencv2/dnn.hpp>

namespace cluetrace::dnn_params {

// Value `i` of a parameter given as one value for every axis or as one per axis (OpenCV keeps both forms).
inline int axis_value(const cv::dnn::LayerParams& params, const char* key, int i, int absent) {
  if (!params.has(key)) return absent;
  const cv::dnn::DictValue& v = params.get(key);
  return v.size() > i ? v.get<int>(i) : v.get<int>(0);
}

// Padding (y, x) from the importer's "pad": 2 values (both sides alike) or 4 (begins, then ends); {-1, -1}
// when the two sides of an axis differ.
inline std::pair<int, int> symmetric_pad(const cv::dnn::LayerParams& params) {
  if (!params.has("pad")) return {axis_value(params, "pad_h", 0, 0), axis_value(params, "pad_w", 0, 0)};
  const cv::dnn::DictValue& v = params.get("pad");
  if (v.size() == 1) return {v.get<int>(0), v.get<int>(0)};
  if (v.size() == 2) return {v.get<int>(0), v.get<int>(1)};
  if (v.size() == 4 && v.get<int>(0) == v.get<int>(2) && v.get<int>(1) == v.get<int>(3)) {
    return {v.get<int>(0), v.get<int>(1)};
  }
  return {-1, -1};
}

// Stride (y, x), from "stride" or "stride_h"/"stride_w".
inline std::pair<int, int> strides(const cv::dnn::LayerParams& params) {
  if (params.has("stride")) return {axis_value(params, "stride", 0, 1), axis_value(params, "stride", 1, 1)};
  return {axis_value(params, "stride_h", 0, 1), axis_value(params, "stride_w", 0, 1)};
}

// Kernel (height, width), from "kernel_size" (one value or one per axis) or "kernel_h"/"kernel_w"; 0 when absent.
inline std::pair<int, int> kernel_size(const cv::dnn::LayerParams& params) {
  if (params.has("kernel_size")) return {axis_value(params, "kernel_size", 0, 0), axis_value(params, "kernel_size", 1, 0)};
  return {axis_value(params, "kernel_h", 0, 0), axis_value(params, "kernel_w", 0, 0)};
}

// `f(plane, values, channel)` for each plane of one channel of `out` (N x C x ..., float, continuous), on
// OpenCV's threads: as OpenCV's element-wise layers hand a tensor to their activations.
template <typename F>
void for_each_channel_plane(cv::Mat& out, F f) {
  CV_Assert(out.type() == CV_32F && out.isContinuous() && out.dims >= 2);
  const int batch = out.size[0], channels = out.size[1];
  if (batch == 0 || channels == 0) return;
  const std::size_t plane = out.total() / static_cast<std::size_t>(batch) / static_cast<std::size_t>(channels);
  float* p = out.ptr<float>();
  cv::parallel_for_(cv::Range(0, batch * channels), [&](const cv::Range& range) {
    for (int c = range.start; c < range.end; ++c) f(p + static_cast<std::size_t>(c) * plane, plane, c % channels);
  });
}

// The one input and one output of a convolution's forward pass, checked to be continuous 4-D float tensors of
// one batch size.
inline std::pair<cv::Mat, cv::Mat> one_input_one_output(cv::InputArrayOfArrays inputs_arr,
                                                        cv::OutputArrayOfArrays outputs_arr) {
  std::vector<cv::Mat> inputs, outputs;
  inputs_arr.getMatVector(inputs);
  outputs_arr.getMatVector(outputs);
  CV_Assert(inputs.size() == 1 && outputs.size() == 1);
  const cv::Mat &in = inputs[0], &out = outputs[0];
  CV_Assert(in.dims == 4 && out.dims == 4 && in.type() == CV_32F && out.type() == CV_32F && in.isContinuous() &&
            out.isContinuous() && in.size[0] == out.size[0]);
  return {in, out};
}

}  // namespace cluetrace::dnn_params
