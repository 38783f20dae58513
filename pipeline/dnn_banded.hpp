// What the layers computed through OpenCV's 1 x 1 convolution over bands of rows share (DenseConv3Layer in
// pipeline/dnn_conv3.hpp, PatchDeconvLayer in pipeline/dnn_deconv.hpp): that convolution, finalised once per
// band shape; and their output channels' bias, the scale and shift folded in from a batch norm or scale layer
// after them, and the activations after those, taken in as OpenCV's own convolution takes them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <opencv2/dnn.hpp>
#include <opencv2/dnn/all_layers.hpp>

namespace cluetrace::dnn_banded {

// A band's tap planes are at most this many floats (4 MiB): the band's height follows from the width.
constexpr std::size_t kBandFloats = std::size_t{1} << 20;

// A band's input rows and tap planes, one pair per thread for every such layer it runs (a net's layers run one
// after the other): a few MiB a thread, not a few per layer of every net kept.
struct Scratch {
  std::vector<float> band, taps;
};
Scratch& scratch();

// OpenCV's 1 x 1 convolution without bias, `weights` planes x inputs x 1 x 1.
class Pointwise {
 public:
  Pointwise(const std::string& name, const cv::Mat& weights);
  // `planes` (1 x planes x rows x width) from `band` (1 x inputs x rows x width).
  void run(const cv::Mat& band, cv::Mat& planes);

 private:
  cv::Ptr<cv::dnn::Layer> layer_;
  cv::dnn::MatShape shape_;  // the band shape layer_ was finalised for
  std::vector<cv::Mat> internals_;
};

// Output = (bias + sums) * scale + shift, then the activations, per output channel.
class OutputChannels {
 public:
  // The bias from `params.blobs[1]` when there is one (one value per channel), else zeros.
  OutputChannels(int channels, const cv::dnn::LayerParams& params);
  // A batch norm or scale layer after the layer: folded into each channel's scale and shift.
  bool try_fuse(cv::Ptr<cv::dnn::Layer>& top);
  // Any activation after it, kept to be applied in turn.
  bool set_activation(const cv::Ptr<cv::dnn::ActivationLayer>& layer);

  float bias(int c) const { return bias_[static_cast<std::size_t>(c)]; }
  float scale(int c) const { return scale_[static_cast<std::size_t>(c)]; }
  float shift(int c) const { return shift_[static_cast<std::size_t>(c)]; }
  bool has_activations() const { return !activations_.empty(); }
  // Over one image's output planes (`plane` floats each, channel after channel): the scale and shift if
  // `with_scale_shift` (a layer that applied them while writing passes false), then the activations.
  void finish(float* planes, std::size_t plane, bool with_scale_shift) const;

 private:
  std::vector<float> bias_, scale_, shift_;
  std::vector<cv::Ptr<cv::dnn::ActivationLayer>> activations_;
};

// A layer computed through Pointwise over bands, with OutputChannels after it: shapes from OpenCV's own layer
// for the same parameters (the bands are the layer's own, no internals), batch norms, scales and activations
// after it taken into its output channels.
class BandedLayer : public cv::dnn::Layer {
 public:
  // What a layer of this kind is built from, made by its own checks of its parameters.
  struct Parts {
    cv::Mat tap_weights;             // planes x inputs x 1 x 1, for Pointwise
    int outputs = 0;                 // output channels
    cv::Ptr<cv::dnn::Layer> shapes;  // OpenCV's own layer for the same parameters, asked only for shapes
  };

  bool getMemoryShapes(const std::vector<cv::dnn::MatShape>& inputs, int required_outputs,
                       std::vector<cv::dnn::MatShape>& outputs,
                       std::vector<cv::dnn::MatShape>& internals) const override;
  // A batch norm or scale layer after it: folded into each output channel's scale and shift.
  bool tryFuse(cv::Ptr<cv::dnn::Layer>& top) override;
  // Any activation after it, applied to each output plane in turn once the layer's values are made.
  bool setActivation(const cv::Ptr<cv::dnn::ActivationLayer>& layer) override;

 protected:
  BandedLayer(const cv::dnn::LayerParams& params, Parts parts);

  Pointwise pointwise_;
  OutputChannels channels_;

 private:
  cv::Ptr<cv::dnn::Layer> shapes_;
};

}  // namespace cluetrace::dnn_banded
