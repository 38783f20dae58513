#include "pipeline/case/scenes.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <mutex>

#include <unistd.h>

#include <fmt/format.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_sort.h>
#include <opencv2/calib3d.hpp>
#include <opencv2/features2d.hpp>
#include <opencv2/flann.hpp>
#include <opencv2/img_hash.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/case/binary_io.hpp"
#include "pipeline/case/spill.hpp"
#include "pipeline/imaging.hpp"

namespace cluetrace {
namespace {

constexpr char kMagic[8] = {'C', 'T', 'S', 'C', 'E', 'N', 'E', '1'};
constexpr int kDescriptorBytes = 32;
constexpr float kRatio = 0.8f;
constexpr double kReprojection = 5.0;  // pixels in the signature frame
constexpr int kFastThreshold = 8;      // ORB's default is 20
// The index of large cases: LSH over the binary descriptors.
constexpr unsigned kLshTables = 4, kLshKeyBits = 20;
constexpr int kLshNeighbours = 4;
constexpr int kLshMaxDistance = 48;  // of 256 bits: farther neighbours do not vote

using binary_io::put;
using binary_io::take;

// The bits in which two ORB descriptors differ. Built twice, for processors with and without a popcount
// instruction (chosen when the program loads): Debian's baseline x86-64 has none, and without it each count is
// a library call.
using Descriptor = std::array<std::uint64_t, kDescriptorBytes / 8>;
static_assert(sizeof(Descriptor) == kDescriptorBytes);

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("popcnt", "default")))
#endif
void nearest_two(const Descriptor& query, const Descriptor* train, std::size_t count, int& best, int& best_distance,
                 int& second_distance) {
  best = -1;
  best_distance = second_distance = std::numeric_limits<int>::max();
  for (std::size_t j = 0; j < count; ++j) {
    int d = 0;
    for (std::size_t w = 0; w < query.size(); ++w) d += std::popcount(query[w] ^ train[j][w]);
    if (d < best_distance) {
      second_distance = best_distance;
      best_distance = d;
      best = static_cast<int>(j);
    } else if (d < second_distance) {
      second_distance = d;
    }
  }
}

std::vector<Descriptor> descriptor_words(const cv::Mat& descriptors) {
  std::vector<Descriptor> out(static_cast<std::size_t>(descriptors.rows));
  for (int r = 0; r < descriptors.rows; ++r) std::memcpy(out[static_cast<std::size_t>(r)].data(), descriptors.ptr<unsigned char>(r), kDescriptorBytes);
  return out;
}

// Ratio-test matches from a to b (query a, train b): each feature of a whose nearest feature of b (Hamming
// distance) is clearly nearer than the second nearest. The matches cv::BFMatcher's knnMatch(k = 2) gives with
// the same test, at a fraction of its cost: it called OpenCV's distance function once per pair of features,
// 360,000 calls per pair of pictures, 60 % of a case's scene matching. (Ties for the nearest never pass the test, so
// which of them is "nearest" does not matter.)
std::vector<cv::DMatch> good_matches(const SceneSignature& a, const SceneSignature& b) {
  std::vector<cv::DMatch> good;
  if (a.descriptors.rows < 2 || b.descriptors.rows < 2) return good;
  if (a.descriptors.cols != kDescriptorBytes || b.descriptors.cols != kDescriptorBytes || a.descriptors.type() != CV_8U ||
      b.descriptors.type() != CV_8U) {
    throw std::invalid_argument(fmt::format("scene signatures hold {}-byte descriptors, not ORB's {}",
                                            a.descriptors.cols != kDescriptorBytes ? a.descriptors.cols : b.descriptors.cols, kDescriptorBytes));
  }
  const auto query = descriptor_words(a.descriptors), train = descriptor_words(b.descriptors);
  for (std::size_t i = 0; i < query.size(); ++i) {
    int best = -1, d0 = 0, d1 = 0;
    nearest_two(query[i], train.data(), train.size(), best, d0, d1);
    if (static_cast<float>(d0) < kRatio * static_cast<float>(d1)) {
      good.emplace_back(static_cast<int>(i), best, static_cast<float>(d0));
    }
  }
  return good;
}

}  // namespace

