#include "stages/logo/region_looks.hpp"

#include <set>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/features2d.hpp>
#include <opencv2/imgproc.hpp>

namespace cluetrace::logo {
namespace {

TEST(RegionLooks, TwinsWithinTwoPixelsAndThreePercentAreNotLookedAtAgain) {
  RegionLooks looks;
  ASSERT_TRUE(looks.first_look({100, 100, 60, 40}, 2000));
  // The same place at the next threshold: each side moved by up to 2 pixels, 3 % more pixels.
  EXPECT_FALSE(looks.first_look({102, 98, 59, 43}, 2060));
  EXPECT_FALSE(looks.first_look({98, 101, 62, 41}, 1941));
  // One side 3 pixels away, or 4 % more pixels: another region.
  EXPECT_TRUE(looks.first_look({103, 100, 57, 40}, 2000));
  EXPECT_TRUE(looks.first_look({100, 100, 61, 41}, 2085));
  // Elsewhere.
  EXPECT_TRUE(looks.first_look({300, 100, 60, 40}, 2000));
}

TEST(RegionLooks, TheCoarseGridStillJoinsRegionsInOneCell) {
  RegionLooks looks;
  ASSERT_TRUE(looks.first_look({10, 10, 20, 20}, 100));
  // Same halved box and sixteenth of the pixels (96..111): not a twin by pixels (110 is 9 % more), one cell.
  EXPECT_FALSE(looks.first_look({11, 11, 21, 21}, 110));
  // A twin is measured against first looks only: this one would be a twin of the region skipped above, not of
  // the first look (its top is 3 pixels lower).
  EXPECT_TRUE(looks.first_look({12, 13, 21, 21}, 110));
}

// The case it exists for: MSER on a soft-edged mark returns the mark once per grey threshold its edge spans.
TEST(RegionLooks, MserOnASoftMarkGivesOneLookPerPlace) {
  cv::Mat img(300, 400, CV_8U, cv::Scalar(230));
  cv::circle(img, {100, 150}, 40, cv::Scalar(30), cv::FILLED);
  cv::rectangle(img, cv::Rect(240, 110, 90, 70), cv::Scalar(40), cv::FILLED);
  cv::GaussianBlur(img, img, {0, 0}, 3);
  std::vector<std::vector<cv::Point>> regions;
  std::vector<cv::Rect> boxes;
  cv::MSER::create(2, 200, 30000, 0.25)->detectRegions(img, regions, boxes);
  const auto around = [](const cv::Rect& box, cv::Point c) { return box.contains(c) && box.width < 110 && box.height < 110; };
  int disc = 0, block = 0, disc_looks = 0, block_looks = 0;
  RegionLooks looks;
  std::set<std::tuple<int, int, int, int, int>> cells;  // the two shapes' regions by the coarse grid alone
  for (std::size_t i = 0; i < regions.size(); ++i) {
    const cv::Rect& b = boxes[i];
    const int n = static_cast<int>(regions[i].size());
    const bool first = looks.first_look(b, n);
    if (around(b, {100, 150}) || around(b, {285, 145})) cells.emplace(b.x / 2, b.y / 2, b.width / 2, b.height / 2, n / 16);
    if (around(boxes[i], {100, 150})) ++disc, disc_looks += first;
    if (around(boxes[i], {285, 145})) ++block, block_looks += first;
  }
  // Several regions of each shape (blurred edges span many thresholds), far fewer looks.
  EXPECT_GE(disc, 3);
  EXPECT_GE(block, 3);
  EXPECT_GE(disc_looks, 1);
  EXPECT_GE(block_looks, 1);
  EXPECT_LT(disc_looks, disc);
  EXPECT_LT(block_looks, block);
  // ... and fewer than the coarse grid alone lets through.
  EXPECT_LT(disc_looks + block_looks, static_cast<int>(cells.size()));
}

}  // namespace
}  // namespace cluetrace::logo
