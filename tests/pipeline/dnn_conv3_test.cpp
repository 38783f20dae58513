// Contract: DenseConv3Layer (pipeline/dnn_conv3.hpp), which read_onnx_net() puts in place of OpenCV's dense
// 3 x 3 convolutions of few outputs, gives OpenCV's sums within float rounding for any size, bias and batch,
// however many bands of rows the image takes; takes a batch norm and an activation after it as OpenCV's own
// layer does; and is claimed for nothing else. The real detector, read both ways, is in onnx_net_test.cpp.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include <opencv2/dnn/all_layers.hpp>

#include "pipeline/dnn_conv3.hpp"
#include "tests/support/dnn_test_support.hpp"

namespace {

using cluetrace::test::batch_norm_params;
using cluetrace::test::random_blob;
using cluetrace::test::relative_difference;
using cluetrace::DenseConv3Layer;

cv::dnn::LayerParams conv_params(int inputs, int outputs, int side, int stride, int pad, int group, bool bias,
                                 unsigned seed) {
  cv::dnn::LayerParams p;
  p.name = "conv";
  p.type = "Convolution";
  p.blobs.push_back(random_blob({outputs, inputs / group, side, side}, seed, -0.2f, 0.2f));
  if (bias) p.blobs.push_back(random_blob({1, outputs}, seed + 1000));
  p.set("num_output", outputs);
  p.set("group", group);
  p.set("kernel_size", cv::dnn::DictValue::arrayInt(std::vector<int>{side, side}.data(), 2));
  p.set("stride", cv::dnn::DictValue::arrayInt(std::vector<int>{stride, stride}.data(), 2));
  p.set("pad", cv::dnn::DictValue::arrayInt(std::vector<int>{pad, pad, pad, pad}.data(), 4));
  p.set("dilation", cv::dnn::DictValue::arrayInt(std::vector<int>{1, 1}.data(), 2));
  p.set("bias_term", bias);
  return p;
}

// The convolution in `params` as a net of its own (ours or OpenCV's), optionally followed by a batch norm and
// a ReLU, which the convolution takes into itself where it can.
cv::Mat forward_conv(const cv::Mat& input, cv::dnn::LayerParams params, bool ours, bool then_norm_and_relu) {
  static const bool registered = [] {
    cv::dnn::LayerFactory::registerLayer("CluetraceConv3Test", [](cv::dnn::LayerParams& p) -> cv::Ptr<cv::dnn::Layer> {
      return cv::makePtr<DenseConv3Layer>(p);
    });
    cv::dnn::LayerFactory::registerLayer("ConvolutionOpenCvConv3Test", [](cv::dnn::LayerParams& p) -> cv::Ptr<cv::dnn::Layer> {
      return cv::dnn::ConvolutionLayer::create(p);
    });
    return true;
  }();
  EXPECT_TRUE(registered);
  params.type = ours ? "CluetraceConv3Test" : "ConvolutionOpenCvConv3Test";
  return cluetrace::test::forward_layer(input, params, then_norm_and_relu);
}

struct Shape {
  int batch, inputs, outputs, height, width;
  bool bias;
};

TEST(DenseConv3, GivesOpenCvsSumsForEverySizeAndBand) {
  const std::vector<Shape> shapes = {
      {1, 96, 24, 96, 128, true},   // the detector's head at a quarter of a 512 x 384 input
      {2, 8, 5, 7, 9, false},       // batch 2, odd sizes, no bias
      {1, 16, 64, 5, 3000, true},   // so wide that each band is one row
      {1, 12, 3, 1, 1, true},       // one pixel: every tap but the centre falls on the padding
      {1, 32, 24, 41, 33, true},    // bands of uneven rows
  };
  unsigned seed = 10;
  for (const auto& s : shapes) {
    SCOPED_TRACE(testing::Message() << s.batch << " x " << s.inputs << " -> " << s.outputs << " at " << s.height << " x "
                                    << s.width);
    const auto params = conv_params(s.inputs, s.outputs, 3, 1, 1, 1, s.bias, seed++);
    ASSERT_TRUE(cluetrace::is_dense_conv3(params));
    const cv::Mat input = random_blob({s.batch, s.inputs, s.height, s.width}, seed++);
    const cv::Mat opencv = forward_conv(input, params, false, false);
    const cv::Mat ours = forward_conv(input, params, true, false);
    EXPECT_LT(relative_difference(opencv, ours), 1e-5);
    EXPECT_GT(cv::norm(ours, cv::NORM_INF), 0.1);  // not a blank output that happens to match
  }
}

TEST(DenseConv3, TakesABatchNormAndAnActivationAsOpenCvsLayerDoes) {
  const auto params = conv_params(24, 16, 3, 1, 1, 1, true, 5);
  const cv::Mat input = random_blob({1, 24, 30, 50}, 6);
  const cv::Mat opencv = forward_conv(input, params, false, true);
  const cv::Mat ours = forward_conv(input, params, true, true);
  EXPECT_LT(relative_difference(opencv, ours), 1e-5);
  // The ReLU took effect (no negative value left) and not everything is cut to zero.
  double low = 0, high = 0;
  cv::minMaxIdx(ours, &low, &high);
  EXPECT_GE(low, 0.0);
  EXPECT_GT(high, 0.1);
}

TEST(DenseConv3, OnlyDenseThreeByThreeConvolutionsOfFewOutputsAreClaimed) {
  EXPECT_TRUE(cluetrace::is_dense_conv3(conv_params(96, 24, 3, 1, 1, 1, true, 1)));
  EXPECT_TRUE(cluetrace::is_dense_conv3(conv_params(96, 24, 3, 1, 1, 1, false, 1)));
  EXPECT_FALSE(cluetrace::is_dense_conv3(conv_params(96, 24, 3, 2, 1, 1, true, 1)));  // stride 2
  EXPECT_FALSE(cluetrace::is_dense_conv3(conv_params(96, 24, 3, 1, 0, 1, true, 1)));  // no padding
  EXPECT_FALSE(cluetrace::is_dense_conv3(conv_params(96, 24, 3, 1, 1, 2, true, 1)));  // two groups
  EXPECT_FALSE(cluetrace::is_dense_conv3(conv_params(96, 24, 5, 1, 2, 1, true, 1)));  // 5 x 5
  EXPECT_FALSE(cluetrace::is_dense_conv3(conv_params(96, 96, 3, 1, 1, 1, true, 1)));  // many outputs
  EXPECT_FALSE(cluetrace::is_dense_conv3(conv_params(3, 16, 3, 1, 1, 1, true, 1)));   // few inputs (an image)
  auto dilated = conv_params(96, 24, 3, 1, 1, 1, true, 1);
  dilated.set("dilation", cv::dnn::DictValue::arrayInt(std::vector<int>{2, 2}.data(), 2));
  EXPECT_FALSE(cluetrace::is_dense_conv3(dilated));
  EXPECT_THROW(DenseConv3Layer{dilated}, std::invalid_argument);
}

}  // namespace
