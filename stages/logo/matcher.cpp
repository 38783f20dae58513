#include "stages/logo/matcher.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>
#include <oneapi/tbb/parallel_invoke.h>
#include <opencv2/calib3d.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/memory_gate.hpp"
#include "stages/logo/geometry.hpp"
#include "stages/logo/kd_trees.hpp"

namespace cluetrace::logo {
namespace {

// RootSIFT distance under which a feature near the projected place counts as the same point.
constexpr double kGuidedDistance = 0.55;
// Two detections whose boxes share more than this of the smaller one are the same place.
constexpr double kSamePlace = 0.3;
// A mark placed by a similarity (the fallback for matches along one line of a wordmark) must explain at
// least this share of the matches RANSAC was given: a wordmark's matches along its line nearly all
// agree (0.71 and more on the synthetic logo scenes, all of them on FlickrLogos-27), while a repetitive
// texture (a mesh, a grille) draws dozens of chance matches of which a few always fit some similarity.
constexpr double kMinSimilarityShare = 0.4;

std::array<cv::Point2f, 4> project(const cv::Mat& h, const cv::Rect& r) {
  std::vector<cv::Point2f> src{{float(r.x), float(r.y)},
                               {float(r.x + r.width), float(r.y)},
                               {float(r.x + r.width), float(r.y + r.height)},
                               {float(r.x), float(r.y + r.height)}};
  std::vector<cv::Point2f> dst;
  cv::perspectiveTransform(src, dst, h);
  return {dst[0], dst[1], dst[2], dst[3]};
}

double interior_angle(cv::Point2f a, cv::Point2f b, cv::Point2f c) {
  const cv::Point2f u = a - b, v = c - b;
  const double n = std::hypot(u.x, u.y) * std::hypot(v.x, v.y);
  if (n <= 0) return 0;
  return std::acos(std::clamp((u.x * v.x + u.y * v.y) / n, -1.0, 1.0)) * 180.0 / CV_PI;
}

// A homography that a flat mark seen by a camera can produce: not mirrored, convex, angles and
// side ratios within what moderate perspective gives, and not degenerate in size.
bool plausible(const std::array<cv::Point2f, 4>& q, const cv::Mat& h) {
  const double det = h.at<double>(0, 0) * h.at<double>(1, 1) - h.at<double>(0, 1) * h.at<double>(1, 0);
  if (!(det > 0)) return false;
  std::vector<cv::Point2f> poly(q.begin(), q.end());
  if (!cv::isContourConvex(poly)) return false;
  if (cv::contourArea(poly) < 14 * 14) return false;
  for (int i = 0; i < 4; ++i) {
    const double a = interior_angle(q[(i + 3) % 4], q[i], q[(i + 1) % 4]);
    if (a < 35 || a > 145) return false;
  }
  auto len = [&](int i) -> double { return std::hypot(q[i].x - q[(i + 1) % 4].x, q[i].y - q[(i + 1) % 4].y); };
  const double r1 = len(0) / std::max(1e-6, len(2)), r2 = len(1) / std::max(1e-6, len(3));
  return r1 < 3 && r1 > 1.0 / 3 && r2 < 3 && r2 > 1.0 / 3;
}

// Lowe's Hough pre-check: each match of a reference predicts the mark's rotation, scale and centre in
// the scene from the two keypoints' orientations, sizes and positions. Matches that agree fall into one
// bin (each votes for the two nearest bins in every dimension, and for both rotations its 180-degree
// orientation allows); chance matches, however many, scatter. Returns the positions (into `m`) of the
// best bin's matches, counted by distinct scene points.
std::vector<int> consistent_matches(const std::vector<std::tuple<float, int, int>>& m, const std::vector<cv::KeyPoint>& scene,
                                    const ReferenceFeatures& rf) {
  const cv::Point2d centre(rf.mark.x + rf.mark.width / 2.0, rf.mark.y + rf.mark.height / 2.0);
  const double extent = std::max(rf.mark.width, rf.mark.height);
  std::unordered_map<std::uint64_t, std::vector<int>> bins;
  auto key = [](int a, int s, int x, int y) {
    return (static_cast<std::uint64_t>(a & 0xFF) << 56) | (static_cast<std::uint64_t>(s & 0xFF) << 48) |
           (static_cast<std::uint64_t>(x & 0xFFFFFF) << 24) | static_cast<std::uint64_t>(y & 0xFFFFFF);
  };
  for (int i = 0; i < static_cast<int>(m.size()); ++i) {
    const cv::KeyPoint& q = scene[std::get<1>(m[i])];
    const cv::KeyPoint& r = rf.keypoints[std::get<2>(m[i])];
    if (!(r.size > 0) || !(q.size > 0)) continue;
    const double sigma = q.size / r.size;
    const int s0 = static_cast<int>(std::floor(std::log2(sigma) - 0.5));
    for (int half = 0; half < 2; ++half) {
      const double theta = std::fmod(q.angle - r.angle + 360.0 + 180.0 * half, 360.0);
      const int a0 = static_cast<int>(std::floor(theta / 30.0 - 0.5));
      const double c = std::cos(theta * CV_PI / 180), sn = std::sin(theta * CV_PI / 180);
      const double dx = centre.x - r.pt.x, dy = centre.y - r.pt.y;
      const double px = q.pt.x + sigma * (c * dx - sn * dy), py = q.pt.y + sigma * (sn * dx + c * dy);
      for (int s = s0; s <= s0 + 1; ++s) {
        // Location bins a quarter of the mark's size at the bin's scale (Lowe 2004).
        const double cellsize = std::max(8.0, 0.25 * std::exp2(s + 0.5) * extent);
        const int x0 = static_cast<int>(std::floor(px / cellsize - 0.5)), y0 = static_cast<int>(std::floor(py / cellsize - 0.5));
        for (int a = a0; a <= a0 + 1; ++a)
          for (int x = x0; x <= x0 + 1; ++x)
            for (int y = y0; y <= y0 + 1; ++y) bins[key((a + 12) % 12, s + 64, x + 4096, y + 4096)].push_back(i);
      }
    }
  }
  std::vector<int> best;
  std::size_t best_count = 0;
  for (auto& [k, members] : bins) {
    if (members.size() <= best_count) continue;
    std::sort(members.begin(), members.end());
    members.erase(std::unique(members.begin(), members.end()), members.end());
    std::set<int> points;
    for (int i : members) points.insert(std::get<1>(m[i]));
    if (points.size() > best_count) best_count = points.size(), best = members;
  }
  return best;
}

}  // namespace

cv::Mat root_sift(const cv::Mat& descriptors_u8) {
  cv::Mat f;
  descriptors_u8.convertTo(f, CV_32F);
  for (int i = 0; i < f.rows; ++i) {
    cv::Mat row = f.row(i);
    const double s = cv::sum(row)[0];
    if (s > 0) row /= s;
    cv::sqrt(row, row);
  }
  return f;
}

Matcher::Matcher(FeatureIndexFile index, MatchOptions options) : index_(std::move(index)), options_(options) {
  // The silhouettes' models and the KD-trees are built side by side: together they are most of the stage's
  // start-up, and the trees are built on one thread.
  oneapi::tbb::parallel_invoke([this] { if (options_.shapes) shapes_ = std::make_unique<ShapeMatcher>(index_, options_.shape); },
                               [this] { build_feature_index(); });
}

void Matcher::build_feature_index() {
  std::map<std::string, int> brand_ids;
  for (const auto& r : index_.references) {
    const auto [it, added] = brand_ids.emplace(r.brand, static_cast<int>(brands_.size()));
    if (added) brands_.push_back(r.brand);
    const int ref = static_cast<int>(refs_.size());
    refs_.push_back({it->second, &r, static_cast<int>(row_ref_.size())});
    for (int k = 0; k < r.descriptors.rows; ++k) {
      row_ref_.push_back(ref);
      row_kp_.push_back(k);
    }
  }
  all_ = descriptor_matrix(index_);
  // The trees `cluetrace catalogue build` kept in the index, when they were built over exactly these rows;
  // otherwise (an older index, references dropped since, another OpenCV) built here, the same trees.
  if (!index_.kd_trees.empty()) forest_ = load_kd_trees(index_.kd_trees, all_);
  trees_from_index_ = forest_.has_value();
  std::string().swap(index_.kd_trees);  // read once; not kept
  if (!forest_ && !all_.empty()) forest_ = build_kd_forest(all_);
}

std::vector<Detection> Matcher::match(const cv::Mat& bgr, std::vector<std::string>* trace,
                                      const std::vector<cv::Rect2f>& text_lines) const {
  if (!forest_ || bgr.empty()) return {};
  cv::Mat grey;
  if (bgr.channels() == 3) cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  else grey = bgr;  // shared with other stages (ImageRecord::grey()): never written
  const double scale = std::min(1.0, static_cast<double>(options_.max_side) / std::max(grey.cols, grey.rows));
  if (scale < 1) {
    cv::Mat smaller;
    cv::resize(grey, smaller, cv::Size(), scale, scale, cv::INTER_AREA);
    grey = smaller;
  }
  auto found = find_by_features(grey, trace);
  if (shapes_) {
    // Plain marks by their silhouette, where no feature match is already.
    auto shaped = shapes_->match(grey, trace, scaled(text_lines, scale));
    std::sort(shaped.begin(), shaped.end(), [](const ShapeDetection& a, const ShapeDetection& b) { return a.iou > b.iou; });
    for (auto& s : shaped) {
      const auto box = quad_bounds(s.quad);
      if (std::any_of(found.begin(), found.end(), [&](const Detection& d) { return overlap_share(box, quad_bounds(d.quad)) > kSamePlace; }))
        continue;
      Detection d;
      d.brand = s.brand;
      d.quad = s.quad;
      d.reference = s.reference;
      d.method = "shape";
      d.iou = s.iou;
      d.confidence = std::min(0.75, 0.4 + (s.iou - options_.shape.min_iou) * 1.5);
      found.push_back(std::move(d));
    }
  }
  for (auto& d : found)
    for (auto& p : d.quad) p *= static_cast<float>(1.0 / scale);
  return found;
}

namespace {

// Windows that overlap are joined into their bounding box until none overlaps another.
std::vector<cv::Rect> joined(std::vector<cv::Rect> windows) {
  for (bool again = true; again;) {
    again = false;
    for (std::size_t i = 0; i < windows.size() && !again; ++i)
      for (std::size_t j = i + 1; j < windows.size() && !again; ++j)
        if ((windows[i] & windows[j]).area() > 0) {
          windows[i] |= windows[j];
          windows.erase(windows.begin() + static_cast<long>(j));
          again = true;
        }
  }
  return windows;
}

// Pixels of margin around a window at full resolution: SIFT finds no keypoint within a few pixels of an
// image's edge, and describes a patch about 6 of its scales across.
constexpr int kWindowMargin = 24;
// Windows covering more than this share of the scene are not worth cropping: the whole scene is read.
constexpr double kMaxWindowShare = 0.6;
// Scenes and windows of this many pixels or more have a scale space of 100 MB or more (OpenCV's SIFT doubles
// the image and keeps 6 Gaussian and 5 difference levels of it as floats, ~235 bytes a pixel): their feature
// extraction is gated.
constexpr std::size_t kGatedPixels = 400000;
// Larger ones are described in two overlapping halves, one after the other: a whole scene of 1280 x 960 pixels
// held ~290 MB at once, the largest working set of a run; its halves ~160 MB each.
constexpr std::size_t kSplitPixels = 700000;
// How far each half reaches past the cut: a keypoint's descriptor patch is about five times its size across.
constexpr int kSplitOverlap = 64;
// A mark verified in the coarse look whose box is at least this many coarse pixels each way, with twice
// the inliers a mark needs, is kept as found there; the others are looked for again at full resolution.
constexpr float kCoarseLargeMark = 48;

// A box in the coarse image's pixels (`k` of the full one's) as a window of the full image, with margin,
// clipped to `scene`.
cv::Rect full_window(const cv::Rect2f& coarse_box, double k, const cv::Rect& scene) {
  return cv::Rect(static_cast<int>(coarse_box.x / k) - kWindowMargin, static_cast<int>(coarse_box.y / k) - kWindowMargin,
                  static_cast<int>(coarse_box.width / k) + 2 * kWindowMargin, static_cast<int>(coarse_box.height / k) + 2 * kWindowMargin) &
         scene;
}

float median(std::vector<float> values) {
  std::nth_element(values.begin(), values.begin() + static_cast<long>(values.size() / 2), values.end());
  return values[values.size() / 2];
}

}  // namespace

Matcher::CoarseLook Matcher::look_coarse(const cv::Mat& grey, std::vector<std::string>* trace) const {
  CoarseLook look;
  const double k = static_cast<double>(options_.coarse_side) / std::max(grey.cols, grey.rows);
  cv::Mat coarse;
  cv::resize(grey, coarse, cv::Size(), k, k, cv::INTER_AREA);
  std::vector<cv::KeyPoint> keypoints;
  cv::Mat descriptors;
  features_of(coarse, std::max(1000, static_cast<int>(options_.max_features * k * k)), keypoints, descriptors);
  if (descriptors.empty()) return look;
  const cv::Mat q = root_sift(descriptors);
  const MatchGroups groups = group_matches(q, {});
  const cv::Rect scene(0, 0, grey.cols, grey.rows);
  // Marks verified in the coarse look: large and well supported ones stand; the others are verified again
  // in a window around them.
  std::vector<Detection> weak;
  for (auto& d : verify(groups, keypoints, q, trace)) {
    const auto box = quad_bounds(d.quad);
    const bool large = std::min(box.width, box.height) >= kCoarseLargeMark && d.inliers >= 2 * options_.min_inliers;
    (large ? look.large : weak).push_back(std::move(d));
  }
  for (const auto& d : weak) {
    const auto box = quad_bounds(d.quad);
    const cv::Rect window =
        full_window({box.x - 0.2f * box.width, box.y - 0.2f * box.height, 1.4f * box.width, 1.4f * box.height}, k, scene);
    if (window.area() > 0) look.windows.push_back(window);
  }
  const auto ranked = rank_candidates(groups, keypoints, options_.coarse_support, options_.coarse_support);
  int proposed = 0;
  for (const auto& c : ranked) {
    if (proposed >= options_.coarse_windows) break;
    const auto window = predicted_window(groups.at(c.ref), c, keypoints, look.large, weak);
    if (!window) continue;
    const cv::Rect full = full_window(*window, k, scene);
    // A window over a large share of the scene stands for a large mark the coarse look did not verify,
    // or for chance matches: neither is worth the full resolution.
    if (full.area() == 0 || full.area() > kMaxWindowShare / 2 * scene.area()) continue;
    ++proposed;
    look.windows.push_back(full);
  }
  look.windows = joined(std::move(look.windows));
  for (auto& d : look.large)
    for (auto& p : d.quad) p *= static_cast<float>(1 / k);
  if (trace) {
    double area = 0;
    for (const auto& w : look.windows) area += w.area();
    std::string where;
    for (const auto& w : look.windows) where += fmt::format(" [{},{} {}x{}]", w.x, w.y, w.width, w.height);
    trace->push_back(fmt::format("coarse {}x{}: {} features, {} large marks, {} references voted, {} windows ({:.0f} % of the scene){}",
                                 coarse.cols, coarse.rows, keypoints.size(), look.large.size(), ranked.size(), look.windows.size(),
                                 100.0 * area / scene.area(), where));
  }
  return look;
}

std::optional<cv::Rect2f> Matcher::predicted_window(const std::vector<std::tuple<float, int, int>>& group, const Candidate& c,
                                                    const std::vector<cv::KeyPoint>& keypoints, const std::vector<Detection>& large,
                                                    const std::vector<Detection>& weak) const {
  // The mark's extent where its matches agree: each match scales the reference mark by the ratio of
  // its keypoints' sizes and turns it by the difference of their orientations (taken modulo 180
  // degrees, as the features are polarity-free; a half turn leaves the extent as it is).
  const ReferenceFeatures& rf = *refs_[c.ref].features;
  std::vector<float> xs, ys, scales;
  double turn_x = 0, turn_y = 0;
  for (int i : c.consistent) {
    const auto& [score, qi, ri] = group[static_cast<std::size_t>(i)];
    const cv::KeyPoint& qk = keypoints[static_cast<std::size_t>(qi)];
    const cv::KeyPoint& rk = rf.keypoints[static_cast<std::size_t>(ri)];
    if (!(rk.size > 0)) continue;
    xs.push_back(qk.pt.x);
    ys.push_back(qk.pt.y);
    scales.push_back(qk.size / rk.size);
    const double doubled = 2 * (qk.angle - rk.angle) * CV_PI / 180;
    turn_x += std::cos(doubled), turn_y += std::sin(doubled);
  }
  if (xs.empty()) return std::nullopt;
  const double scale = median(scales), turn = std::atan2(turn_y, turn_x) / 2;
  const double w = scale * rf.mark.width, h = scale * rf.mark.height;
  const auto extent_x = static_cast<float>(std::abs(std::cos(turn)) * w + std::abs(std::sin(turn)) * h);
  const auto extent_y = static_cast<float>(std::abs(std::sin(turn)) * w + std::abs(std::cos(turn)) * h);
  const cv::Point2f centre(median(xs), median(ys));
  // Found already: a mark of the same brand verified there (large, or with its window).
  const auto there = [&](const Detection& d) { return d.brand == brands_[refs_[c.ref].brand] && quad_bounds(d.quad).contains(centre); };
  if (std::any_of(large.begin(), large.end(), there) || std::any_of(weak.begin(), weak.end(), there)) return std::nullopt;
  // The window: the agreeing points within the mark's extent of their middle (further ones are chance
  // matches of the same pose), and around them as far as the mark may reach beyond them.
  std::vector<cv::Point2f> near{centre};
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (std::abs(xs[i] - centre.x) <= extent_x && std::abs(ys[i] - centre.y) <= extent_y) near.emplace_back(xs[i], ys[i]);
  const cv::Rect2f spanned = cv::boundingRect(near);
  const float grow_x = std::max(0.0f, extent_x - spanned.width) + 0.15f * extent_x;
  const float grow_y = std::max(0.0f, extent_y - spanned.height) + 0.15f * extent_y;
  return cv::Rect2f(spanned.x - grow_x, spanned.y - grow_y, spanned.width + 2 * grow_x, spanned.height + 2 * grow_y);
}

void Matcher::features_of(const cv::Mat& grey, int max_features, std::vector<cv::KeyPoint>& keypoints, cv::Mat& descriptors) const {
  if (grey.total() > kSplitPixels) {
    features_in_halves(grey, max_features, keypoints, descriptors);
    return;
  }
  // A large image's scale space (up to ~165 MB, at kSplitPixels) is held by at most half the worker threads at once,
  // counting those in the text detector's finer pass or loading Tesseract (large_working_sets).
  const auto extract = [&] { extract_features(grey, max_features, keypoints, descriptors, options_.contrast); };
  if (grey.total() >= kGatedPixels) {
    large_working_sets().run(extract);
  } else {
    extract();
  }
}

void Matcher::features_in_halves(const cv::Mat& grey, int max_features, std::vector<cv::KeyPoint>& keypoints,
                                 cv::Mat& descriptors) const {
  // Cut across the longer side. Each half reaches kSplitOverlap pixels past the cut and keeps the keypoints on
  // its own side of it, so a keypoint near the cut is found and described from the pixels around it, as in the
  // whole image (up to the largest scales, whose patches reach further). Each half's share of the features,
  // with a quarter to spare; then the strongest max_features of both, as SIFT keeps of a whole image.
  const bool across_x = grey.cols >= grey.rows;
  const int length = across_x ? grey.cols : grey.rows, cut = length / 2;
  std::vector<cv::KeyPoint> all;
  std::vector<cv::Mat> rows;
  for (const auto& [from, to] : {std::pair{0, std::min(length, cut + kSplitOverlap)}, std::pair{std::max(0, cut - kSplitOverlap), length}}) {
    const cv::Rect part = across_x ? cv::Rect(from, 0, to - from, grey.rows) : cv::Rect(0, from, grey.cols, to - from);
    const int budget = static_cast<int>(std::ceil(1.25 * max_features * part.area() / static_cast<double>(grey.total())));
    std::vector<cv::KeyPoint> kps;
    cv::Mat d;
    features_of(grey(part), budget, kps, d);
    const bool first = from == 0;
    for (std::size_t i = 0; i < kps.size(); ++i) {
      cv::KeyPoint k = kps[i];
      k.pt += cv::Point2f(static_cast<float>(part.x), static_cast<float>(part.y));
      const float along = across_x ? k.pt.x : k.pt.y;
      if (first ? along >= static_cast<float>(cut) : along < static_cast<float>(cut)) continue;  // the other half's
      all.push_back(k);
      rows.push_back(d.row(static_cast<int>(i)));
    }
  }
  std::vector<std::size_t> order(all.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return all[a].response > all[b].response; });
  if (order.size() > static_cast<std::size_t>(max_features)) order.resize(static_cast<std::size_t>(max_features));
  keypoints.clear();
  descriptors = cv::Mat(static_cast<int>(order.size()), kDescriptorSize, CV_8U);
  for (std::size_t i = 0; i < order.size(); ++i) {
    keypoints.push_back(all[order[i]]);
    rows[order[i]].copyTo(descriptors.row(static_cast<int>(i)));
  }
}

