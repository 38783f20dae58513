// The logo stage's ECC alignment against OpenCV's own: the warp samples as cv::warpAffine does to the bit,
// and align_affine_ecc ends where cv::findTransformECC ends, and fails where it throws.
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include "stages/logo/ecc.hpp"

namespace cluetrace::logo {
namespace {

cv::Mat random_float_image(cv::Size size, unsigned seed) {
  cv::Mat m(size, CV_32F);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, -1.0, 2.0);
  cv::GaussianBlur(m, m, cv::Size(5, 5), 0);
  return m;
}

// Every template pixel's samples of four images at once and its inside flag, as AffineSampler gives them.
void sample_all(const std::vector<cv::Mat>& sources, const cv::Matx23f& warp, cv::Size size, std::vector<cv::Mat>& values,
                cv::Mat& inside) {
  cv::Mat src4;
  cv::merge(sources, src4);
  values.assign(4, cv::Mat());
  for (auto& v : values) v.create(size, CV_32F);
  inside.create(size, CV_8U);
  AffineSampler sampler(warp, src4.size(), size.width);
  for (int y = 0; y < size.height; ++y) {
    sampler.row(y);
    for (int x = 0; x < size.width; ++x) {
      const auto t = sampler.tap(x);
      const cv::Vec4f s = AffineSampler::sample(src4, t);
      for (int c = 0; c < 4; ++c) values[static_cast<std::size_t>(c)].at<float>(y, x) = s[c];
      inside.at<uchar>(y, x) = t.inside ? 1 : 0;
    }
  }
}

TEST(AffineSampler, GivesCvWarpAffinesValuesToTheBitAndItsNearestMask) {
  // Four different images, sampled together as the alignment samples the input and its gradients.
  const std::vector<cv::Mat> sources{random_float_image({173, 131}, 7), random_float_image({173, 131}, 8),
                                     random_float_image({173, 131}, 9), random_float_image({173, 131}, 10)};
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> angle(-0.6f, 0.6f), scale(0.4f, 2.5f), shift(-60.f, 200.f);
  int compared = 0, outside = 0, partly = 0;
  for (int i = 0; i < 200; ++i) {
    const float a = angle(rng), s = scale(rng), sy = s * scale(rng) / 1.4f;
    // Some warps carry the template across the border or wholly outside, where the constant border decides.
    const cv::Matx23f warp(s * std::cos(a), -sy * std::sin(a), shift(rng), s * std::sin(a), sy * std::cos(a), shift(rng));
    const cv::Size size(37 + i % 60, 29 + i % 45);
    std::vector<cv::Mat> ours;
    cv::Mat inside;
    sample_all(sources, warp, size, ours, inside);
    for (std::size_t c = 0; c < sources.size(); ++c) {
      cv::Mat theirs;
      cv::warpAffine(sources[c], theirs, cv::Mat(warp), size, cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_CONSTANT, cv::Scalar(0));
      ASSERT_EQ(0, std::memcmp(ours[c].data, theirs.data, theirs.total() * sizeof(float))) << "warp " << i << ", image " << c;
    }
    cv::Mat mask;
    cv::warpAffine(cv::Mat::ones(sources[0].size(), CV_8U), mask, cv::Mat(warp), size, cv::INTER_NEAREST | cv::WARP_INVERSE_MAP,
                   cv::BORDER_CONSTANT, cv::Scalar(0));
    ASSERT_EQ(0, cv::countNonZero(inside != mask)) << "warp " << i;
    const int in = cv::countNonZero(inside);
    outside += in == 0;
    partly += in > 0 && in < static_cast<int>(inside.total());
    ++compared;
  }
  EXPECT_EQ(compared, 200);
  EXPECT_GT(outside, 0) << "no warp left the image: the border went untested";
  EXPECT_GT(partly, 20) << "too few warps crossed the border";
}

// A mark's silhouette placed in a noisy photo-like image by a known affine map, and a rough start off it.
struct Scene {
  cv::Mat templ, input;
  cv::Matx23f truth, start;
};

Scene make_scene(unsigned seed, float offset) {
  Scene sc;
  cv::Mat sil(90, 140, CV_8U, cv::Scalar(0));
  cv::ellipse(sil, {70, 45}, {62, 38}, 0, 0, 360, 255, -1);
  cv::rectangle(sil, {40, 30}, {70, 60}, 0, -1);
  cv::circle(sil, {105, 45}, 12, 0, -1);
  sil.convertTo(sc.templ, CV_32F, 1.0 / 255);
  cv::GaussianBlur(sc.templ, sc.templ, cv::Size(5, 5), 0);
  cv::Mat img(260, 330, CV_8U);
  cv::RNG rng(seed);
  rng.fill(img, cv::RNG::NORMAL, 190, 14);
  const double a = 0.12;
  sc.truth = cv::Matx23f(static_cast<float>(1.3 * std::cos(a)), static_cast<float>(-1.2 * std::sin(a)), 80.f,
                         static_cast<float>(1.3 * std::sin(a)), static_cast<float>(1.2 * std::cos(a)), 60.f);
  cv::Mat placed;
  cv::warpAffine(sil, placed, cv::Mat(sc.truth), img.size());
  img.setTo(cv::Scalar(45), placed > 127);
  cv::GaussianBlur(img, img, cv::Size(3, 3), 0);
  img.convertTo(sc.input, CV_32F, -1.0 / 255, 1.0);  // the ink made the bright side, as the shape matcher does
  sc.start = sc.truth;
  sc.start(0, 2) += offset, sc.start(1, 2) -= offset * 0.6f, sc.start(0, 0) *= 1.05f, sc.start(1, 1) *= 0.96f;
  return sc;
}

double corner_distance(const cv::Matx23f& a, const cv::Matx23f& b, cv::Size size) {
  double worst = 0;
  for (const auto& p : {cv::Vec3f(0, 0, 1), cv::Vec3f(static_cast<float>(size.width), 0, 1),
                            cv::Vec3f(0, static_cast<float>(size.height), 1),
                            cv::Vec3f(static_cast<float>(size.width), static_cast<float>(size.height), 1)})
    worst = std::max(worst, cv::norm(a * p - b * p));
  return worst;
}

TEST(AlignAffineEcc, EndsWhereFindTransformEccEnds) {
  int converged = 0;
  for (unsigned seed = 1; seed <= 6; ++seed) {
    const Scene sc = make_scene(seed, 2.5f + static_cast<float>(seed));
    for (const int iterations : {5, 20, 60}) {
      cv::Mat theirs = cv::Mat(sc.start).clone();
      cv::findTransformECC(sc.templ, sc.input, theirs, cv::MOTION_AFFINE,
                           cv::TermCriteria(cv::TermCriteria::COUNT | cv::TermCriteria::EPS, iterations, 1e-4), cv::noArray(), 3);
      cv::Matx23f ours = sc.start;
      ASSERT_TRUE(align_affine_ecc(sc.templ, sc.input, ours, EccOptions{iterations, 1e-4, 3})) << "seed " << seed;
      // The same steps: only the sums' rounding differs.
      EXPECT_LT(corner_distance(ours, cv::Matx23f(theirs), sc.templ.size()), 0.05) << "seed " << seed << ", " << iterations;
      if (iterations == 60) {
        EXPECT_LT(corner_distance(ours, sc.truth, sc.templ.size()), 1.0) << "seed " << seed << " did not reach the mark";
        ++converged;
      }
    }
  }
  EXPECT_EQ(converged, 6);
}

TEST(AlignAffineEcc, FailsWhereFindTransformEccThrows) {
  const Scene sc = make_scene(3, 4.f);
  // Nothing of the input under the template: no correlation to compute.
  cv::Matx23f away = sc.start;
  away(0, 2) = 5000.f;
  cv::Mat theirs = cv::Mat(away).clone();
  EXPECT_THROW(cv::findTransformECC(sc.templ, sc.input, theirs, cv::MOTION_AFFINE, cv::TermCriteria(3, 20, 1e-4), cv::noArray(), 3),
               cv::Exception);
  cv::Matx23f ours = away;
  EXPECT_FALSE(align_affine_ecc(sc.templ, sc.input, ours, EccOptions{20, 1e-4, 3}));
  // A flat input: the template correlates with nothing there.
  const cv::Mat flat(sc.input.size(), CV_32F, cv::Scalar(0.5));
  theirs = cv::Mat(sc.start).clone();
  EXPECT_THROW(cv::findTransformECC(sc.templ, flat, theirs, cv::MOTION_AFFINE, cv::TermCriteria(3, 20, 1e-4), cv::noArray(), 3),
               cv::Exception);
  ours = sc.start;
  EXPECT_FALSE(align_affine_ecc(sc.templ, flat, ours, EccOptions{20, 1e-4, 3}));
}

}  // namespace
}  // namespace cluetrace::logo
