#include "stages/logo/ecc.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "stages/logo/warp_fixed_point.hpp"

namespace cluetrace::logo {

using namespace warp_fixed_point;

AffineSampler::AffineSampler(const cv::Matx23f& warp, cv::Size src_size, int template_width)
    : adelta_(static_cast<std::size_t>(template_width)), bdelta_(static_cast<std::size_t>(template_width)), src_size_(src_size) {
  for (int i = 0; i < 6; ++i) m_[i] = static_cast<double>(warp.val[i]);
  for (int x = 0; x < template_width; ++x) {
    adelta_[static_cast<std::size_t>(x)] = bounded(fixed(m_[0] * x * kScale));
    bdelta_[static_cast<std::size_t>(x)] = bounded(fixed(m_[3] * x * kScale));
  }
}

void AffineSampler::row(int y) {
  const std::int64_t x0 = fixed((m_[1] * y + m_[2]) * kScale), y0 = fixed((m_[4] * y + m_[5]) * kScale);
  row_x0_ = bounded(x0 + kLinearRound);
  row_y0_ = bounded(y0 + kLinearRound);
  row_xn_ = bounded(x0 + kNearestRound);
  row_yn_ = bounded(y0 + kNearestRound);
}

AffineSampler::Tap AffineSampler::tap(int x) const {
  const auto i = static_cast<std::size_t>(x);
  const int sx = (row_x0_ + adelta_[i]) >> (kAbBits - kInterBits), sy = (row_y0_ + bdelta_[i]) >> (kAbBits - kInterBits);
  const int nx = (row_xn_ + adelta_[i]) >> kAbBits, ny = (row_yn_ + bdelta_[i]) >> kAbBits;
  Tap t;
  t.inside = nx >= 0 && nx < src_size_.width && ny >= 0 && ny < src_size_.height;
  t.x0 = sx >> kInterBits;
  t.y0 = sy >> kInterBits;
  // OpenCV's table of weights: the products of 1 - f and f, f in 1/32 steps (exact in float).
  const float fx = static_cast<float>(sx & (kInterTab - 1)) * (1.f / kInterTab);
  const float fy = static_cast<float>(sy & (kInterTab - 1)) * (1.f / kInterTab);
  t.w[0] = (1.f - fy) * (1.f - fx);
  t.w[1] = (1.f - fy) * fx;
  t.w[2] = fy * (1.f - fx);
  t.w[3] = fy * fx;
  return t;
}

namespace {

constexpr int kParams = 6;

// Four floats in one SSE register: the input, its two gradients and a pad, sampled together.
typedef float Float4 __attribute__((vector_size(16)));

// One tap of a four-channel image, the four lanes at once: the order of OpenCV's sum (remapBilinear) kept,
// so that each lane is its value to the bit; zero outside the image, as its constant border.
Float4 sample4(const cv::Mat& src, const AffineSampler::Tap& t) {
  if (static_cast<unsigned>(t.x0) < static_cast<unsigned>(src.cols - 1) && static_cast<unsigned>(t.y0) < static_cast<unsigned>(src.rows - 1)) {
    const float* p = src.ptr<float>(t.y0) + 4 * t.x0;
    const float* q = src.ptr<float>(t.y0 + 1) + 4 * t.x0;
    Float4 a, b, c, d;
    std::memcpy(&a, p, sizeof a), std::memcpy(&b, p + 4, sizeof b), std::memcpy(&c, q, sizeof c), std::memcpy(&d, q + 4, sizeof d);
    Float4 v = a * t.w[0];
    v += b * t.w[1];
    v += c * t.w[2];
    v += d * t.w[3];
    return v;
  }
  const auto at = [&](int x, int y) -> Float4 {
    if (x < 0 || y < 0 || x >= src.cols || y >= src.rows) return Float4{0, 0, 0, 0};
    const float* p = src.ptr<float>(y) + 4 * x;
    return Float4{p[0], p[1], p[2], p[3]};
  };
  Float4 v = at(t.x0, t.y0) * t.w[0];
  v += at(t.x0 + 1, t.y0) * t.w[1];
  v += at(t.x0, t.y0 + 1) * t.w[2];
  v += at(t.x0 + 1, t.y0 + 1) * t.w[3];
  return v;
}

}  // namespace

cv::Vec4f AffineSampler::sample(const cv::Mat& src4, const Tap& t) {
  CV_Assert(src4.type() == CV_32FC4);
  const Float4 v = sample4(src4, t);
  return {v[0], v[1], v[2], v[3]};
}

namespace {

// The input and its gradients under the current warp, the template's size, and which pixels' nearest
// source pixel is inside the input (OpenCV's warped mask).
struct Warped {
  cv::Mat image, grad_x, grad_y;  // CV_32F
  cv::Mat1b inside;
  int count = 0;                  // pixels inside
  double image_sum = 0, image_sq = 0, templ_sum = 0, templ_sq = 0;  // over the pixels inside
};

// Flattened: the taps and samples inlined into the loop, where most of the alignment's time goes.
[[gnu::flatten]] void warp_all(const cv::Mat& interleaved, const cv::Mat& templ, const cv::Matx23f& warp, Warped& w) {
  AffineSampler sampler(warp, interleaved.size(), w.image.cols);
  int count = 0;
  double image_sum = 0, image_sq = 0, templ_sum = 0, templ_sq = 0;
  for (int y = 0; y < w.image.rows; ++y) {
    sampler.row(y);
    auto* out = w.image.ptr<float>(y);
    auto* gx = w.grad_x.ptr<float>(y);
    auto* gy = w.grad_y.ptr<float>(y);
    auto* in = w.inside.ptr<uchar>(y);
    const auto* tf = templ.ptr<float>(y);
    for (int x = 0; x < w.image.cols; ++x) {
      const auto t = sampler.tap(x);
      const Float4 v = sample4(interleaved, t);
      out[x] = v[0], gx[x] = v[1], gy[x] = v[2];
      in[x] = t.inside ? 1 : 0;
      if (t.inside) {
        ++count;
        image_sum += v[0], image_sq += static_cast<double>(v[0]) * v[0];
        templ_sum += tf[x], templ_sq += static_cast<double>(tf[x]) * tf[x];
      }
    }
  }
  w.count = count;
  w.image_sum = image_sum, w.image_sq = image_sq, w.templ_sum = templ_sum, w.templ_sq = templ_sq;
}

// cv::meanStdDev's mean and standard deviation from the sums.
std::pair<double, double> mean_std(double sum, double sq, int count) {
  const double k = count ? 1.0 / count : 0.0;
  const double mean = sum * k;
  return {mean, std::sqrt(std::max(sq * k - mean * mean, 0.0))};
}

// The Jacobian's products with itself, with the zero-mean warped input and with the zero-mean template.
// Outside the mask OpenCV leaves the warped input as sampled and the template at zero.
struct Sums {
  cv::Matx<double, kParams, kParams> hessian;
  cv::Vec<double, kParams> image_projection, template_projection;
  double correlation = 0;
};

// The Jacobian of a pixel is (gx x, gy x, gx y, gy y, gx, gy): along a row y is fixed, so each row needs
// only the sums of the gradients' products times 1, x and x^2 (and of the gradients times the images
// times 1 and x), and y enters once per row.
Sums project(const Warped& w, const cv::Mat& templ, float image_mean, float templ_mean) {
  Sums s;
  const int cols = templ.cols, vec_cols = cols & ~3;
  for (int y = 0; y < templ.rows; ++y) {
    const auto* iw = w.image.ptr<float>(y);
    const auto* gx = w.grad_x.ptr<float>(y);
    const auto* gy = w.grad_y.ptr<float>(y);
    const auto* in = w.inside.ptr<uchar>(y);
    const auto* tf = templ.ptr<float>(y);
    // [product][power of x]: products gx gx, gx gy, gy gy; gx i, gy i, gx t, gy t (i, t: zero-mean images),
    // four pixels at a time, then the rest of the row.
    Float4 g[3][3] = {}, p[4][2] = {}, corr = {};
    const auto add = [&](Float4 fx, Float4 gxv, Float4 gyv, Float4 image, Float4 tmpl) {
      const Float4 fx2 = fx * fx, xx = gxv * gxv, xy = gxv * gyv, yy = gyv * gyv;
      g[0][0] += xx, g[0][1] += xx * fx, g[0][2] += xx * fx2;
      g[1][0] += xy, g[1][1] += xy * fx, g[1][2] += xy * fx2;
      g[2][0] += yy, g[2][1] += yy * fx, g[2][2] += yy * fx2;
      const Float4 gi_x = gxv * image, gi_y = gyv * image, gt_x = gxv * tmpl, gt_y = gyv * tmpl;
      p[0][0] += gi_x, p[0][1] += gi_x * fx;
      p[1][0] += gi_y, p[1][1] += gi_y * fx;
      p[2][0] += gt_x, p[2][1] += gt_x * fx;
      p[3][0] += gt_y, p[3][1] += gt_y * fx;
      corr += tmpl * image;
    };
    // Outside the mask the input stays as sampled and the template is zero: m is 1 inside, 0 outside.
    const Float4 image_mean4 = {image_mean, image_mean, image_mean, image_mean};
    const Float4 templ_mean4 = {templ_mean, templ_mean, templ_mean, templ_mean};
    const auto load = [](const float* from) {
      Float4 v;
      std::memcpy(&v, from, sizeof v);
      return v;
    };
    for (int x = 0; x < vec_cols; x += 4) {
      const Float4 m = {in[x] ? 1.f : 0.f, in[x + 1] ? 1.f : 0.f, in[x + 2] ? 1.f : 0.f, in[x + 3] ? 1.f : 0.f};
      const auto fx0 = static_cast<float>(x);
      const Float4 fx = {fx0, fx0 + 1, fx0 + 2, fx0 + 3};
      add(fx, load(gx + x), load(gy + x), load(iw + x) - m * image_mean4, m * (load(tf + x) - templ_mean4));
    }
    for (int x = vec_cols; x < cols; ++x) {
      const float m = in[x] ? 1.f : 0.f;
      add(Float4{static_cast<float>(x), 0, 0, 0}, Float4{gx[x], 0, 0, 0}, Float4{gy[x], 0, 0, 0},
          Float4{iw[x] - m * image_mean, 0, 0, 0}, Float4{m * (tf[x] - templ_mean), 0, 0, 0});
    }
    const auto total = [](Float4 v) { return static_cast<double>(v[0]) + v[1] + v[2] + v[3]; };
    const double fy = y, ypow[3] = {1, fy, fy * fy};
    // A parameter's gradient (0: gx, 1: gy) and the powers of x and y its coordinate factor holds:
    // the Jacobian is (gx x, gy x, gx y, gy y, gx, gy).
    constexpr int kGrad[kParams] = {0, 1, 0, 1, 0, 1};
    constexpr int kPx[kParams] = {1, 1, 0, 0, 0, 0}, kPy[kParams] = {0, 0, 1, 1, 0, 0};
    for (int a = 0; a < kParams; ++a) {
      for (int b = a; b < kParams; ++b)
        s.hessian(a, b) += total(g[kGrad[a] + kGrad[b]][kPx[a] + kPx[b]]) * ypow[kPy[a] + kPy[b]];
      s.image_projection[a] += total(p[kGrad[a]][kPx[a]]) * ypow[kPy[a]];
      s.template_projection[a] += total(p[2 + kGrad[a]][kPx[a]]) * ypow[kPy[a]];
    }
    s.correlation += total(corr);
  }
  for (int a = 0; a < kParams; ++a)
    for (int b = 0; b < a; ++b) s.hessian(a, b) = s.hessian(b, a);
  return s;
}

}  // namespace

bool align_affine_ecc(const cv::Mat& templ, const cv::Mat& input, cv::Matx23f& warp, const EccOptions& options) {
  CV_Assert(templ.type() == CV_32F && input.type() == CV_32F && !templ.empty() && !input.empty());
  const cv::Size ksize(options.gauss_size, options.gauss_size);
  cv::Mat templ_smooth, image;
  cv::GaussianBlur(templ, templ_smooth, ksize, 0, 0);
  cv::GaussianBlur(input, image, ksize, 0, 0);
  cv::Mat grad_x, grad_y;
  const cv::Matx13f dx(-0.5f, 0.0f, 0.5f);
  cv::filter2D(image, grad_x, -1, dx);
  cv::filter2D(image, grad_y, -1, dx.t());

  // The input and its gradients interleaved, so that one tap reads all three.
  cv::Mat interleaved;
  cv::merge(std::vector<cv::Mat>{image, grad_x, grad_y, cv::Mat::zeros(image.size(), CV_32F)}, interleaved);

  Warped w{cv::Mat(templ.size(), CV_32F), cv::Mat(templ.size(), CV_32F), cv::Mat(templ.size(), CV_32F), cv::Mat1b(templ.size())};
  double rho = -1, last_rho = -options.epsilon;
  for (int i = 1; i <= options.iterations && std::fabs(rho - last_rho) >= options.epsilon; ++i) {
    warp_all(interleaved, templ_smooth, warp, w);
    const auto [image_mean, image_std] = mean_std(w.image_sum, w.image_sq, w.count);
    const auto [templ_mean, templ_std] = mean_std(w.templ_sum, w.templ_sq, w.count);
    const double templ_norm = std::sqrt(w.count * templ_std * templ_std);
    const double image_norm = std::sqrt(w.count * image_std * image_std);
    const Sums s = project(w, templ_smooth, static_cast<float>(image_mean), static_cast<float>(templ_mean));

    // OpenCV keeps these small matrices in float and inverts the Hessian by LU: so do we.
    const cv::Matx<float, kParams, kParams> hessian_inv = cv::Matx<float, kParams, kParams>(s.hessian).inv(cv::DECOMP_LU);
    const cv::Vec<float, kParams> image_projection(s.image_projection), template_projection(s.template_projection);
    last_rho = rho;
    rho = s.correlation / (image_norm * templ_norm);
    if (std::isnan(rho)) return false;

    // The illumination factor lambda, then the update (OpenCV's "error" projected: it is linear in the images).
    const cv::Vec<float, kParams> image_projection_hessian = hessian_inv * image_projection;
    const double lambda_n = image_norm * image_norm - image_projection.ddot(image_projection_hessian);
    const double lambda_d = s.correlation - template_projection.ddot(image_projection_hessian);
    if (lambda_d <= 0.0) return false;
    const double lambda = lambda_n / lambda_d;
    cv::Vec<float, kParams> error_projection;
    for (int a = 0; a < kParams; ++a)
      error_projection[a] = static_cast<float>(lambda * s.template_projection[a] - s.image_projection[a]);
    const cv::Vec<float, kParams> delta = hessian_inv * error_projection;
    warp(0, 0) += delta[0];
    warp(1, 0) += delta[1];
    warp(0, 1) += delta[2];
    warp(1, 1) += delta[3];
    warp(0, 2) += delta[4];
    warp(1, 2) += delta[5];
  }
  return true;
}

}  // namespace cluetrace::logo