SceneSignature scene_signature(const cv::Mat& bgr, const std::vector<Box>& masked, int features, const cv::Mat& grey_image) {
  SceneSignature s;
  if (bgr.empty()) return s;
  cv::Mat hash;
  cv::img_hash::PHash::create()->compute(bgr, hash);  // from the colours: PHash shrinks before it converts to grey
  if (hash.total() == 8) std::memcpy(&s.phash, hash.data, 8);

  // Every picture at one size, small ones enlarged: features then describe the same detail at the same scale.
  const double scale = static_cast<double>(kSceneSide) / std::max(bgr.cols, bgr.rows);
  cv::Mat grey = grey_image;
  if (grey.empty()) cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  grey = scaled(grey, scale);
  s.width = grey.cols;
  s.height = grey.rows;
  cv::Mat mask(grey.size(), CV_8U, cv::Scalar(255));
  for (const auto& box : masked) {
    // A little beyond the box: features on the object's edge belong to the object.
    const double grow = 0.1 * std::max(box.width, box.height);
    cv::Rect r(cv::Point(static_cast<int>((box.x - grow) * scale), static_cast<int>((box.y - grow) * scale)),
               cv::Point(static_cast<int>((box.x + box.width + grow) * scale) + 1,
                         static_cast<int>((box.y + box.height + grow) * scale) + 1));
    r &= cv::Rect(0, 0, mask.cols, mask.rows);
    if (r.area() > 0) mask(r).setTo(0);
  }
  // A low FAST threshold: walls, floors and furniture are low-contrast, and after the clues are masked
  // they are all there is.
  auto orb = cv::ORB::create(features, 1.2f, 8, 31, 0, 2, cv::ORB::HARRIS_SCORE, 31, kFastThreshold);
  std::vector<cv::KeyPoint> keypoints;
  orb->detectAndCompute(grey, mask, keypoints, s.descriptors);
  for (const auto& k : keypoints) s.points.push_back(k.pt);
  return s;
}

std::string encode_signature(const SceneSignature& s) {
  std::string out(kMagic, sizeof(kMagic));
  put(out, static_cast<std::int32_t>(s.width));
  put(out, static_cast<std::int32_t>(s.height));
  put(out, s.phash);
  const auto n = static_cast<std::uint32_t>(s.points.size());
  put(out, n);
  for (const auto& p : s.points) {
    put(out, p.x);
    put(out, p.y);
  }
  if (n > 0) out.append(reinterpret_cast<const char*>(s.descriptors.data), std::size_t{n} * kDescriptorBytes);
  return out;
}

std::optional<SceneSignature> decode_signature(std::string_view in) {
  if (in.size() < sizeof(kMagic) || std::memcmp(in.data(), kMagic, sizeof(kMagic)) != 0) return std::nullopt;
  in.remove_prefix(sizeof(kMagic));
  SceneSignature s;
  std::int32_t w = 0, h = 0;
  std::uint32_t n = 0;
  if (!take(in, w) || !take(in, h) || !take(in, s.phash) || !take(in, n)) return std::nullopt;
  if (in.size() != std::size_t{n} * (2 * sizeof(float) + kDescriptorBytes)) return std::nullopt;
  s.width = w;
  s.height = h;
  if (w <= 0 || h <= 0 || w > 4 * kSceneSide || h > 4 * kSceneSide) return std::nullopt;
  s.points.resize(n);
  for (auto& p : s.points) {
    take(in, p.x);
    take(in, p.y);
    if (!std::isfinite(p.x) || !std::isfinite(p.y) || p.x < 0 || p.y < 0 || p.x > static_cast<float>(w) || p.y > static_cast<float>(h)) {
      return std::nullopt;
    }
  }
  s.descriptors = cv::Mat(static_cast<int>(n), kDescriptorBytes, CV_8U);
  if (n > 0) std::memcpy(s.descriptors.data, in.data(), std::size_t{n} * kDescriptorBytes);
  return s;
}

int hash_distance(std::uint64_t a, std::uint64_t b) { return std::popcount(a ^ b); }

