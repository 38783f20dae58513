// Contract: fuse_hard_swishes() (pipeline/dnn_hard_swish.hpp) has the product of each hard-swish
// x · relu6(x + 3) compute relu6(x + 3) itself, and the shift before it skip its pass, only where the shift
// and the relu6 feed nothing else; the values are OpenCV's to the bit, with x on either side of the product,
// over values below -3, between, and above 3; otherwise every value is OpenCV's. The real nets
// (24 hard-swishes fused in the detector) are in onnx_net_test.cpp.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <opencv2/dnn/all_layers.hpp>

#include "pipeline/dnn_hard_swish.hpp"
#include "pipeline/dnn_layers.hpp"

namespace {

using cluetrace::ElementwiseProductLayer;
using cluetrace::HardSwishShiftLayer;

void register_test_layers() {
  static const bool registered = [] {
    using Params = cv::dnn::LayerParams;
    // As read_onnx_net() makes them: "x + 3" held by our layer, any other "Power" OpenCV's.
    cv::dnn::LayerFactory::registerLayer("ShiftTest", [](Params& p) -> cv::Ptr<cv::dnn::Layer> {
      if (cluetrace::is_hard_swish_shift(p)) return cv::makePtr<HardSwishShiftLayer>(p);
      return cv::dnn::PowerLayer::create(p);
    });
    cv::dnn::LayerFactory::registerLayer("ProductTest", [](Params& p) -> cv::Ptr<cv::dnn::Layer> {
      return cv::makePtr<ElementwiseProductLayer>(p);
    });
    return true;
  }();
  EXPECT_TRUE(registered);
}

cv::Mat random_blob(const std::vector<int>& shape, unsigned seed) {
  cv::Mat m(shape, CV_32F);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, -6.0f, 6.0f);  // both of relu6's bounds are met
  return m;
}

struct SwishNet {
  float shift = 3.0f;
  float ceiling = 6.0f;
  bool x_first = true;           // x the product's first input
  bool shift_read_twice = false;  // the shift's output also read by a layer of its own
  bool product_declines = false;  // fused, then the product reads both inputs after all (as where its shapes
                                  // do not let it compute): the shift computes, with the relu6 taken in
};

struct Result {
  cv::Mat out;
  int fused = 0;
  bool computed_by_product = false;
};

// x · relu6(x + shift) / 6 as OpenCV's importer lays a hard-swish out, with OpenCV's layers or ours.
Result forward_swish(const cv::Mat& x, const SwishNet& s, bool ours) {
  register_test_layers();
  cv::dnn::Net net;
  net.setInputsNames({"x"});
  cv::dnn::LayerParams shift;
  shift.name = "shift";
  shift.type = ours ? "ShiftTest" : "Power";
  shift.set("shift", s.shift);
  const int shift_id = net.addLayer(shift.name, shift.type, shift);
  net.connect(0, 0, shift_id, 0);
  cv::dnn::LayerParams clip;
  clip.name = "clip";
  clip.type = "ReLU6";
  clip.set("min_value", 0.0f);
  clip.set("max_value", s.ceiling);
  const int clip_id = net.addLayer(clip.name, clip.type, clip);
  net.connect(shift_id, 0, clip_id, 0);
  cv::dnn::LayerParams product;
  product.name = "product";
  product.type = ours ? "ProductTest" : "Eltwise";
  product.set("operation", "prod");
  const int product_id = net.addLayer(product.name, product.type, product);
  net.connect(s.x_first ? 0 : clip_id, 0, product_id, 0);
  net.connect(s.x_first ? clip_id : 0, 0, product_id, 1);
  cv::dnn::LayerParams divide;
  divide.name = "divide";
  divide.type = "Power";
  divide.set("scale", 1.0f / 6.0f);
  const int divide_id = net.addLayer(divide.name, divide.type, divide);
  net.connect(product_id, 0, divide_id, 0);
  std::vector<cv::String> outputs{"divide"};
  if (s.shift_read_twice) {
    cv::dnn::LayerParams other;
    other.name = "other";
    other.type = "Power";
    other.set("scale", 2.0f);
    const int other_id = net.addLayer(other.name, other.type, other);
    net.connect(shift_id, 0, other_id, 0);
    outputs.push_back("other");
  }
  Result r;
  if (ours) r.fused = cluetrace::fuse_hard_swishes(net);
  if (ours && s.product_declines) net.getLayer(product_id).dynamicCast<ElementwiseProductLayer>()->take_hard_swish(-1);
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setInput(x, "x");
  std::vector<cv::Mat> outs;
  net.forward(outs, outputs);
  r.out = outs.front().clone();
  if (s.shift_read_twice) {
    EXPECT_GT(cv::norm(outs.back(), cv::NORM_INF), 1.0);  // the shift's own output is there
  }
  if (ours) r.computed_by_product = net.getLayer(product_id).dynamicCast<ElementwiseProductLayer>()->computes_hard_swish();
  return r;
}

