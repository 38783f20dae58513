// The silhouettes' placement reads (stages/logo/nearest_warp.hpp) against OpenCV's own: NearestWarp's pixels
// are cv::warpAffine's (INTER_NEAREST, constant border) to the bit, and count_warped_ink's counts are the
// cv::countNonZero of the masks the placement made before (warps, cv::compare, bitwise operations).
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "stages/logo/nearest_warp.hpp"

namespace cluetrace::logo {
namespace {

// A mask of blobs and bars, 0/255, with values other than 255 in places (a mask is "set" where nonzero).
cv::Mat random_mask(cv::Size size, std::mt19937& rng) {
  cv::Mat m = cv::Mat::zeros(size, CV_8U);
  std::uniform_int_distribution<int> x(0, size.width - 1), y(0, size.height - 1), r(2, std::max(3, std::min(size.width, size.height) / 3));
  for (int i = 0; i < 6; ++i) cv::circle(m, {x(rng), y(rng)}, r(rng), cv::Scalar(255), cv::FILLED);
  for (int i = 0; i < 3; ++i) cv::line(m, {x(rng), y(rng)}, {x(rng), y(rng)}, cv::Scalar(7), 3);
  return m;
}

cv::Mat random_patch(cv::Size size, unsigned seed) {
  cv::Mat m(size, CV_8U);
  cv::RNG(seed).fill(m, cv::RNG::UNIFORM, 0, 256);
  cv::GaussianBlur(m, m, cv::Size(7, 7), 0);
  return m;
}

// A source-to-destination map as the placements make them: turned, scaled (both ways), slightly skewed or
// mirrored, and shifted so that the source lands partly or wholly inside the destination.
cv::Matx23d random_affine(std::mt19937& rng, cv::Size src, cv::Size dst) {
  std::uniform_real_distribution<double> angle(-M_PI, M_PI), scale(0.15, 2.5), skew(-0.2, 0.2), unit(0, 1);
  const double a = angle(rng), sx = scale(rng), sy = sx * (1 + skew(rng)) * (unit(rng) < 0.1 ? -1 : 1), k = skew(rng);
  const cv::Matx22d m = cv::Matx22d(std::cos(a), -std::sin(a), std::sin(a), std::cos(a)) * cv::Matx22d(sx, k, 0, sy);
  const cv::Vec2d centre = m * cv::Vec2d(src.width / 2.0, src.height / 2.0);
  const double tx = dst.width * (unit(rng) * 1.4 - 0.2) - centre[0], ty = dst.height * (unit(rng) * 1.4 - 0.2) - centre[1];
  return cv::Matx23d(m(0, 0), m(0, 1), tx, m(1, 0), m(1, 1), ty);
}

cv::Mat opencv_warp(const cv::Mat& src, const cv::Matx23d& forward, cv::Size size) {
  cv::Mat out;
  cv::warpAffine(src, out, cv::Mat(forward), size, cv::INTER_NEAREST, cv::BORDER_CONSTANT, cv::Scalar(0));
  return out;
}

TEST(NearestWarp, PixelsAreOpenCVsWarp) {
  std::mt19937 rng(2026);
  std::uniform_int_distribution<int> side(1, 300);
  int compared = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const cv::Size src_size(side(rng), side(rng)), dst_size(side(rng), side(rng));
    const cv::Mat src = random_patch(src_size, static_cast<unsigned>(trial));
    const cv::Matx23d forward = random_affine(rng, src_size, dst_size);
    NearestWarp map(forward, dst_size.width);
    const cv::Mat ours = map.warp(src, dst_size), theirs = opencv_warp(src, forward, dst_size);
    ASSERT_EQ(cv::countNonZero(ours != theirs), 0) << "trial " << trial << ": " << src_size << " -> " << dst_size << ", map " << forward;
    compared += static_cast<int>(theirs.total());
  }
  EXPECT_GT(compared, 1000000);
}

TEST(NearestWarp, DegenerateMapsReadTheBorder) {
  // A map that flattens the source onto a line cannot be inverted: OpenCV then reads source pixel (0, 0)
  // everywhere (its inverse is all zeros); ours too.
  const cv::Mat src = random_patch({40, 30}, 7);
  const cv::Matx23d flat(1, 2, 3, 2, 4, 5);
  NearestWarp map(flat, 25);
  EXPECT_EQ(cv::countNonZero(map.warp(src, {25, 20}) != opencv_warp(src, flat, {25, 20})), 0);
}

// The counts as the placement computed them before, from OpenCV's masks.
WarpedInk opencv_counts(const cv::Mat& mark, const cv::Mat& detail, const cv::Mat& patch, const cv::Matx23d& forward, double level, bool dark) {
  const cv::Mat warped = opencv_warp(mark, forward, patch.size());
  const cv::Mat ink = dark ? (patch < level) : (patch > level);
  WarpedInk c;
  c.mark = cv::countNonZero(warped);
  c.inter = cv::countNonZero(ink & warped);
  c.uni = cv::countNonZero(ink | warped);
  if (!detail.empty()) {
    const cv::Mat details = opencv_warp(detail, forward, patch.size());
    const cv::Mat gaps = (details | warped) & ~ink;
    c.detail = cv::countNonZero(details);
    c.gap_inter = cv::countNonZero(gaps & details);
    c.gap_uni = cv::countNonZero(gaps | details);
  }
  return c;
}

TEST(NearestWarp, InkCountsAreThoseOfOpenCVsMasks) {
  std::mt19937 rng(16);
  std::uniform_int_distribution<int> side(2, 220);
  std::uniform_real_distribution<double> unit(0, 1);
  int with_ink = 0, with_details = 0;
  for (int trial = 0; trial < 600; ++trial) {
    const cv::Size mark_size(side(rng), side(rng)), land(side(rng), side(rng));
    const cv::Mat mark = random_mask(mark_size, rng);
    const cv::Mat detail = trial % 3 == 0 ? cv::Mat() : random_mask(mark_size, rng);
    const cv::Mat patch = random_patch(land, static_cast<unsigned>(trial) + 1000);
    const cv::Matx23d forward = random_affine(rng, mark_size, land);
    // Levels between grey levels, on them, and beyond both ends.
    const double levels[] = {std::floor(unit(rng) * 256) + 0.5, std::floor(unit(rng) * 256), unit(rng) * 255, -3.0, 300.0, 128.0};
    for (const double level : levels) {
      for (const bool dark : {true, false}) {
        NearestWarp map(forward, land.width);
        const WarpedInk ours = count_warped_ink(map, PackedMask(mark), PackedMask(detail), patch, level, dark);
        const WarpedInk theirs = opencv_counts(mark, detail, patch, forward, level, dark);
        const auto where = ::testing::Message() << "trial " << trial << ", level " << level << (dark ? " dark" : " light");
        ASSERT_EQ(ours.mark, theirs.mark) << where;
        ASSERT_EQ(ours.inter, theirs.inter) << where;
        ASSERT_EQ(ours.uni, theirs.uni) << where;
        ASSERT_EQ(ours.detail, theirs.detail) << where;
        ASSERT_EQ(ours.gap_inter, theirs.gap_inter) << where;
        ASSERT_EQ(ours.gap_uni, theirs.gap_uni) << where;
        with_ink += theirs.inter > 0 && theirs.inter < theirs.mark;
        with_details += theirs.gap_inter > 0;
      }
    }
  }
  // The cases compared are not all trivially empty or full.
  EXPECT_GT(with_ink, 500);
  EXPECT_GT(with_details, 300);
}

TEST(PackedMask, ReadsSetPixelsAndZeroOutside) {
  std::mt19937 rng(3);
  // Widths within one word, at a word's end, across words, and not a multiple of the 16 bytes packed at once.
  for (const cv::Size size : {cv::Size(131, 67), cv::Size(64, 5), cv::Size(16, 9), cv::Size(200, 3), cv::Size(7, 7)}) {
    const cv::Mat mask = random_mask(size, rng);
    const PackedMask packed(mask);
    EXPECT_EQ(packed.size(), mask.size());
    for (int y = -2; y < mask.rows + 2; ++y)
      for (int x = -2; x < mask.cols + 2; ++x) {
        const bool inside = x >= 0 && y >= 0 && x < mask.cols && y < mask.rows;
        ASSERT_EQ(packed.at(x, y), inside && mask.at<uchar>(y, x) != 0 ? 1 : 0) << size << " at " << x << "," << y;
      }
  }
  EXPECT_TRUE(PackedMask(cv::Mat()).empty());
  EXPECT_EQ(PackedMask(cv::Mat()).at(0, 0), 0);
  EXPECT_EQ(PackedMask().at(0, 0), 0);
}

}  // namespace
}  // namespace cluetrace::logo
