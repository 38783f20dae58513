// Contract: NearestUpsampleLayer (pipeline/dnn_upsample.hpp), which read_onnx_net() puts in place of OpenCV's
// nearest-neighbour resizes, gives OpenCV's values to the bit for whole factors (2, 4, 8, unequal ones, odd
// sizes, a batch of two), leaves any other factor to OpenCV's own layer (the same values again), and is claimed
// for nothing but nearest-neighbour resizes of the ONNX "asymmetric" / "floor" kind.
#include <gtest/gtest.h>

#include <vector>

#include <opencv2/dnn/all_layers.hpp>

#include "pipeline/dnn_upsample.hpp"
#include "tests/support/dnn_test_support.hpp"

namespace {

using cluetrace::NearestUpsampleLayer;
using cluetrace::test::random_blob;

cv::dnn::LayerParams resize_params(float zoom_y, float zoom_x) {
  cv::dnn::LayerParams p;
  p.name = "resize";
  p.set("interpolation", "nearest");
  p.set("coordinate_transformation_mode", "asymmetric");
  p.set("nearest_mode", "floor");
  p.set("align_corners", false);
  p.set("zoom_factor_y", zoom_y);
  p.set("zoom_factor_x", zoom_x);
  return p;
}

struct Upsampled {
  cv::Mat out;
  bool ours_computed = false;
};

Upsampled forward_resize(const cv::Mat& input, cv::dnn::LayerParams params, bool ours) {
  static const bool registered = [] {
    cv::dnn::LayerFactory::registerLayer("UpsampleTest", [](cv::dnn::LayerParams& p) -> cv::Ptr<cv::dnn::Layer> {
      return cv::makePtr<NearestUpsampleLayer>(p);
    });
    return true;
  }();
  EXPECT_TRUE(registered);
  cv::dnn::Net net;
  params.type = ours ? "UpsampleTest" : "Resize";
  const int id = net.addLayerToPrev(params.name, params.type, params);
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setInput(input);
  Upsampled r;
  r.out = net.forward().clone();
  if (ours) r.ours_computed = net.getLayer(id).dynamicCast<NearestUpsampleLayer>()->computes_itself();
  return r;
}

TEST(NearestUpsample, GivesOpenCvsValuesToTheBitForWholeFactors) {
  struct Case {
    std::vector<int> shape;
    float zoom_y, zoom_x;
    bool ours;
  };
  const std::vector<Case> cases = {
      {{1, 96, 12, 16}, 2, 2, true},  // the detector's top-down path
      {{1, 24, 12, 16}, 8, 8, true},  // and its lateral maps
      {{1, 24, 24, 32}, 4, 4, true},
      {{2, 5, 7, 9}, 2, 2, true},     // batch 2, odd sizes
      {{1, 3, 5, 4}, 3, 2, true},     // unequal factors, one of them odd
      {{1, 1, 1, 1}, 2, 2, true},     // one pixel
      {{1, 4, 6, 6}, 1.5f, 1.5f, false},  // not a whole factor: OpenCV's layer
  };
  unsigned seed = 3;
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << "case " << &c - cases.data());
    const cv::Mat input = random_blob(c.shape, seed++);
    const Upsampled opencv = forward_resize(input, resize_params(c.zoom_y, c.zoom_x), false);
    const Upsampled ours = forward_resize(input, resize_params(c.zoom_y, c.zoom_x), true);
    EXPECT_EQ(ours.ours_computed, c.ours);
    ASSERT_EQ(opencv.out.total(), ours.out.total());
    ASSERT_EQ(ours.out.size[2], static_cast<int>(static_cast<float>(c.shape[2]) * c.zoom_y));
    ASSERT_EQ(ours.out.size[3], static_cast<int>(static_cast<float>(c.shape[3]) * c.zoom_x));
    EXPECT_EQ(cv::norm(opencv.out.reshape(1, 1), ours.out.reshape(1, 1), cv::NORM_INF), 0.0);
    EXPECT_GT(cv::norm(ours.out, cv::NORM_INF), 0.1);
  }
}

TEST(NearestUpsample, OnlyNearestAsymmetricFloorResizesAreClaimed) {
  EXPECT_TRUE(cluetrace::is_nearest_resize(resize_params(2, 2)));
  cv::dnn::LayerParams plain;
  plain.set("interpolation", "nearest");
  EXPECT_TRUE(cluetrace::is_nearest_resize(plain));
  auto bilinear = resize_params(2, 2);
  bilinear.set("interpolation", "bilinear");
  EXPECT_FALSE(cluetrace::is_nearest_resize(bilinear));
  auto half_pixel = resize_params(2, 2);
  half_pixel.set("coordinate_transformation_mode", "half_pixel");
  EXPECT_FALSE(cluetrace::is_nearest_resize(half_pixel));
  auto rounded = resize_params(2, 2);
  rounded.set("nearest_mode", "round_prefer_floor");
  EXPECT_FALSE(cluetrace::is_nearest_resize(rounded));
  auto aligned = resize_params(2, 2);
  aligned.set("align_corners", true);
  EXPECT_FALSE(cluetrace::is_nearest_resize(aligned));
  EXPECT_THROW(NearestUpsampleLayer{bilinear}, std::invalid_argument);
}

}  // namespace