namespace {

// How many distinct places (cells of 4 x 4 pixels of the second signature's frame) the matches flagged in
// `keep` land on; all of them when `keep` is empty. Many matches onto one spot are a repeated texture, not a scene.
int distinct_places(const std::vector<cv::Point2f>& to, const cv::Mat& keep) {
  std::vector<std::pair<int, int>> seen;
  for (std::size_t i = 0; i < to.size(); ++i) {
    if (!keep.empty() && !keep.at<uchar>(static_cast<int>(i))) continue;
    seen.emplace_back(static_cast<int>(to[i].x / 4), static_cast<int>(to[i].y / 4));
  }
  std::sort(seen.begin(), seen.end());
  return static_cast<int>(std::unique(seen.begin(), seen.end()) - seen.begin());
}

}  // namespace

int verify_scene_pair(const SceneSignature& a, const SceneSignature& b, int min_matches) {
  const auto matches = good_matches(a, b);
  // Fewer matches than the inliers asked for cannot pass: skip the RANSAC.
  if (matches.size() < static_cast<std::size_t>(std::max(8, min_matches))) return 0;
  std::vector<cv::Point2f> from, to;
  for (const auto& m : matches) {
    from.push_back(a.points[static_cast<std::size_t>(m.queryIdx)]);
    to.push_back(b.points[static_cast<std::size_t>(m.trainIdx)]);
  }
  // Nor can matches that land on fewer distinct places than that: the inliers are some of them. (A RANSAC that
  // finds no homography runs all its 2,000 rounds.)
  if (distinct_places(to, cv::Mat()) < min_matches) return 0;
  cv::Mat inlier_mask;
  const cv::Mat h = cv::findHomography(from, to, cv::RANSAC, kReprojection, inlier_mask, 2000, 0.995);
  if (h.empty()) return 0;
  return distinct_places(to, inlier_mask);
}

namespace {

constexpr int kSampledFeatures = 64;    // features per picture whose LSH keys find candidates in large cases
constexpr std::size_t kBucketCap = 48;  // a key shared by more pictures is a common texture: it votes for nothing
constexpr int kMinKeyVotes = 3;         // collisions that make a pair a candidate
constexpr std::size_t kHashProbeCap = 256;

// The LSH key of a binary descriptor in table t: `bits` bits at fixed, spread positions (61 is prime to 256:
// every position differs).
std::uint32_t lsh_key(const unsigned char* descriptor, unsigned table, unsigned bits = kLshKeyBits) {
  std::uint32_t key = 0;
  for (unsigned bit = 0; bit < bits; ++bit) {
    const unsigned position = (table * 97u + bit * 61u + 13u) % 256u;
    key = (key << 1) | ((descriptor[position / 8] >> (position % 8)) & 1u);
  }
  return key;
}

// The features of each picture whose LSH key, in any table, is shared by more than kBucketCap pictures: a
// common texture, or the same frame stored thousands of times. In the index they would put the whole case in one
// bucket and make every search scan it (a case of near-identical frames went quadratic); they vote for nothing,
// and near-identical pictures still meet by their hash.
std::vector<std::set<int>> common_features(const std::vector<SceneSignature>& signatures) {
  struct Entry {
    std::uint32_t key, picture;
    int row;
  };
  std::vector<Entry> entries;
  for (std::size_t i = 0; i < signatures.size(); ++i) {
    const auto& d = signatures[i].descriptors;
    for (int r = 0; r < d.rows; ++r)
      for (unsigned t = 0; t < kLshTables; ++t)
        entries.push_back({(t << kLshKeyBits) | lsh_key(d.ptr<unsigned char>(r), t), static_cast<std::uint32_t>(i), r});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return std::tie(a.key, a.picture) < std::tie(b.key, b.picture); });
  std::vector<std::set<int>> common(signatures.size());
  for (std::size_t start = 0; start < entries.size();) {
    std::size_t end = start, pictures = 0;
    for (; end < entries.size() && entries[end].key == entries[start].key; ++end) {
      if (end == start || entries[end].picture != entries[end - 1].picture) ++pictures;
    }
    if (pictures > kBucketCap) {
      for (std::size_t e = start; e < end; ++e) common[entries[e].picture].insert(entries[e].row);
    }
    start = end;
  }
  return common;
}

