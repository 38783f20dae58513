// Contract: read_onnx_net() reads the text stages' ONNX nets with cluetrace's depthwise 5 x 5 convolution and
// element-wise product in place of OpenCV's (and the layers of dnn_conv3, dnn_deconv and dnn_hard_swish, whose
// own tests are beside this one), and nothing else changes: the convolution gives OpenCV's sums
// within float rounding for any stride, padding, bias and odd size; the product gives OpenCV's values, exactly
// with one activation fused into it and within float rounding with a chain of scales and shifts (PP-OCRv4's
// hard-swish and affine block), and leaves every other case to OpenCV's layer; only those layers
// are claimed; the real detector and line recogniser, read both ways, give the same outputs on a real line of
// text and a real photo.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/dnn/all_layers.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/models.hpp"
#include "pipeline/dnn_conv3.hpp"
#include "pipeline/dnn_deconv.hpp"
#include "pipeline/dnn_layers.hpp"
#include "pipeline/dnn_pool.hpp"
#include "pipeline/dnn_upsample.hpp"
#include "pipeline/onnx_net.hpp"

namespace {

namespace fs = std::filesystem;
using cluetrace::DepthwiseConv5Layer;
using cluetrace::ElementwiseProductLayer;

cv::dnn::LayerParams depthwise_params(int channels, int side, std::vector<int> stride, std::vector<int> pad,
                                      bool bias, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  cv::dnn::LayerParams p;
  p.name = "dw";
  p.type = "Convolution";
  cv::Mat w(std::vector<int>{channels, 1, side, side}, CV_32F);
  for (auto it = w.begin<float>(); it != w.end<float>(); ++it) *it = value(rng);
  p.blobs.push_back(w);
  if (bias) {
    cv::Mat b(1, channels, CV_32F);
    for (auto it = b.begin<float>(); it != b.end<float>(); ++it) *it = value(rng);
    p.blobs.push_back(b);
  }
  p.set("num_output", channels);
  p.set("group", channels);
  p.set("kernel_size", cv::dnn::DictValue::arrayInt(std::vector<int>{side, side}.data(), 2));
  p.set("stride", cv::dnn::DictValue::arrayInt(stride.data(), static_cast<int>(stride.size())));
  p.set("pad", cv::dnn::DictValue::arrayInt(pad.data(), static_cast<int>(pad.size())));
  p.set("dilation", cv::dnn::DictValue::arrayInt(std::vector<int>{1, 1}.data(), 2));
  p.set("bias_term", bias);
  return p;
}

// A one-layer net around `layer_params`, built either by OpenCV's factory or from `layer`.
cv::Mat forward_one_layer(const cv::Mat& input, cv::dnn::LayerParams params, bool ours) {
  cv::dnn::Net net;
  if (ours) {
    // addLayer() goes through the factory: register ours under a name of its own for this net.
    static const bool registered = [] {
      cv::dnn::LayerFactory::registerLayer("CluetraceDepthwiseTest", [](cv::dnn::LayerParams& p) -> cv::Ptr<cv::dnn::Layer> {
        return cv::makePtr<DepthwiseConv5Layer>(p);
      });
      return true;
    }();
    EXPECT_TRUE(registered);
    params.type = "CluetraceDepthwiseTest";
  } else {
    params.type = "ConvolutionOpenCvTest";
    static const bool registered = [] {
      cv::dnn::LayerFactory::registerLayer("ConvolutionOpenCvTest", [](cv::dnn::LayerParams& p) -> cv::Ptr<cv::dnn::Layer> {
        return cv::dnn::ConvolutionLayer::create(p);
      });
      return true;
    }();
    EXPECT_TRUE(registered);
  }
  net.addLayerToPrev(params.name, params.type, params);
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setInput(input);
  return net.forward().clone();
}

cv::Mat random_blob(std::vector<int> shape, unsigned seed) {
  cv::Mat m(shape, CV_32F);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, -1.0, 1.0);
  return m;
}

