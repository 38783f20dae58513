// FLANN's randomised KD-trees over the logo references' descriptors, read from the bytes OpenCV's
// cv::flann::Index writes, and searched as FLANN searches them: the same neighbours at the same distances.
// OpenCV's own search costs more than the search itself: a process-wide lock to fetch its branch heap, a
// std::set for every query's neighbours and several parameter lookups by name, 40 µs a query (a fifth of the
// logo stage on small photos).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

namespace cluetrace::logo {

class KdForest {
 public:
  // The trees in `flann_bytes` (what cv::flann::Index::save writes for a KD-tree index with L2 distance over
  // `rows` × `cols` floats), when they are exactly that: every tree holds every row once as a leaf, every
  // split names a column; nothing else and nothing more. nullopt otherwise.
  static std::optional<KdForest> read_flann(std::string_view flann_bytes, int rows, int cols);

  // For each row of `queries` (CV_32F, `cols` wide), the `k` rows of `data` nearest to it as the trees find
  // them with `checks` leaves visited: `indices` (CV_32S) and squared L2 distances `dists` (CV_32F), nearest
  // first, ties by row. What cv::flann::Index::knnSearch(queries, indices, dists, k, SearchParams(checks))
  // returns over the same trees. `data` is the matrix the trees were built over.
  void knn(const cv::Mat& data, const cv::Mat& queries, int k, int checks, cv::Mat& indices, cv::Mat& dists) const;

  int trees() const { return static_cast<int>(roots_.size()); }

 private:
  struct Node {
    std::int32_t feature;  // a leaf: its row; otherwise the column it splits on
    float split;           // the split value (unused in a leaf)
    std::int32_t second;   // the second child (the first is the next node); -1 in a leaf
  };
  class Search;
  // One tree's nodes from the front of `in`, appended; false when they are not a whole tree over the rows.
  bool take_tree(std::string_view& in);

  std::vector<Node> nodes_;  // every tree, each in pre-order
  std::vector<std::int32_t> roots_;
  int rows_ = 0;
  int cols_ = 0;
};

}  // namespace cluetrace::logo
