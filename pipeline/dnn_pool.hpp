// Global average pooling, which read_onnx_net() (pipeline/onnx_net.hpp) puts in place of OpenCV 4.6's for the
// squeeze-and-excitation blocks of PP-OCRv4's detector (ONNX GlobalAveragePool; 10 ms of a 320 ms pass at one
// megapixel). OpenCV sums each channel one value after another, each addition waiting for the one before: at
// about 5 GB/s. Here eight channels are summed side by side, each in OpenCV's order, so the additions of
// different channels overlap; the values are OpenCV's to the bit (tests/pipeline/dnn_pool_test.cpp). Any other
// pooling is OpenCV's own.
#pragma once

#include <vector>

#include <opencv2/dnn.hpp>

#include "pipeline/dnn_fallback.hpp"

namespace cluetrace {

// Whether the pooling in `params` is a global average.
bool is_global_average_pool(const cv::dnn::LayerParams& params);

class GlobalAveragePoolLayer final : public FallbackLayer {
 public:
  explicit GlobalAveragePoolLayer(const cv::dnn::LayerParams& params);

 private:
  bool claim(const std::vector<cv::Mat>& inputs, const std::vector<cv::Mat>& outputs) override;
  void compute(const std::vector<cv::Mat>& inputs, std::vector<cv::Mat>& outputs) override;
};

}  // namespace cluetrace