double max_difference(const cv::Mat& a, const cv::Mat& b) {
  EXPECT_EQ(a.dims, b.dims);
  for (int i = 0; i < std::min(a.dims, b.dims); ++i) EXPECT_EQ(a.size[i], b.size[i]) << "axis " << i;
  if (a.total() != b.total()) return 1e9;
  return cv::norm(a.reshape(1, 1), b.reshape(1, 1), cv::NORM_INF);
}

struct Case {
  int channels, height, width;
  std::vector<int> stride, pad;
  bool bias;
};

TEST(OnnxNet, TheDepthwiseLayerGivesOpenCvsSumsForEveryStridePaddingAndSize) {
  const std::vector<Case> cases = {
      {8, 12, 80, {1, 1}, {2, 2, 2, 2}, true},   // as in the line recogniser
      {5, 7, 9, {2, 2}, {2, 2, 2, 2}, true},     // stride 2, odd sizes
      {3, 6, 31, {2, 1}, {2, 2, 2, 2}, false},   // stride along one axis only
      {4, 5, 5, {1, 1}, {0, 0, 0, 0}, true},     // no padding: one output
      {6, 9, 17, {1, 1}, {2, 1, 2, 1}, false},   // padding differing between the axes
      {2, 1, 3, {1, 1}, {2, 2, 2, 2}, true},     // smaller than the kernel
      {16, 33, 65, {1, 2}, {2, 2}, true},        // two-value padding
  };
  unsigned seed = 1;
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << c.channels << " x " << c.height << " x " << c.width << ", stride "
                                    << c.stride[0] << "," << c.stride[1] << ", pad " << c.pad[0] << "," << c.pad[1]);
    const auto params = depthwise_params(c.channels, 5, c.stride, c.pad, c.bias, seed++);
    ASSERT_TRUE(cluetrace::is_depthwise_conv5(params));
    const cv::Mat input = random_blob({2, c.channels, c.height, c.width}, seed++);
    const cv::Mat opencv = forward_one_layer(input, params, false);
    const cv::Mat ours = forward_one_layer(input, params, true);
    EXPECT_LT(max_difference(opencv, ours), 1e-5);
    EXPECT_GT(cv::norm(ours, cv::NORM_INF), 0.1);  // not a blank output that happens to match
  }
}

TEST(OnnxNet, OnlyDepthwiseFiveByFiveConvolutionsAreClaimed) {
  EXPECT_TRUE(cluetrace::is_depthwise_conv5(depthwise_params(4, 5, {1, 1}, {2, 2, 2, 2}, true, 1)));
  EXPECT_FALSE(cluetrace::is_depthwise_conv5(depthwise_params(4, 3, {1, 1}, {1, 1, 1, 1}, true, 1)));  // 3 x 3
  EXPECT_FALSE(cluetrace::is_depthwise_conv5(depthwise_params(4, 5, {1, 1}, {2, 2, 1, 1}, true, 1)));  // uneven pad
  auto dilated = depthwise_params(4, 5, {1, 1}, {4, 4, 4, 4}, true, 1);
  dilated.set("dilation", cv::dnn::DictValue::arrayInt(std::vector<int>{2, 2}.data(), 2));
  EXPECT_FALSE(cluetrace::is_depthwise_conv5(dilated));
  auto grouped = depthwise_params(4, 5, {1, 1}, {2, 2, 2, 2}, true, 1);
  grouped.set("group", 2);  // two channels a group: not depthwise
  EXPECT_FALSE(cluetrace::is_depthwise_conv5(grouped));
  auto same = depthwise_params(4, 5, {1, 1}, {2, 2, 2, 2}, true, 1);
  same.set("pad_mode", "SAME");
  EXPECT_FALSE(cluetrace::is_depthwise_conv5(same));
  cv::dnn::LayerParams dense = depthwise_params(4, 5, {1, 1}, {2, 2, 2, 2}, false, 1);
  dense.blobs[0] = cv::Mat(std::vector<int>{4, 4, 5, 5}, CV_32F, cv::Scalar(0.1));
  dense.set("group", 1);
  EXPECT_FALSE(cluetrace::is_depthwise_conv5(dense));
  EXPECT_THROW(DepthwiseConv5Layer{dense}, std::invalid_argument);
}

