// Global average pooling, which read_onnx_net() (pipeline/onnx_net.hpp) puts in place of OpenCV 4.6's for the
// squeeze-and-excitation blocks of PP-OCRv4's detector (ONNX GlobalAveragePool; 10 ms of a 320 ms pass at one
// megapixel). OpenCV sums each channel one value after another, each addition waiting for the one before: at
// about 5 GB/s. Here eight channels are summed side by side, each in OpenCV's order, so the additions of
// different channels overlap; the values are OpenCV's to the bit (tests/pipeline/dnn_pool_test.cpp). Any other
// pooling is OpenCV's own.
#pragma once

#include <vector>

#include <opencv2/dnn.hpp>

namespace cluetrace {

// Whether the pooling in `params` is a global average.
bool is_global_average_pool(const cv::dnn::LayerParams& params);

class GlobalAveragePoolLayer final : public cv::dnn::Layer {
 public:
  explicit GlobalAveragePoolLayer(const cv::dnn::LayerParams& params);
  bool getMemoryShapes(const std::vector<cv::dnn::MatShape>& inputs, int required_outputs,
                       std::vector<cv::dnn::MatShape>& outputs,
                       std::vector<cv::dnn::MatShape>& internals) const override;
  // A net with free input dimensions tells its layers the real shapes here: OpenCV's layer needs them (a global
  // pooling takes its window from them).
  bool updateMemoryShapes(const std::vector<cv::dnn::MatShape>& inputs) override;
  void finalize(cv::InputArrayOfArrays inputs, cv::OutputArrayOfArrays outputs) override;
  void forward(cv::InputArrayOfArrays inputs, cv::OutputArrayOfArrays outputs,
               cv::OutputArrayOfArrays internals) override;
  // Whether the shapes finalize() saw are computed here (false: by OpenCV's layer), for the tests.
  bool computes_itself() const { return ours_; }

 private:
  cv::Ptr<cv::dnn::Layer> opencv_;  // OpenCV's own layer for the same parameters
  bool ours_ = false;
};

}  // namespace cluetrace
