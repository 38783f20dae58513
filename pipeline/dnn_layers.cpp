#include "pipeline/dnn_layers.hpp"

#include <algorithm>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

#include <opencv2/dnn/all_layers.hpp>

#include "pipeline/dnn_params.hpp"

namespace cluetrace {
namespace {

using dnn_params::axis_value;
using dnn_params::symmetric_pad;

constexpr int kSide = 5;
constexpr int kTaps = kSide * kSide;

// One channel: `plane` holds its input with the padding already around it (`pitch` floats a row, at least
// (out_w - 1) * stride_x + 5 wide and (out_h - 1) * stride_y + 5 high); `out` receives out_h x out_w sums.
// Inlined into one copy per instruction set (below); the compiler vectorises the loop over x.
__attribute__((always_inline)) inline void convolve_plane(const float* plane, int pitch, float* out, int out_h,
                                                          int out_w, int stride_y, int stride_x, const float* k,
                                                          float bias) {
  for (int y = 0; y < out_h; ++y) {
    const float* r0 = plane + static_cast<std::ptrdiff_t>(y) * stride_y * pitch;
    const float* r1 = r0 + pitch;
    const float* r2 = r1 + pitch;
    const float* r3 = r2 + pitch;
    const float* r4 = r3 + pitch;
    float* o = out + static_cast<std::ptrdiff_t>(y) * out_w;
    if (stride_x == 1) {
      for (int x = 0; x < out_w; ++x) {
        float a = bias;
        a += k[0] * r0[x] + k[1] * r0[x + 1] + k[2] * r0[x + 2] + k[3] * r0[x + 3] + k[4] * r0[x + 4];
        a += k[5] * r1[x] + k[6] * r1[x + 1] + k[7] * r1[x + 2] + k[8] * r1[x + 3] + k[9] * r1[x + 4];
        a += k[10] * r2[x] + k[11] * r2[x + 1] + k[12] * r2[x + 2] + k[13] * r2[x + 3] + k[14] * r2[x + 4];
        a += k[15] * r3[x] + k[16] * r3[x + 1] + k[17] * r3[x + 2] + k[18] * r3[x + 3] + k[19] * r3[x + 4];
        a += k[20] * r4[x] + k[21] * r4[x + 1] + k[22] * r4[x + 2] + k[23] * r4[x + 3] + k[24] * r4[x + 4];
        o[x] = a;
      }
    } else {
      for (int x = 0; x < out_w; ++x) {
        const int i = x * stride_x;
        float a = bias;
        for (int kx = 0; kx < kSide; ++kx) {
          a += k[kx] * r0[i + kx] + k[5 + kx] * r1[i + kx] + k[10 + kx] * r2[i + kx] + k[15 + kx] * r3[i + kx] +
               k[20 + kx] * r4[i + kx];
        }
        o[x] = a;
      }
    }
  }
}

using PlaneFunction = void (*)(const float*, int, float*, int, int, int, int, const float*, float);

void plane_baseline(const float* plane, int pitch, float* out, int out_h, int out_w, int sy, int sx, const float* k,
                    float bias) {
  convolve_plane(plane, pitch, out, out_h, out_w, sy, sx, k, bias);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) void plane_avx2(const float* plane, int pitch, float* out, int out_h, int out_w,
                                                    int sy, int sx, const float* k, float bias) {
  convolve_plane(plane, pitch, out, out_h, out_w, sy, sx, k, bias);
}
#endif

PlaneFunction plane_function() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return plane_avx2;
#endif
  return plane_baseline;
}

}  // namespace

bool is_depthwise_conv5(const cv::dnn::LayerParams& params) {
  if (params.blobs.empty() || params.has("pad_mode")) return false;
  const cv::Mat& w = params.blobs[0];
  if (w.dims != 4 || w.type() != CV_32F || w.size[1] != 1 || w.size[2] != kSide || w.size[3] != kSide) return false;
  const int channels = w.size[0];
  if (params.get<int>("group", 1) != channels || params.get<int>("num_output", channels) != channels) return false;
  if (axis_value(params, "dilation", 0, 1) != 1 || axis_value(params, "dilation", 1, 1) != 1) return false;
  if (params.blobs.size() > 1 && (params.blobs[1].total() != static_cast<std::size_t>(channels) ||
                                  params.blobs[1].type() != CV_32F)) {
    return false;
  }
  const auto [pad_y, pad_x] = symmetric_pad(params);
  const auto [stride_y, stride_x] = dnn_params::strides(params);
  return pad_y >= 0 && pad_x >= 0 && stride_y >= 1 && stride_x >= 1;
}