double max_difference(const cv::Mat& a, const cv::Mat& b) {
  EXPECT_EQ(a.total(), b.total());
  if (a.total() != b.total()) return 1e9;
  return cv::norm(a.reshape(1, 1), b.reshape(1, 1), cv::NORM_INF);
}

TEST(HardSwish, TheProductComputesItToTheBitWithXOnEitherSide) {
  unsigned seed = 1;
  for (const auto& shape : {std::vector<int>{1, 32, 48, 64}, std::vector<int>{2, 5, 7, 3}, std::vector<int>{1, 40, 120}}) {
    for (const bool x_first : {true, false}) {
      SCOPED_TRACE(testing::Message() << shape.size() << " axes, x " << (x_first ? "first" : "second"));
      const cv::Mat x = random_blob(shape, seed++);
      SwishNet s;
      s.x_first = x_first;
      const Result opencv = forward_swish(x, s, false);
      const Result ours = forward_swish(x, s, true);
      EXPECT_EQ(ours.fused, 1);
      EXPECT_TRUE(ours.computed_by_product);
      EXPECT_EQ(max_difference(opencv.out, ours.out), 0.0);
      EXPECT_GT(cv::norm(ours.out, cv::NORM_INF), 1.0);
    }
  }
}

TEST(HardSwish, WhereTheProductDeclinesTheShiftComputesWithTheRelu6TakenIn) {
  const cv::Mat x = random_blob({1, 16, 24, 40}, 70);
  SwishNet s;
  s.product_declines = true;
  const Result opencv = forward_swish(x, s, false);
  const Result ours = forward_swish(x, s, true);
  EXPECT_EQ(ours.fused, 1);
  EXPECT_FALSE(ours.computed_by_product);
  EXPECT_EQ(max_difference(opencv.out, ours.out), 0.0);
  EXPECT_GT(cv::norm(ours.out, cv::NORM_INF), 1.0);
}

TEST(HardSwish, OnlyTheExactPatternReadByNothingElseIsFused) {
  const cv::Mat x = random_blob({1, 8, 20, 30}, 50);
  SwishNet read_twice;
  read_twice.shift_read_twice = true;
  SwishNet other_shift;
  other_shift.shift = 2.0f;
  SwishNet other_ceiling;
  other_ceiling.ceiling = 4.0f;
  for (const auto& s : {read_twice, other_shift, other_ceiling}) {
    SCOPED_TRACE(testing::Message() << "shift " << s.shift << ", ceiling " << s.ceiling << ", read twice "
                                    << s.shift_read_twice);
    const Result opencv = forward_swish(x, s, false);
    const Result ours = forward_swish(x, s, true);
    EXPECT_EQ(ours.fused, 0);
    EXPECT_FALSE(ours.computed_by_product);
    // Unfused, every layer computes what OpenCV's own computes.
    EXPECT_EQ(max_difference(opencv.out, ours.out), 0.0);
  }
}

TEST(HardSwish, OnlyXPlusThreeIsHeld) {
  cv::dnn::LayerParams p;
  p.set("shift", 3.0f);
  EXPECT_TRUE(cluetrace::is_hard_swish_shift(p));
  p.set("scale", 2.0f);
  EXPECT_FALSE(cluetrace::is_hard_swish_shift(p));
  EXPECT_THROW(HardSwishShiftLayer{p}, std::invalid_argument);
  cv::dnn::LayerParams other;
  other.set("shift", 2.0f);
  EXPECT_FALSE(cluetrace::is_hard_swish_shift(other));
  cv::dnn::LayerParams squared;
  squared.set("shift", 3.0f);
  squared.set("power", 2.0f);
  EXPECT_FALSE(cluetrace::is_hard_swish_shift(squared));
}

}  // namespace