std::vector<Detection> Matcher::find_by_features(const cv::Mat& grey, std::vector<std::string>* trace) const {
  std::vector<cv::KeyPoint> keypoints;
  cv::Mat descriptors;
  if (options_.coarse_side > 0 && std::max(grey.cols, grey.rows) * 4 > options_.coarse_side * 5) {
    const CoarseLook look = look_coarse(grey, trace);
    double area = 0;
    for (const auto& w : look.windows) area += w.area();
    if (area <= kMaxWindowShare * grey.cols * grey.rows) {
      std::vector<cv::Mat> parts;
      for (const auto& w : look.windows) {
        std::vector<cv::KeyPoint> kps;
        cv::Mat d;
        const int features = std::max(500, static_cast<int>(options_.max_features * w.area() / (static_cast<double>(grey.cols) * grey.rows)));
        features_of(grey(w), features, kps, d);
        for (auto& kp : kps) kp.pt += cv::Point2f(static_cast<float>(w.x), static_cast<float>(w.y));
        keypoints.insert(keypoints.end(), kps.begin(), kps.end());
        if (!d.empty()) parts.push_back(d);
      }
      if (!parts.empty()) cv::vconcat(parts, descriptors);
      if (trace) trace->push_back(fmt::format("scene {}x{}: {} features in {} windows", grey.cols, grey.rows, keypoints.size(), look.windows.size()));
      // The windows' marks first: where one overlaps a large mark of the coarse look, it is the better placed.
      auto found = match_features(keypoints, descriptors, {}, trace);
      found.insert(found.end(), look.large.begin(), look.large.end());
      return keep_apart(std::move(found), kSamePlace);
    }
  }
  features_of(grey, options_.max_features, keypoints, descriptors);
  if (trace) trace->push_back(fmt::format("scene {}x{}: {} features", grey.cols, grey.rows, keypoints.size()));
  return match_features(keypoints, descriptors, {}, trace);
}

