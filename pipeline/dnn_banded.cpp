#include "pipeline/dnn_banded.hpp"

#include <algorithm>
#include <utility>

namespace cluetrace::dnn_banded {

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

Pointwise::Pointwise(const std::string& name, const cv::Mat& weights) {
  cv::dnn::LayerParams params;
  params.name = name;
  params.type = "Convolution";
  params.set("kernel_size", 1);
  params.set("num_output", weights.size[0]);
  params.set("bias_term", false);
  params.blobs = {weights};
  layer_ = cv::dnn::ConvolutionLayer::create(params);
}

void Pointwise::run(const cv::Mat& band, cv::Mat& planes) {
  const cv::dnn::MatShape shape{band.size[0], band.size[1], band.size[2], band.size[3]};
  std::vector<cv::Mat> in{band}, out{planes};
  if (shape != shape_) {
    std::vector<cv::dnn::MatShape> out_shapes, internal_shapes;
    layer_->getMemoryShapes({shape}, 1, out_shapes, internal_shapes);
    CV_Assert(out_shapes.size() == 1 && out_shapes[0] == cv::dnn::MatShape(planes.size.p, planes.size.p + planes.dims));
    internals_.clear();
    for (const auto& s : internal_shapes) internals_.emplace_back(s, CV_32F);
    layer_->finalize(cv::_InputArray(in), cv::_OutputArray(out));
    shape_ = shape;
  }
  layer_->forward(in, out, internals_);
}

OutputChannels::OutputChannels(int channels, const cv::dnn::LayerParams& params)
    : bias_(static_cast<std::size_t>(channels), 0.0f),
      scale_(static_cast<std::size_t>(channels), 1.0f),
      shift_(static_cast<std::size_t>(channels), 0.0f) {
  if (params.blobs.size() > 1) std::copy_n(params.blobs[1].ptr<float>(), channels, bias_.begin());
}

bool OutputChannels::try_fuse(cv::Ptr<cv::dnn::Layer>& top) {
  if (!top || !activations_.empty()) return false;
  cv::Mat w, b;
  top->getScaleShift(w, b);
  if (w.empty() && b.empty()) return false;
  const auto channels = scale_.size();
  const auto fits = [&](const cv::Mat& m) {
    return m.empty() || (m.type() == CV_32F && m.isContinuous() && (m.total() == 1 || m.total() == channels));
  };
  if (!fits(w) || !fits(b)) return false;
  for (std::size_t c = 0; c < channels; ++c) {
    const float s = w.empty() ? 1.0f : w.ptr<float>()[w.total() == 1 ? 0 : c];
    const float t = b.empty() ? 0.0f : b.ptr<float>()[b.total() == 1 ? 0 : c];
    scale_[c] *= s;
    shift_[c] = shift_[c] * s + t;
  }
  return true;
}

bool OutputChannels::set_activation(const cv::Ptr<cv::dnn::ActivationLayer>& layer) {
  if (!layer) {
    activations_.clear();
    return false;
  }
  activations_.push_back(layer);
  return true;
}

void OutputChannels::finish(float* planes, std::size_t plane, bool with_scale_shift) const {
  if (!with_scale_shift && activations_.empty()) return;
  cv::parallel_for_(cv::Range(0, static_cast<int>(scale_.size())), [&](const cv::Range& range) {
    for (int c = range.start; c < range.end; ++c) {
      float* p = planes + static_cast<std::size_t>(c) * plane;
      const float s = scale(c), t = shift(c);
      if (with_scale_shift && (s != 1.0f || t != 0.0f)) {
        for (std::size_t k = 0; k < plane; ++k) p[k] = p[k] * s + t;
      }
      for (const auto& activation : activations_) {
        activation->forwardSlice(p, p, static_cast<int>(plane), plane, c, c + 1);
      }
    }
  });
}

BandedLayer::BandedLayer(const cv::dnn::LayerParams& params, Parts parts)
    : cv::dnn::Layer(params),
      pointwise_(params.name + "/taps", parts.tap_weights),
      channels_(parts.outputs, params),
      shapes_(std::move(parts.shapes)) {}

bool BandedLayer::getMemoryShapes(const std::vector<cv::dnn::MatShape>& inputs, int required_outputs,
                                  std::vector<cv::dnn::MatShape>& outputs,
                                  std::vector<cv::dnn::MatShape>& internals) const {
  shapes_->getMemoryShapes(inputs, required_outputs, outputs, internals);
  internals.clear();  // the bands are this layer's own
  return false;
}

bool BandedLayer::tryFuse(cv::Ptr<cv::dnn::Layer>& top) { return channels_.try_fuse(top); }

bool BandedLayer::setActivation(const cv::Ptr<cv::dnn::ActivationLayer>& layer) {
  return channels_.set_activation(layer);
}

}  // namespace cluetrace::dnn_banded
