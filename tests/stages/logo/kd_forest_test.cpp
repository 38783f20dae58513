// KdForest (stages/logo/kd_forest.hpp): OpenCV's KD-trees read from the bytes OpenCV writes, searched with the
// same neighbours at the same distances as cv::flann::Index::knnSearch finds; bytes that are not whole trees
// over the given rows are refused.
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>
#include <opencv2/flann.hpp>

#include "stages/logo/kd_forest.hpp"
#include "stages/logo/kd_trees.hpp"
#include "tests/support/test_support.hpp"

namespace cluetrace::logo {
namespace {

constexpr std::size_t kFirstNode = 64;  // FLANN's header (56 bytes), OpenCV's distance type, the tree count
constexpr std::size_t kNodeBytes = 8 + 2 * sizeof(void*);

std::string flann_bytes_of(const cv::flann::Index& trees) {
  test::TempDir dir;
  const auto file = (dir / "trees.flann").string();
  trees.save(file);
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Rows like RootSIFT descriptors (non-negative, most mass in few columns), a quarter of them repeated so
// that neighbours tie on distance.
cv::Mat descriptor_like_rows(int rows, int cols, unsigned seed) {
  cv::Mat m(rows, cols, CV_32F);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, 0.0, 1.0);
  cv::pow(m, 4, m);
  for (int r = 3; r < rows; r += 4) m.row(r - 3).copyTo(m.row(r));
  return m;
}

cv::Mat queries_near(const cv::Mat& rows, unsigned seed) {
  cv::Mat q;
  for (int r = 0; r < rows.rows; r += std::max(1, rows.rows / 150)) q.push_back(rows.row(r));
  cv::Mat noise(q.size(), CV_32F);
  cv::RNG rng(seed);
  rng.fill(noise, cv::RNG::NORMAL, 0.0, 0.02);
  q += noise;
  cv::Mat far(20, rows.cols, CV_32F);
  rng.fill(far, cv::RNG::UNIFORM, 0.0, 1.0);
  q.push_back(far);
  q.push_back(rows.row(0));  // a query equal to a row: distance 0
  return q;
}

// Sizes ascend: OpenCV keeps one branch heap per thread, as large as the largest index it searched, and
// stops adding branches when it is full; a forest's heap holds as many branches as it has rows.
TEST(KdForest, FindsWhatOpenCvsSearchFindsOverTheSameTrees) {
  struct Case {
    int rows, cols;
  };
  for (const auto [rows, cols] : {Case{1, 4}, Case{2, 128}, Case{7, 3}, Case{40, 128}, Case{300, 16}, Case{4000, 128}}) {
    const cv::Mat data = descriptor_like_rows(rows, cols, static_cast<unsigned>(rows * 31 + cols));
    const auto trees = build_kd_trees(data);
    const auto forest = KdForest::read_flann(flann_bytes_of(*trees), rows, cols);
    ASSERT_TRUE(forest) << rows << " × " << cols;
    EXPECT_EQ(forest->trees(), 4);
    const cv::Mat queries = queries_near(data, 7u + static_cast<unsigned>(rows));
    for (const int k : {1, 2, 8}) {
      if (k > rows) continue;
      for (const int checks : {8, 64, 1000}) {
        SCOPED_TRACE(testing::Message() << rows << " rows × " << cols << ", k " << k << ", checks " << checks);
        cv::Mat want_idx, want_dist, got_idx, got_dist;
        trees->knnSearch(queries, want_idx, want_dist, k, cv::flann::SearchParams(checks));
        forest->knn(data, queries, k, checks, got_idx, got_dist);
        ASSERT_EQ(got_idx.size(), want_idx.size());
        EXPECT_EQ(cv::countNonZero(got_idx != want_idx), 0);
        EXPECT_EQ(cv::norm(got_dist, want_dist, cv::NORM_INF), 0.0);
      }
    }
  }
}

// Not a search that ignores its bounds: with few leaves checked, some neighbours differ from the exact ones,
// and with every leaf checked none do.
TEST(KdForest, IsApproximateAsItsChecksSay) {
  const cv::Mat data = descriptor_like_rows(4000, 128, 99);
  const auto forest = KdForest::read_flann(flann_bytes_of(*build_kd_trees(data)), data.rows, data.cols);
  ASSERT_TRUE(forest);
  const cv::Mat queries = queries_near(data, 5);
  cv::Mat exact_idx, exact_dist, idx, dist;
  cv::flann::Index(data, cv::flann::LinearIndexParams(), cvflann::FLANN_DIST_L2)
      .knnSearch(queries, exact_idx, exact_dist, 8, cv::flann::SearchParams());
  forest->knn(data, queries, 8, 16, idx, dist);
  EXPECT_GT(cv::countNonZero(exact_dist != dist), 0);
  forest->knn(data, queries, 8, 8 * data.rows, idx, dist);
  EXPECT_EQ(cv::norm(exact_dist, dist, cv::NORM_INF), 0.0);
}

TEST(KdForest, RefusesBytesThatAreNotWholeTreesOverTheRowsGiven) {
  const cv::Mat data = descriptor_like_rows(50, 8, 3);
  const std::string good = flann_bytes_of(*build_kd_trees(data));
  ASSERT_EQ(good.size(), kFirstNode + 4 * (2 * 50 - 1) * kNodeBytes);
  ASSERT_TRUE(KdForest::read_flann(good, 50, 8));

  EXPECT_FALSE(KdForest::read_flann(good, 49, 8));
  EXPECT_FALSE(KdForest::read_flann(good, 50, 9));
  EXPECT_FALSE(KdForest::read_flann(good.substr(0, good.size() - 1), 50, 8));
  EXPECT_FALSE(KdForest::read_flann(good + '\0', 50, 8));
  EXPECT_FALSE(KdForest::read_flann("", 50, 8));

  auto changed = [&](std::size_t at, const auto& value) {
    std::string bytes = good;
    std::memcpy(bytes.data() + at, &value, sizeof(value));
    return bytes;
  };
  EXPECT_FALSE(KdForest::read_flann(changed(0, 'G'), 50, 8)) << "signature";
  EXPECT_FALSE(KdForest::read_flann(changed(60, std::int32_t{0}), 50, 8)) << "no trees";
  EXPECT_FALSE(KdForest::read_flann(changed(56, std::int32_t{2}), 50, 8)) << "another distance";
  EXPECT_FALSE(KdForest::read_flann(changed(kFirstNode, std::int32_t{8}), 50, 8)) << "a split on a column past the last";

  // The first leaf (the first node with no children): its row out of range, or another leaf's row.
  std::size_t leaf = kFirstNode, second_leaf = 0;
  const std::string no_child(sizeof(void*), '\0');
  while (good.compare(leaf + 8, sizeof(void*), no_child) != 0) leaf += kNodeBytes;
  for (std::size_t at = leaf + kNodeBytes; at < good.size(); at += kNodeBytes)
    if (good.compare(at + 8, sizeof(void*), no_child) == 0 && good.compare(at + 8 + sizeof(void*), sizeof(void*), no_child) == 0) {
      second_leaf = at;
      break;
    }
  ASSERT_GT(second_leaf, leaf);
  EXPECT_FALSE(KdForest::read_flann(changed(leaf, std::int32_t{50}), 50, 8)) << "a leaf past the last row";
  std::int32_t other_row = 0;
  std::memcpy(&other_row, good.data() + second_leaf, sizeof(other_row));
  EXPECT_FALSE(KdForest::read_flann(changed(leaf, other_row), 50, 8)) << "a row twice in one tree";
  EXPECT_FALSE(KdForest::read_flann(changed(kFirstNode + 8, std::uint64_t{0}), 50, 8)) << "a split with one child";
}

}  // namespace
}  // namespace cluetrace::logo
