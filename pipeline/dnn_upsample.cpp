#include "pipeline/dnn_upsample.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <opencv2/dnn/all_layers.hpp>

namespace cluetrace {

bool is_nearest_resize(const cv::dnn::LayerParams& params) {
  return params.get<cv::String>("interpolation", "") == "nearest" &&
         params.get<cv::String>("coordinate_transformation_mode", "asymmetric") == "asymmetric" &&
         params.get<cv::String>("nearest_mode", "floor") == "floor" && !params.get<bool>("align_corners", false) &&
         !params.get<bool>("half_pixel_centers", false);
}

namespace {

cv::Ptr<cv::dnn::Layer> opencv_resize(const cv::dnn::LayerParams& params) {
  if (!is_nearest_resize(params)) throw std::invalid_argument("NearestUpsampleLayer: not a nearest-neighbour resize");
  cv::dnn::LayerParams copy = params;
  return cv::dnn::ResizeLayer::create(copy);
}

}  // namespace

NearestUpsampleLayer::NearestUpsampleLayer(const cv::dnn::LayerParams& params)
    : FallbackLayer(params, opencv_resize(params)) {}

bool NearestUpsampleLayer::claim(const std::vector<cv::Mat>& inputs, const std::vector<cv::Mat>& outputs) {
  factor_y_ = factor_x_ = 0;
  if (inputs.size() != 1 || outputs.size() != 1) return false;
  const cv::Mat &in = inputs[0], &out = outputs[0];
  if (in.dims != 4 || out.dims != 4 || in.type() != CV_32F || out.type() != CV_32F || !in.isContinuous() ||
      !out.isContinuous() || in.size[0] != out.size[0] || in.size[1] != out.size[1] || in.size[2] == 0 || in.size[3] == 0) {
    return false;
  }
  // Whole factors only: floor(y * in / out) is then y / factor, exactly.
  if (out.size[2] % in.size[2] != 0 || out.size[3] % in.size[3] != 0) return false;
  factor_y_ = out.size[2] / in.size[2];
  factor_x_ = out.size[3] / in.size[3];
  return true;
}

void NearestUpsampleLayer::compute(const std::vector<cv::Mat>& inputs, std::vector<cv::Mat>& outputs) {
  const cv::Mat& in = inputs[0];
  cv::Mat& out = outputs[0];
  const int planes = in.size[0] * in.size[1], height = in.size[2], width = in.size[3];
  const int fy = factor_y_, fx = factor_x_, out_width = width * fx;
  const std::size_t in_plane = static_cast<std::size_t>(height) * width;
  const std::size_t out_plane = in_plane * fy * fx;
  const std::size_t row_bytes = static_cast<std::size_t>(out_width) * sizeof(float);
  const float* src = in.ptr<float>();
  float* dst = out.ptr<float>();
  cv::parallel_for_(cv::Range(0, planes), [&](const cv::Range& range) {
    for (int p = range.start; p < range.end; ++p) {
      for (int y = 0; y < height; ++y) {
        const float* from = src + p * in_plane + static_cast<std::size_t>(y) * width;
        float* row = dst + p * out_plane + static_cast<std::size_t>(y) * fy * out_width;
        if (fx == 2) {
          for (int x = 0; x < width; ++x) row[2 * x] = row[2 * x + 1] = from[x];
        } else {
          for (int x = 0; x < width; ++x) std::fill_n(row + static_cast<std::size_t>(x) * fx, fx, from[x]);
        }
        for (int k = 1; k < fy; ++k) std::memcpy(row + static_cast<std::size_t>(k) * out_width, row, row_bytes);
      }
    }
  });
}

}  // namespace cluetrace
