#include "stages/logo/kd_forest.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include <opencv2/flann/defines.h>

#include "pipeline/case/binary_io.hpp"

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

struct RawNode {
  std::int32_t feature = 0;
  float split = 0;
  bool has_first = false, has_second = false;
};

bool take_node(std::string_view& in, RawNode& node) {
  using binary_io::take;
  std::array<unsigned char, sizeof(void*)> first{}, second{};
  if (!take(in, node.feature) || !take(in, node.split) || !take(in, first) || !take(in, second)) return false;
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

namespace {

// FLANN's header and OpenCV's distance type: the number of trees, when they are trees of L2 over `rows` ×
// `cols` floats.
std::optional<int> take_header(std::string_view& in, int rows, int cols) {
  using binary_io::take;
  if (in.size() < kSignatureBytes + kVersionBytes ||
      in.substr(0, sizeof(kSignature)) != std::string_view(kSignature, sizeof(kSignature)))
    return std::nullopt;
  in.remove_prefix(kSignatureBytes + kVersionBytes);
  std::int32_t element = 0, algorithm = 0, distance = 0, trees = 0;
  std::uint64_t header_rows = 0, header_cols = 0;
  if (!take(in, element) || !take(in, algorithm) || !take(in, header_rows) || !take(in, header_cols) ||
      !take(in, distance) || !take(in, trees))
    return std::nullopt;
  if (element != cvflann::FLANN_FLOAT32 || algorithm != cvflann::FLANN_INDEX_KDTREE || distance != cvflann::FLANN_DIST_L2 ||
      header_rows != static_cast<std::uint64_t>(rows) || header_cols != static_cast<std::uint64_t>(cols) || trees < 1 ||
      trees > kMaxTrees)
    return std::nullopt;
  return trees;
}

}  // namespace

std::optional<KdForest> KdForest::read_flann(std::string_view flann_bytes, int rows, int cols) {
  static_assert(kNodeBytes == sizeof(std::int32_t) + sizeof(float) + 2 * sizeof(void*));
  if (rows <= 0 || cols <= 0) return std::nullopt;
  std::string_view in = flann_bytes;
  const auto trees = take_header(in, rows, cols);
  if (!trees) return std::nullopt;
  KdForest forest;
  forest.rows_ = rows;
  forest.cols_ = cols;
  forest.nodes_.reserve((2 * static_cast<std::size_t>(rows) - 1) * static_cast<std::size_t>(*trees));
  for (int t = 0; t < *trees; ++t)
    if (!forest.take_tree(in)) return std::nullopt;
  if (!in.empty()) return std::nullopt;
  return forest;
}

bool KdForest::take_tree(std::string_view& in) {
  const std::size_t most = 2 * static_cast<std::size_t>(rows_) - 1;  // a node per row and one per split
  const auto root = static_cast<std::int32_t>(nodes_.size());
  roots_.push_back(root);
  std::vector<unsigned char> seen(static_cast<std::size_t>(rows_));
  std::vector<std::int32_t> open;  // splits whose second child comes next once their first subtree is read
  int leaves = 0;
  while (true) {
    RawNode raw;
    if (nodes_.size() - static_cast<std::size_t>(root) >= most || !take_node(in, raw)) return false;
    const auto at = static_cast<std::int32_t>(nodes_.size());
    if (raw.has_first != raw.has_second) return false;  // FLANN splits into two or not at all
    if (raw.has_first) {
      if (raw.feature < 0 || raw.feature >= cols_ || !std::isfinite(raw.split)) return false;
      nodes_.push_back({raw.feature, raw.split, -1});
      open.push_back(at);
      continue;
    }
    if (raw.feature < 0 || raw.feature >= rows_ || seen[static_cast<std::size_t>(raw.feature)]) return false;
    seen[static_cast<std::size_t>(raw.feature)] = 1;
    ++leaves;
    nodes_.push_back({raw.feature, 0.0f, -1});
    if (open.empty()) break;
    // The next node is the second child of the innermost split still waiting for one.
    nodes_[static_cast<std::size_t>(open.back())].second = at + 1;
    open.pop_back();
  }
  return leaves == rows_;
}

// Queries searched as FLANN's KDTreeIndex::getNeighbors searches one, with a KNNUniqueResultSet: best bin
// first over every tree, a branch heap ordered by its bound, each row checked once, until `checks` leaves
// were checked and `k` neighbours are held. The search waits on memory (a node, then a row of 512 bytes,
// almost never in the cache), so several queries are searched at once, a step of each in turn, each step
// fetching ahead what that query's next step reads. Each query's steps are the same as searched alone.
class KdForest::Search {
 public:
  static constexpr int kLanes = 8;

  Search(const KdForest& forest, const cv::Mat& data, int k, int checks)
      : forest_(forest), data_(data), k_(k), checks_(checks), words_((static_cast<std::size_t>(forest.rows_) + 63) / 64) {}

  void run(const cv::Mat& queries, cv::Mat& indices, cv::Mat& dists) {
    std::array<Lane, kLanes> lanes;
    int next = 0, busy = 0;
    for (auto& lane : lanes) {
      lane.checked.resize(words_);
      lane.heap.reserve(256);
      lane.best.reserve(static_cast<std::size_t>(k_) + 1);
      if (next < queries.rows) {
        start(lane, queries, next++, indices, dists);
        ++busy;
      }
    }
    while (busy > 0) {
      for (auto& lane : lanes) {
        if (lane.step == Step::done) continue;
        advance(lane);
        if (lane.step != Step::done) continue;
        finish(lane);
        if (next < queries.rows) start(lane, queries, next++, indices, dists);
        else --busy;
      }
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
  enum class Step { node, leaf, done };
  struct Lane {
    const float* query = nullptr;
    int* indices = nullptr;
    float* dists = nullptr;
    std::vector<std::uint64_t> checked;  // rows checked, one bit each
    std::vector<Branch> heap;
    std::vector<Neighbour> best;  // nearest first
    float worst = 0;
    int check_count = 0;
    int tree = 0;  // the tree whose root the current descent started from; the tree count once past them
    std::int32_t node = 0;
    float bound = 0;
    Step step = Step::done;
  };

  void fetch_node(std::int32_t node) const { __builtin_prefetch(&forest_.nodes_[static_cast<std::size_t>(node)]); }
  void fetch_row(std::int32_t row) const {
    const auto* p = reinterpret_cast<const char*>(data_.ptr<float>(row));
    const std::size_t bytes = static_cast<std::size_t>(forest_.cols_) * sizeof(float);
    for (std::size_t at = 0; at < bytes; at += 64) __builtin_prefetch(p + at);
  }

  void start(Lane& lane, const cv::Mat& queries, int i, cv::Mat& indices, cv::Mat& dists) {
    lane.query = queries.ptr<float>(i);
    lane.indices = indices.ptr<int>(i);
    lane.dists = dists.ptr<float>(i);
    std::fill(lane.checked.begin(), lane.checked.end(), 0);
    lane.heap.clear();
    lane.best.clear();
    lane.worst = std::numeric_limits<float>::max();
    lane.check_count = 0;
    lane.tree = 0;
    descend_from(lane, forest_.roots_[0], 0.0f);
  }

  void descend_from(Lane& lane, std::int32_t node, float bound) {
    lane.node = node;
    lane.bound = bound;
    lane.step = Step::node;
    fetch_node(node);
  }

  // One step of FLANN's searchLevel: a split (the branch not taken kept on the heap with its bound, the
  // nearer child next) or a leaf (its row fetched, its distance at the next step).
  void advance(Lane& lane) {
    if (lane.step == Step::leaf) {
      const std::int32_t row = forest_.nodes_[static_cast<std::size_t>(lane.node)].feature;
      add(lane, squared_l2(data_.ptr<float>(row), lane.query, forest_.cols_), row);
      next_descent(lane);
      return;
    }
    if (lane.worst < lane.bound) {
      next_descent(lane);
      return;
    }
    const Node& n = forest_.nodes_[static_cast<std::size_t>(lane.node)];
    if (n.second < 0) {
      auto& word = lane.checked[static_cast<std::size_t>(n.feature) / 64];
      const std::uint64_t bit = std::uint64_t{1} << (static_cast<unsigned>(n.feature) % 64);
      if ((word & bit) != 0 || (lane.check_count >= checks_ && full(lane))) {
        next_descent(lane);
        return;
      }
      word |= bit;
      ++lane.check_count;
      lane.step = Step::leaf;
      fetch_row(n.feature);
      return;
    }
    const float value = lane.query[n.feature];
    const float diff = value - n.split;
    const std::int32_t first = lane.node + 1;
    const std::int32_t nearer = diff < 0 ? first : n.second;
    const std::int32_t farther = diff < 0 ? n.second : first;
    const float farther_bound = lane.bound + (value - n.split) * (value - n.split);
    if (farther_bound < lane.worst || !full(lane)) push(lane, farther, farther_bound);
    lane.node = nearer;
    fetch_node(nearer);
  }

  // The descents of getNeighbors: from each tree's root in turn (stopping early once enough leaves were
  // checked and the neighbours are full), then from the heap's nearest branch while either is not so.
  void next_descent(Lane& lane) {
    const int trees = static_cast<int>(forest_.roots_.size());
    if (lane.tree < trees) {
      ++lane.tree;
      if (lane.check_count >= checks_ && full(lane)) lane.tree = trees;
      if (lane.tree < trees) {
        descend_from(lane, forest_.roots_[static_cast<std::size_t>(lane.tree)], 0.0f);
        return;
      }
    }
    Branch branch{};
    if (pop_min(lane, branch) && (lane.check_count < checks_ || !full(lane))) {
      descend_from(lane, branch.node, branch.bound);
      return;
    }
    lane.step = Step::done;
  }

  void finish(const Lane& lane) const {
    for (int j = 0; j < k_; ++j) {
      const bool have = j < static_cast<int>(lane.best.size());
      lane.indices[j] = have ? lane.best[static_cast<std::size_t>(j)].row : -1;
      lane.dists[j] = have ? lane.best[static_cast<std::size_t>(j)].dist : std::numeric_limits<float>::max();
    }
  }

  // FLANN's heap compares by bound only, through std::push_heap / std::pop_heap: the same calls here give the
  // same order among equal bounds. It holds at most as many branches as there are rows, as FLANN's does.
  struct Later {
    bool operator()(const Branch& x, const Branch& y) const { return y.bound < x.bound; }
  };
  void push(Lane& lane, std::int32_t node, float bound) const {
    if (lane.heap.size() >= static_cast<std::size_t>(forest_.rows_)) return;
    lane.heap.push_back({node, bound});
    std::push_heap(lane.heap.begin(), lane.heap.end(), Later{});
  }
  static bool pop_min(Lane& lane, Branch& branch) {
    if (lane.heap.empty()) return false;
    branch = lane.heap.front();
    std::pop_heap(lane.heap.begin(), lane.heap.end(), Later{});
    lane.heap.pop_back();
    return true;
  }

  bool full(const Lane& lane) const { return static_cast<int>(lane.best.size()) == k_; }
  void add(Lane& lane, float dist, std::int32_t row) const {
    if (dist >= lane.worst) return;
    const Neighbour n{dist, row};
    const auto at = std::lower_bound(lane.best.begin(), lane.best.end(), n);
    if (at != lane.best.end() && !(n < *at)) return;  // already held
    lane.best.insert(at, n);
    if (static_cast<int>(lane.best.size()) > k_) lane.best.pop_back();
    if (full(lane)) lane.worst = lane.best.back().dist;
  }

  const KdForest& forest_;
  const cv::Mat& data_;
  const int k_, checks_;
  const std::size_t words_;
};

void KdForest::knn(const cv::Mat& data, const cv::Mat& queries, int k, int checks, cv::Mat& indices, cv::Mat& dists) const {
  CV_Assert(data.type() == CV_32F && data.rows == rows_ && data.cols == cols_);
  CV_Assert(queries.type() == CV_32F && queries.cols == cols_ && k > 0 && k <= rows_ && checks > 0);
  indices.create(queries.rows, k, CV_32S);
  dists.create(queries.rows, k, CV_32F);
  Search(*this, data, k, checks).run(queries, indices, dists);
}

}  // namespace cluetrace::logo
