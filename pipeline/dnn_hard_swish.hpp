// Hard-swish in one pass, in the PP-OCR nets read by read_onnx_net() (pipeline/onnx_net.hpp). The ONNX export
// spells each hard-swish x · relu6(x + 3) / 6 as four layers, and OpenCV 4.6 runs "x + 3" and "relu6" as passes
// of their own over the whole tensor before the product reads both x and their result: 24 such sites in
// PP-OCRv4's detector (18 ms of a 348 ms pass at one megapixel), 28 in the line recogniser. Here the product
// computes relu6(x + 3) from x itself, and the shift before it (with the relu6 fused into it) is skipped. Every
// value is computed with the same float operations in the same order: the outputs are OpenCV's to the bit
// (tests/pipeline/dnn_hard_swish_test.cpp, and both real nets in tests/pipeline/onnx_net_test.cpp).
#pragma once

#include <opencv2/dnn.hpp>
#include <opencv2/dnn/all_layers.hpp>

namespace cluetrace {

class ElementwiseProductLayer;

// Whether the layer OpenCV's importer describes as "Power" in `params` is hard-swish's "x + 3" (power 1,
// scale 1, shift 3), the only kind HardSwishShiftLayer is made for.
bool is_hard_swish_shift(const cv::dnn::LayerParams& params);

// "x + 3": OpenCV's own Power layer, which this one holds and hands every call to (so it fuses with the layers
// around it as OpenCV's does), except two. Marked as a hard-swish's (computed_by()), it takes the relu6 after it
// as an activation of its own; and while that hard-swish's product computes relu6(x + 3) itself, its forward
// pass does nothing (nothing else reads its output).
class HardSwishShiftLayer final : public cv::dnn::PowerLayer {
 public:
  explicit HardSwishShiftLayer(const cv::dnn::LayerParams& params);
  bool getMemoryShapes(const std::vector<cv::dnn::MatShape>& inputs, int required_outputs,
                       std::vector<cv::dnn::MatShape>& outputs,
                       std::vector<cv::dnn::MatShape>& internals) const override;
  void finalize(cv::InputArrayOfArrays inputs, cv::OutputArrayOfArrays outputs) override;
  bool tryFuse(cv::Ptr<cv::dnn::Layer>& top) override;
  void getScaleShift(cv::Mat& scale, cv::Mat& shift) const override;
  bool setActivation(const cv::Ptr<cv::dnn::ActivationLayer>& layer) override;
  void forward(cv::InputArrayOfArrays inputs, cv::OutputArrayOfArrays outputs,
               cv::OutputArrayOfArrays internals) override;
  void forwardSlice(const float* src, float* dst, int len, std::size_t plane, int cn0, int cn1) const override;
  using cv::dnn::ActivationLayer::forwardSlice;

  // The hard-swish product reading this layer's relu6 (ElementwiseProductLayer::computes_hard_swish()).
  void computed_by(cv::Ptr<ElementwiseProductLayer> product) { product_ = std::move(product); }

 private:
  cv::Ptr<cv::dnn::PowerLayer> opencv_;
  cv::Ptr<cv::dnn::ActivationLayer> clip_;  // the relu6 taken in, once computed_by() has marked this layer
  cv::Ptr<ElementwiseProductLayer> product_;
};

// Finds, in a net read with HardSwishShiftLayer and ElementwiseProductLayer in place, each hard-swish whose "x + 3" and
// "relu6" feed only its product, and has the product compute them. Call before the net's first forward pass
// (OpenCV fuses the relu6 into the shift then). Returns how many it found.
int fuse_hard_swishes(cv::dnn::Net& net);

}  // namespace cluetrace