// An element-wise layer after the product: a Power layer (scale x + shift), or a ReLU when `relu`.
struct After {
  float scale = 1, shift = 0;
  bool relu = false;
};
const std::vector<After> kDivide = {{1.0f / 6.0f, 0.0f}};  // hard-swish's "/ 6"
// PP-OCRv4's hard-swish and the scale and shift of the block after it.
const std::vector<After> kDivideScaleShift = {{1.0f / 6.0f, 0.0f}, {0.4062f, 0.0f}, {1.0f, -0.2786f}};

// A net of the two inputs "a" and "b", their product (ours or OpenCV's), followed by the layers `after` (which
// OpenCV fuses into the product as far as it takes them); the output and the product layer.
struct ProductNet {
  cv::Mat out;
  bool ours_computed = false;
};

ProductNet forward_product(const std::vector<cv::Mat>& inputs, bool ours, const std::vector<After>& after) {
  static const bool registered = [] {
    cv::dnn::LayerFactory::registerLayer("CluetraceProductTest", [](cv::dnn::LayerParams& p) -> cv::Ptr<cv::dnn::Layer> {
      return cv::makePtr<ElementwiseProductLayer>(p);
    });
    cv::dnn::LayerFactory::registerLayer("EltwiseOpenCvTest", [](cv::dnn::LayerParams& p) -> cv::Ptr<cv::dnn::Layer> {
      return cv::dnn::EltwiseLayer::create(p);
    });
    return true;
  }();
  EXPECT_TRUE(registered);
  cv::dnn::Net net;
  std::vector<cv::String> names;
  for (std::size_t i = 0; i < inputs.size(); ++i) names.push_back("in" + std::to_string(i));
  net.setInputsNames(names);
  cv::dnn::LayerParams p;
  p.name = "mul";
  p.type = ours ? "CluetraceProductTest" : "EltwiseOpenCvTest";
  p.set("operation", "prod");
  const int id = net.addLayer(p.name, p.type, p);
  for (int i = 0; i < static_cast<int>(inputs.size()); ++i) net.connect(0, i, id, i);
  for (std::size_t i = 0; i < after.size(); ++i) {
    cv::dnn::LayerParams d;
    d.name = "after" + std::to_string(i);
    d.type = after[i].relu ? "ReLU" : "Power";
    if (!after[i].relu) {
      d.set("scale", after[i].scale);
      d.set("shift", after[i].shift);
    }
    net.addLayerToPrev(d.name, d.type, d);
  }
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  for (std::size_t i = 0; i < inputs.size(); ++i) net.setInput(inputs[i], names[i]);
  ProductNet result;
  result.out = net.forward().clone();
  if (ours) result.ours_computed = net.getLayer(id).dynamicCast<ElementwiseProductLayer>()->computes_itself();
  return result;
}