DepthwiseConv5Layer::DepthwiseConv5Layer(const cv::dnn::LayerParams& params) : cv::dnn::Layer(params) {
  if (!is_depthwise_conv5(params)) {
    throw std::invalid_argument("DepthwiseConv5Layer: not a depthwise 5 x 5 convolution");
  }
  channels_ = params.blobs[0].size[0];
  std::tie(stride_y_, stride_x_) = dnn_params::strides(params);
  std::tie(pad_y_, pad_x_) = symmetric_pad(params);
  cv::dnn::LayerParams copy = params;
  shapes_ = cv::dnn::ConvolutionLayer::create(copy);
}

bool DepthwiseConv5Layer::getMemoryShapes(const std::vector<cv::dnn::MatShape>& inputs, int required_outputs,
                                          std::vector<cv::dnn::MatShape>& outputs,
                                          std::vector<cv::dnn::MatShape>& internals) const {
  shapes_->getMemoryShapes(inputs, required_outputs, outputs, internals);
  internals.clear();  // this layer needs none of OpenCV's buffers
  return false;
}

void DepthwiseConv5Layer::forward(cv::InputArrayOfArrays inputs_arr, cv::OutputArrayOfArrays outputs_arr,
                                  cv::OutputArrayOfArrays /*internals*/) {
  auto [in, out] = dnn_params::one_input_one_output(inputs_arr, outputs_arr);
  CV_Assert(in.size[1] == channels_ && out.size[1] == channels_);
  const int planes = in.size[0] * channels_;
  const int in_h = in.size[2], in_w = in.size[3], out_h = out.size[2], out_w = out.size[3];
  if (planes == 0 || out_h <= 0 || out_w <= 0) return;
  // The padded plane holds every row and column the kernel reaches, zeros outside the input.
  const int pitch = std::max(in_w + 2 * pad_x_, (out_w - 1) * stride_x_ + kSide);
  const int rows = std::max(in_h + 2 * pad_y_, (out_h - 1) * stride_y_ + kSide);
  static const PlaneFunction convolve = plane_function();
  const float* weights = blobs[0].ptr<float>();
  const float* bias = blobs.size() > 1 ? blobs[1].ptr<float>() : nullptr;
  cv::parallel_for_(cv::Range(0, planes), [&](const cv::Range& range) {
    std::vector<float> plane(static_cast<std::size_t>(pitch) * static_cast<std::size_t>(rows), 0.0f);
    for (int p = range.start; p < range.end; ++p) {
      const int c = p % channels_;
      const float* src = in.ptr<float>() + static_cast<std::size_t>(p) * in_h * in_w;
      for (int y = 0; y < in_h; ++y) {
        std::copy(src + static_cast<std::size_t>(y) * in_w, src + static_cast<std::size_t>(y + 1) * in_w,
                  plane.data() + static_cast<std::size_t>(y + pad_y_) * pitch + pad_x_);
      }
      convolve(plane.data(), pitch, out.ptr<float>() + static_cast<std::size_t>(p) * out_h * out_w, out_h, out_w,
               stride_y_, stride_x_, weights + static_cast<std::size_t>(c) * kTaps, bias ? bias[c] : 0.0f);
    }
  });
}

bool is_plain_product(const cv::dnn::LayerParams& params) {
  return params.get<cv::String>("operation", "sum") == "prod" && !params.has("coeff") &&
         !params.has("output_channels_mode");
}

ElementwiseProductLayer::ElementwiseProductLayer(const cv::dnn::LayerParams& params) : cv::dnn::Layer(params) {
  if (!is_plain_product(params)) throw std::invalid_argument("ElementwiseProductLayer: not a plain product");
  cv::dnn::LayerParams copy = params;
  opencv_ = cv::dnn::EltwiseLayer::create(copy);
}

bool ElementwiseProductLayer::getMemoryShapes(const std::vector<cv::dnn::MatShape>& inputs, int required_outputs,
                                              std::vector<cv::dnn::MatShape>& outputs,
                                              std::vector<cv::dnn::MatShape>& internals) const {
  return opencv_->getMemoryShapes(inputs, required_outputs, outputs, internals);
}

void ElementwiseProductLayer::finalize(cv::InputArrayOfArrays inputs_arr, cv::OutputArrayOfArrays outputs_arr) {
  opencv_->finalize(inputs_arr, outputs_arr);
  std::vector<cv::Mat> inputs, outputs;
  inputs_arr.getMatVector(inputs);
  outputs_arr.getMatVector(outputs);
  ours_ = false;
  same_shape_ = false;
  if (inputs.size() != 2 || outputs.size() != 1) return;
  const cv::Mat &a = inputs[0], &b = inputs[1], &out = outputs[0];
  if (a.type() != CV_32F || b.type() != CV_32F || out.type() != CV_32F || a.dims < 2 || a.total() == 0 ||
      !a.isContinuous() || !b.isContinuous() || !out.isContinuous() || out.dims != a.dims ||
      out.total() != a.total()) {
    return;
  }
  for (int d = 0; d < a.dims; ++d) {
    if (out.size[d] != a.size[d]) return;
  }
  bool same = b.dims == a.dims, channel_weights = a.dims == 4 && b.dims == 4;
  for (int d = 0; d < a.dims && (same || channel_weights); ++d) {
    if (same && b.size[d] != a.size[d]) same = false;
    if (channel_weights && b.size[d] != (d < 2 ? a.size[d] : 1)) channel_weights = false;
  }
  ours_ = same || channel_weights;
  same_shape_ = same;
}

