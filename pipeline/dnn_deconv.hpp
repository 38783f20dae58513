// A transposed convolution whose kernel is as large as its stride, which read_onnx_net() (pipeline/onnx_net.hpp)
// puts in place of OpenCV 4.6's. PP-OCRv4's detector ends with two (2 x 2, stride 2: 24 -> 24 channels, then
// 24 -> 1); OpenCV runs the first at about 5.5 GMAC/s (5 ms, 8 % of a detector pass at 512 x 384), where its
// 1 x 1 convolutions run at 30 or more. With no overlap between the kernel's patches, each input pixel paints its own kh x kw patch of
// the output: the patches are one 1 x 1 convolution (OpenCV's, one output plane per output channel and kernel
// tap) over a band of rows, each plane then written to its tap's pixels. The same sums within float rounding
// (tests/pipeline/dnn_deconv_test.cpp).
#pragma once

#include <vector>

#include <opencv2/dnn.hpp>

#include "pipeline/dnn_banded.hpp"

namespace cluetrace {

// Whether the transposed convolution in `params` is one PatchDeconvLayer computes: a kernel the size of its
// stride on both axes, no padding, no output padding or output shape, no dilation, one group, float weights
// [inputs, outputs, kh, kw] with at least 16 tap planes (outputs x kh x kw), a bias (if any) of one value per output.
bool is_patch_deconv(const cv::dnn::LayerParams& params);

// Its 1 x 1 convolution's plane o * kh * kw + ky * kw + kx is tap (ky, kx) of output o.
class PatchDeconvLayer final : public dnn_banded::BandedLayer {
 public:
  explicit PatchDeconvLayer(const cv::dnn::LayerParams& params);
  void forward(cv::InputArrayOfArrays inputs, cv::OutputArrayOfArrays outputs,
               cv::OutputArrayOfArrays internals) override;

 private:
  // Writes the band's tap planes (input rows [y0, y0 + rows)) to their pixels of the output planes `out` (one
  // image), with the bias, scale and shift.
  void paint(const cv::Mat& taps, float* out, int in_height, int in_width, int y0, int rows) const;

  int inputs_ = 0, outputs_ = 0, kernel_h_ = 0, kernel_w_ = 0;
};

}  // namespace cluetrace
