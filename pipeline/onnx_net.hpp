// Reading the ONNX nets of the text stages (PP-OCRv4's detector and line recogniser) with one layer of
// cluetrace's own in place of OpenCV's: the depthwise convolution with a 5 x 5 kernel.
//
// OpenCV 4.6 has a vectorised path for depthwise kernels of 3 x 3 only; a 5 x 5 one goes through its
// general convolution, at about a thirtieth of the speed per multiply of its 1 x 1 convolutions. In the line
// recogniser those layers were 47 % of a forward pass (bench/RESULTS.md, issue 16, ninth session). The layer
// here computes the same sums (results equal to OpenCV's within float rounding, tests/unit/onnx_net_test.cpp);
// every other layer, and every convolution it does not claim, is OpenCV's own.
#pragma once

#include <cstddef>

#include <opencv2/dnn.hpp>

namespace cluetrace {

// readNetFromONNX() with the depthwise 5 x 5 convolutions computed by DepthwiseConv5Layer. Throws what
// OpenCV throws for a file it cannot read. A net read any other way once this has returned is OpenCV's
// alone: the override is registered with OpenCV only while this net is read.
cv::dnn::Net read_onnx_net(const char* bytes, std::size_t size);

// Whether the convolution OpenCV's ONNX importer describes in `params` is one DepthwiseConv5Layer computes:
// one 5 x 5 filter per channel (group = channels = outputs), no dilation, the same padding on both sides of
// each axis, explicit padding (no "SAME" mode), float weights.
bool is_depthwise_conv5(const cv::dnn::LayerParams& params);

// The layer itself, for the tests: a depthwise 5 x 5 convolution with optional bias, any stride.
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

}  // namespace cluetrace
