// Contract: PatchDeconvLayer (pipeline/dnn_deconv.hpp), which read_onnx_net() puts in place of OpenCV's
// transposed convolutions whose kernel is as large as their stride, gives OpenCV's sums within float rounding
// for any size, kernel, bias and batch, however many bands of rows the input takes; takes a batch norm and an
// activation after it as OpenCV's own layer does; and is claimed for nothing else. The real detector, read
// both ways, is in onnx_net_test.cpp.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <opencv2/dnn/all_layers.hpp>

#include "pipeline/dnn_deconv.hpp"
#include "tests/support/dnn_test_support.hpp"

namespace {

using cluetrace::test::batch_norm_params;
using cluetrace::test::random_blob;
using cluetrace::test::relative_difference;
using cluetrace::PatchDeconvLayer;

cv::dnn::LayerParams int_pair(cv::dnn::LayerParams p, const char* key, int a, int b) {
  p.set(key, cv::dnn::DictValue::arrayInt(std::vector<int>{a, b}.data(), 2));
  return p;
}

// A transposed convolution as OpenCV's ONNX importer describes one: weights [inputs, outputs, kh, kw].
cv::dnn::LayerParams deconv_params(int inputs, int outputs, int kh, int kw, int sy, int sx, int pad, bool bias,
                                   unsigned seed) {
  cv::dnn::LayerParams p;
  p.name = "deconv";
  p.type = "Deconvolution";
  p.blobs.push_back(random_blob({inputs, outputs, kh, kw}, seed, -0.3f, 0.3f));
  if (bias) p.blobs.push_back(random_blob({outputs}, seed + 1000));
  p.set("num_output", outputs);
  p.set("group", 1);
  p = int_pair(p, "kernel_size", kh, kw);
  p = int_pair(p, "stride", sy, sx);
  p = int_pair(p, "dilation", 1, 1);
  p.set("pad", cv::dnn::DictValue::arrayInt(std::vector<int>{pad, pad, pad, pad}.data(), 4));
  p.set("bias_term", bias);
  return p;
}

// The layer in `params` as a net of its own (ours or OpenCV's), optionally followed by a batch norm and a
// ReLU, which the layer takes into itself where it can.
cv::Mat forward_deconv(const cv::Mat& input, cv::dnn::LayerParams params, bool ours, bool then_norm_and_relu) {
  static const bool registered = [] {
    cv::dnn::LayerFactory::registerLayer("CluetraceDeconvTest", [](cv::dnn::LayerParams& p) -> cv::Ptr<cv::dnn::Layer> {
      return cv::makePtr<PatchDeconvLayer>(p);
    });
    cv::dnn::LayerFactory::registerLayer("OpenCvDeconvTest", [](cv::dnn::LayerParams& p) -> cv::Ptr<cv::dnn::Layer> {
      return cv::dnn::DeconvolutionLayer::create(p);
    });
    return true;
  }();
  EXPECT_TRUE(registered);
  params.type = ours ? "CluetraceDeconvTest" : "OpenCvDeconvTest";
  return cluetrace::test::forward_layer(input, params, then_norm_and_relu);
}

struct Shape {
  int batch, inputs, outputs, height, width, kh, kw;
  bool bias;
};

TEST(PatchDeconv, GivesOpenCvsSumsForEverySizeKernelAndBand) {
  const std::vector<Shape> shapes = {
      {1, 24, 24, 96, 128, 2, 2, false},  // the detector's head at a quarter of a 512 x 384 input
      {2, 8, 5, 7, 9, 2, 2, true},        // batch 2, odd sizes, a bias
      {1, 4, 64, 3, 5000, 2, 2, true},    // so wide that each band is one row
      {1, 12, 4, 1, 1, 3, 3, true},       // one pixel, a 3 x 3 kernel at stride 3
      {1, 8, 64, 70, 200, 2, 2, true},    // four bands, the last one shorter
      {1, 8, 6, 10, 12, 2, 3, false},     // a kernel of other height and width
  };
  unsigned seed = 10;
  for (const auto& s : shapes) {
    SCOPED_TRACE(testing::Message() << s.batch << " x " << s.inputs << " -> " << s.outputs << " at " << s.height << " x "
                                    << s.width << ", kernel " << s.kh << " x " << s.kw);
    const auto params = deconv_params(s.inputs, s.outputs, s.kh, s.kw, s.kh, s.kw, 0, s.bias, seed++);
    ASSERT_TRUE(cluetrace::is_patch_deconv(params));
    const cv::Mat input = random_blob({s.batch, s.inputs, s.height, s.width}, seed++);
    const cv::Mat opencv = forward_deconv(input, params, false, false);
    const cv::Mat ours = forward_deconv(input, params, true, false);
    ASSERT_EQ(ours.size[2], s.height * s.kh);
    ASSERT_EQ(ours.size[3], s.width * s.kw);
    EXPECT_LT(relative_difference(opencv, ours), 1e-5);
    EXPECT_GT(cv::norm(ours, cv::NORM_INF), 0.1);  // not a blank output that happens to match
  }
}

TEST(PatchDeconv, TakesABatchNormAndAnActivationAsOpenCvsLayerDoes) {
  const auto params = deconv_params(24, 24, 2, 2, 2, 2, 0, true, 5);
  const cv::Mat input = random_blob({1, 24, 30, 50}, 6);
  const cv::Mat opencv = forward_deconv(input, params, false, true);
  const cv::Mat ours = forward_deconv(input, params, true, true);
  EXPECT_LT(relative_difference(opencv, ours), 1e-5);
  // The ReLU took effect (no negative value left) and not everything is cut to zero.
  double low = 0, high = 0;
  cv::minMaxIdx(ours, &low, &high);
  EXPECT_GE(low, 0.0);
  EXPECT_GT(high, 0.1);
}

TEST(PatchDeconv, OnlyKernelsAsLargeAsTheirStrideAreClaimed) {
  EXPECT_TRUE(cluetrace::is_patch_deconv(deconv_params(24, 24, 2, 2, 2, 2, 0, false, 1)));
  EXPECT_TRUE(cluetrace::is_patch_deconv(deconv_params(24, 24, 2, 2, 2, 2, 0, true, 1)));
  EXPECT_FALSE(cluetrace::is_patch_deconv(deconv_params(24, 24, 4, 4, 2, 2, 0, true, 1)));  // overlapping patches
  EXPECT_FALSE(cluetrace::is_patch_deconv(deconv_params(24, 24, 2, 2, 2, 2, 1, true, 1)));  // padding
  EXPECT_FALSE(cluetrace::is_patch_deconv(deconv_params(24, 1, 2, 2, 2, 2, 0, true, 1)));   // 4 planes: OpenCV's
  auto grouped = deconv_params(24, 24, 2, 2, 2, 2, 0, true, 1);
  grouped.set("group", 2);
  EXPECT_FALSE(cluetrace::is_patch_deconv(grouped));
  auto adjusted = int_pair(deconv_params(24, 24, 2, 2, 2, 2, 0, true, 1), "adj", 1, 1);
  EXPECT_FALSE(cluetrace::is_patch_deconv(adjusted));
  auto dilated = int_pair(deconv_params(24, 24, 2, 2, 2, 2, 0, true, 1), "dilation", 2, 2);
  EXPECT_FALSE(cluetrace::is_patch_deconv(dilated));
  EXPECT_THROW(PatchDeconvLayer{dilated}, std::invalid_argument);
}

}  // namespace
