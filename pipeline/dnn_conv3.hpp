// A dense 3 x 3 convolution that read_onnx_net() (pipeline/onnx_net.hpp) puts in place of OpenCV 4.6's for the
// few output channels of PP-OCRv4's detector head (96 -> 24 at a quarter of the image: a third of a detector
// pass). OpenCV runs that shape at about 18 GMAC/s, and a 1 x 1 convolution with nine times the outputs at about
// 32: so the nine taps are computed as one 1 x 1 convolution (OpenCV's, one output plane per output channel
// and tap) over a band of rows, and each output is the sum of its nine planes, each shifted by its tap. The
// same sums within float rounding (tests/pipeline/onnx_net_test.cpp).
#pragma once

#include <vector>

#include <opencv2/dnn.hpp>

#include "pipeline/dnn_banded.hpp"

namespace cluetrace {

// Whether the convolution in `params` is one DenseConv3Layer computes: a 3 x 3 kernel, stride 1, no dilation,
// padding 1 on every side, one group, float weights, at most 64 outputs (9 planes each) and at least 8 inputs.
bool is_dense_conv3(const cv::dnn::LayerParams& params);

class DenseConv3Layer final : public cv::dnn::Layer {
 public:
  explicit DenseConv3Layer(const cv::dnn::LayerParams& params);
  bool getMemoryShapes(const std::vector<cv::dnn::MatShape>& inputs, int required_outputs,
                       std::vector<cv::dnn::MatShape>& outputs,
                       std::vector<cv::dnn::MatShape>& internals) const override;
  // A batch norm or scale layer after it: folded into each output channel's scale and shift.
  bool tryFuse(cv::Ptr<cv::dnn::Layer>& top) override;
  // Any activation after it, applied to each output plane in turn once the sums are made.
  bool setActivation(const cv::Ptr<cv::dnn::ActivationLayer>& layer) override;
  void forward(cv::InputArrayOfArrays inputs, cv::OutputArrayOfArrays outputs,
               cv::OutputArrayOfArrays internals) override;

 private:
  // Adds the nine shifted tap planes of the band for rows [y0, y0 + rows) into the output planes `out` (one
  // image, height x width each).
  void add_taps(const cv::Mat& taps, float* out, int height, int width, int y0, int rows) const;

  int outputs_ = 0, inputs_ = 0;
  dnn_banded::Pointwise pointwise_;       // plane o * 9 + ky * 3 + kx: tap (ky, kx) of output o
  dnn_banded::OutputChannels channels_;   // output = (bias + sums) * scale + shift, then activations
  cv::Ptr<cv::dnn::Layer> shapes_;        // OpenCV's own layer for the same parameters, asked only for shapes
};

}  // namespace cluetrace
