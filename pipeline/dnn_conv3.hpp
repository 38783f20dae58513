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

// Its 1 x 1 convolution's plane o * 9 + ky * 3 + kx is tap (ky, kx) of output o.
class DenseConv3Layer final : public dnn_banded::BandedLayer {
 public:
  explicit DenseConv3Layer(const cv::dnn::LayerParams& params);
  void forward(cv::InputArrayOfArrays inputs, cv::OutputArrayOfArrays outputs,
               cv::OutputArrayOfArrays internals) override;

 private:
  // Adds the nine shifted tap planes of the band for rows [y0, y0 + rows) into the output planes `out` (one
  // image, height x width each).
  void add_taps(const cv::Mat& taps, float* out, int height, int width, int y0, int rows) const;

  int outputs_ = 0, inputs_ = 0;
};

}  // namespace cluetrace
