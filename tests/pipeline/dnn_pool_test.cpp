// Contract: GlobalAveragePoolLayer (pipeline/dnn_pool.hpp), which read_onnx_net() puts in place of OpenCV's
// global average pooling, gives OpenCV's values to the bit for any number of channels (whole groups of eight
// and a remainder), batch and size, and is claimed for global averages only. The real detector, read both
// ways, is in onnx_net_test.cpp.
#include <gtest/gtest.h>

#include <vector>

#include <opencv2/dnn/all_layers.hpp>

#include "pipeline/dnn_pool.hpp"
#include "tests/support/dnn_test_support.hpp"

namespace {

using cluetrace::GlobalAveragePoolLayer;
using cluetrace::test::random_blob;

cv::dnn::LayerParams global_average_params() {
  cv::dnn::LayerParams p;
  p.name = "pool";
  p.set("pool", "AVE");  // as OpenCV's ONNX importer writes it
  p.set("global_pooling", true);
  return p;
}

struct Pooled {
  cv::Mat out;
  bool ours_computed = false;
};

Pooled forward_pool(const cv::Mat& input, cv::dnn::LayerParams params, bool ours) {
  static const bool registered = [] {
    cv::dnn::LayerFactory::registerLayer("PoolTest", [](cv::dnn::LayerParams& p) -> cv::Ptr<cv::dnn::Layer> {
      return cv::makePtr<GlobalAveragePoolLayer>(p);
    });
    return true;
  }();
  EXPECT_TRUE(registered);
  cv::dnn::Net net;
  params.type = ours ? "PoolTest" : "Pooling";
  const int id = net.addLayerToPrev(params.name, params.type, params);
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setInput(input);
  Pooled r;
  r.out = net.forward().clone();
  if (ours) r.ours_computed = net.getLayer(id).dynamicCast<GlobalAveragePoolLayer>()->computes_itself();
  return r;
}

TEST(GlobalAveragePool, GivesOpenCvsValuesToTheBit) {
  const std::vector<std::vector<int>> shapes = {
      {1, 96, 96, 128},  // the detector's largest, at a quarter of a 512 x 384 input
      {1, 24, 12, 16},   // three groups of eight
      {2, 13, 7, 9},     // batch 2, a remainder of channels, odd sizes
      {1, 3, 1, 1},      // fewer channels than a group, one pixel
  };
  unsigned seed = 5;
  for (const auto& shape : shapes) {
    SCOPED_TRACE(testing::Message() << shape[0] << " x " << shape[1] << " x " << shape[2] << " x " << shape[3]);
    // Values of one sign and many magnitudes, so that the order of the additions shows in the last bits.
    cv::Mat input = random_blob(shape, seed++, 0.0f, 1.0f);
    cv::pow(input, 6.0, input);
    const Pooled opencv = forward_pool(input, global_average_params(), false);
    const Pooled ours = forward_pool(input, global_average_params(), true);
    EXPECT_TRUE(ours.ours_computed);
    ASSERT_EQ(opencv.out.total(), ours.out.total());
    ASSERT_EQ(ours.out.total(), static_cast<std::size_t>(shape[0] * shape[1]));
    EXPECT_EQ(cv::norm(opencv.out.reshape(1, 1), ours.out.reshape(1, 1), cv::NORM_INF), 0.0);
    EXPECT_GT(cv::norm(ours.out, cv::NORM_INF), 0.01);
  }
}

TEST(GlobalAveragePool, OnlyGlobalAveragesAreClaimed) {
  EXPECT_TRUE(cluetrace::is_global_average_pool(global_average_params()));
  auto maximum = global_average_params();
  maximum.set("pool", "max");
  EXPECT_FALSE(cluetrace::is_global_average_pool(maximum));
  cv::dnn::LayerParams windowed;
  windowed.set("pool", "ave");
  windowed.set("kernel_size", 3);
  EXPECT_FALSE(cluetrace::is_global_average_pool(windowed));
  EXPECT_THROW(GlobalAveragePoolLayer{maximum}, std::invalid_argument);
}

}  // namespace
