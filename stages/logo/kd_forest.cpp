#include "stages/logo/kd_forest.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>

#include <opencv2/flann/defines.h>

namespace cluetrace::logo {
namespace {

// cv::flann::Index::save's layout (OpenCV 4, FLANN 1.6): FLANN's header (signature, version, element type,
// index type, rows, columns), OpenCV's distance type, the number of trees, then each tree's nodes in
// pre-order as FLANN holds them in memory: split column (or row, in a leaf), split value, and the two child
// pointers, null in a leaf.
constexpr std::size_t kSignatureBytes = 16, kVersionBytes = 16;
constexpr char kSignature[] = "FLANN_INDEX";
constexpr int kMaxTrees = 64;
constexpr std::size_t kNodeBytes = 2 * sizeof(std::int32_t) + 2 * sizeof(void*);

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  bool take(T& value) {
    if (bytes_.size() < sizeof(T)) return false;
    std::memcpy(&value, bytes_.data(), sizeof(T));
    bytes_.remove_prefix(sizeof(T));
    return true;
  }
  bool skip(std::size_t n) {
    if (bytes_.size() < n) return false;
    bytes_.remove_prefix(n);
    return true;
  }
  std::string_view peek(std::size_t n) const { return bytes_.substr(0, n); }
  bool done() const { return bytes_.empty(); }

 private:
  std::string_view bytes_;
};

struct RawNode {
  std::int32_t feature = 0;
  float split = 0;
  bool has_first = false, has_second = false;
};

bool take_node(Reader& in, RawNode& node) {
  std::array<unsigned char, sizeof(void*)> first{}, second{};
  if (!in.take(node.feature) || !in.take(node.split) || !in.take(first) || !in.take(second)) return false;
  const auto set = [](const auto& p) { return std::any_of(p.begin(), p.end(), [](unsigned char b) { return b != 0; }); };
  node.has_first = set(first);
  node.has_second = set(second);
  return true;
}

// FLANN's L2 to the bit: groups of four squared differences, each group summed left to right, then added
// to the total in order (a build that fused multiply-adds would differ: this file is compiled without).
float squared_l2(const float* a, const float* b, int n) {
  float result = 0;
  int i = 0;
  for (; i + 3 < n; i += 4) {
    const float d0 = a[i] - b[i], d1 = a[i + 1] - b[i + 1], d2 = a[i + 2] - b[i + 2], d3 = a[i + 3] - b[i + 3];
    result += d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3;
  }
  for (; i < n; ++i) {
    const float d = a[i] - b[i];
    result += d * d;
  }
  return result;
}

}  // namespace

std::optional<KdForest> KdForest::read_flann(std::string_view flann_bytes, int rows, int cols) {
  static_assert(kNodeBytes == sizeof(std::int32_t) + sizeof(float) + 2 * sizeof(void*));
  if (rows <= 0 || cols <= 0) return std::nullopt;
  Reader in(flann_bytes);
  const std::string_view signature = in.peek(kSignatureBytes);
  if (signature.size() != kSignatureBytes || signature.substr(0, sizeof(kSignature)) != std::string_view(kSignature, sizeof(kSignature)))
    return std::nullopt;
  std::int32_t element = 0, algorithm = 0, distance = 0, trees = 0;
  std::uint64_t header_rows = 0, header_cols = 0;
  if (!in.skip(kSignatureBytes + kVersionBytes) || !in.take(element) || !in.take(algorithm) || !in.take(header_rows) ||
      !in.take(header_cols) || !in.take(distance) || !in.take(trees))
    return std::nullopt;
  if (element != cvflann::FLANN_FLOAT32 || algorithm != cvflann::FLANN_INDEX_KDTREE || distance != cvflann::FLANN_DIST_L2 ||
      header_rows != static_cast<std::uint64_t>(rows) || header_cols != static_cast<std::uint64_t>(cols) || trees < 1 ||
      trees > kMaxTrees)
    return std::nullopt;

  KdForest forest;
  forest.rows_ = rows;
  forest.cols_ = cols;
  const std::size_t per_tree = 2 * static_cast<std::size_t>(rows) - 1;
  forest.nodes_.reserve(per_tree * static_cast<std::size_t>(trees));
  std::vector<unsigned char> seen(static_cast<std::size_t>(rows));
  std::vector<std::int32_t> open;  // nodes whose second child comes next once their first subtree is read
  for (int t = 0; t < trees; ++t) {
    std::fill(seen.begin(), seen.end(), 0);
    forest.roots_.push_back(static_cast<std::int32_t>(forest.nodes_.size()));
    int leaves = 0;
    open.clear();
    while (true) {
      RawNode raw;
      if (forest.nodes_.size() - static_cast<std::size_t>(forest.roots_.back()) >= per_tree || !take_node(in, raw))
        return std::nullopt;
      const auto at = static_cast<std::int32_t>(forest.nodes_.size());
      if (raw.has_first != raw.has_second) return std::nullopt;  // FLANN splits into two or not at all
      if (raw.has_first) {
        if (raw.feature < 0 || raw.feature >= cols || !std::isfinite(raw.split)) return std::nullopt;
        forest.nodes_.push_back({raw.feature, raw.split, -1});
        open.push_back(at);
        continue;
      }
      if (raw.feature < 0 || raw.feature >= rows || seen[static_cast<std::size_t>(raw.feature)]) return std::nullopt;
      seen[static_cast<std::size_t>(raw.feature)] = 1;
      ++leaves;
      forest.nodes_.push_back({raw.feature, 0.0f, -1});
      if (open.empty()) break;
      // The next node is the second child of the innermost split still waiting for one.
      forest.nodes_[static_cast<std::size_t>(open.back())].second = at + 1;
      open.pop_back();
    }
    if (leaves != rows) return std::nullopt;
  }
  if (!in.done()) return std::nullopt;
  return forest;
}