Matcher::MatchGroups Matcher::group_matches(const cv::Mat& q, const std::string& skip_brand) const {
  const int k = std::min(8, all_.rows);
  cv::Mat idx, dist;
  forest_->knn(all_, q, k, options_.flann_checks, idx, dist);

  int skip = -1;
  for (std::size_t b = 0; b < brands_.size(); ++b)
    if (brands_[b] == skip_brand) skip = static_cast<int>(b);

  MatchGroups groups;
  const double ratio2 = options_.ratio * options_.ratio;  // FLANN's L2 distances are squared
  for (int i = 0; i < q.rows; ++i) {
    int first = -1, b0 = -1;
    float d0 = 0, d1 = -1;
    for (int j = 0; j < k; ++j) {
      const int row = idx.at<int>(i, j);
      if (row < 0 || row >= all_.rows) continue;
      const int b = refs_[row_ref_[row]].brand;
      if (b == skip) continue;
      if (first < 0) {
        first = j, b0 = b, d0 = dist.at<float>(i, j);
      } else if (b != b0) {
        d1 = dist.at<float>(i, j);
        break;
      }
    }
    if (first < 0) continue;
    if (d1 < 0) d1 = dist.at<float>(i, k - 1);  // every neighbour found is the same brand
    if (!(d0 < ratio2 * d1)) continue;
    std::set<int> refs_seen;
    for (int j = first; j < k; ++j) {
      const int row = idx.at<int>(i, j);
      if (row < 0 || row >= all_.rows) continue;
      const int ref = row_ref_[row];
      if (refs_[ref].brand != b0 || dist.at<float>(i, j) > ratio2 * d1) continue;
      if (refs_seen.insert(ref).second) groups[ref].emplace_back(dist.at<float>(i, j) / std::max(1e-12f, d1), i, row_kp_[row]);
    }
  }
  return groups;
}