// The kLshNeighbours nearest of every row of `queries`, a block of rows per task: each row's search is its own
// (the index is only read), so the result is what one search over all rows gives, on every core instead of one.
std::pair<cv::Mat, cv::Mat> search_in_blocks(cv::flann::Index& index, const cv::Mat& queries) {
  constexpr int kBlock = 2048;
  cv::Mat indices(queries.rows, kLshNeighbours, CV_32S), distances(queries.rows, kLshNeighbours, CV_32S);
  oneapi::tbb::parallel_for(0, (queries.rows + kBlock - 1) / kBlock, [&](int block) {
    const cv::Range rows(block * kBlock, std::min(queries.rows, (block + 1) * kBlock));
    cv::Mat found, distance;
    index.knnSearch(queries.rowRange(rows), found, distance, kLshNeighbours, cv::flann::SearchParams(32));
    found.copyTo(indices.rowRange(rows));
    distance.copyTo(distances.rowRange(rows));
  });
  return {indices, distances};
}

}  // namespace

std::vector<SceneMatch> match_scenes(const std::vector<SceneSignature>& signatures, const SceneMatchOptions& options,
                                     std::size_t* verified_pairs) {
  const std::size_t n = signatures.size();
  std::vector<std::pair<std::size_t, std::size_t>> candidates;
  if (n < options.exhaustive_below) {
    for (std::size_t a = 0; a < n; ++a)
      for (std::size_t b = a + 1; b < n; ++b) candidates.emplace_back(a, b);
  } else {
    // One LSH index over every distinctive background feature; each image votes for the images its features
    // land in.
    const auto common = common_features(signatures);
    cv::Mat all;
    std::vector<std::size_t> owner;
    for (std::size_t i = 0; i < n; ++i) {
      for (int r = 0; r < signatures[i].descriptors.rows; ++r) {
        if (common[i].count(r)) continue;
        all.push_back(signatures[i].descriptors.row(r));
        owner.push_back(i);
      }
    }
    if (!all.empty()) {
      cv::flann::Index index(all, cv::flann::LshIndexParams(kLshTables, kLshKeyBits, 1), cvflann::FLANN_DIST_HAMMING);
      const auto [indices, distances] = search_in_blocks(index, all);
      // votes[from][to]: features of `from` whose near neighbours lie in `to`.
      std::vector<std::map<std::size_t, int>> votes(n);
      for (int q = 0; q < indices.rows; ++q) {
        const std::size_t from = owner[static_cast<std::size_t>(q)];
        std::size_t last = n;
        for (int k = 0; k < indices.cols; ++k) {
          const int t = indices.at<int>(q, k);
          if (t < 0 || distances.at<int>(q, k) > kLshMaxDistance) continue;
          const std::size_t to = owner[static_cast<std::size_t>(t)];
          if (to != from && to != last) ++votes[from][to];  // one vote per feature and picture
          last = to;
        }
      }
      // Each picture's best-supported few: verification stays linear in the size of the case.
      for (std::size_t from = 0; from < n; ++from) {
        std::vector<std::pair<int, std::size_t>> ranked;
        for (const auto& [to, count] : votes[from]) {
          if (count >= options.min_inliers / 2) ranked.emplace_back(count, to);
        }
        std::sort(ranked.rbegin(), ranked.rend());
        if (ranked.size() > options.candidates_per_image) ranked.resize(options.candidates_per_image);
        for (const auto& [count, to] : ranked) candidates.emplace_back(std::min(from, to), std::max(from, to));
      }
    }
    // Near-identical pictures are candidates whatever their features say: for each picture its closest few
    // by hash (bounded, so thousands of near-blank frames do not make the verification quadratic).
    for (std::size_t a = 0; a < n; ++a) {
      std::vector<std::pair<int, std::size_t>> close;
      for (std::size_t b = 0; b < n; ++b) {
        const int d = hash_distance(signatures[a].phash, signatures[b].phash);
        if (b != a && d <= options.max_hash_distance) close.emplace_back(d, b);
      }
      std::sort(close.begin(), close.end());
      if (close.size() > options.candidates_per_image) close.resize(options.candidates_per_image);
      for (const auto& [d, b] : close) candidates.emplace_back(std::min(a, b), std::max(a, b));
    }
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  }

  if (verified_pairs) *verified_pairs = candidates.size();
  std::vector<SceneMatch> found;
  std::mutex found_mutex;
  oneapi::tbb::parallel_for(std::size_t{0}, candidates.size(), [&](std::size_t i) {
    const auto [a, b] = candidates[i];
    SceneMatch m{a, b, 0, hash_distance(signatures[a].phash, signatures[b].phash)};
    if (signatures[a].width > 0 && signatures[b].width > 0) {
      try {
        m.inliers = verify_scene_pair(signatures[a], signatures[b], options.min_inliers);
      } catch (const cv::Exception&) {
        m.inliers = 0;  // a degenerate set of points (all on a line): no homography, no match
      }
    }
    if (m.inliers >= options.min_inliers) {
      const std::lock_guard lock(found_mutex);
      found.push_back(m);
    }
  });
  std::sort(found.begin(), found.end(), [](const SceneMatch& x, const SceneMatch& y) {
    return std::tie(x.a, x.b) < std::tie(y.a, y.b);
  });
  return found;
}

