#pragma once
// Image alignment by the enhanced correlation coefficient (Evangelidis & Psarakis 2008), affine motion:
// the algorithm of OpenCV's cv::findTransformECC, computed in two passes over the template an iteration.

#include <vector>

#include <opencv2/core.hpp>

namespace cluetrace::logo {

struct EccOptions {
  int iterations = 50;    // at most this many updates of the warp (OpenCV's defaults, all three)
  double epsilon = 1e-3;  // ... or until the coefficient changes by less than this
  int gauss_size = 5;     // both images are smoothed by a Gaussian of this size first
};

// Aligns `input` (CV_32F) with `templ` (CV_32F): on return `warp` maps template pixels to input pixels.
// The same computation as cv::findTransformECC(templ, input, warp, MOTION_AFFINE, {COUNT|EPS, iterations,
// epsilon}, noArray(), gauss_size): the same smoothing, the same warps to the pixel (sampled at
// OpenCV's 1/32-pixel steps with its weights, the same borders), the same steps; only the sums are
// taken in double in another order, so the warp it ends with agrees to float rounding.
// OpenCV's function repeats full-image warps, products and dot products each iteration: on the logo
// stage's small templates that overhead, not the arithmetic, was its cost (bench/RESULTS.md, issue 16).
// Returns false where OpenCV's throws: the coefficient is not a number (nothing of the input under the
// template) or an update would lower it (the images are uncorrelated).
bool align_affine_ecc(const cv::Mat& templ, const cv::Mat& input, cv::Matx23f& warp, const EccOptions& options);

// The sampling align_affine_ecc warps with, exposed for its test: images resampled at template pixel
// (x, y) by `warp` (template to source), bilinear at 1/32-pixel steps with zero outside: the value
// cv::warpAffine(src, dst, warp, size, INTER_LINEAR | WARP_INVERSE_MAP) gives, to the bit. `inside` says
// whether the nearest pixel lies in the source (cv::warpAffine's INTER_NEAREST of an all-ones mask).
class AffineSampler {
 public:
  AffineSampler(const cv::Matx23f& warp, cv::Size src_size, int template_width);
  // Starts template row y: the fixed-point coordinates of its first pixel.
  void row(int y);
  struct Tap {
    int x0, y0;    // the top-left source pixel
    float w[4];    // weights of (x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1)
    bool inside;   // the nearest source pixel lies in the image
  };
  // Where template pixel x of the current row samples.
  Tap tap(int x) const;
  // The samples of `src4` (CV_32FC4: four images of one size, interleaved) at a tap, all four at once, as
  // align_affine_ecc takes them of the input and its two gradients.
  static cv::Vec4f sample(const cv::Mat& src4, const Tap& t);

 private:
  std::vector<int> adelta_, bdelta_;
  double m_[6];
  int row_x0_ = 0, row_y0_ = 0, row_xn_ = 0, row_yn_ = 0;
  cv::Size src_size_;
};

}  // namespace cluetrace::logo
