#include "pipeline/onnx_net.hpp"

#include <mutex>

#include <opencv2/dnn/all_layers.hpp>
#include <opencv2/dnn/layer.details.hpp>

#include "pipeline/dnn_conv3.hpp"
#include "pipeline/dnn_deconv.hpp"
#include "pipeline/dnn_hard_swish.hpp"
#include "pipeline/dnn_layers.hpp"
#include "pipeline/dnn_pool.hpp"
#include "pipeline/dnn_upsample.hpp"

namespace cluetrace {
namespace {

cv::Ptr<cv::dnn::Layer> make_convolution(cv::dnn::LayerParams& params) {
  if (is_depthwise_conv5(params)) return cv::makePtr<DepthwiseConv5Layer>(params);
  if (is_dense_conv3(params)) return cv::makePtr<DenseConv3Layer>(params);
  return cv::dnn::ConvolutionLayer::create(params);  // OpenCV's own, as readNetFromONNX() would make it
}

cv::Ptr<cv::dnn::Layer> make_deconvolution(cv::dnn::LayerParams& params) {
  if (is_patch_deconv(params)) return cv::makePtr<PatchDeconvLayer>(params);
  return cv::dnn::DeconvolutionLayer::create(params);
}

cv::Ptr<cv::dnn::Layer> make_power(cv::dnn::LayerParams& params) {
  if (is_hard_swish_shift(params)) return cv::makePtr<HardSwishShiftLayer>(params);
  return cv::dnn::PowerLayer::create(params);
}

cv::Ptr<cv::dnn::Layer> make_pooling(cv::dnn::LayerParams& params) {
  if (is_global_average_pool(params)) return cv::makePtr<GlobalAveragePoolLayer>(params);
  return cv::dnn::PoolingLayer::create(params);
}

cv::Ptr<cv::dnn::Layer> make_resize(cv::dnn::LayerParams& params) {
  if (is_nearest_resize(params)) return cv::makePtr<NearestUpsampleLayer>(params);
  return cv::dnn::ResizeLayer::create(params);
}

cv::Ptr<cv::dnn::Layer> make_elementwise(cv::dnn::LayerParams& params) {
  if (is_plain_product(params)) return cv::makePtr<ElementwiseProductLayer>(params);
  return cv::dnn::EltwiseLayer::create(params);
}

}  // namespace

cv::dnn::Net read_onnx_net(const char* bytes, std::size_t size) {
  // OpenCV's LayerFactory is process-wide: the overrides are registered only while this net is read, and every
  // layer is made then (OpenCV makes them as it imports; asking for each makes sure), so a net read any other
  // way is OpenCV's alone. The lock keeps two of these reads from interleaving their (un)registrations.
  static std::mutex factory;
  const std::lock_guard lock(factory);
  cv::dnn::LayerFactory::registerLayer("Convolution", make_convolution);
  cv::dnn::LayerFactory::registerLayer("Deconvolution", make_deconvolution);
  cv::dnn::LayerFactory::registerLayer("Eltwise", make_elementwise);
  cv::dnn::LayerFactory::registerLayer("Power", make_power);
  cv::dnn::LayerFactory::registerLayer("Resize", make_resize);
  cv::dnn::LayerFactory::registerLayer("Pooling", make_pooling);
  struct Unregister {
    ~Unregister() {  // OpenCV's own are back on top
      cv::dnn::LayerFactory::unregisterLayer("Pooling");
      cv::dnn::LayerFactory::unregisterLayer("Resize");
      cv::dnn::LayerFactory::unregisterLayer("Power");
      cv::dnn::LayerFactory::unregisterLayer("Eltwise");
      cv::dnn::LayerFactory::unregisterLayer("Deconvolution");
      cv::dnn::LayerFactory::unregisterLayer("Convolution");
    }
  } unregister;
  cv::dnn::Net net = cv::dnn::readNetFromONNX(bytes, size);
  for (const auto& name : net.getLayerNames()) net.getLayer(net.getLayerId(name));
  fuse_hard_swishes(net);
  return net;
}

}  // namespace cluetrace
