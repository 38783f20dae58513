#include "pipeline/case/objects.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <fstream>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>
#include <opencv2/calib3d.hpp>
#include <opencv2/features2d.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/case/artefacts.hpp"
#include "pipeline/report_store.hpp"

namespace fs = std::filesystem;

namespace cluetrace {
namespace {

constexpr char kMagic[8] = {'C', 'T', 'O', 'B', 'J', '0', '0', '1'};
constexpr char kIndexMagic[8] = {'C', 'T', 'O', 'K', 'E', 'Y', '0', '1'};
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

double frame_scale(cv::Size size, int side) {
  const int longest = std::max(size.width, size.height);
  return longest > side ? static_cast<double>(side) / longest : 1.0;
}

cv::Mat scaled(const cv::Mat& grey, double scale) {
  if (scale == 1.0) return grey;
  cv::Mat out;
  cv::resize(grey, out, cv::Size(), scale, scale, scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

// The bit positions each LSH table reads, the same in every build: a fixed permutation of the 256 bits.
const std::array<std::array<std::uint8_t, kObjectKeyBits>, kObjectTables>& key_bits() {
  static const auto bits = [] {
    std::array<std::array<std::uint8_t, kObjectKeyBits>, kObjectTables> out{};
    std::array<int, 256> order;
    std::iota(order.begin(), order.end(), 0);
    std::uint64_t state = 0x9E3779B97F4A7C15ull;
    for (int i = 255; i > 0; --i) {  // Fisher-Yates with a fixed xorshift: no dependence on the library's RNG
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      std::swap(order[i], order[static_cast<int>(state % static_cast<std::uint64_t>(i + 1))]);
    }
    for (int t = 0; t < kObjectTables; ++t)
      for (int b = 0; b < kObjectKeyBits; ++b) out[t][b] = static_cast<std::uint8_t>(order[t * kObjectKeyBits + b]);
    return out;
  }();
  return bits;
}

std::uint32_t key_of(const std::uint8_t* d, int table) {
  std::uint32_t k = 0;
  for (const auto bit : key_bits()[table]) k = (k << 1) | ((d[bit >> 3] >> (bit & 7)) & 1u);
  return (static_cast<std::uint32_t>(table) << kObjectKeyBits) | k;
}

template <typename T>
void put(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

template <typename T>
bool get(std::string_view& in, T& v) {
  if (in.size() < sizeof(T)) return false;
  std::memcpy(&v, in.data(), sizeof(T));
  in.remove_prefix(sizeof(T));
  return true;
}

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

}  // namespace

ObjectFeatures object_features(const cv::Mat& image, int features) {
  const cv::Mat grey = grey_of(image);
  const double scale = frame_scale(grey.size(), kObjectSide);
  return detect(scaled(grey, scale), scale, features, cv::Mat());
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
  return out;
}

std::optional<ObjectFeatures> decode_objects(std::string_view in) {
  if (in.size() < sizeof(kMagic) || std::memcmp(in.data(), kMagic, sizeof(kMagic)) != 0) return std::nullopt;
  in.remove_prefix(sizeof(kMagic));
  ObjectFeatures f;
  std::int32_t w = 0, h = 0;
  std::uint32_t n = 0;
  if (!get(in, w) || !get(in, h) || !get(in, f.scale) || !get(in, n)) return std::nullopt;
  if (w <= 0 || h <= 0 || !(f.scale > 0) || in.size() != static_cast<std::size_t>(n) * 40) return std::nullopt;
  f.width = w;
  f.height = h;
  f.points.resize(n);
  for (auto& p : f.points) {
    get(in, p.x);
    get(in, p.y);
  }
  f.descriptors = cv::Mat(static_cast<int>(n), 32, CV_8U);
  if (n) std::memcpy(f.descriptors.data, in.data(), static_cast<std::size_t>(n) * 32);
  return f;
}

std::vector<std::uint32_t> object_keys(const cv::Mat& descriptors) {
  std::vector<std::uint32_t> keys;
  keys.reserve(static_cast<std::size_t>(descriptors.rows) * kObjectTables);
  for (int r = 0; r < descriptors.rows; ++r)
    for (int t = 0; t < kObjectTables; ++t) keys.push_back(key_of(descriptors.ptr<std::uint8_t>(r), t));
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

std::size_t build_object_index(const fs::path& dir, const std::vector<ObjectPicture>& pictures) {
  // Record per picture: int64 image id, 32 bytes of SHA-256, uint32 key count, the keys. Written as it goes.
  AtomicFileWriter out(dir / "objects.keys");
  out.write(std::string(kIndexMagic, sizeof(kIndexMagic)));
  std::size_t indexed = 0;
  std::string record;
  for (const auto& p : pictures) {
    if (p.sha256.size() != 64) continue;
    std::error_code ec;
    const auto file = dir / objects_path(p.sha256);
    if (!fs::is_regular_file(file, ec)) continue;
    const auto features = decode_objects(read_file(file));
    if (!features) continue;
    const auto keys = object_keys(features->descriptors);
    record.clear();
    put(record, p.image_id);
    record += sha_bytes(p.sha256);
    put(record, static_cast<std::uint32_t>(keys.size()));
    record.append(reinterpret_cast<const char*>(keys.data()), keys.size() * sizeof(std::uint32_t));
    out.write(record);
    ++indexed;
  }
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
  if (short_side * scale < 96) scale = std::min(2.0, 96.0 / std::max(1, short_side));
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
  if (std::min(grey.cols, grey.rows) * scale < 96) scale = std::min(4.0, 96.0 / std::max(1, std::min(grey.cols, grey.rows)));
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

std::vector<ObjectHit> find_object(const fs::path& dir, const ObjectQuery& query, const ObjectSearchOptions& options,
                                   ObjectSearchStats* stats) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const auto file = dir / "objects.keys";
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: no object index (run `cluetrace report` on the case)", file.string()));
  char magic[sizeof(kIndexMagic)];
  if (!in.read(magic, sizeof(magic)) || std::memcmp(magic, kIndexMagic, sizeof(magic)) != 0) {
    throw std::runtime_error(fmt::format("{}: not an object index of this cluetrace", file.string()));
  }
  // The query's keys as a bitmap over every table's key space: one lookup per key of each picture.
  std::vector<std::uint64_t> wanted((static_cast<std::size_t>(kObjectTables) << kObjectKeyBits) / 64, 0);
  for (const auto k : object_keys(query.features.descriptors)) wanted[k >> 6] |= 1ull << (k & 63);
  const std::string exclude = query.exclude_sha256.size() == 64 ? sha_bytes(query.exclude_sha256) : std::string();

  struct Candidate {
    int votes;
    std::int64_t image_id;
    std::string sha;
  };
  std::vector<Candidate> best;  // a min-heap on votes, at most options.candidates
  auto worse = [](const Candidate& a, const Candidate& b) { return a.votes > b.votes; };
  std::vector<std::uint32_t> keys;
  std::size_t pictures = 0;
  for (;;) {
    std::int64_t image_id = 0;
    char sha[32];
    std::uint32_t n = 0;
    if (!in.read(reinterpret_cast<char*>(&image_id), sizeof(image_id))) break;
    if (!in.read(sha, sizeof(sha)) || !in.read(reinterpret_cast<char*>(&n), sizeof(n)) || n > (1u << 24)) {
      throw std::runtime_error(fmt::format("{}: cut short or damaged after {} pictures", file.string(), pictures));
    }
    keys.resize(n);
    if (!in.read(reinterpret_cast<char*>(keys.data()), static_cast<std::streamsize>(n) * 4)) {
      throw std::runtime_error(fmt::format("{}: cut short after {} pictures", file.string(), pictures));
    }
    ++pictures;
    int votes = 0;
    for (const auto k : keys) {
      if (k >= (static_cast<std::uint32_t>(kObjectTables) << kObjectKeyBits)) continue;
      votes += static_cast<int>((wanted[k >> 6] >> (k & 63)) & 1u);
    }
    if (votes < options.min_votes) continue;
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

  std::vector<ObjectHit> hits;
  std::size_t verified = 0;
  for (const auto& c : best) {
    const std::string hex = sha_hex(c.sha);
    std::error_code ec;
    const auto features_file = dir / objects_path(hex);
    if (!fs::is_regular_file(features_file, ec)) continue;
    const auto target = decode_objects(read_file(features_file));
    if (!target) continue;
    ++verified;
    ObjectHit hit;
    hit.image_id = c.image_id;
    hit.sha256 = hex;
    hit.votes = c.votes;
    hit.inliers = verify_object(query, *target, options.min_inliers, &hit.polygon);
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
