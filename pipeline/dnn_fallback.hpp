// A layer of ours that computes some shapes itself and hands every other to the OpenCV layer it holds, made
// for the same parameters (pipeline/dnn_pool.hpp, pipeline/dnn_upsample.hpp). Shapes are always OpenCV's
// layer's, and it is told the net's real input shapes as it would have been; which one computes is known only
// once the shapes are (finalize()).
#pragma once

#include <vector>

#include <opencv2/dnn.hpp>

namespace cluetrace {

class FallbackLayer : public cv::dnn::Layer {
 public:
  FallbackLayer(const cv::dnn::LayerParams& params, cv::Ptr<cv::dnn::Layer> opencv);
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

 protected:
  // Whether these inputs and outputs (as finalize() gives them) are computed here.
  virtual bool claim(const std::vector<cv::Mat>& inputs, const std::vector<cv::Mat>& outputs) = 0;
  virtual void compute(const std::vector<cv::Mat>& inputs, std::vector<cv::Mat>& outputs) = 0;

 private:
  cv::Ptr<cv::dnn::Layer> opencv_;
  bool ours_ = false;
};

}  // namespace cluetrace