TEST(OnnxNet, TheProductGivesOpenCvsValuesWithTheActivationsFusedIntoIt) {
  struct ProductCase {
    std::vector<int> a, b;
    bool ours;  // computed by our layer
  };
  const std::vector<ProductCase> cases = {
      {{1, 24, 128, 96}, {1, 24, 128, 96}, true},  // hard-swish: x * relu6(x + 3)
      {{1, 96, 64, 48}, {1, 96, 1, 1}, true},      // squeeze-and-excitation: channel weights
      {{2, 5, 7, 3}, {2, 5, 1, 1}, true},          // batch 2
      {{1, 40, 120}, {1, 40, 120}, true},          // three axes, as in the recogniser's attention
  };
  // OpenCV's own product takes only the first layer after it; the others run as layers of their own, which makes
  // it the reference for a chain. Our layer takes the whole chain: its scales and shifts as one (float rounding
  // apart from OpenCV's step by step), or each in turn where one is not a scale and shift (the ReLU: exact).
  const std::vector<After> with_relu = {{1.0f / 6.0f, 0.0f}, {1.0f, 0.0f, true}, {0.4062f, -0.2786f}};
  struct Chain {
    const char* name;
    std::vector<After> after;
    double tolerance;
  };
  const std::vector<Chain> chains = {{"none", {}, 0.0},
                                     {"/ 6", kDivide, 0.0},
                                     {"/ 6, scale, shift", kDivideScaleShift, 1e-6},
                                     {"/ 6, ReLU, scale and shift", with_relu, 0.0}};
  unsigned seed = 100;
  for (const auto& c : cases) {
    for (const auto& chain : chains) {
      SCOPED_TRACE(testing::Message() << "case " << &c - cases.data() << ", then " << chain.name);
      const std::vector<cv::Mat> inputs = {random_blob(c.a, seed++), random_blob(c.b, seed++)};
      const ProductNet opencv = forward_product(inputs, false, chain.after);
      const ProductNet ours = forward_product(inputs, true, chain.after);
      EXPECT_EQ(ours.ours_computed, c.ours);
      EXPECT_LE(max_difference(opencv.out, ours.out), chain.tolerance * cv::norm(opencv.out, cv::NORM_INF));
      EXPECT_GT(cv::norm(ours.out, cv::NORM_INF), 0.05);
    }
  }
  // Three inputs: OpenCV's layer computes them, with the first layer after it; ours applies the rest.
  const std::vector<cv::Mat> three = {random_blob({1, 4, 5, 5}, 7), random_blob({1, 4, 5, 5}, 8), random_blob({1, 4, 5, 5}, 9)};
  for (const auto& after : {kDivide, kDivideScaleShift}) {
    const auto ours = forward_product(three, true, after);
    EXPECT_FALSE(ours.ours_computed);
    EXPECT_EQ(max_difference(forward_product(three, false, after).out, ours.out), 0.0);
  }
}

TEST(OnnxNet, OnlyPlainProductsAreClaimed) {
  cv::dnn::LayerParams p;
  p.set("operation", "prod");
  EXPECT_TRUE(cluetrace::is_plain_product(p));
  p.set("operation", "sum");
  EXPECT_FALSE(cluetrace::is_plain_product(p));
  EXPECT_THROW(ElementwiseProductLayer{p}, std::invalid_argument);
  p.set("operation", "max");
  EXPECT_FALSE(cluetrace::is_plain_product(p));
  cv::dnn::LayerParams weighted;
  weighted.set("operation", "prod");
  weighted.set("coeff", cv::dnn::DictValue::arrayReal(std::vector<double>{1.0, 2.0}.data(), 2));
  EXPECT_FALSE(cluetrace::is_plain_product(weighted));
}

std::vector<char> model_bytes(const fs::path& path) { return cluetrace::read_model_bytes(path); }

// How many of a net's layers are ours.
int layers_of_ours(cv::dnn::Net& net) {
  int n = 0;
  for (const auto& name : net.getLayerNames()) {
    const auto layer = net.getLayer(net.getLayerId(name));
    if (dynamic_cast<DepthwiseConv5Layer*>(layer.get()) || dynamic_cast<ElementwiseProductLayer*>(layer.get()) ||
        dynamic_cast<cluetrace::DenseConv3Layer*>(layer.get()) || dynamic_cast<cluetrace::PatchDeconvLayer*>(layer.get()) ||
        dynamic_cast<cluetrace::NearestUpsampleLayer*>(layer.get()) ||
        dynamic_cast<cluetrace::GlobalAveragePoolLayer*>(layer.get())) {
      ++n;
    }
  }
  return n;
}