// Candidates are ranked by their largest set of geometrically consistent matches (one Hough bin), not
// by their raw count: a reference that draws many chance matches (a hub) does not crowd out a true one,
// and RANSAC then works on matches that mostly agree.
std::vector<Matcher::Candidate> Matcher::rank_candidates(const MatchGroups& groups, const std::vector<cv::KeyPoint>& keypoints,
                                                         int min_matches, int min_consistent) const {
  std::vector<Candidate> order;
  for (const auto& [ref, m] : groups) {
    if (static_cast<int>(m.size()) < min_matches) continue;
    std::vector<int> consistent;
    if (options_.hough) {
      consistent = consistent_matches(m, keypoints, *refs_[ref].features);
    } else {
      consistent.resize(m.size());
      for (std::size_t i = 0; i < m.size(); ++i) consistent[i] = static_cast<int>(i);
    }
    if (static_cast<int>(consistent.size()) >= min_consistent)
      order.push_back({static_cast<int>(consistent.size()), ref, std::move(consistent)});
  }
  std::sort(order.begin(), order.end(),
            [](const Candidate& a, const Candidate& b) { return std::tie(a.support, a.ref) > std::tie(b.support, b.ref); });
  return order;
}

std::vector<Detection> Matcher::match_features(const std::vector<cv::KeyPoint>& keypoints, const cv::Mat& descriptors,
                                               const std::string& skip_brand, std::vector<std::string>* trace) const {
  if (!forest_ || descriptors.empty()) return {};
  const cv::Mat q = root_sift(descriptors);
  return verify(group_matches(q, skip_brand), keypoints, q, trace);
}

