#include "pipeline/dnn_hard_swish.hpp"

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipeline/dnn_layers.hpp"
#include "pipeline/dnn_params.hpp"

namespace cluetrace {
namespace {

constexpr float kHardSwishShift = 3.0f;
constexpr float kHardSwishCeiling = 6.0f;

bool is_hard_swish_clip(const cv::Ptr<cv::dnn::Layer>& layer) {
  const auto relu6 = layer.dynamicCast<cv::dnn::ReLU6Layer>();
  return relu6 && relu6->minValue == 0.0f && relu6->maxValue == kHardSwishCeiling;
}

}  // namespace

bool is_hard_swish_shift(const cv::dnn::LayerParams& params) {
  return params.get<float>("power", 1.0f) == 1.0f && params.get<float>("scale", 1.0f) == 1.0f &&
         params.get<float>("shift", 0.0f) == kHardSwishShift;
}

HardSwishShiftLayer::HardSwishShiftLayer(const cv::dnn::LayerParams& params) {
  if (!is_hard_swish_shift(params)) throw std::invalid_argument("HardSwishShiftLayer: not x + 3");
  setParamsFrom(params);
  opencv_ = cv::dnn::PowerLayer::create(params);
  power = opencv_->power;
  scale = opencv_->scale;
  shift = opencv_->shift;
}

bool HardSwishShiftLayer::getMemoryShapes(const std::vector<cv::dnn::MatShape>& inputs, int required_outputs,
                                          std::vector<cv::dnn::MatShape>& outputs,
                                          std::vector<cv::dnn::MatShape>& internals) const {
  return opencv_->getMemoryShapes(inputs, required_outputs, outputs, internals);
}

void HardSwishShiftLayer::finalize(cv::InputArrayOfArrays inputs, cv::OutputArrayOfArrays outputs) {
  opencv_->finalize(inputs, outputs);
}

bool HardSwishShiftLayer::tryFuse(cv::Ptr<cv::dnn::Layer>& top) { return !clip_ && opencv_->tryFuse(top); }

void HardSwishShiftLayer::getScaleShift(cv::Mat& scale_out, cv::Mat& shift_out) const {
  opencv_->getScaleShift(scale_out, shift_out);
}

bool HardSwishShiftLayer::setActivation(const cv::Ptr<cv::dnn::ActivationLayer>& layer) {
  if (!layer) {
    clip_.release();
    return false;
  }
  // Only a marked one, and only its relu6: any other layer is left where OpenCV's own would leave it.
  if (!product_ || clip_ || !is_hard_swish_clip(layer)) return false;
  clip_ = layer;
  return true;
}

void HardSwishShiftLayer::forwardSlice(const float* src, float* dst, int len, std::size_t plane, int cn0, int cn1) const {
  opencv_->forwardSlice(src, dst, len, plane, cn0, cn1);
}

void HardSwishShiftLayer::forward(cv::InputArrayOfArrays inputs_arr, cv::OutputArrayOfArrays outputs_arr,
                                  cv::OutputArrayOfArrays internals_arr) {
  if (product_ && product_->computes_hard_swish()) return;  // nothing reads what this would write
  opencv_->forward(inputs_arr, outputs_arr, internals_arr);
  if (!clip_) return;
  // The relu6 taken in, over each output as its own layer would have run it.
  std::vector<cv::Mat> outputs;
  outputs_arr.getMatVector(outputs);
  for (auto& out : outputs) {
    dnn_params::for_each_channel_plane(out, [&](float* plane, std::size_t n, int channel) {
      clip_->forwardSlice(plane, plane, static_cast<int>(n), n, channel, channel + 1);
    });
  }
}

int fuse_hard_swishes(cv::dnn::Net& net) {
  // Each layer's consumers, from every layer's inputs.
  std::map<int, std::vector<int>> consumers;
  const auto names = net.getLayerNames();
  for (const auto& name : names) {
    const int id = net.getLayerId(name);
    for (const auto& input : net.getLayerInputs(id)) consumers[net.getLayerId(input->name)].push_back(id);
  }
  const auto only_consumer = [&](int id) {
    const auto it = consumers.find(id);
    return it != consumers.end() && it->second.size() == 1 ? it->second.front() : -1;
  };
  int fused = 0;
  for (const auto& name : names) {
    const int id = net.getLayerId(name);
    const auto product = net.getLayer(id).dynamicCast<ElementwiseProductLayer>();
    if (!product) continue;
    const auto inputs = net.getLayerInputs(id);
    if (inputs.size() != 2) continue;
    // x · relu6(x + 3): one input is x, the other the relu6 of x + 3, each of those read by the next alone.
    for (int clip_at = 0; clip_at < 2; ++clip_at) {
      const cv::Ptr<cv::dnn::Layer>& clip = inputs[static_cast<std::size_t>(clip_at)];
      const cv::Ptr<cv::dnn::Layer>& x = inputs[static_cast<std::size_t>(1 - clip_at)];
      const int clip_id = net.getLayerId(clip->name);
      if (!is_hard_swish_clip(clip) || only_consumer(clip_id) != id) continue;
      const auto clip_inputs = net.getLayerInputs(clip_id);
      if (clip_inputs.size() != 1) continue;
      const auto shift = clip_inputs.front().dynamicCast<HardSwishShiftLayer>();
      const int shift_id = shift ? net.getLayerId(shift->name) : -1;
      if (!shift || only_consumer(shift_id) != clip_id) continue;
      const auto shift_inputs = net.getLayerInputs(shift_id);
      if (shift_inputs.size() != 1 || shift_inputs.front()->name != x->name) continue;
      product->take_hard_swish(1 - clip_at);
      shift->computed_by(product);
      ++fused;
      break;
    }
  }
  return fused;
}

}  // namespace cluetrace
