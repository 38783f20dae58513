#include "pipeline/dnn_fallback.hpp"

#include <utility>

namespace cluetrace {

FallbackLayer::FallbackLayer(const cv::dnn::LayerParams& params, cv::Ptr<cv::dnn::Layer> opencv)
    : cv::dnn::Layer(params), opencv_(std::move(opencv)) {}

bool FallbackLayer::getMemoryShapes(const std::vector<cv::dnn::MatShape>& inputs, int required_outputs,
                                    std::vector<cv::dnn::MatShape>& outputs,
                                    std::vector<cv::dnn::MatShape>& internals) const {
  return opencv_->getMemoryShapes(inputs, required_outputs, outputs, internals);
}

bool FallbackLayer::updateMemoryShapes(const std::vector<cv::dnn::MatShape>& inputs) {
  return opencv_->updateMemoryShapes(inputs);
}

void FallbackLayer::finalize(cv::InputArrayOfArrays inputs_arr, cv::OutputArrayOfArrays outputs_arr) {
  opencv_->finalize(inputs_arr, outputs_arr);
  std::vector<cv::Mat> inputs, outputs;
  inputs_arr.getMatVector(inputs);
  outputs_arr.getMatVector(outputs);
  ours_ = claim(inputs, outputs);
}

void FallbackLayer::forward(cv::InputArrayOfArrays inputs_arr, cv::OutputArrayOfArrays outputs_arr,
                            cv::OutputArrayOfArrays internals_arr) {
  if (!ours_) {
    opencv_->forward(inputs_arr, outputs_arr, internals_arr);
    return;
  }
  std::vector<cv::Mat> inputs, outputs;
  inputs_arr.getMatVector(inputs);
  outputs_arr.getMatVector(outputs);
  compute(inputs, outputs);
}

}  // namespace cluetrace