std::vector<Detection> Matcher::verify(const MatchGroups& groups, const std::vector<cv::KeyPoint>& keypoints, const cv::Mat& q,
                                       std::vector<std::string>* trace) const {
  // Scene keypoints by 8-pixel cell, for the guided matching below.
  constexpr float cell = 8;
  float max_x = 0, max_y = 0;
  for (const auto& kp : keypoints) max_x = std::max(max_x, kp.pt.x), max_y = std::max(max_y, kp.pt.y);
  const int grid_w = static_cast<int>(max_x / cell) + 1, grid_h = static_cast<int>(max_y / cell) + 1;
  std::vector<std::vector<int>> grid(static_cast<std::size_t>(grid_w) * grid_h);
  for (int i = 0; i < static_cast<int>(keypoints.size()); ++i)
    grid[static_cast<std::size_t>(static_cast<int>(keypoints[i].pt.y / cell)) * grid_w + static_cast<int>(keypoints[i].pt.x / cell)].push_back(i);

  auto order = rank_candidates(groups, keypoints, std::max(options_.min_inliers, 6), options_.min_inliers);
  if (static_cast<int>(order.size()) > options_.candidates) order.resize(static_cast<std::size_t>(options_.candidates));

  std::vector<Detection> found;
  for (const auto& candidate : order) {
    const int ref = candidate.ref;
    const auto& consistent = candidate.consistent;
    // The 300 most distinctive matches at most: where a reference draws many weak matches, RANSAC still
    // finds the true ones. (OpenCV 4.6's USAC variants are not safe to call from several threads.)
    const auto& group = groups.at(ref);
    std::vector<std::tuple<float, int, int>> m;
    for (int i : consistent) m.push_back(group[static_cast<std::size_t>(i)]);
    std::sort(m.begin(), m.end());
    if (m.size() > 300) m.resize(300);
    const ReferenceFeatures& rf = *refs_[ref].features;
    std::vector<cv::Point2f> src, dst;
    for (const auto& [score, qi, ri] : m) {
      src.push_back(rf.keypoints[ri].pt);
      dst.push_back(keypoints[qi].pt);
    }
    cv::Mat inlier_mask;
    // RANSAC draws from the thread's RNG: seeded here so the same image gives the same report whatever
    // ran on this thread before.
    cv::theRNG() = cv::RNG(0x5EED0000u + static_cast<unsigned>(ref));
    cv::Mat h = cv::findHomography(src, dst, cv::RANSAC, 5.0, inlier_mask, 5000, 0.999);
    cv::Mat placement = h;  // the homography that places the mark (refined by guided matching below)
    std::vector<int> scene_of(m.size());
    for (std::size_t i = 0; i < m.size(); ++i) scene_of[i] = std::get<1>(m[i]);
    if (!h.empty()) {
      // Guided matching: each reference feature, projected through the first homography, takes the scene
      // feature within a few pixels whose descriptor is close enough (no ratio test: the place is known).
      // More correspondences place the mark better; acceptance still rests on the first, ratio-tested
      // matches (guided ones would lend false candidates support too).
      std::vector<cv::Point2f> ref_pts, projected;
      for (const auto& kp : rf.keypoints) ref_pts.push_back(kp.pt);
      cv::perspectiveTransform(ref_pts, projected, h);
      std::vector<cv::Point2f> gsrc, gdst;
      std::vector<int> gscene;
      for (std::size_t i = 0; i < projected.size(); ++i) {
        const cv::Point2f p = projected[i];
        if (!(p.x >= 0 && p.y >= 0 && p.x <= max_x && p.y <= max_y)) continue;
        const int cx = static_cast<int>(p.x / cell), cy = static_cast<int>(p.y / cell);
        int best = -1;
        double best_d = kGuidedDistance;
        for (int y = std::max(0, cy - 1); y <= std::min(grid_h - 1, cy + 1); ++y)
          for (int x = std::max(0, cx - 1); x <= std::min(grid_w - 1, cx + 1); ++x)
            for (int qi : grid[static_cast<std::size_t>(y) * grid_w + x]) {
              const cv::Point2f d = keypoints[qi].pt - p;
              if (d.x * d.x + d.y * d.y > cell * cell) continue;
              const double dq = cv::norm(q.row(qi), all_.row(refs_[ref].first_row + static_cast<int>(i)), cv::NORM_L2);
              if (dq < best_d) best_d = dq, best = qi;
            }
        if (best < 0) continue;
        gsrc.push_back(ref_pts[i]);
        gdst.push_back(keypoints[best].pt);
        gscene.push_back(best);
      }
      const int first = cv::countNonZero(inlier_mask);
      if (static_cast<int>(gsrc.size()) > first) {
        cv::Mat mask2;
        cv::Mat h2 = cv::findHomography(gsrc, gdst, cv::RANSAC, 4.0, mask2, 2000, 0.999);
        if (!h2.empty() && cv::countNonZero(mask2) > first) {
          placement = h2;
        }
      }
    }
    auto accept = [&](const std::array<cv::Point2f, 4>& placed, int support) {
      Detection d;
      d.brand = brands_[refs_[ref].brand];
      d.quad = placed;
      d.inliers = support;
      d.matches = static_cast<int>(m.size());
      d.reference = rf.label;
      d.confidence = static_cast<double>(support) / (support + 8.0);
      found.push_back(std::move(d));
    };
    auto note = [&](const std::string& verdict) {
      if (trace)
        trace->push_back(fmt::format("{} {}: {} matches: {}", brands_[refs_[ref].brand], rf.label, m.size(), verdict));
    };
    if (h.empty()) {
      note("no homography");
      continue;
    }
    std::set<int> scene_points;
    float x0 = 1e9f, x1 = -1e9f, y0 = 1e9f, y1 = -1e9f;
    for (int i = 0; i < inlier_mask.rows; ++i) {
      if (!inlier_mask.at<uchar>(i)) continue;
      scene_points.insert(scene_of[i]);
      x0 = std::min(x0, src[i].x), x1 = std::max(x1, src[i].x), y0 = std::min(y0, src[i].y), y1 = std::max(y1, src[i].y);
    }
    const int inliers = static_cast<int>(scene_points.size());
    if (inliers < options_.min_inliers) {
      note(fmt::format("{} inliers, too few", inliers));
      continue;
    }
    if (inliers < options_.min_inlier_share * static_cast<double>(m.size())) {
      note(fmt::format("{} inliers, too small a share of the matches", inliers));
      continue;
    }
    const bool spread = (x1 - x0) >= options_.min_spread * rf.mark.width && (y1 - y0) >= options_.min_spread * rf.mark.height;
    const auto quad = project(placement, rf.mark);
    if (!spread || !plausible(project(h, rf.mark), h) || !plausible(quad, placement)) {
      // Matches along one line of a wordmark leave a homography's perspective unconstrained. A
      // similarity (rotation, one scale, shift: 4 degrees of freedom, far harder to satisfy by chance)
      // places such a mark; it must be supported as well and span the mark's length.
      cv::Mat sim_mask;
      cv::theRNG() = cv::RNG(0x51A10000u + static_cast<unsigned>(ref));
      const cv::Mat sim = cv::estimateAffinePartial2D(src, dst, sim_mask, cv::RANSAC, 4.0, 2000, 0.99);
      std::set<int> sim_points;
      float sx0 = 1e9f, sx1 = -1e9f;
      for (int i = 0; !sim.empty() && i < sim_mask.rows; ++i) {
        if (!sim_mask.at<uchar>(i)) continue;
        sim_points.insert(scene_of[i]);
        sx0 = std::min(sx0, src[i].x), sx1 = std::max(sx1, src[i].x);
      }
      const int sim_inliers = static_cast<int>(sim_points.size());
      const double scale = sim.empty() ? 0 : std::hypot(sim.at<double>(0, 0), sim.at<double>(1, 0));
      if (sim.empty() || sim_inliers < options_.min_inliers ||
          sim_inliers < std::max(options_.min_inlier_share, kMinSimilarityShare) * static_cast<double>(m.size()) ||
          (sx1 - sx0) < 2 * options_.min_spread * rf.mark.width || scale < 0.05 || scale > 20) {
        note(fmt::format("{} inliers, {}; no similarity either ({} inliers)", inliers,
                         spread ? "implausible shape" : "spread too small", sim_inliers));
        continue;
      }
      cv::Mat h3 = cv::Mat::eye(3, 3, CV_64F);
      sim.copyTo(h3(cv::Rect(0, 0, 3, 2)));
      note(fmt::format("{} inliers to a similarity: accepted", sim_inliers));
      accept(project(h3, rf.mark), sim_inliers);
      continue;
    }
    note(fmt::format("{} inliers: accepted", inliers));
    accept(quad, inliers);
  }
  // One mark per place: the best-supported reading wins where detections overlap.
  std::sort(found.begin(), found.end(), [](const Detection& a, const Detection& b) { return a.inliers > b.inliers; });
  return keep_apart(std::move(found), kSamePlace);
}

