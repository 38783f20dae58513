#include "pipeline/dnn_deconv.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <opencv2/dnn/all_layers.hpp>

#include "pipeline/dnn_params.hpp"

namespace cluetrace {
namespace {

using dnn_params::axis_value;

// The tap planes of one band are at most this many floats (4 MiB): the band's height follows from the width.
constexpr std::size_t kBandFloats = std::size_t{1} << 20;

// A band's input rows and tap planes, one pair per thread for every such layer it runs (a net's layers run one
// after the other).
struct Scratch {
  std::vector<float> band, taps;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// The kernel's (height, width) from "kernel_size" (one value or one per axis) or "kernel_h"/"kernel_w".
std::pair<int, int> kernel_size(const cv::dnn::LayerParams& params) {
  if (params.has("kernel_size")) return {axis_value(params, "kernel_size", 0, 0), axis_value(params, "kernel_size", 1, 0)};
  return {axis_value(params, "kernel_h", 0, 0), axis_value(params, "kernel_w", 0, 0)};
}

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
  const auto [kh, kw] = kernel_size(params);
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

PatchDeconvLayer::PatchDeconvLayer(const cv::dnn::LayerParams& params) : cv::dnn::Layer(params) {
  if (!is_patch_deconv(params)) {
    throw std::invalid_argument("PatchDeconvLayer: not a transposed convolution with a kernel the size of its stride");
  }
  const cv::Mat& w = params.blobs[0];
  inputs_ = w.size[0];
  outputs_ = w.size[1];
  kernel_h_ = w.size[2];
  kernel_w_ = w.size[3];
  const int taps = kernel_h_ * kernel_w_;
  bias_.assign(static_cast<std::size_t>(outputs_), 0.0f);
  if (params.blobs.size() > 1) std::copy_n(params.blobs[1].ptr<float>(), outputs_, bias_.begin());
  scale_.assign(static_cast<std::size_t>(outputs_), 1.0f);
  shift_.assign(static_cast<std::size_t>(outputs_), 0.0f);

  // Row o * taps + t of the 1 x 1 weights is tap t (ky * kw + kx) of output o, over every input.
  cv::Mat rows(std::vector<int>{outputs_ * taps, inputs_, 1, 1}, CV_32F);
  const float* src = w.ptr<float>();
  float* dst = rows.ptr<float>();
  for (int i = 0; i < inputs_; ++i) {
    for (int o = 0; o < outputs_; ++o) {
      for (int t = 0; t < taps; ++t) {
        dst[(static_cast<std::size_t>(o) * taps + t) * inputs_ + i] = src[(static_cast<std::size_t>(i) * outputs_ + o) * taps + t];
      }
    }
  }
  cv::dnn::LayerParams pointwise;
  pointwise.name = name + "/taps";
  pointwise.type = "Convolution";
  pointwise.set("kernel_size", 1);
  pointwise.set("num_output", outputs_ * taps);
  pointwise.set("bias_term", false);
  pointwise.blobs = {rows};
  pointwise_ = cv::dnn::ConvolutionLayer::create(pointwise);
  cv::dnn::LayerParams copy = params;
  shapes_ = cv::dnn::DeconvolutionLayer::create(copy);
}

bool PatchDeconvLayer::getMemoryShapes(const std::vector<cv::dnn::MatShape>& inputs, int required_outputs,
                                       std::vector<cv::dnn::MatShape>& outputs,
                                       std::vector<cv::dnn::MatShape>& internals) const {
  shapes_->getMemoryShapes(inputs, required_outputs, outputs, internals);
  internals.clear();  // the bands are this layer's own
  return false;
}

bool PatchDeconvLayer::tryFuse(cv::Ptr<cv::dnn::Layer>& top) {
  if (!top || !activations_.empty()) return false;
  cv::Mat w, b;
  top->getScaleShift(w, b);
  if (w.empty() && b.empty()) return false;
  const auto fits = [&](const cv::Mat& m) {
    return m.empty() || (m.type() == CV_32F && m.isContinuous() &&
                         (m.total() == 1 || m.total() == static_cast<std::size_t>(outputs_)));
  };
  if (!fits(w) || !fits(b)) return false;
  for (int o = 0; o < outputs_; ++o) {
    const float s = w.empty() ? 1.0f : w.ptr<float>()[w.total() == 1 ? 0 : o];
    const float t = b.empty() ? 0.0f : b.ptr<float>()[b.total() == 1 ? 0 : o];
    scale_[static_cast<std::size_t>(o)] *= s;
    shift_[static_cast<std::size_t>(o)] = shift_[static_cast<std::size_t>(o)] * s + t;
  }
  return true;
}

bool PatchDeconvLayer::setActivation(const cv::Ptr<cv::dnn::ActivationLayer>& layer) {
  if (!layer) {
    activations_.clear();
    return false;
  }
  activations_.push_back(layer);
  return true;
}

void PatchDeconvLayer::pointwise(const cv::Mat& band, cv::Mat& taps) {
  const cv::dnn::MatShape shape{band.size[0], band.size[1], band.size[2], band.size[3]};
  std::vector<cv::Mat> in{band}, out{taps};
  if (shape != pointwise_shape_) {
    std::vector<cv::dnn::MatShape> out_shapes, internal_shapes;
    pointwise_->getMemoryShapes({shape}, 1, out_shapes, internal_shapes);
    CV_Assert(out_shapes.size() == 1 && out_shapes[0] == cv::dnn::MatShape(taps.size.p, taps.size.p + taps.dims));
    pointwise_internals_.clear();
    for (const auto& s : internal_shapes) pointwise_internals_.emplace_back(s, CV_32F);
    pointwise_->finalize(cv::_InputArray(in), cv::_OutputArray(out));
    pointwise_shape_ = shape;
  }
  pointwise_->forward(in, out, pointwise_internals_);
}

void PatchDeconvLayer::paint(const cv::Mat& band_taps, float* out, int in_height, int in_width, int y0, int rows) const {
  const int taps = kernel_h_ * kernel_w_;
  const int out_width = in_width * kernel_w_;
  const std::size_t out_plane = static_cast<std::size_t>(in_height) * kernel_h_ * out_width;
  const std::size_t band_plane = static_cast<std::size_t>(band_taps.size[2]) * in_width;
  const float* planes = band_taps.ptr<float>();
  cv::parallel_for_(cv::Range(0, outputs_), [&](const cv::Range& range) {
    for (int o = range.start; o < range.end; ++o) {
      const float bias = bias_[static_cast<std::size_t>(o)];
      const float s = scale_[static_cast<std::size_t>(o)], t = shift_[static_cast<std::size_t>(o)];
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
  const int most = std::clamp(static_cast<int>(kBandFloats / (static_cast<std::size_t>(outputs_) * taps * width)), 1, height);
  const int bands = (height + most - 1) / most;
  const int rows = (height + bands - 1) / bands;
  Scratch& space = scratch();
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
      pointwise(band, band_taps);
      paint(band_taps, dst, height, width, y0, band_rows);
    }
    if (activations_.empty()) continue;
    cv::parallel_for_(cv::Range(0, outputs_), [&](const cv::Range& range) {
      for (int o = range.start; o < range.end; ++o) {
        float* p = dst + static_cast<std::size_t>(o) * out_plane;
        for (const auto& activation : activations_) {
          activation->forwardSlice(p, p, static_cast<int>(out_plane), out_plane, o, o + 1);
        }
      }
    });
  }
}

}  // namespace cluetrace