// One query's search, as FLANN's KDTreeIndex::getNeighbors with a KNNUniqueResultSet: best bin first over
// every tree, a branch heap ordered by its bound, each row checked once, until `checks` leaves were checked
// and `k` neighbours are held.
class KdForest::Search {
 public:
  Search(const KdForest& forest, const cv::Mat& data, int k, int checks)
      : forest_(forest), data_(data), k_(k), checks_(checks), checked_(static_cast<std::size_t>(forest.rows_), 0) {
    heap_.reserve(256);
    best_.reserve(static_cast<std::size_t>(k) + 1);
  }

  void run(const float* query, int* indices, float* dists) {
    query_ = query;
    ++stamp_;
    if (stamp_ == 0) {  // wrapped: start the marks afresh
      std::fill(checked_.begin(), checked_.end(), 0);
      stamp_ = 1;
    }
    heap_.clear();
    best_.clear();
    worst_ = std::numeric_limits<float>::max();
    check_count_ = 0;
    for (const std::int32_t root : forest_.roots_) {
      descend(root, 0.0f);
      if (check_count_ >= checks_ && full()) break;
    }
    Branch branch{};
    while (pop_min(branch) && (check_count_ < checks_ || !full())) descend(branch.node, branch.bound);
    for (int j = 0; j < k_; ++j) {
      const bool have = j < static_cast<int>(best_.size());
      indices[j] = have ? best_[static_cast<std::size_t>(j)].row : -1;
      dists[j] = have ? best_[static_cast<std::size_t>(j)].dist : std::numeric_limits<float>::max();
    }
  }

 private:
  struct Branch {
    std::int32_t node;
    float bound;
  };
  struct Neighbour {
    float dist;
    std::int32_t row;
    bool operator<(const Neighbour& o) const { return dist < o.dist || (dist == o.dist && row < o.row); }
  };
  // FLANN's heap compares by bound only, through std::push_heap / std::pop_heap: the same calls here give the
  // same order among equal bounds. It holds at most as many branches as there are rows, as FLANN's does.
  static bool later(const Branch& x, const Branch& y) { return y.bound < x.bound; }
  void push(std::int32_t node, float bound) {
    if (heap_.size() >= static_cast<std::size_t>(forest_.rows_)) return;
    heap_.push_back({node, bound});
    std::push_heap(heap_.begin(), heap_.end(), later);
  }
  bool pop_min(Branch& branch) {
    if (heap_.empty()) return false;
    branch = heap_.front();
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
    return true;
  }

  bool full() const { return static_cast<int>(best_.size()) == k_; }
  void add(float dist, std::int32_t row) {
    if (dist >= worst_) return;
    const Neighbour n{dist, row};
    const auto at = std::lower_bound(best_.begin(), best_.end(), n);
    if (at != best_.end() && !(n < *at)) return;  // already held
    best_.insert(at, n);
    if (static_cast<int>(best_.size()) > k_) best_.pop_back();
    if (full()) worst_ = best_.back().dist;
  }

  // FLANN's searchLevel: down to a leaf, the branch not taken kept on the heap with its bound.
  void descend(std::int32_t node, float bound) {
    while (true) {
      if (worst_ < bound) return;
      const Node& n = forest_.nodes_[static_cast<std::size_t>(node)];
      if (n.second < 0) {
        auto& mark = checked_[static_cast<std::size_t>(n.feature)];
        if (mark == stamp_ || (check_count_ >= checks_ && full())) return;
        mark = stamp_;
        ++check_count_;
        add(squared_l2(data_.ptr<float>(n.feature), query_, forest_.cols_), n.feature);
        return;
      }
      const float value = query_[n.feature];
      const float diff = value - n.split;
      const std::int32_t first = node + 1;
      const std::int32_t nearer = diff < 0 ? first : n.second;
      const std::int32_t farther = diff < 0 ? n.second : first;
      const float farther_bound = bound + (value - n.split) * (value - n.split);
      if (farther_bound < worst_ || !full()) push(farther, farther_bound);
      node = nearer;
    }
  }

  const KdForest& forest_;
  const cv::Mat& data_;
  const int k_, checks_;
  const float* query_ = nullptr;
  std::vector<std::uint32_t> checked_;
  std::uint32_t stamp_ = 0;
  std::vector<Branch> heap_;
  std::vector<Neighbour> best_;
  float worst_ = 0;
  int check_count_ = 0;
};

void KdForest::knn(const cv::Mat& data, const cv::Mat& queries, int k, int checks, cv::Mat& indices, cv::Mat& dists) const {
  CV_Assert(data.type() == CV_32F && data.rows == rows_ && data.cols == cols_);
  CV_Assert(queries.type() == CV_32F && queries.cols == cols_ && k > 0 && k <= rows_ && checks > 0);
  indices.create(queries.rows, k, CV_32S);
  dists.create(queries.rows, k, CV_32F);
  Search search(*this, data, k, checks);
  for (int i = 0; i < queries.rows; ++i) search.run(queries.ptr<float>(i), indices.ptr<int>(i), dists.ptr<float>(i));
}

}  // namespace cluetrace::logo