bool ElementwiseProductLayer::setActivation(const cv::Ptr<cv::dnn::ActivationLayer>& layer) {
  if (!layer) {  // none: as OpenCV's layer takes it, the fused ones are dropped
    activations_.clear();
    affine_ = true;
    affine_scale_ = 1;
    affine_shift_ = 0;
    opencv_->setActivation(layer);
    return false;
  }
  // The first goes to OpenCV's layer as well (it applies that one itself when it computes the layer); the
  // later ones OpenCV offers (hard-swish's "/ 6", then the scale and shift of the block after it) are applied
  // here after whichever computed the product.
  if (activations_.empty() && !opencv_->setActivation(layer)) return false;
  activations_.push_back(layer);
  // A chain of scales and shifts is one: s2 (s1 x + t1) + t2.
  const auto power = layer.dynamicCast<cv::dnn::PowerLayer>();
  if (power && power->power == 1.0f) {
    affine_scale_ *= power->scale;
    affine_shift_ = affine_shift_ * power->scale + power->shift;
  } else {
    affine_ = false;
  }
  return true;
}

void ElementwiseProductLayer::forward(cv::InputArrayOfArrays inputs_arr, cv::OutputArrayOfArrays outputs_arr,
                                      cv::OutputArrayOfArrays internals_arr) {
  if (!ours_) {
    opencv_->forward(inputs_arr, outputs_arr, internals_arr);  // with the first activation
    if (activations_.size() > 1) {
      std::vector<cv::Mat> outputs;
      outputs_arr.getMatVector(outputs);
      apply_later_activations(outputs[0]);
    }
    return;
  }
  std::vector<cv::Mat> inputs, outputs;
  inputs_arr.getMatVector(inputs);
  outputs_arr.getMatVector(outputs);
  const cv::Mat &a = inputs[0], &b = inputs[1];
  cv::Mat& out = outputs[0];
  // Planes of one channel: the activations are told which channel each is (a per-channel one needs it).
  const int batch = a.size[0], channels = a.size[1];
  const std::size_t plane = a.total() / static_cast<std::size_t>(batch) / static_cast<std::size_t>(channels);
  const bool per_channel = b.total() != a.total();
  const bool hard_swish = computes_hard_swish();
  const float* pa = (hard_swish ? inputs[static_cast<std::size_t>(hard_swish_source_)] : a).ptr<float>();
  const float* pb = b.ptr<float>();
  float* po = out.ptr<float>();
  const float scale = affine_scale_, shift = affine_shift_;
  cv::parallel_for_(cv::Range(0, batch * channels), [&](const cv::Range& range) {
    for (int p = range.start; p < range.end; ++p) {
      const std::size_t at = static_cast<std::size_t>(p) * plane;
      float* o = po + at;
      const float* x = pa + at;
      if (hard_swish) {
        // x · relu6(x + 3) as OpenCV's layers compute it: the shift's x · 1 + 3, then min(max(·, 0), 6).
        for (std::size_t i = 0; i < plane; ++i) o[i] = x[i] * std::min(std::max(x[i] + 3.0f, 0.0f), 6.0f);
      } else if (per_channel) {
        const float w = pb[p];
        for (std::size_t i = 0; i < plane; ++i) o[i] = x[i] * w;
      } else {
        const float* y = pb + at;
        for (std::size_t i = 0; i < plane; ++i) o[i] = x[i] * y[i];
      }
      if (activations_.empty()) continue;
      if (affine_) {
        for (std::size_t i = 0; i < plane; ++i) o[i] = o[i] * scale + shift;
        continue;
      }
      const int channel = p % channels;
      for (const auto& activation : activations_) {
        activation->forwardSlice(o, o, static_cast<int>(plane), plane, channel, channel + 1);
      }
    }
  });
}

void ElementwiseProductLayer::apply_later_activations(cv::Mat& out) const {
  dnn_params::for_each_channel_plane(out, [&](float* plane, std::size_t n, int channel) {
    for (std::size_t i = 1; i < activations_.size(); ++i) {
      activations_[i]->forwardSlice(plane, plane, static_cast<int>(n), n, channel, channel + 1);
    }
  });
}

}  // namespace cluetrace