namespace {

struct Sketch {
  std::uint64_t phash = 0;
  bool usable = false;
};

// The key width of a large case: kLshKeyBits up to 100,000 pictures, a bit more each time the case doubles
// beyond, so that a bucket of a table holds about as many pictures by chance (6 at 100,000) at any size, under
// kBucketCap. The picture's number takes the low 32 bits of an entry, the table and key the high 32.
unsigned key_bits_for(std::size_t pictures) {
  unsigned bits = kLshKeyBits;
  for (std::size_t n = 100000; n < pictures && bits < 30; n *= 2) ++bits;
  return bits;
}

// How many partitions keep `records` of 8 bytes within `budget` bytes each (at least one).
std::size_t partitions_for(std::uint64_t records, std::size_t budget) {
  return static_cast<std::size_t>(std::max<std::uint64_t>(1, (records * sizeof(std::uint64_t) + budget - 1) / budget));
}

// The entries' buckets that vote, in a sorted partition: [start, end) runs sharing a key, of 2 to kBucketCap
// pictures.
template <typename Visit>
void for_each_bucket(const std::vector<std::uint64_t>& entries, const Visit& visit) {
  for (std::size_t start = 0; start < entries.size();) {
    std::size_t end = start;
    while (end < entries.size() && (entries[end] >> 32) == (entries[start] >> 32)) ++end;
    if (end - start >= 2 && end - start <= kBucketCap) visit(start, end);
    start = end;
  }
}

// The `keep` best (votes << 32 | other picture) of each picture, largest first: what sorting all of a
// picture's voted pairs and keeping the first `keep` gives, in a fixed n x keep table.
class BestPairs {
 public:
  BestPairs(std::size_t pictures, std::size_t keep) : keep_(keep), size_(pictures), best_(pictures * keep) {}
  void offer(std::size_t picture, std::uint64_t ranked) {
    if (keep_ == 0) return;
    auto* row = &best_[picture * keep_];
    auto& n = size_[picture];
    if (n == keep_ && ranked <= row[n - 1]) return;
    std::size_t i = n < keep_ ? n++ : n - 1;
    while (i > 0 && row[i - 1] < ranked) {
      row[i] = row[i - 1];
      --i;
    }
    row[i] = ranked;
  }
  template <typename Visit>
  void for_each(const Visit& visit) const {
    for (std::size_t a = 0; a < size_.size(); ++a)
      for (std::size_t k = 0; k < size_[a]; ++k) visit(a, static_cast<std::size_t>(best_[a * keep_ + k] & 0xffffffffu));
  }

