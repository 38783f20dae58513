#include "pipeline/case/objects.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <opencv2/calib3d.hpp>
#include <opencv2/features2d.hpp>
#include <opencv2/imgproc.hpp>
#include <oneapi/tbb/parallel_for.h>

#include "pipeline/case/artefacts.hpp"
#include "pipeline/case/binary_io.hpp"
#include "pipeline/models.hpp"
#include "pipeline/report_store.hpp"

namespace fs = std::filesystem;

namespace cluetrace {
namespace {

constexpr char kMagic[8] = {'C', 'T', 'O', 'B', 'J', '0', '0', '2'};
constexpr char kIndexMagic[8] = {'C', 'T', 'O', 'W', 'R', 'D', '0', '1'};
constexpr char kVocabularyMagic[8] = {'C', 'T', 'V', 'O', 'C', '0', '0', '1'};
constexpr int kGrid = 8;  // cells per side over which the features are spread


cv::Mat grey_of(const cv::Mat& image) {
  if (image.channels() == 1) return image;
  cv::Mat grey;
  cv::cvtColor(image, grey, image.channels() == 4 ? cv::COLOR_BGRA2GRAY : cv::COLOR_BGR2GRAY);
  return grey;
}

// The strongest keypoints of each grid cell in turn, so a wall of text does not take every feature.
std::vector<cv::KeyPoint> spread(std::vector<cv::KeyPoint> points, cv::Size frame, int wanted) {
  if (static_cast<int>(points.size()) <= wanted) return points;
  std::vector<std::vector<cv::KeyPoint>> cells(kGrid * kGrid);
  for (const auto& p : points) {
    const int cx = std::clamp(static_cast<int>(p.pt.x * kGrid / static_cast<float>(std::max(1, frame.width))), 0, kGrid - 1);
    const int cy = std::clamp(static_cast<int>(p.pt.y * kGrid / static_cast<float>(std::max(1, frame.height))), 0, kGrid - 1);
    cells[cy * kGrid + cx].push_back(p);
  }
  for (auto& c : cells) std::sort(c.begin(), c.end(), [](const auto& a, const auto& b) { return a.response > b.response; });
  std::vector<cv::KeyPoint> out;
  for (std::size_t round = 0; static_cast<int>(out.size()) < wanted; ++round) {
    bool any = false;
    for (auto& c : cells) {
      if (round < c.size() && static_cast<int>(out.size()) < wanted) {
        out.push_back(c[round]);
        any = true;
      }
    }
    if (!any) break;
  }
  return out;
}

ObjectFeatures detect(const cv::Mat& grey, double scale, int wanted, const cv::Mat& mask) {
  ObjectFeatures f;
  f.width = grey.cols;
  f.height = grey.rows;
  f.scale = scale;
  auto orb = cv::ORB::create(wanted * 3, 1.2f, 8, 19, 0, 2, cv::ORB::HARRIS_SCORE, 19, 12);
  std::vector<cv::KeyPoint> points;
  orb->detect(grey, points, mask);
  points = spread(std::move(points), grey.size(), wanted);
  orb->compute(grey, points, f.descriptors);
  for (const auto& p : points) f.points.push_back(p.pt);
  if (f.descriptors.rows != static_cast<int>(f.points.size())) f.descriptors = cv::Mat(0, 32, CV_8U);
  if (f.descriptors.empty()) f.points.clear();
  return f;
}

// The frame features are taken in: at most `side` pixels a side, and a small picture enlarged to kObjectMinSide
// (a product in a 350-pixel photo holds too few corners at its own size: on the GroceryStore photos enlarging
// them found 3.7 times more of the product's photos, bench/RESULTS.md).
double frame_scale(cv::Size size, int side) {
  const int longest = std::max(size.width, size.height);
  if (longest < kObjectMinSide) return static_cast<double>(kObjectMinSide) / std::max(1, longest);
  return longest > side ? static_cast<double>(side) / longest : 1.0;
}

cv::Mat scaled(const cv::Mat& grey, double scale) {
  if (scale == 1.0) return grey;
  cv::Mat out;
  cv::resize(grey, out, cv::Size(), scale, scale, scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

using binary_io::put;
using binary_io::take;

std::string sha_bytes(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

std::string sha_hex(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

bool plausible(const std::vector<cv::Point2f>& poly, cv::Size frame) {
  if (poly.size() != 4) return false;
  std::vector<cv::Point2f> hull;
  cv::convexHull(poly, hull);
  if (hull.size() != 4) return false;  // folded or degenerate
  const double area = cv::contourArea(poly);
  const double frame_area = static_cast<double>(frame.area());
  if (area < 0.0002 * frame_area || area > 4.0 * frame_area) return false;
  // The sides' lengths may differ by perspective, not by an order of magnitude.
  double shortest = 1e18, longest = 0;
  for (int i = 0; i < 4; ++i) {
    const double len = cv::norm(poly[i] - poly[(i + 1) % 4]);
    shortest = std::min(shortest, len);
    longest = std::max(longest, len);
  }
  return shortest > 0 && longest / shortest < 10.0;
}

inline int hamming(const std::uint8_t* a, const std::uint8_t* b) {
  int d = 0;
  for (int i = 0; i < 32; i += 8) {
    std::uint64_t x, y;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    d += __builtin_popcountll(x ^ y);
  }
  return d;
}

// Built twice, for processors with and without a popcount instruction (as scenes.cpp's nearest_two): without it
// each count in hamming() is a library call (__popcountdi2, 0.5 % of a run's samples).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("popcnt", "default")))
#endif
int nearest_row(const cv::Mat& centroids, const std::uint8_t* d) {
  int best = 0, best_d = 257;
  for (int r = 0; r < centroids.rows; ++r) {
    const int dist = hamming(centroids.ptr<std::uint8_t>(r), d);
    if (dist < best_d) {
      best_d = dist;
      best = r;
    }
  }
  return best;
}

// k-majority: k-means for binary vectors (each centroid bit is the majority of its members' bits).
cv::Mat k_majority(const cv::Mat& data, int k, std::uint64_t seed) {
  k = std::min(k, data.rows);
  cv::Mat centroids(k, 32, CV_8U);
  std::uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (int c = 0; c < k; ++c) data.row(static_cast<int>(next() % static_cast<std::uint64_t>(data.rows))).copyTo(centroids.row(c));
  std::vector<int> owner(static_cast<std::size_t>(data.rows), -1);
  for (int iteration = 0; iteration < 8; ++iteration) {
    bool moved = false;
    for (int r = 0; r < data.rows; ++r) {
      const int c = nearest_row(centroids, data.ptr<std::uint8_t>(r));
      moved = moved || owner[static_cast<std::size_t>(r)] != c;
      owner[static_cast<std::size_t>(r)] = c;
    }
    if (!moved) break;
    std::vector<std::array<int, 256>> ones(static_cast<std::size_t>(k));
    std::vector<int> members(static_cast<std::size_t>(k), 0);
    for (auto& o : ones) o.fill(0);
    for (int r = 0; r < data.rows; ++r) {
      const auto c = static_cast<std::size_t>(owner[static_cast<std::size_t>(r)]);
      ++members[c];
      const std::uint8_t* d = data.ptr<std::uint8_t>(r);
      for (int bit = 0; bit < 256; ++bit) ones[c][static_cast<std::size_t>(bit)] += (d[bit >> 3] >> (bit & 7)) & 1;
    }
    for (int c = 0; c < k; ++c) {
      if (members[static_cast<std::size_t>(c)] == 0) {  // an empty cluster takes a random member elsewhere
        data.row(static_cast<int>(next() % static_cast<std::uint64_t>(data.rows))).copyTo(centroids.row(c));
        continue;
      }
      std::uint8_t* out = centroids.ptr<std::uint8_t>(c);
      std::memset(out, 0, 32);
      for (int bit = 0; bit < 256; ++bit) {
        if (2 * ones[static_cast<std::size_t>(c)][static_cast<std::size_t>(bit)] > members[static_cast<std::size_t>(c)]) {
          out[bit >> 3] = static_cast<std::uint8_t>(out[bit >> 3] | (1u << (bit & 7)));
        }
      }
    }
  }
  return centroids;
}

}  // namespace

Vocabulary Vocabulary::train(const cv::Mat& sample, int branching, std::uint64_t seed) {
  Vocabulary v;
  v.branching_ = branching;
  if (sample.rows == 0) return v;
  v.top_ = k_majority(sample, branching, seed);
  std::vector<cv::Mat> members(static_cast<std::size_t>(v.top_.rows));
  for (int r = 0; r < sample.rows; ++r) members[static_cast<std::size_t>(nearest_row(v.top_, sample.ptr<std::uint8_t>(r)))].push_back(sample.row(r));
  for (std::size_t c = 0; c < members.size(); ++c) {
    v.leaves_.push_back(members[c].empty() ? v.top_.row(static_cast<int>(c)).clone() : k_majority(members[c], branching, seed + c + 1));
  }
  return v;
}

std::vector<std::uint32_t> Vocabulary::words(const cv::Mat& descriptors) const {
  std::vector<std::uint32_t> out;
  if (top_.empty()) return out;
  out.reserve(static_cast<std::size_t>(descriptors.rows));
  for (int r = 0; r < descriptors.rows; ++r) {
    const std::uint8_t* d = descriptors.ptr<std::uint8_t>(r);
    const int top = nearest_row(top_, d);
    const int leaf = nearest_row(leaves_[static_cast<std::size_t>(top)], d);
    out.push_back(static_cast<std::uint32_t>(top * branching_ + leaf));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string Vocabulary::encode() const {
  std::string out;
  put(out, static_cast<std::int32_t>(branching_));
  put(out, static_cast<std::int32_t>(top_.rows));
  out.append(reinterpret_cast<const char*>(top_.data), static_cast<std::size_t>(top_.rows) * 32);
  for (const auto& leaf : leaves_) {
    put(out, static_cast<std::int32_t>(leaf.rows));
    out.append(reinterpret_cast<const char*>(leaf.data), static_cast<std::size_t>(leaf.rows) * 32);
  }
  return out;
}

std::optional<Vocabulary> Vocabulary::decode(std::string_view in) {
  Vocabulary v;
  std::int32_t branching = 0, rows = 0;
  if (!take(in, branching) || !take(in, rows) || branching < 1 || branching > 4096 || rows < 0 || rows > branching) return std::nullopt;
  auto matrix = [&](std::int32_t n) -> std::optional<cv::Mat> {
    if (in.size() < static_cast<std::size_t>(n) * 32) return std::nullopt;
    cv::Mat m(n, 32, CV_8U);
    if (n) std::memcpy(m.data, in.data(), static_cast<std::size_t>(n) * 32);
    in.remove_prefix(static_cast<std::size_t>(n) * 32);
    return m;
  };
  v.branching_ = branching;
  auto top = matrix(rows);
  if (!top) return std::nullopt;
  v.top_ = *top;
  for (std::int32_t c = 0; c < rows; ++c) {
    std::int32_t n = 0;
    if (!take(in, n) || n < 1 || n > branching) return std::nullopt;
    auto leaf = matrix(n);
    if (!leaf) return std::nullopt;
    v.leaves_.push_back(*leaf);
  }
  if (!in.empty()) return std::nullopt;
  return v;
}

ObjectFeatures object_features(const cv::Mat& image, int features) {
  const cv::Mat grey = grey_of(image);
  const double scale = frame_scale(grey.size(), kObjectSide);
  ObjectFeatures f = detect(scaled(grey, scale), scale, features, cv::Mat());
  if (const Vocabulary* vocabulary = object_vocabulary()) f.words = vocabulary->words(f.descriptors);
  return f;
}

std::string encode_objects(const ObjectFeatures& f) {
  std::string out(kMagic, sizeof(kMagic));
  put(out, static_cast<std::int32_t>(f.width));
  put(out, static_cast<std::int32_t>(f.height));
  put(out, f.scale);
  put(out, static_cast<std::uint32_t>(f.points.size()));
  for (const auto& p : f.points) {
    put(out, p.x);
    put(out, p.y);
  }
  if (!f.points.empty()) out.append(reinterpret_cast<const char*>(f.descriptors.data), f.points.size() * 32);
  put(out, static_cast<std::uint32_t>(f.words.size()));
  out.append(reinterpret_cast<const char*>(f.words.data()), f.words.size() * sizeof(std::uint32_t));
  return out;
}

std::optional<ObjectFeatures> decode_objects(std::string_view in) {
  if (in.size() < sizeof(kMagic) || std::memcmp(in.data(), kMagic, sizeof(kMagic)) != 0) return std::nullopt;
  in.remove_prefix(sizeof(kMagic));
  ObjectFeatures f;
  std::int32_t w = 0, h = 0;
  std::uint32_t n = 0;
  if (!take(in, w) || !take(in, h) || !take(in, f.scale) || !take(in, n)) return std::nullopt;
  if (w <= 0 || h <= 0 || !(f.scale > 0) || in.size() < static_cast<std::size_t>(n) * 40 + 4) return std::nullopt;
  f.width = w;
  f.height = h;
  f.points.resize(n);
  for (auto& p : f.points) {
    take(in, p.x);
    take(in, p.y);
  }
  f.descriptors = cv::Mat(static_cast<int>(n), 32, CV_8U);
  if (n) std::memcpy(f.descriptors.data, in.data(), static_cast<std::size_t>(n) * 32);
  in.remove_prefix(static_cast<std::size_t>(n) * 32);
  std::uint32_t words = 0;
  if (!take(in, words) || in.size() != static_cast<std::size_t>(words) * 4) return std::nullopt;
  f.words.resize(words);
  if (words) std::memcpy(f.words.data(), in.data(), in.size());
  return f;
}

std::optional<std::vector<std::uint32_t>> read_object_words(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  char header[sizeof(kMagic) + 4 + 4 + 8 + 4];
  if (!in.read(header, sizeof(header)) || std::memcmp(header, kMagic, sizeof(kMagic)) != 0) return std::nullopt;
  std::uint32_t points = 0, count = 0;
  std::memcpy(&points, header + sizeof(header) - 4, 4);
  in.seekg(static_cast<std::streamoff>(sizeof(header)) + static_cast<std::streamoff>(points) * 40);
  if (!in.read(reinterpret_cast<char*>(&count), 4) || count > points) return std::nullopt;
  std::vector<std::uint32_t> words(count);
  if (count && !in.read(reinterpret_cast<char*>(words.data()), static_cast<std::streamsize>(count) * 4)) return std::nullopt;
  return words;
}

const Vocabulary* object_vocabulary() {
  static const std::optional<Vocabulary> vocabulary = []() -> std::optional<Vocabulary> {
    const auto file = models_dir() / "objects" / "vocabulary.bin";
    const std::string bytes = read_file(file);
    if (bytes.size() < sizeof(kVocabularyMagic) || std::memcmp(bytes.data(), kVocabularyMagic, sizeof(kVocabularyMagic)) != 0) {
      spdlog::warn("{}: no visual vocabulary; query by example is off", file.string());
      return std::nullopt;
    }
    auto v = Vocabulary::decode(std::string_view(bytes).substr(sizeof(kVocabularyMagic)));
    if (!v) spdlog::warn("{}: not a vocabulary of this cluetrace; query by example is off", file.string());
    return v;
  }();
  return vocabulary ? &*vocabulary : nullptr;
}

std::string encode_vocabulary_file(const Vocabulary& vocabulary) {
  return std::string(kVocabularyMagic, sizeof(kVocabularyMagic)) + vocabulary.encode();
}

namespace {

// A picture's visual words for the index: read from the end of its object store, or (a store made without a
// vocabulary) from its descriptors now; none when it has no usable store.
std::optional<std::vector<std::uint32_t>> picture_words(const fs::path& dir, const ObjectPicture& p, const Vocabulary& vocabulary) {
  if (p.sha256.size() != 64) return std::nullopt;
  std::error_code ec;
  const auto file = dir / objects_path(p.sha256);
  if (!fs::is_regular_file(file, ec)) return std::nullopt;
  auto words = read_object_words(file);
  if (!words || !words->empty()) return words;
  const auto features = decode_objects(read_file(file));
  if (!features || features->descriptors.empty()) return std::nullopt;
  return vocabulary.words(features->descriptors);
}

}  // namespace

std::size_t build_object_index(const fs::path& dir, const std::vector<ObjectPicture>& pictures) {
  // Record per picture: int64 image id, 32 bytes of SHA-256, uint32 word count, its distinct words. Written as
  // it goes; then each word's picture count (for its weight) and a footer: the vocabulary's size, the pictures,
  // the records' length.
  const Vocabulary* vocabulary = object_vocabulary();
  AtomicFileWriter out(dir / "objects.keys");
  out.write(std::string(kIndexMagic, sizeof(kIndexMagic)));
  std::uint64_t written = sizeof(kIndexMagic);
  std::vector<std::uint32_t> pictures_with(vocabulary ? vocabulary->size() : 0, 0);
  std::size_t indexed = 0;
  std::string record;
  // The pictures' words are read a block at a time, in parallel (a file each: this was most of the index's
  // time in a large case), and written in the pictures' order.
  constexpr std::size_t kBlock = 512;
  std::vector<std::optional<std::vector<std::uint32_t>>> block_words;
  for (std::size_t first = 0; vocabulary && first < pictures.size(); first += kBlock) {
    const std::size_t count = std::min(kBlock, pictures.size() - first);
    block_words.assign(count, std::nullopt);
    oneapi::tbb::parallel_for(std::size_t{0}, count, [&](std::size_t i) { block_words[i] = picture_words(dir, pictures[first + i], *vocabulary); });
    for (std::size_t i = 0; i < count; ++i) {
      const auto& words = block_words[i];
      if (!words) continue;
      const auto& p = pictures[first + i];
      record.clear();
      put(record, p.image_id);
      record += sha_bytes(p.sha256);
      put(record, static_cast<std::uint32_t>(words->size()));
      record.append(reinterpret_cast<const char*>(words->data()), words->size() * sizeof(std::uint32_t));
      out.write(record);
      written += record.size();
      for (const auto w : *words) {
        if (w < pictures_with.size()) ++pictures_with[w];
      }
      ++indexed;
    }
  }
  const auto words = static_cast<std::uint32_t>(pictures_with.size());
  out.write(std::string_view(reinterpret_cast<const char*>(pictures_with.data()), pictures_with.size() * sizeof(std::uint32_t)));
  const auto count = static_cast<std::uint64_t>(indexed);
  out.write(std::string_view(reinterpret_cast<const char*>(&words), sizeof(words)));
  out.write(std::string_view(reinterpret_cast<const char*>(&count), sizeof(count)));
  out.write(std::string_view(reinterpret_cast<const char*>(&written), sizeof(written)));
  out.commit();
  return indexed;
}

ObjectQuery query_from_region(const cv::Mat& image, const cv::Rect& box, int features) {
  ObjectQuery q;
  const cv::Mat grey = grey_of(image);
  const cv::Rect inside = box & cv::Rect(0, 0, grey.cols, grey.rows);
  if (inside.area() <= 0) throw std::invalid_argument("the region lies outside the image");
  // The frame the case's features were taken in; finer when the region would be too small there to hold features.
  double scale = frame_scale(grey.size(), kObjectSide);
  const int short_side = std::min(inside.width, inside.height);
  if (short_side * scale < 96) scale = std::max(scale, std::min(4.0, 96.0 / std::max(1, short_side)));
  // Only the region and a margin for the descriptors' patches are scaled.
  const int margin = static_cast<int>(std::ceil(40 / scale));
  const cv::Rect around = cv::Rect(inside.x - margin, inside.y - margin, inside.width + 2 * margin, inside.height + 2 * margin) &
                          cv::Rect(0, 0, grey.cols, grey.rows);
  const cv::Mat part = scaled(grey(around), scale);
  cv::Mat mask = cv::Mat::zeros(part.size(), CV_8U);
  const cv::Rect region(cv::Point(static_cast<int>((inside.x - around.x) * scale), static_cast<int>((inside.y - around.y) * scale)),
                        cv::Size(static_cast<int>(inside.width * scale), static_cast<int>(inside.height * scale)));
  mask(region & cv::Rect(0, 0, mask.cols, mask.rows)).setTo(255);
  q.features = detect(part, scale, features, mask);
  q.outline = {cv::Point(region.x, region.y), cv::Point(region.br().x, region.y), cv::Point(region.br().x, region.br().y),
               cv::Point(region.x, region.br().y)};
  return q;
}

ObjectQuery query_from_crop(const cv::Mat& crop, int features) {
  ObjectQuery q;
  const cv::Mat grey = grey_of(crop);
  if (grey.empty()) throw std::invalid_argument("the crop has no pixels");
  double scale = frame_scale(grey.size(), kObjectSide);
  if (std::min(grey.cols, grey.rows) * scale < 96) scale = std::max(scale, std::min(4.0, 96.0 / std::max(1, std::min(grey.cols, grey.rows))));
  const cv::Mat frame = scaled(grey, scale);
  // The crop's own border: features need a patch around them, so the frame gets a reflected margin.
  cv::Mat padded;
  constexpr int kPad = 24;
  cv::copyMakeBorder(frame, padded, kPad, kPad, kPad, kPad, cv::BORDER_REFLECT);
  cv::Mat mask = cv::Mat::zeros(padded.size(), CV_8U);
  mask(cv::Rect(kPad, kPad, frame.cols, frame.rows)).setTo(255);
  q.features = detect(padded, scale, features, mask);
  q.outline = {cv::Point(kPad, kPad), cv::Point(kPad + frame.cols, kPad), cv::Point(kPad + frame.cols, kPad + frame.rows),
               cv::Point(kPad, kPad + frame.rows)};
  return q;
}

int verify_object(const ObjectQuery& query, const ObjectFeatures& target, int min_inliers, std::vector<cv::Point2f>* polygon) {
  if (query.features.points.size() < 4 || target.points.size() < 4) return 0;
  cv::BFMatcher matcher(cv::NORM_HAMMING);
  std::vector<std::vector<cv::DMatch>> knn;
  matcher.knnMatch(query.features.descriptors, target.descriptors, knn, 2);
  std::vector<cv::Point2f> from, to;
  std::vector<int> target_index;
  for (const auto& m : knn) {
    if (m.empty() || m[0].distance > 64) continue;
    if (m.size() > 1 && m[0].distance > 0.8f * m[1].distance) continue;
    from.push_back(query.features.points[static_cast<std::size_t>(m[0].queryIdx)]);
    to.push_back(target.points[static_cast<std::size_t>(m[0].trainIdx)]);
    target_index.push_back(m[0].trainIdx);
  }
  if (static_cast<int>(from.size()) < std::max(8, min_inliers)) return 0;
  std::vector<unsigned char> inlier;
  const cv::Mat h = cv::findHomography(from, to, cv::RANSAC, 5.0, inlier, 2000, 0.995);
  if (h.empty()) return 0;
  std::vector<int> distinct;
  for (std::size_t i = 0; i < inlier.size(); ++i)
    if (inlier[i]) distinct.push_back(target_index[i]);
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  const int count = static_cast<int>(distinct.size());
  if (count < min_inliers) return 0;
  std::vector<cv::Point2f> outline;
  cv::perspectiveTransform(query.outline, outline, h);
  if (!plausible(outline, cv::Size(target.width, target.height))) return 0;
  if (polygon) {
    polygon->clear();
    for (const auto& p : outline) polygon->emplace_back(static_cast<float>(p.x / target.scale), static_cast<float>(p.y / target.scale));
  }
  return count;
}

namespace {

// What the case's run.json says of its object stores; true when it does not say (a merged case, an older run).
bool run_kept_object_stores(const fs::path& dir) {
  std::ifstream in(dir / "run.json");
  if (!in) return true;
  const auto run = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  return !(run.is_object() && run.contains("object_stores") && run["object_stores"] == false);
}

}  // namespace

std::vector<ObjectHit> find_object(const fs::path& dir, const ObjectQuery& query, const ObjectSearchOptions& options,
                                   ObjectSearchStats* stats) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  if (!run_kept_object_stores(dir)) {
    throw NoObjectStores(fmt::format("{}: this case keeps no object stores (its run had outputs.objects: false, as "
                                     "config/quick.yaml has): run its pictures with the default config to search them by "
                                     "example",
                                     dir.string()));
  }
  const auto file = dir / "objects.keys";
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: no object index (run `cluetrace report` on the case)", file.string()));
  const Vocabulary* vocabulary = object_vocabulary();
  if (!vocabulary) throw std::runtime_error("no visual vocabulary (models/objects/vocabulary.bin): query by example is off");
  char magic[sizeof(kIndexMagic)];
  std::uint64_t records_end = 0;
  std::uint64_t total = 0;
  std::uint32_t words = 0;
  constexpr std::streamoff kFooter = 20;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0);
  if (!in.read(magic, sizeof(magic)) || std::memcmp(magic, kIndexMagic, sizeof(magic)) != 0 ||
      size < static_cast<std::streamoff>(sizeof(magic)) + kFooter) {
    throw std::runtime_error(fmt::format("{}: not an object index of this cluetrace", file.string()));
  }
  in.seekg(size - kFooter);
  in.read(reinterpret_cast<char*>(&words), sizeof(words));
  in.read(reinterpret_cast<char*>(&total), sizeof(total));
  in.read(reinterpret_cast<char*>(&records_end), sizeof(records_end));
  if (!in || words != vocabulary->size() || static_cast<std::streamoff>(records_end) != size - kFooter - static_cast<std::streamoff>(words) * 4) {
    throw std::runtime_error(fmt::format("{}: damaged, or made with another vocabulary (run `cluetrace report` again)", file.string()));
  }
  std::vector<std::uint32_t> pictures_with(words);
  in.seekg(static_cast<std::streamoff>(records_end));
  in.read(reinterpret_cast<char*>(pictures_with.data()), static_cast<std::streamsize>(words) * 4);
  in.seekg(sizeof(magic));
  // The query's words with their weights (rarer words say more), as a table over the vocabulary.
  std::vector<float> weight(words, 0.0f);
  for (const auto w : vocabulary->words(query.features.descriptors)) {
    if (w < words && pictures_with[w] > 0) weight[w] = static_cast<float>(std::log((static_cast<double>(total) + 1.0) / pictures_with[w]));
  }
  const std::string exclude = query.exclude_sha256.size() == 64 ? sha_bytes(query.exclude_sha256) : std::string();

  struct Candidate {
    float votes;
    std::int64_t image_id;
    std::string sha;
  };
  std::vector<Candidate> best;  // a min-heap on votes, at most options.candidates
  auto worse = [](const Candidate& a, const Candidate& b) { return a.votes > b.votes; };
  std::vector<std::uint32_t> keys;
  std::size_t pictures = 0;
  const float min_score = static_cast<float>(options.min_votes);
  std::uint64_t at = sizeof(magic);
  while (at < records_end) {
    std::int64_t image_id = 0;
    char sha[32];
    std::uint32_t n = 0;
    // A record lies wholly before the word counts, and holds no more words than the vocabulary has.
    if (records_end - at < 44 || !in.read(reinterpret_cast<char*>(&image_id), sizeof(image_id)) || !in.read(sha, sizeof(sha)) ||
        !in.read(reinterpret_cast<char*>(&n), sizeof(n)) || n > words || records_end - at - 44 < static_cast<std::uint64_t>(n) * 4) {
      throw std::runtime_error(fmt::format("{}: cut short or damaged after {} pictures", file.string(), pictures));
    }
    at += 44 + static_cast<std::uint64_t>(n) * 4;
    keys.resize(n);
    if (!in.read(reinterpret_cast<char*>(keys.data()), static_cast<std::streamsize>(n) * 4)) {
      throw std::runtime_error(fmt::format("{}: cut short after {} pictures", file.string(), pictures));
    }
    ++pictures;
    float votes = 0;
    for (const auto k : keys) {
      if (k < words) votes += weight[k];
    }
    if (votes < min_score) continue;
    if (!exclude.empty() && std::memcmp(sha, exclude.data(), 32) == 0) continue;
    if (best.size() < options.candidates) {
      best.push_back({votes, image_id, std::string(sha, 32)});
      std::push_heap(best.begin(), best.end(), worse);
    } else if (!best.empty() && votes > best.front().votes) {
      std::pop_heap(best.begin(), best.end(), worse);
      best.back() = {votes, image_id, std::string(sha, 32)};
      std::push_heap(best.begin(), best.end(), worse);
    }
  }
  const auto scanned = clock::now();
  std::sort(best.begin(), best.end(), [](const auto& a, const auto& b) { return a.votes > b.votes || (a.votes == b.votes && a.image_id < b.image_id); });

  // Each candidate verified on its own: in parallel.
  std::vector<ObjectHit> checked(best.size());
  std::vector<char> read(best.size(), 0);
  oneapi::tbb::parallel_for(std::size_t{0}, best.size(), [&](std::size_t i) {
    const auto& c = best[i];
    const std::string hex = sha_hex(c.sha);
    std::error_code ec;
    const auto features_file = dir / objects_path(hex);
    if (!fs::is_regular_file(features_file, ec)) return;
    const auto target = decode_objects(read_file(features_file));
    if (!target) return;
    read[i] = 1;
    ObjectHit& hit = checked[i];
    hit.image_id = c.image_id;
    hit.sha256 = hex;
    hit.votes = c.votes;
    hit.inliers = verify_object(query, *target, options.min_inliers, &hit.polygon);
  });
  std::vector<ObjectHit> hits;
  const auto verified = static_cast<std::size_t>(std::count(read.begin(), read.end(), 1));
  for (auto& hit : checked) {
    if (hit.inliers > 0) hits.push_back(std::move(hit));
  }
  std::sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) { return a.inliers > b.inliers || (a.inliers == b.inliers && a.image_id < b.image_id); });
  if (hits.size() > options.limit) hits.resize(options.limit);
  if (stats) {
    stats->pictures = pictures;
    stats->candidates = best.size();
    stats->verified = verified;
    stats->scan_ms = std::chrono::duration<double, std::milli>(scanned - start).count();
    stats->verify_ms = std::chrono::duration<double, std::milli>(clock::now() - scanned).count();
  }
  return hits;
}

}  // namespace cluetrace
