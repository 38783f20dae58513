// Nearest-neighbour upsampling by whole factors, which read_onnx_net() (pipeline/onnx_net.hpp) puts in place of
// OpenCV 4.6's resize layer. PP-OCRv4's detector enlarges its feature maps 2, 4 and 8 times (six layers,
// ONNX Resize "nearest", "asymmetric", "floor"); OpenCV computes every output pixel's source and copies one
// value at a time, 13 ms of a 326 ms pass at one megapixel. With a whole factor each input value is copied to
// a block of the output: each output row is built once and copied to the rows below it. The same values as
// OpenCV's to the bit (tests/pipeline/dnn_upsample_test.cpp); any other resize is OpenCV's own.
#pragma once

#include <vector>

#include <opencv2/dnn.hpp>

#include "pipeline/dnn_fallback.hpp"

namespace cluetrace {

// Whether the resize in `params` may be one NearestUpsampleLayer computes: nearest-neighbour, the ONNX
// coordinate mode "asymmetric" (or none given) and rounding "floor" (or none given), corners not aligned. The
// factors are known only once the shapes are (finalize()).
bool is_nearest_resize(const cv::dnn::LayerParams& params);

class NearestUpsampleLayer final : public FallbackLayer {
 public:
  explicit NearestUpsampleLayer(const cv::dnn::LayerParams& params);

 private:
  bool claim(const std::vector<cv::Mat>& inputs, const std::vector<cv::Mat>& outputs) override;
  void compute(const std::vector<cv::Mat>& inputs, std::vector<cv::Mat>& outputs) override;

  int factor_y_ = 0, factor_x_ = 0;  // the whole factors claim() found
};

}  // namespace cluetrace