 private:
  std::size_t keep_;
  std::vector<std::uint32_t> size_;
  std::vector<std::uint64_t> best_;
};

// Pairs of pictures whose features land in the same LSH buckets at least kMinKeyVotes times, at most
// `per_image` for each picture (its best-supported). `keys` holds the entries, (key << 32) | picture, in
// partitions by key: each partition is sorted on its own and put back (every bucket lies in one), its votes
// counted; then the votes (a << 32) | b, a < b, one per shared key (mostly chance collisions: tens of millions
// in a case of 100,000), go to as many partitions by `a` as keep each within `budget` bytes, and each is sorted
// and counted on its own.
std::vector<std::pair<std::size_t, std::size_t>> key_candidates(SpillPartitions& keys, std::size_t pictures,
                                                                std::size_t per_image, std::size_t budget,
                                                                const std::filesystem::path& spill) {
  std::uint64_t total_votes = 0;
  for (std::size_t p = 0; p < keys.parts(); ++p) {
    auto entries = keys.take(p);
    oneapi::tbb::parallel_sort(entries.begin(), entries.end());
    entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
    for_each_bucket(entries, [&](std::size_t start, std::size_t end) { total_votes += (end - start) * (end - start - 1) / 2; });
    keys.put_back(p, std::move(entries));
  }
  const std::size_t vote_parts = partitions_for(total_votes, budget);
  SpillPartitions votes(vote_parts > 1 ? spill / "votes" : std::filesystem::path(), vote_parts);
  for (std::size_t p = 0; p < keys.parts(); ++p) {
    const auto entries = keys.take(p);
    for_each_bucket(entries, [&](std::size_t start, std::size_t end) {
      for (std::size_t x = start; x < end; ++x) {
        const std::uint64_t a = entries[x] & 0xffffffffu;
        for (std::size_t y = x + 1; y < end; ++y) votes.add(a % vote_parts, (a << 32) | (entries[y] & 0xffffffffu));
      }
    });
  }
  BestPairs best(pictures, per_image);
  for (std::size_t q = 0; q < vote_parts; ++q) {
    auto part = votes.take(q);
    oneapi::tbb::parallel_sort(part.begin(), part.end());
    for (std::size_t start = 0; start < part.size();) {
      std::size_t end = start;
      while (end < part.size() && part[end] == part[start]) ++end;
      const std::uint64_t count = end - start;
      if (count >= kMinKeyVotes) {
        const std::uint64_t a = part[start] >> 32, b = part[start] & 0xffffffffu;
        best.offer(a, (count << 32) | b);
        best.offer(b, (count << 32) | a);
      }
      start = end;
    }
  }
  std::vector<std::pair<std::size_t, std::size_t>> out;
  best.for_each([&](std::size_t a, std::size_t b) { out.emplace_back(std::min(a, b), std::max(a, b)); });
  return out;
}

// A folder of its own for one matcher's partition files, under options.spill_folder or the temporary folder.
std::filesystem::path spill_folder(const SceneMatchOptions& options) {
  static std::atomic<unsigned> serial{0};
  const auto parent = options.spill_folder.empty() ? std::filesystem::temp_directory_path() : options.spill_folder;
  return parent / fmt::format(".cluetrace-scene-keys.{}.{}", ::getpid(), serial++);
}

// Pairs whose perceptual hashes are within max_distance: a close pair agrees exactly on at least one of the
// four 16-bit quarters up to one bit (pigeonhole, for distances up to 7), so sorted quarters find them.
std::vector<std::pair<std::size_t, std::size_t>> hash_candidates(const std::vector<Sketch>& sketches, int max_distance,
                                                                  std::size_t per_image) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  if (max_distance > 7) max_distance = 7;
  std::vector<std::vector<std::pair<std::uint16_t, std::uint32_t>>> quarters(4);
  for (std::size_t i = 0; i < sketches.size(); ++i) {
    if (!sketches[i].usable) continue;
    for (int q = 0; q < 4; ++q) quarters[q].emplace_back(static_cast<std::uint16_t>(sketches[i].phash >> (16 * q)), static_cast<std::uint32_t>(i));
  }
  for (auto& table : quarters) std::sort(table.begin(), table.end());
  for (std::size_t a = 0; a < sketches.size(); ++a) {
    if (!sketches[a].usable) continue;
    std::vector<std::pair<int, std::size_t>> close;
    std::set<std::size_t> seen;
    for (int q = 0; q < 4; ++q) {
      const auto mine = static_cast<std::uint16_t>(sketches[a].phash >> (16 * q));
      for (int flip = -1; flip < 16; ++flip) {
        const auto probe = static_cast<std::uint16_t>(flip < 0 ? mine : mine ^ (1u << flip));
        auto it = std::lower_bound(quarters[q].begin(), quarters[q].end(), std::pair<std::uint16_t, std::uint32_t>{probe, 0});
        for (std::size_t k = 0; it != quarters[q].end() && it->first == probe && k < kHashProbeCap; ++it, ++k) {
          const std::size_t b = it->second;
          if (b == a || !seen.insert(b).second) continue;
          const int d = hash_distance(sketches[a].phash, sketches[b].phash);
          if (d <= max_distance) close.emplace_back(d, b);
        }
      }
    }
    std::sort(close.begin(), close.end());
    if (close.size() > per_image) close.resize(per_image);
    for (const auto& [d, b] : close) out.emplace_back(std::min(a, b), std::max(a, b));
  }
  return out;
}

}  // namespace

