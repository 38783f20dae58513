// Two layers of cluetrace's own that read_onnx_net() (pipeline/onnx_net.hpp) puts in place of OpenCV 4.6's in
// the text stages' nets, where OpenCV's are slow. Both compute what OpenCV's compute: the convolution's sums
// within float rounding, the product exactly (tests/pipeline/onnx_net_test.cpp).
#pragma once

#include <vector>

#include <opencv2/dnn.hpp>

namespace cluetrace {

// Whether the convolution OpenCV's ONNX importer describes in `params` is one DepthwiseConv5Layer computes:
// one 5 x 5 filter per channel (group = channels = outputs), no dilation, the same padding on both sides of
// each axis, explicit padding (no "SAME" mode), float weights.
bool is_depthwise_conv5(const cv::dnn::LayerParams& params);

// A depthwise 5 x 5 convolution with optional bias, any stride. OpenCV 4.6 vectorises depthwise kernels of
// 3 x 3 only; a 5 x 5 one goes through its general convolution at about 2 GMAC/s (its 1 x 1 convolutions run
// at about 70): in PP-OCRv4's line recogniser those layers were 47 % of a forward pass.
class DepthwiseConv5Layer final : public cv::dnn::Layer {
 public:
  explicit DepthwiseConv5Layer(const cv::dnn::LayerParams& params);
  bool getMemoryShapes(const std::vector<cv::dnn::MatShape>& inputs, int required_outputs,
                       std::vector<cv::dnn::MatShape>& outputs,
                       std::vector<cv::dnn::MatShape>& internals) const override;
  void forward(cv::InputArrayOfArrays inputs, cv::OutputArrayOfArrays outputs,
               cv::OutputArrayOfArrays internals) override;

 private:
  int channels_ = 0;
  int stride_y_ = 1, stride_x_ = 1;
  int pad_y_ = 0, pad_x_ = 0;
  // OpenCV's own layer for the same parameters, asked only for output shapes, so that shapes (including the
  // importer's placeholder shapes of a net with free input dimensions) are exactly OpenCV's.
  cv::Ptr<cv::dnn::Layer> shapes_;
};

// Whether the element-wise layer in `params` is a plain product ("Mul" of two tensors in ONNX): the only kind
// ElementwiseProductLayer is made for.
bool is_plain_product(const cv::dnn::LayerParams& params);

// The product of two float tensors of one shape, or of an N x C x H x W tensor by an N x C x 1 x 1 one (the
// channel weights of a squeeze-and-excitation block), with the activations OpenCV fuses into it: hard-swish's
// "/ 6", and the scale and shift PP-OCRv4 puts after it, each a pass of its own over the whole tensor
// otherwise (6 % of a recogniser pass). OpenCV 4.6's element-wise layer took 6.6 ms for one such channel product of 1.2 million values in
// PP-OCRv4's detector. Any other case (more inputs, other shapes or types) is handed to OpenCV's own layer,
// which this one holds: which it is is known only once the shapes are (finalize()).
class ElementwiseProductLayer final : public cv::dnn::Layer {
 public:
  explicit ElementwiseProductLayer(const cv::dnn::LayerParams& params);
  bool getMemoryShapes(const std::vector<cv::dnn::MatShape>& inputs, int required_outputs,
                       std::vector<cv::dnn::MatShape>& outputs,
                       std::vector<cv::dnn::MatShape>& internals) const override;
  void finalize(cv::InputArrayOfArrays inputs, cv::OutputArrayOfArrays outputs) override;
  bool setActivation(const cv::Ptr<cv::dnn::ActivationLayer>& layer) override;
  void forward(cv::InputArrayOfArrays inputs, cv::OutputArrayOfArrays outputs,
               cv::OutputArrayOfArrays internals) override;
  // Whether the shapes finalize() saw are computed here (false: by OpenCV's layer), for the tests.
  bool computes_itself() const { return ours_; }
  // Input `source` is x and the other relu6(x + 3) (a hard-swish, pipeline/dnn_hard_swish.hpp): where the
  // product is computed here, relu6(x + 3) is computed from x and the other input is not read.
  void take_hard_swish(int source) { hard_swish_source_ = source; }
  bool computes_hard_swish() const { return hard_swish_source_ >= 0 && ours_ && same_shape_; }

 private:
  cv::Ptr<cv::dnn::Layer> opencv_;  // OpenCV's own layer for the same parameters
  bool ours_ = false;
  bool same_shape_ = false;      // both inputs of one shape (not a tensor by its channel weights)
  int hard_swish_source_ = -1;   // take_hard_swish()
  // The activations fused into this layer, in order. OpenCV may offer them before finalize() (in a net with
  // free input dimensions) or after, and offers the next as long as the last was taken. The first is also
  // OpenCV's layer's (which refuses a second), so whichever computes the product applies it; the later ones
  // are applied here in either case.
  std::vector<cv::Ptr<cv::dnn::ActivationLayer>> activations_;
  // Whether every one of them is a scale and shift (a power layer of power 1), and the one they make together.
  bool affine_ = true;
  float affine_scale_ = 1, affine_shift_ = 0;
  // The activations after the first, over `out` as OpenCV's layer left it.
  void apply_later_activations(cv::Mat& out) const;
};

}  // namespace cluetrace