// One input through a net read plainly (OpenCV's layers only) and through read_onnx_net() (with ours), the
// one read first first; checks which layers each holds and that the outputs agree, and returns them.
std::pair<cv::Mat, cv::Mat> forward_both_ways(const std::vector<char>& bytes, const cv::Mat& blob, bool ours_first) {
  cv::dnn::Net plain, ours;
  if (ours_first) ours = cluetrace::read_onnx_net(bytes.data(), bytes.size());
  plain = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
  if (!ours_first) ours = cluetrace::read_onnx_net(bytes.data(), bytes.size());
  plain.setInput(blob);
  ours.setInput(blob);
  cv::Mat a = plain.forward().clone(), b = ours.forward().clone();
  EXPECT_GT(layers_of_ours(ours), 4);
  EXPECT_EQ(layers_of_ours(plain), 0);  // also when read after ours: the override is gone again
  EXPECT_LT(max_difference(a, b), 1e-4);
  return {a, b};
}

TEST(OnnxNet, TheLineRecogniserReadsARealLineAsOpenCvsOwnLayersRead) {
  const fs::path model = cluetrace::resolve_model_path("", "ppocr-rec") / "rec-320.onnx";
  ASSERT_TRUE(fs::exists(model)) << model << " is missing: scripts/fetch-models.sh (run by ./test.sh) makes it";
  const auto bytes = model_bytes(model);
  // A real line: white text on a dark sign, drawn with OpenCV's font, 48 pixels high as the reader feeds it.
  cv::Mat line(48, 320, CV_8UC3, cv::Scalar(40, 30, 20));
  cv::putText(line, "Backerei 0341 55 21", {6, 34}, cv::FONT_HERSHEY_SIMPLEX, 1.0, cv::Scalar(240, 240, 240), 2);
  cv::Mat scaled;
  line.convertTo(scaled, CV_32F, 1.0 / 127.5, -1.0);
  const cv::Mat blob = cv::dnn::blobFromImage(scaled);

  const auto [a, b] = forward_both_ways(bytes, blob, false);
  // The same character wins at every step.
  ASSERT_EQ(a.dims, 3);
  const int steps = a.size[1], classes = a.size[2];
  int text_steps = 0;
  for (int t = 0; t < steps; ++t) {
    const cv::Mat ra(1, classes, CV_32F, const_cast<float*>(a.ptr<float>()) + static_cast<std::size_t>(t) * classes);
    const cv::Mat rb(1, classes, CV_32F, const_cast<float*>(b.ptr<float>()) + static_cast<std::size_t>(t) * classes);
    cv::Point ia, ib;
    cv::minMaxLoc(ra, nullptr, nullptr, nullptr, &ia);
    cv::minMaxLoc(rb, nullptr, nullptr, nullptr, &ib);
    EXPECT_EQ(ia.x, ib.x) << "step " << t;
    if (ia.x != 0) ++text_steps;
  }
  EXPECT_GT(text_steps, 10);  // it did read characters, not blanks only
}