std::vector<SceneMatch> match_scenes_from(const SignatureLoader& load, std::size_t n, const SceneMatchOptions& options,
                                          std::size_t* verified_pairs) {
  if (n <= kScenesInMemory) {
    std::vector<SceneSignature> signatures(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (auto s = load(i)) signatures[i] = std::move(*s);
    }
    return match_scenes(signatures, options, verified_pairs);
  }
  // Pass 1: a sketch per picture (its hash) and the LSH keys of its first features, into partitions by key
  // (files when they would not fit in a quarter of the budget). Pictures are read in parallel, a block at a time.
  const unsigned bits = key_bits_for(n);
  const std::size_t budget = std::max<std::size_t>(options.memory_budget / 4, 1 << 16);
  const std::uint64_t most_entries = std::uint64_t{n} * kSampledFeatures * kLshTables;
  const std::size_t key_parts = partitions_for(most_entries, budget);
  const auto spill = spill_folder(options);  // made only if something is written there
  std::vector<Sketch> sketches(n);
  std::vector<std::pair<std::size_t, std::size_t>> candidates;
  {
    SpillPartitions keys(key_parts > 1 ? spill / "keys" : std::filesystem::path(), key_parts);
    std::mutex keys_mutex;
    constexpr std::size_t kBlock = 256;
    oneapi::tbb::parallel_for(std::size_t{0}, (n + kBlock - 1) / kBlock, [&](std::size_t block) {
      std::vector<std::uint64_t> entries;
      for (std::size_t i = block * kBlock; i < std::min(n, (block + 1) * kBlock); ++i) {
        const auto signature = load(i);
        if (!signature || signature->width <= 0) continue;
        sketches[i] = {signature->phash, true};
        const int rows = std::min(kSampledFeatures, signature->descriptors.rows);
        for (int r = 0; r < rows; ++r) {
          for (unsigned t = 0; t < kLshTables; ++t) {
            const std::uint64_t key = (std::uint64_t{t} << bits) | lsh_key(signature->descriptors.ptr<unsigned char>(r), t, bits);
            entries.push_back((key << 32) | i);
          }
        }
      }
      const std::lock_guard lock(keys_mutex);
      for (const auto e : entries) keys.add((e >> 32) % key_parts, e);
    });
    // Pass 2: candidates.
    candidates = key_candidates(keys, n, options.candidates_per_image, budget, spill);
  }
  std::error_code ignored;
  std::filesystem::remove_all(spill, ignored);
  const auto close = hash_candidates(sketches, options.max_hash_distance, options.candidates_per_image);
  candidates.insert(candidates.end(), close.begin(), close.end());
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  if (verified_pairs) *verified_pairs = candidates.size();
  // Pass 3: verify, each worker reading the signatures it needs (pairs sorted by a: a is read once per run of it).
  std::vector<SceneMatch> found;
  std::mutex found_mutex;
  constexpr std::size_t kChunk = 256;
  oneapi::tbb::parallel_for(std::size_t{0}, (candidates.size() + kChunk - 1) / kChunk, [&](std::size_t chunk) {
    std::optional<SceneSignature> a_signature;
    std::size_t a_index = n;
    for (std::size_t i = chunk * kChunk; i < std::min(candidates.size(), (chunk + 1) * kChunk); ++i) {
      const auto [a, b] = candidates[i];
      if (a != a_index) {
        a_signature = load(a);
        a_index = a;
      }
      const auto b_signature = load(b);
      if (!a_signature || !b_signature || a_signature->width <= 0 || b_signature->width <= 0) continue;
      SceneMatch m{a, b, 0, hash_distance(a_signature->phash, b_signature->phash)};
      try {
        m.inliers = verify_scene_pair(*a_signature, *b_signature, options.min_inliers);
      } catch (const cv::Exception&) {
        m.inliers = 0;
      }
      if (m.inliers >= options.min_inliers) {
        const std::lock_guard lock(found_mutex);
        found.push_back(m);
      }
    }
  });
  std::sort(found.begin(), found.end(), [](const SceneMatch& x, const SceneMatch& y) { return std::tie(x.a, x.b) < std::tie(y.a, y.b); });
  return found;
}

}  // namespace cluetrace
