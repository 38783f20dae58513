#include "pipeline/dnn_pool.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>
#include <string>

#include <opencv2/dnn/all_layers.hpp>

namespace cluetrace {
namespace {

constexpr int kLanes = 8;  // channels summed side by side

}  // namespace

bool is_global_average_pool(const cv::dnn::LayerParams& params) {
  std::string pool = params.get<cv::String>("pool", "max");  // the importer writes "AVE"; OpenCV ignores case
  std::transform(pool.begin(), pool.end(), pool.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return params.get<bool>("global_pooling", false) && pool == "ave";
}

namespace {

cv::Ptr<cv::dnn::Layer> opencv_pooling(const cv::dnn::LayerParams& params) {
  if (!is_global_average_pool(params)) throw std::invalid_argument("GlobalAveragePoolLayer: not a global average");
  cv::dnn::LayerParams copy = params;
  return cv::dnn::PoolingLayer::create(copy);
}

}  // namespace

GlobalAveragePoolLayer::GlobalAveragePoolLayer(const cv::dnn::LayerParams& params)
    : FallbackLayer(params, opencv_pooling(params)) {}

bool GlobalAveragePoolLayer::claim(const std::vector<cv::Mat>& inputs, const std::vector<cv::Mat>& outputs) {
  if (inputs.size() != 1 || outputs.size() != 1) return false;
  const cv::Mat &in = inputs[0], &out = outputs[0];
  return in.dims == 4 && out.dims == 4 && in.type() == CV_32F && out.type() == CV_32F && in.isContinuous() &&
         out.isContinuous() && in.size[0] == out.size[0] && in.size[1] == out.size[1] && out.size[2] == 1 &&
         out.size[3] == 1 && in.size[2] > 0 && in.size[3] > 0;
}

void GlobalAveragePoolLayer::compute(const std::vector<cv::Mat>& inputs, std::vector<cv::Mat>& outputs) {
  const cv::Mat& in = inputs[0];
  const int planes = in.size[0] * in.size[1];
  const int area = in.size[2] * in.size[3];
  const auto plane = static_cast<std::size_t>(area);
  // As OpenCV: the area as a float, its inverse in double rounded to float, the sum times it.
  float inverse = static_cast<float>(area);
  inverse = static_cast<float>(1.0 / inverse);
  const float* src = in.ptr<float>();
  float* dst = outputs[0].ptr<float>();
  const int groups = (planes + kLanes - 1) / kLanes;
  cv::parallel_for_(cv::Range(0, groups), [&](const cv::Range& range) {
    for (int g = range.start; g < range.end; ++g) {
      const int first = g * kLanes, lanes = std::min(kLanes, planes - first);
      const float* p = src + static_cast<std::size_t>(first) * plane;
      if (lanes < kLanes) {
        for (int l = 0; l < lanes; ++l) {
          float sum = 0.0f;
          for (std::size_t i = 0; i < plane; ++i) sum += p[static_cast<std::size_t>(l) * plane + i];
          dst[first + l] = sum * inverse;
        }
        continue;
      }
      std::array<float, kLanes> sums{};
      for (std::size_t i = 0; i < plane; ++i) {
        for (int l = 0; l < kLanes; ++l) sums[static_cast<std::size_t>(l)] += p[static_cast<std::size_t>(l) * plane + i];
      }
      for (int l = 0; l < kLanes; ++l) dst[first + l] = sums[static_cast<std::size_t>(l)] * inverse;
    }
  });
}

}  // namespace cluetrace