TEST(OnnxNet, TheTextDetectorFindsTheSameMapOnARealPhoto) {
  const fs::path model = cluetrace::resolve_model_path("", "ppocr-v4-det.onnx");
  ASSERT_TRUE(fs::exists(model)) << model << " is missing: scripts/fetch-models.sh (run by ./test.sh) fetches it";
  const fs::path photo = fs::path(CLUETRACE_SOURCE_DIR) / "data" / "samples" / "shop-sign-baeckerei.jpg";
  const cv::Mat image = cv::imread(photo.string());
  ASSERT_FALSE(image.empty()) << photo;
  cv::Mat small;
  cv::resize(image, small, {320, 256}, 0, 0, cv::INTER_AREA);
  const cv::Mat blob = cv::dnn::blobFromImage(small, 1.0 / 255.0, {}, {}, true);
  const auto bytes = model_bytes(model);
  const auto [a, b] = forward_both_ways(bytes, blob, true);
  // The head's transposed convolution is ours too (its other one, 24 -> 1, is left to OpenCV).
  cv::dnn::Net ours = cluetrace::read_onnx_net(bytes.data(), bytes.size());
  int deconvolutions = 0;
  for (const auto& name : ours.getLayerNames()) {
    deconvolutions += dynamic_cast<cluetrace::PatchDeconvLayer*>(ours.getLayer(ours.getLayerId(name)).get()) != nullptr;
  }
  EXPECT_EQ(deconvolutions, 1);
  // So are its six nearest-neighbour enlargements (pipeline/dnn_upsample.hpp).
  int upsamples = 0;
  for (const auto& name : ours.getLayerNames()) {
    upsamples += dynamic_cast<cluetrace::NearestUpsampleLayer*>(ours.getLayer(ours.getLayerId(name)).get()) != nullptr;
  }
  EXPECT_EQ(upsamples, 6);
  // And its squeeze-and-excitation blocks' global averages (pipeline/dnn_pool.hpp).
  int pools = 0;
  for (const auto& name : ours.getLayerNames()) {
    pools += dynamic_cast<cluetrace::GlobalAveragePoolLayer*>(ours.getLayer(ours.getLayerId(name)).get()) != nullptr;
  }
  EXPECT_EQ(pools, 10);
  // Its 24 hard-swishes are computed by their products (pipeline/dnn_hard_swish.hpp).
  ours.setInput(blob);
  ours.forward();
  int hard_swishes = 0;
  for (const auto& name : ours.getLayerNames()) {
    const auto product = ours.getLayer(ours.getLayerId(name)).dynamicCast<ElementwiseProductLayer>();
    hard_swishes += product && product->computes_hard_swish();
  }
  EXPECT_EQ(hard_swishes, 24);
  cv::Mat text;
  cv::threshold(a.reshape(1, a.size[2]), text, 0.3, 1, cv::THRESH_BINARY);
  EXPECT_GT(cv::countNonZero(text), 50);  // the sign's text is found
}

// Each real net, its hard-swishes computed by their products (pipeline/dnn_hard_swish.hpp) and, read again, by
// OpenCV's layers (the products told to read relu6(x + 3) as OpenCV computed it): the same output to the bit.
TEST(OnnxNet, TheRealNetsHardSwishesGiveOpenCvsValuesToTheBit) {
  struct NetCase {
    fs::path model;
    std::vector<int> input;
    int hard_swishes;
  };
  const std::vector<NetCase> cases = {
      {cluetrace::resolve_model_path("", "ppocr-v4-det.onnx"), {1, 3, 128, 192}, 24},
      {cluetrace::resolve_model_path("", "ppocr-rec") / "rec-160.onnx", {1, 3, 48, 160}, 28},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.model.string());
    ASSERT_TRUE(fs::exists(c.model)) << "scripts/fetch-models.sh (run by ./test.sh) makes it";
    const auto bytes = model_bytes(c.model);
    cv::Mat input(c.input, CV_32F);
    cv::RNG(17).fill(input, cv::RNG::UNIFORM, -2.0f, 2.0f);
    const auto run = [&](bool fused, int* count) {
      cv::dnn::Net net = cluetrace::read_onnx_net(bytes.data(), bytes.size());
      std::vector<cv::Ptr<ElementwiseProductLayer>> products;
      for (const auto& name : net.getLayerNames()) {
        const auto p = net.getLayer(net.getLayerId(name)).dynamicCast<ElementwiseProductLayer>();
        if (p) products.push_back(p);
      }
      if (!fused) {
        for (const auto& p : products) p->take_hard_swish(-1);
      }
      net.setInput(input);
      cv::Mat out = net.forward().clone();
      *count = 0;
      for (const auto& p : products) *count += p->computes_hard_swish();
      return out;
    };
    int fused_count = 0, unfused_count = 0;
    const cv::Mat fused = run(true, &fused_count);
    const cv::Mat unfused = run(false, &unfused_count);
    EXPECT_EQ(fused_count, c.hard_swishes);
    EXPECT_EQ(unfused_count, 0);
    EXPECT_EQ(max_difference(fused, unfused), 0.0);
    EXPECT_GT(cv::norm(fused, cv::NORM_INF), 0.0);  // not an output left blank
  }
}

}  // namespace