std::vector<CheckFinding> check_catalogue(const Catalogue& catalogue, const Matcher& matcher) {
  std::vector<CheckFinding> findings;
  std::map<std::string, std::vector<const ReferenceFeatures*>> by_brand;
  for (const auto& r : matcher.index().references) by_brand[r.brand].push_back(&r);
  for (const auto& b : catalogue.brands) {
    const auto it = by_brand.find(b.id);
    if (it == by_brand.end()) {
      findings.push_back({b.id, "error", "not in the index: run `cluetrace catalogue build`"});
      continue;
    }
    std::size_t best = 0;
    for (const auto* r : it->second) best = std::max(best, r->keypoints.size());
    if (best < static_cast<std::size_t>(kWeakReferenceFeatures))
      findings.push_back({b.id, "weak",
                          fmt::format("its best reference has {} features (fewer than {}): a plain shape the matcher cannot "
                                      "find reliably; add a photo of the mark in use or rely on its wordmark",
                                      best, kWeakReferenceFeatures)});
    std::set<std::string> confused;
    for (const auto* r : it->second) {
      for (const auto& d : matcher.match_features(r->keypoints, r->descriptors, b.id)) confused.insert(d.brand);
    }
    for (const auto& other : confused)
      findings.push_back({b.id, "confusable", fmt::format("a reference of {} matches brand {} geometrically", b.id, other)});
  }
  return findings;
}

}  // namespace cluetrace::logo
