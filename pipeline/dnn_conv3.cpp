#include "pipeline/dnn_conv3.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <opencv2/dnn/all_layers.hpp>

#include "pipeline/dnn_params.hpp"

namespace cluetrace {
namespace {

constexpr int kTaps = 9;
constexpr int kMaxOutputs = 64;
constexpr int kMinInputs = 8;

}  // namespace

bool is_dense_conv3(const cv::dnn::LayerParams& params) {
  if (params.blobs.empty() || params.has("pad_mode")) return false;
  const cv::Mat& w = params.blobs[0];
  if (w.dims != 4 || w.type() != CV_32F || !w.isContinuous() || w.size[2] != 3 || w.size[3] != 3) return false;
  const int outputs = w.size[0], inputs = w.size[1];
  if (outputs > kMaxOutputs || inputs < kMinInputs) return false;
  if (params.get<int>("group", 1) != 1 || params.get<int>("num_output", outputs) != outputs) return false;
  if (dnn_params::axis_value(params, "dilation", 0, 1) != 1 || dnn_params::axis_value(params, "dilation", 1, 1) != 1) {
    return false;
  }
  if (params.blobs.size() > 1 &&
      (params.blobs[1].total() != static_cast<std::size_t>(outputs) || params.blobs[1].type() != CV_32F)) {
    return false;
  }
  return dnn_params::symmetric_pad(params) == std::pair{1, 1} && dnn_params::strides(params) == std::pair{1, 1};
}

namespace {

// The checked parameters' parts. Row o * 9 + t of the 1 x 1 weights is tap t (ky * 3 + kx) of output o, over
// every input.
dnn_banded::BandedLayer::Parts conv3_parts(const cv::dnn::LayerParams& params) {
  if (!is_dense_conv3(params)) throw std::invalid_argument("DenseConv3Layer: not a dense 3 x 3 convolution");
  const cv::Mat& w = params.blobs[0];
  const int outputs = w.size[0], inputs = w.size[1];
  cv::Mat taps(std::vector<int>{outputs * kTaps, inputs, 1, 1}, CV_32F);
  const float* src = w.ptr<float>();
  float* dst = taps.ptr<float>();
  for (int o = 0; o < outputs; ++o) {
    for (int i = 0; i < inputs; ++i) {
      for (int t = 0; t < kTaps; ++t) {
        dst[(static_cast<std::size_t>(o) * kTaps + t) * inputs + i] = src[(static_cast<std::size_t>(o) * inputs + i) * kTaps + t];
      }
    }
  }
  cv::dnn::LayerParams copy = params;
  return {taps, outputs, cv::dnn::ConvolutionLayer::create(copy)};
}

}  // namespace

DenseConv3Layer::DenseConv3Layer(const cv::dnn::LayerParams& params) : BandedLayer(params, conv3_parts(params)) {
  outputs_ = params.blobs[0].size[0];
  inputs_ = params.blobs[0].size[1];
}

void DenseConv3Layer::add_taps(const cv::Mat& band_taps, float* out, int height, int width, int y0, int rows) const {
  const std::size_t plane = static_cast<std::size_t>(height) * width;
  const std::size_t band_plane = static_cast<std::size_t>(band_taps.size[2]) * width;
  const float* taps = band_taps.ptr<float>();
  cv::parallel_for_(cv::Range(0, outputs_), [&](const cv::Range& range) {
    for (int o = range.start; o < range.end; ++o) {
      for (int r = 0; r < rows; ++r) {
        float* dst = out + static_cast<std::size_t>(o) * plane + static_cast<std::size_t>(y0 + r) * width;
        for (int ky = 0; ky < 3; ++ky) {
          // Band row r + ky is input row y0 + r + ky - 1: the row above, the row itself, the row below.
          const float* row = taps + (static_cast<std::size_t>(o) * kTaps + static_cast<std::size_t>(ky) * 3) * band_plane +
                             static_cast<std::size_t>(r + ky) * width;
          const float* left = row;                    // kx 0: input column x - 1
          const float* centre = row + band_plane;     // kx 1: column x
          const float* right = row + 2 * band_plane;  // kx 2: column x + 1
          for (int x = 0; x < width; ++x) dst[x] += centre[x];
          for (int x = 1; x < width; ++x) dst[x] += left[x - 1];
          for (int x = 0; x + 1 < width; ++x) dst[x] += right[x + 1];
        }
      }
    }
  });
}

void DenseConv3Layer::forward(cv::InputArrayOfArrays inputs_arr, cv::OutputArrayOfArrays outputs_arr,
                              cv::OutputArrayOfArrays /*internals*/) {
  auto [in, out] = dnn_params::one_input_one_output(inputs_arr, outputs_arr);
  CV_Assert(in.size[1] == inputs_ && out.size[1] == outputs_ && in.size[2] == out.size[2] && in.size[3] == out.size[3]);
  const int batch = in.size[0], height = in.size[2], width = in.size[3];
  if (batch == 0 || height == 0 || width == 0) return;
  const std::size_t plane = static_cast<std::size_t>(height) * width;
  // Bands as even as the bound allows: every band computes its two extra rows, and the last one no more rows
  // than it needs.
  const int most = std::clamp(static_cast<int>(dnn_banded::kBandFloats / (static_cast<std::size_t>(outputs_) * kTaps * width)) - 2,
                              1, height);
  const int bands = (height + most - 1) / most;
  const int rows = (height + bands - 1) / bands;
  dnn_banded::Scratch& space = dnn_banded::scratch();
  space.band.resize(static_cast<std::size_t>(inputs_) * (rows + 2) * width);
  space.taps.resize(static_cast<std::size_t>(outputs_) * kTaps * (rows + 2) * width);
  const cv::Mat band(std::vector<int>{1, inputs_, rows + 2, width}, CV_32F, space.band.data());
  cv::Mat taps(std::vector<int>{1, outputs_ * kTaps, rows + 2, width}, CV_32F, space.taps.data());
  const std::size_t row_bytes = static_cast<std::size_t>(width) * sizeof(float);
  for (int n = 0; n < batch; ++n) {
    const float* src = in.ptr<float>() + static_cast<std::size_t>(n) * inputs_ * plane;
    float* dst = out.ptr<float>() + static_cast<std::size_t>(n) * outputs_ * plane;
    for (int o = 0; o < outputs_; ++o) std::fill_n(dst + static_cast<std::size_t>(o) * plane, plane, channels_.bias(o));
    for (int y0 = 0; y0 < height; y0 += rows) {
      // The band: input rows y0 - 1 .. y0 + rows, zeros outside the input (the convolution's padding).
      float* b = space.band.data();
      for (int i = 0; i < inputs_; ++i) {
        for (int r = 0; r < rows + 2; ++r) {
          const int y = y0 - 1 + r;
          float* to = b + (static_cast<std::size_t>(i) * (rows + 2) + r) * width;
          if (y < 0 || y >= height) {
            std::memset(to, 0, row_bytes);
          } else {
            std::memcpy(to, src + static_cast<std::size_t>(i) * plane + static_cast<std::size_t>(y) * width, row_bytes);
          }
        }
      }
      pointwise_.run(band, taps);
      add_taps(taps, dst, height, width, y0, std::min(rows, height - y0));
    }
    channels_.finish(dst, plane, true);
  }
}

}  // namespace cluetrace
