#include "pipeline/dnn_deconv.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <opencv2/dnn/all_layers.hpp>

#include "pipeline/dnn_params.hpp"

namespace cluetrace {
namespace {

using dnn_params::axis_value;

bool all_zero(const cv::dnn::LayerParams& params, const char* key) {
  if (!params.has(key)) return true;
  const cv::dnn::DictValue& v = params.get(key);
  for (int i = 0; i < v.size(); ++i) {
    if (v.get<int>(i) != 0) return false;
  }
  return true;
}

// With fewer tap planes (the detector's last layer: 1 output, 4 taps) OpenCV's 1 x 1 convolution is no faster
// than OpenCV's transposed convolution (0.85 ms each at 512 x 384).
constexpr int kMinPlanes = 16;

}  // namespace

bool is_patch_deconv(const cv::dnn::LayerParams& params) {
  if (params.blobs.empty() || params.has("pad_mode") || params.has("output_shape")) return false;
  const cv::Mat& w = params.blobs[0];
  if (w.dims != 4 || w.type() != CV_32F || !w.isContinuous()) return false;
  const int inputs = w.size[0], outputs = w.size[1];
  if (params.get<int>("group", 1) != 1 || params.get<int>("num_output", outputs) != outputs) return false;
  const auto [kh, kw] = dnn_params::kernel_size(params);
  if (kh != w.size[2] || kw != w.size[3] || kh < 1 || kw < 1 || inputs < 1 || outputs < 1) return false;
  if (dnn_params::strides(params) != std::pair{kh, kw}) return false;
  if (axis_value(params, "dilation", 0, 1) != 1 || axis_value(params, "dilation", 1, 1) != 1) return false;
  if (!all_zero(params, "pad") || !all_zero(params, "pad_h") || !all_zero(params, "pad_w") || !all_zero(params, "adj") ||
      !all_zero(params, "adj_h") || !all_zero(params, "adj_w"))
    return false;
  if (outputs * kh * kw < kMinPlanes) return false;
  return params.blobs.size() == 1 ||
         (params.blobs.size() == 2 && params.blobs[1].total() == static_cast<std::size_t>(outputs) &&
          params.blobs[1].type() == CV_32F);
}

namespace {

// The checked parameters' parts. Row o * taps + t of the 1 x 1 weights is tap t (ky * kw + kx) of output o,
// over every input.
dnn_banded::BandedLayer::Parts deconv_parts(const cv::dnn::LayerParams& params) {
  if (!is_patch_deconv(params)) {
    throw std::invalid_argument("PatchDeconvLayer: not a transposed convolution with a kernel the size of its stride");
  }
  const cv::Mat& w = params.blobs[0];
  const int inputs = w.size[0], outputs = w.size[1], taps = w.size[2] * w.size[3];
  cv::Mat rows(std::vector<int>{outputs * taps, inputs, 1, 1}, CV_32F);
  const float* src = w.ptr<float>();
  float* dst = rows.ptr<float>();
  for (int i = 0; i < inputs; ++i) {
    for (int o = 0; o < outputs; ++o) {
      for (int t = 0; t < taps; ++t) {
        dst[(static_cast<std::size_t>(o) * taps + t) * inputs + i] = src[(static_cast<std::size_t>(i) * outputs + o) * taps + t];
      }
    }
  }
  cv::dnn::LayerParams copy = params;
  return {rows, outputs, cv::dnn::DeconvolutionLayer::create(copy)};
}

}  // namespace

PatchDeconvLayer::PatchDeconvLayer(const cv::dnn::LayerParams& params) : BandedLayer(params, deconv_parts(params)) {
  const cv::Mat& w = params.blobs[0];
  inputs_ = w.size[0];
  outputs_ = w.size[1];
  kernel_h_ = w.size[2];
  kernel_w_ = w.size[3];
}

void PatchDeconvLayer::paint(const cv::Mat& band_taps, float* out, int in_height, int in_width, int y0, int rows) const {
  const int taps = kernel_h_ * kernel_w_;
  const int out_width = in_width * kernel_w_;
  const std::size_t out_plane = static_cast<std::size_t>(in_height) * kernel_h_ * out_width;
  const std::size_t band_plane = static_cast<std::size_t>(band_taps.size[2]) * in_width;
  const float* planes = band_taps.ptr<float>();
  cv::parallel_for_(cv::Range(0, outputs_), [&](const cv::Range& range) {
    for (int o = range.start; o < range.end; ++o) {
      const float bias = channels_.bias(o), s = channels_.scale(o), t = channels_.shift(o);
      for (int r = 0; r < rows; ++r) {
        for (int ky = 0; ky < kernel_h_; ++ky) {
          float* dst = out + static_cast<std::size_t>(o) * out_plane +
                       (static_cast<std::size_t>(y0 + r) * kernel_h_ + ky) * out_width;
          const float* src = planes + (static_cast<std::size_t>(o) * taps + ky * kernel_w_) * band_plane +
                             static_cast<std::size_t>(r) * in_width;
          if (kernel_w_ == 2) {  // the detector's: the two taps' pixels interleaved, written in order
            const float* left = src;
            const float* right = src + band_plane;
            for (int x = 0; x < in_width; ++x) {
              dst[2 * x] = (left[x] + bias) * s + t;
              dst[2 * x + 1] = (right[x] + bias) * s + t;
            }
            continue;
          }
          for (int x = 0; x < in_width; ++x) {
            for (int kx = 0; kx < kernel_w_; ++kx) dst[x * kernel_w_ + kx] = (src[kx * band_plane + x] + bias) * s + t;
          }
        }
      }
    }
  });
}

void PatchDeconvLayer::forward(cv::InputArrayOfArrays inputs_arr, cv::OutputArrayOfArrays outputs_arr,
                               cv::OutputArrayOfArrays /*internals*/) {
  auto [in, out] = dnn_params::one_input_one_output(inputs_arr, outputs_arr);
  const int batch = in.size[0], height = in.size[2], width = in.size[3];
  CV_Assert(in.size[1] == inputs_ && out.size[1] == outputs_ && out.size[2] == height * kernel_h_ &&
            out.size[3] == width * kernel_w_);
  if (batch == 0 || height == 0 || width == 0) return;
  const int taps = kernel_h_ * kernel_w_;
  const std::size_t plane = static_cast<std::size_t>(height) * width;
  const std::size_t out_plane = plane * taps;
  // Bands as even as the bound allows.
  const int most = std::clamp(static_cast<int>(dnn_banded::kBandFloats / (static_cast<std::size_t>(outputs_) * taps * width)), 1, height);
  const int bands = (height + most - 1) / most;
  const int rows = (height + bands - 1) / bands;
  dnn_banded::Scratch& space = dnn_banded::scratch();
  space.band.resize(static_cast<std::size_t>(inputs_) * rows * width);
  space.taps.resize(static_cast<std::size_t>(outputs_) * taps * rows * width);
  const cv::Mat band(std::vector<int>{1, inputs_, rows, width}, CV_32F, space.band.data());
  cv::Mat band_taps(std::vector<int>{1, outputs_ * taps, rows, width}, CV_32F, space.taps.data());
  const std::size_t row_bytes = static_cast<std::size_t>(width) * sizeof(float);
  for (int n = 0; n < batch; ++n) {
    const float* src = in.ptr<float>() + static_cast<std::size_t>(n) * inputs_ * plane;
    float* dst = out.ptr<float>() + static_cast<std::size_t>(n) * outputs_ * out_plane;
    for (int y0 = 0; y0 < height; y0 += rows) {
      // Every band is `rows` high, so the 1 x 1 convolution is finalised once: the last one's rows past the
      // input are zeros, computed and not painted.
      const int band_rows = std::min(rows, height - y0);
      float* b = space.band.data();
      for (int i = 0; i < inputs_; ++i) {
        float* to = b + static_cast<std::size_t>(i) * rows * width;
        std::memcpy(to, src + static_cast<std::size_t>(i) * plane + static_cast<std::size_t>(y0) * width, row_bytes * band_rows);
        std::memset(to + static_cast<std::size_t>(band_rows) * width, 0, row_bytes * (rows - band_rows));
      }
      pointwise_.run(band, band_taps);
      paint(band_taps, dst, height, width, y0, band_rows);
    }
    channels_.finish(dst, out_plane, false);  // the scale and shift were applied while painting
  }
}

}  // namespace cluetrace
