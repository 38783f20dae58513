#include "stages/logo/shape.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>

#include <fmt/format.h>
#include <oneapi/tbb/parallel_for.h>
#include <opencv2/features2d.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/case/binary_io.hpp"
#include "stages/logo/ecc.hpp"
#include "stages/logo/geometry.hpp"
#include "stages/logo/region_looks.hpp"

namespace cluetrace::logo {
namespace {

constexpr double kMaxSolidity = 0.75;  // area / convex hull area of a one-part silhouette (without details, below)
constexpr double kMinDetail = 0.12;     // share of the hull that concavities and holes make, to count as details
constexpr double kMinDetailOverlap = 0.6;  // a placed silhouette's details against the gaps in the ink (IoU)
constexpr double kPlainOutlineMargin = 0.10;  // the IoU a plain outline needs above shape_min_iou
constexpr int kMinDetailPixels = 300;      // pixels the details of a mark told apart by them alone must cover
constexpr double kInkedDetails = 0.5;   // the overlap a placement with inked details is held to
constexpr double kRatioWeight = 0.5;    // weight of the area ratios beside the signature spectrum
constexpr double kMaxDetailDistance = 0.2;  // of a plain outline's details to a region's (detail_distance)
// Pixels a placed silhouette spans at least each way, in the image the regions are found in when that is
// kReferenceSide long (or the photo itself, when smaller): smaller, a letter "o" or "B" of a word looks like
// too many marks. The floors on regions (this, MSER's least area and kMinRegionBox) keep their size in the
// photo when the search runs at another max_side.
constexpr int kMinSide = 48;
constexpr int kMinRegionBox = 16;
constexpr int kReferenceSide = 1000;
constexpr int kMinPlacedPixels = 50;  // of a placed silhouette, to be measured at all
constexpr double kMinContrastToSpread = 1.0;  // |inside - outside| against the inside's standard deviation
constexpr double kMaxAnisotropy = 1.6;        // largest / smallest singular value of the recovered affine map

struct Frame {
  cv::Point2d centroid;
  cv::Matx22d whiten, unwhiten;  // C^-1/2 and C^1/2
  bool ok = false;
};

// Centroid and covariance of a point set; the whitening map turns the region into one of unit
// covariance, so any affine view of a shape becomes the same shape up to a rotation.
Frame frame_of(const std::vector<cv::Point>& pts, int stride) {
  Frame f;
  double n = 0, sx = 0, sy = 0;
  for (std::size_t i = 0; i < pts.size(); i += stride) sx += pts[i].x, sy += pts[i].y, n += 1;
  if (n < 10) return f;
  f.centroid = {sx / n, sy / n};
  double cxx = 0, cxy = 0, cyy = 0;
  for (std::size_t i = 0; i < pts.size(); i += stride) {
    const double dx = pts[i].x - f.centroid.x, dy = pts[i].y - f.centroid.y;
    cxx += dx * dx, cxy += dx * dy, cyy += dy * dy;
  }
  cxx /= n, cxy /= n, cyy /= n;
  cv::Matx22d c(cxx + 1.0 / 12, cxy, cxy, cyy + 1.0 / 12);
  cv::Mat evals, evecs;
  cv::eigen(cv::Mat(c), evals, evecs);
  const double l0 = evals.at<double>(0), l1 = evals.at<double>(1);
  if (!(l1 > 1e-6) || l0 / l1 > 400) return f;  // a line, not a shape
  const cv::Matx22d v(evecs.at<double>(0, 0), evecs.at<double>(0, 1), evecs.at<double>(1, 0), evecs.at<double>(1, 1));
  const cv::Matx22d isqrt(1 / std::sqrt(l0), 0, 0, 1 / std::sqrt(l1)), sqrt(std::sqrt(l0), 0, 0, std::sqrt(l1));
  f.whiten = v.t() * isqrt * v;
  f.unwhiten = v.t() * sqrt * v;
  f.ok = true;
  return f;
}

// Largest whitened radius per angle bin, normalised to mean 1.
bool signature_of(const std::vector<cv::Point>& pts, int stride, const Frame& f, ShapeMatcher::Signature& sig) {
  sig.fill(0);
  for (std::size_t i = 0; i < pts.size(); i += stride) {
    const cv::Vec2d d = f.whiten * cv::Vec2d(pts[i].x - f.centroid.x, pts[i].y - f.centroid.y);
    const double r = std::hypot(d[0], d[1]);
    int bin = static_cast<int>((std::atan2(d[1], d[0]) + CV_PI) / (2 * CV_PI) * ShapeMatcher::kBins);
    bin = std::clamp(bin, 0, ShapeMatcher::kBins - 1);
    sig[bin] = std::max(sig[bin], static_cast<float>(r));
  }
  // Bins no point fell in (thin shapes at low resolution) take their neighbours' values.
  for (int pass = 0; pass < 2; ++pass)
    for (int b = 0; b < ShapeMatcher::kBins; ++b)
      if (sig[b] == 0) sig[b] = std::max(sig[(b + 1) % ShapeMatcher::kBins], sig[(b + ShapeMatcher::kBins - 1) % ShapeMatcher::kBins]);
  double mean = 0;
  for (float v : sig) mean += v;
  mean /= ShapeMatcher::kBins;
  if (!(mean > 0)) return false;
  for (auto& v : sig) v = static_cast<float>(v / mean);
  return true;
}

ShapeMatcher::Spectrum spectrum_of(const ShapeMatcher::Signature& sig) {
  ShapeMatcher::Spectrum out{};
  for (std::size_t k = 1; k <= out.size(); ++k) {
    std::complex<double> acc = 0;
    for (int b = 0; b < ShapeMatcher::kBins; ++b)
      acc += static_cast<double>(sig[b]) * std::polar(1.0, -2 * CV_PI * static_cast<double>(k) * b / ShapeMatcher::kBins);
    out[k - 1] = static_cast<float>(std::abs(acc) / ShapeMatcher::kBins);
  }
  return out;
}

double distance(const ShapeMatcher::Spectrum& a, const ShapeMatcher::Spectrum& b) {
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(d);
}

std::vector<cv::Point> mask_points(const cv::Mat& mask) {
  std::vector<cv::Point> pts;
  cv::findNonZero(mask, pts);
  return pts;
}

// The outer outlines of a mask's parts, as corners (straight runs by their ends).
std::vector<std::vector<cv::Point>> outer_outlines(const cv::Mat& mask) {
  std::vector<std::vector<cv::Point>> outlines;
  cv::findContours(mask.clone(), outlines, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  return outlines;
}

// The convex hull of a mask's pixels, from the corners of its outer outlines only: every vertex of the hull
// is an extreme pixel, on an outline, and never inside a straight run of one. The same polygon as the hull of
// every pixel, at a fraction of the cost (that was most of the logo stage's start-up). Empty without outlines.
std::vector<cv::Point> hull_of(const std::vector<std::vector<cv::Point>>& outlines) {
  std::vector<cv::Point> corners, hull;
  for (const auto& o : outlines) corners.insert(corners.end(), o.begin(), o.end());
  if (!corners.empty()) cv::convexHull(corners, hull);
  return hull;
}

// The shapes every background is full of: their whitened forms are a disc and a square.
bool trivial(const ShapeMatcher::Spectrum& s) {
  double energy = 0;
  for (float v : s) energy += v * v;
  // A disc has a flat signature; a square's is dominated by the 4th harmonic.
  if (std::sqrt(energy) < 0.06) return true;
  const double rest = energy - s[3] * s[3] - s[7] * s[7] - s[11] * s[11];
  return std::sqrt(std::max(0.0, rest)) < 0.05;
}

// What an affine map keeps of a part's details: its area against its convex hull's (concavities) and
// against its outline filled (holes), which tell a disc with a hole, or a bitten disc, from a disc; and
// where the details lie: the distance of their centroid from the part's, in units of the part's spread
// (Mahalanobis), which tells a ring from a disc with an off-centre notch or hole.
ShapeMatcher::Ratios ratios_of(const cv::Mat& part) {
  const auto outline = outer_outlines(part);
  if (outline.empty()) return {};
  const auto hull = hull_of(outline);
  cv::Mat filled = cv::Mat::zeros(part.size(), CV_8U), hulled = cv::Mat::zeros(part.size(), CV_8U);
  cv::drawContours(filled, outline, -1, cv::Scalar(255), cv::FILLED);
  cv::fillConvexPoly(hulled, hull, cv::Scalar(255));
  hulled |= part;
  const double area = cv::countNonZero(part);
  ShapeMatcher::Ratios r{area / std::max(1.0, static_cast<double>(cv::countNonZero(hulled))),
                         area / std::max(1.0, static_cast<double>(cv::countNonZero(filled | part))), 0};
  const cv::Moments mp = cv::moments(part, true), md = cv::moments(hulled & ~part, true);
  if (mp.m00 > 0 && md.m00 > 0) {
    const double cxx = mp.mu20 / mp.m00, cxy = mp.mu11 / mp.m00, cyy = mp.mu02 / mp.m00;
    const double det = cxx * cyy - cxy * cxy;
    const double dx = md.m10 / md.m00 - mp.m10 / mp.m00, dy = md.m01 / md.m00 - mp.m01 / mp.m00;
    if (det > 1e-9) r.detail_offset = std::sqrt(std::max(0.0, (cyy * dx * dx - 2 * cxy * dx * dy + cxx * dy * dy) / det));
  }
  return r;
}

double distance(const ShapeMatcher::Spectrum& a, const ShapeMatcher::Ratios& ra, const ShapeMatcher::Spectrum& b, const ShapeMatcher::Ratios& rb) {
  return distance(a, b) + kRatioWeight * (std::abs(ra.solidity - rb.solidity) + std::abs(ra.fill - rb.fill));
}

// How far apart two parts' details are: their concavities, holes and where those lie.
double detail_distance(const ShapeMatcher::Ratios& a, const ShapeMatcher::Ratios& b) {
  return std::abs(a.solidity - b.solidity) + std::abs(a.fill - b.fill) + std::abs(a.detail_offset - b.detail_offset);
}

// What the whole mark's hull holds besides the mark (concavities, holes, the gaps between parts), and the share
// of the hull it is.
cv::Mat details_of(const cv::Mat& silhouette, double& share) {
  const std::vector<cv::Point> whole_hull = hull_of(outer_outlines(silhouette));
  cv::Mat detail = cv::Mat::zeros(silhouette.size(), CV_8U);
  cv::fillConvexPoly(detail, whole_hull, cv::Scalar(255));
  const double hull_area = std::max(1, cv::countNonZero(detail));
  detail &= ~silhouette;
  share = cv::countNonZero(detail) / hull_area;
  return detail;
}

// A prepared model's bytes (binary_io: native byte order, read back by the same build: an index is built where
// it is used): the format version, whether there is a model, then its numbers. Bump kModelFormat whenever
// model_of() changes what it computes: older bytes are then ignored and the models made again.
constexpr std::uint8_t kModelFormat = 1;

}  // namespace

ShapeMatcher::ShapeMatcher(const FeatureIndexFile& index, ShapeOptions options) : options_(options) {
  // Features per reference file (its views at every size): a vector mark with few is matched by shape,
  // whatever photos of the same brand an analyst added beside it.
  std::map<std::pair<std::string, std::string>, std::size_t> best_features;
  for (const auto& r : index.references) {
    auto& n = best_features[{r.brand, r.label}];
    n = std::max(n, r.keypoints.size());
  }
  // Each reference's model on its own (in parallel: this is most of the logo stage's start-up), kept in
  // reference order.
  std::vector<std::optional<Model>> built(index.references.size());
  std::atomic<std::size_t> prepared{0};
  oneapi::tbb::parallel_for(std::size_t{0}, index.references.size(), [&](std::size_t i) {
    const auto& r = index.references[i];
    if (!has_silhouette(r) || best_features.at({r.brand, r.label}) >= static_cast<std::size_t>(options_.max_brand_features)) return;
    if (auto kept = prepared_model(r)) {
      built[i] = std::move(*kept);
      ++prepared;
    } else {
      built[i] = model_of(r);
    }
  });
  prepared_ = prepared.load();
  for (auto& m : built) {
    if (!m) continue;
    m->silhouette_bits = PackedMask(m->silhouette);
    m->detail_bits = PackedMask(m->detail);
    models_.push_back(std::move(*m));
  }
}

void ShapeMatcher::prepare(FeatureIndexFile& index) {
  oneapi::tbb::parallel_for(std::size_t{0}, index.references.size(), [&](std::size_t i) {
    auto& r = index.references[i];
    r.shape_model.clear();
    if (!has_silhouette(r)) return;
    const auto m = model_of(r);
    std::string& out = r.shape_model;
    binary_io::put(out, kModelFormat);
    binary_io::put(out, static_cast<std::uint8_t>(m.has_value()));
    if (!m) return;
    for (double v : {m->centroid.x, m->centroid.y, m->whiten(0, 0), m->whiten(0, 1), m->whiten(1, 0), m->whiten(1, 1),
                     m->ratios.solidity, m->ratios.fill, m->ratios.detail_offset})
      binary_io::put(out, v);
    binary_io::put(out, static_cast<std::uint8_t>(m->detail_decides));
    binary_io::put(out, static_cast<std::uint8_t>(!m->detail.empty()));
    binary_io::put(out, m->signature);
    binary_io::put(out, m->spectrum);
  });
}

std::optional<std::optional<ShapeMatcher::Model>> ShapeMatcher::prepared_model(const ReferenceFeatures& r) {
  std::string_view in = r.shape_model;
  std::uint8_t format = 0, present = 0;
  if (!has_silhouette(r) || !binary_io::take(in, format) || format != kModelFormat || !binary_io::take(in, present) || present > 1)
    return std::nullopt;
  if (!present) return in.empty() ? std::optional<std::optional<Model>>(std::optional<Model>()) : std::nullopt;
  Model m;
  double v[9];
  std::uint8_t detail_decides = 0, has_detail = 0;
  for (auto& x : v)
    if (!binary_io::take(in, x)) return std::nullopt;
  if (!binary_io::take(in, detail_decides) || !binary_io::take(in, has_detail) || !binary_io::take(in, m.signature) || !binary_io::take(in, m.spectrum) ||
      !in.empty() || detail_decides > 1 || has_detail > 1)
    return std::nullopt;
  m.brand = r.brand;
  m.label = r.label;
  m.silhouette = silhouette_of(r);  // decoded here, for the references that have a model only
  m.centroid = {v[0], v[1]};
  m.whiten = cv::Matx22d(v[2], v[3], v[4], v[5]);
  m.ratios = {v[6], v[7], v[8]};
  m.detail_decides = detail_decides == 1;
  if (has_detail) {
    double share = 0;
    m.detail = details_of(m.silhouette, share);
  }
  return std::optional<Model>(std::move(m));
}

std::optional<ShapeMatcher::Model> ShapeMatcher::model_of(const ReferenceFeatures& r) {
  const cv::Mat silhouette = silhouette_of(r);
  // The anchor: the largest connected part of the silhouette (one stripe of three, the apple without its leaf).
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(silhouette, labels, stats, centroids, 8);
  int best = 0, total = 0;
  for (int i = 1; i < n; ++i) {
    total += stats.at<int>(i, cv::CC_STAT_AREA);
    if (best == 0 || stats.at<int>(i, cv::CC_STAT_AREA) > stats.at<int>(best, cv::CC_STAT_AREA)) best = i;
  }
  if (best == 0 || stats.at<int>(best, cv::CC_STAT_AREA) < total / 4) return std::nullopt;
  const cv::Mat anchor = labels == best;
  const auto pts = mask_points(anchor);
  // Only shapes a background does not produce by chance: several parts (the rest must land on ink
  // too), one part with deep concavities (a swoosh), or one whose hull holds details large enough to
  // check (a bitten apple, a disc with a hole). A lone triangle, disc or rounded square would match
  // every sticker and window.
  const std::vector<cv::Point> hull = hull_of(outer_outlines(anchor));
  const double solidity = stats.at<int>(best, cv::CC_STAT_AREA) / std::max(1.0, cv::contourArea(hull));
  const bool several_parts = total - stats.at<int>(best, cv::CC_STAT_AREA) >= total * 15 / 100;
  // The details: what the whole mark's hull holds besides the mark (concavities, holes, the gaps between
  // parts). Where the mark is placed, the gaps in the ink must have their shape.
  double detail_share = 0;
  const cv::Mat detail = details_of(silhouette, detail_share);
  if (!several_parts && solidity > kMaxSolidity && detail_share < kMinDetail) return std::nullopt;
  const Frame f = frame_of(pts, 1);
  if (!f.ok) return std::nullopt;
  Model m;
  m.brand = r.brand;
  m.label = r.label;
  m.silhouette = silhouette;
  if (detail_share >= kMinDetail / 2) m.detail = detail;
  m.centroid = f.centroid;
  m.whiten = f.whiten;
  m.ratios = ratios_of(anchor);
  if (!signature_of(pts, 1, f, m.signature)) return std::nullopt;
  m.spectrum = spectrum_of(m.signature);
  // A plain anchor (one bar of three, a disc) is allowed when other parts or details are there to be
  // checked.
  if (trivial(m.spectrum) && !several_parts && detail_share < kMinDetail) return std::nullopt;
  // One part whose outline is plain (convex, or a disc or square after whitening) is told apart by its
  // holes and notches alone.
  m.detail_decides = !several_parts && (m.ratios.outline_solidity() > kMaxSolidity || trivial(m.spectrum));
  return m;
}

namespace {

// The singular values of a 2 x 2 map, larger first, in closed form: s1^2 + s2^2 is the sum of the squared
// entries and s1 * s2 the absolute determinant. cv::SVD for each of the 17 angles tried per peak was 6 % of
// the silhouette search.
std::pair<double, double> singular_values(const cv::Matx22d& a) {
  const double sum = a(0, 0) * a(0, 0) + a(0, 1) * a(0, 1) + a(1, 0) * a(1, 0) + a(1, 1) * a(1, 1);
  const double det = std::abs(a(0, 0) * a(1, 1) - a(0, 1) * a(1, 0));
  const double larger = std::sqrt((sum + std::sqrt(std::max(0.0, sum * sum - 4 * det * det))) / 2);
  return {larger, larger > 0 ? det / larger : 0.0};
}

// A flat mark seen by a camera is stretched a little, not squashed: whitening would accept any affine
// view, so bound the anisotropy (and refuse mirror images).
bool camera_like(const cv::Matx23d& affine) {
  const cv::Matx22d a(affine(0, 0), affine(0, 1), affine(1, 0), affine(1, 1));
  const auto [larger, smaller] = singular_values(a);
  return cv::determinant(a) > 0 && larger <= kMaxAnisotropy * smaller;
}

// What a placement is checked against: the silhouette, its details and whether they alone tell it apart.
struct Mark {
  const cv::Mat& silhouette;
  const PackedMask& silhouette_bits;
  const PackedMask& detail_bits;  // empty: no details to check
  bool detail_decides;
};

// A level of grey, and whether the ink is the darker side of it.
struct Ink {
  double level = 0;
  bool dark = false;
};

// The ink of a flat mark covering `mask` in `patch`: one level inside, clearly apart from the ring around
// it (by 20 grey levels, and by more than the inside's own spread); the ink is what lies on the mark's
// side of the level halfway between the two. False when the ring is too thin to measure or the two are
// not apart.
bool flat_ink(const cv::Mat& patch, const cv::Mat& mask, Ink& ink) {
  cv::Scalar in_mean, in_sd;
  cv::meanStdDev(patch, in_mean, in_sd, mask);
  cv::Mat ring;
  cv::dilate(mask, ring, cv::getStructuringElement(cv::MORPH_ELLIPSE, {7, 7}));
  ring &= (mask == 0);
  if (cv::countNonZero(ring) < 30) return false;
  const double inside = in_mean[0], outside = cv::mean(patch, ring)[0];
  if (std::abs(inside - outside) < 20 || std::abs(inside - outside) < kMinContrastToSpread * in_sd[0]) return false;
  ink = {(inside + outside) / 2, inside < outside};
  return true;
}

// The image the regions are found in, its area, and the least side a placed silhouette may have there.
struct Canvas {
  const cv::Mat& grey;
  int area;
  int min_side;
};

// How well the silhouette, carried into the image by `affine` (silhouette pixels to image pixels),
// covers the ink where it lands (intersection over union); -1 when the place cannot be checked: cut
// by the picture's edge, too small or too large, or not a flat mark apart from its surroundings.
// `dark_ink` says which side of the level the mark is.
// `region_ink`, when given, is the level and side of the image region that proposed the placement: a rough
// placement is measured against that ink without the flat-mark check (it may straddle the mark and its
// background), which the final placement must pass.
double overlap_at(const Mark& mark, const cv::Matx23d& affine, const Canvas& canvas, std::vector<cv::Point2f>& mapped,
                  bool& dark_ink, const Ink* region_ink = nullptr) {
  if (!camera_like(affine)) return -1;
  const cv::Mat& grey = canvas.grey;
  const int area = canvas.area;
  const cv::Mat& silhouette = mark.silhouette;
  std::vector<cv::Point2f> corners{{0, 0},
                                   {static_cast<float>(silhouette.cols), 0},
                                   {static_cast<float>(silhouette.cols), static_cast<float>(silhouette.rows)},
                                   {0, static_cast<float>(silhouette.rows)}};
  cv::transform(corners, mapped, cv::Mat(affine));
  const cv::Rect whole = cv::boundingRect(mapped);
  const cv::Rect land = whole & cv::Rect(0, 0, grey.cols, grey.rows);
  if (land != whole || std::min(land.width, land.height) < canvas.min_side || land.area() > area * 9 / 10) return -1;
  const cv::Matx23d shifted(affine(0, 0), affine(0, 1), affine(0, 2) - land.x, affine(1, 0), affine(1, 1), affine(1, 2) - land.y);
  // The silhouette's pixels where it lands are read through the warp's map, not warped into a mask: only the
  // flat-mark check needs the mask itself.
  NearestWarp map(shifted, land.width);
  const cv::Mat patch = grey(land);
  Ink placed;
  if (region_ink) {
    placed = *region_ink;
  } else {
    const cv::Mat warped = map.warp(silhouette, land.size());
    if (cv::countNonZero(warped) < kMinPlacedPixels || !flat_ink(patch, warped, placed)) return -1;
  }
  const WarpedInk counts = count_warped_ink(map, mark.silhouette_bits, mark.detail_bits, patch, placed.level, placed.dark);
  if (counts.mark < kMinPlacedPixels) return -1;
  dark_ink = placed.dark;
  const double iou = counts.inter / std::max(1.0, static_cast<double>(counts.uni));
  if (!mark.detail_bits.empty()) {
    // The mark's details (concavities, holes, gaps) against the gaps in the ink inside its hull: a
    // plainer shape (a disc where the mark is a bitten disc) leaves them inked, and a ring or a letter
    // "o" has a hole of another shape. A placement that fails is held low but not refused, since a
    // rough one may still be aligned.
    const double detail_iou = counts.gap_inter / std::max(1.0, static_cast<double>(counts.gap_uni));
    // A mark told from plain shapes by its details alone needs them large enough to see.
    if (detail_iou < kMinDetailOverlap || (mark.detail_decides && counts.detail < kMinDetailPixels)) return std::min(iou, kInkedDetails);
  }
  return iou;
}

// Moves a rough placement onto the ink: ECC image alignment (Evangelidis & Psarakis 2008) of the
// silhouette, at most kRefineSide pixels long, against the image around the place, the ink made the
// bright side. Returns false when it does not converge.
constexpr int kRefineSide = 96;
constexpr double kMinRoughOverlap = 0.5;  // rougher placements are not worth refining: nothing there to align with
// ECC's iterations: 20, not 40. On ICDAR 2003 photos most alignments ran to the bound without meeting the
// tolerance; the second 20 changed no mark on any logo set or photo measured and cost 11-16 % of a run's CPU
// (bench/RESULTS.md, issue 16).
constexpr int kRefineIterations = 20;
bool align_with_ink(const cv::Mat& silhouette, const cv::Matx23d& affine, const cv::Mat& grey, bool dark_ink, cv::Matx23d& refined) {
  const double k = std::min(1.0, static_cast<double>(kRefineSide) / std::max(silhouette.cols, silhouette.rows));
  cv::Mat tmpl;
  cv::resize(silhouette, tmpl, cv::Size(), k, k, cv::INTER_AREA);
  tmpl.convertTo(tmpl, CV_32F, 1.0 / 255);
  cv::GaussianBlur(tmpl, tmpl, cv::Size(5, 5), 0);
  std::vector<cv::Point2f> mapped;
  const float w = static_cast<float>(silhouette.cols), h = static_cast<float>(silhouette.rows);
  cv::transform(std::vector<cv::Point2f>{{0, 0}, {w, 0}, {w, h}, {0, h}}, mapped, cv::Mat(affine));
  cv::Rect around = cv::boundingRect(mapped);
  around = cv::Rect(around.x - around.width / 4, around.y - around.height / 4, around.width * 3 / 2, around.height * 3 / 2) &
           cv::Rect(0, 0, grey.cols, grey.rows);
  if (around.width < 16 || around.height < 16) return false;
  cv::Mat input;
  grey(around).convertTo(input, CV_32F, dark_ink ? -1.0 / 255 : 1.0 / 255, dark_ink ? 1.0 : 0.0);
  // Template pixels (scaled by k) to the cropped image.
  cv::Matx23f warp(static_cast<float>(affine(0, 0) / k), static_cast<float>(affine(0, 1) / k), static_cast<float>(affine(0, 2) - around.x),
                   static_cast<float>(affine(1, 0) / k), static_cast<float>(affine(1, 1) / k), static_cast<float>(affine(1, 2) - around.y));
  // A failure to converge: the rough placement stands.
  if (!align_affine_ecc(tmpl, input, warp, EccOptions{kRefineIterations, 1e-4, 3})) return false;
  refined = cv::Matx23d(warp(0, 0) * k, warp(0, 1) * k, warp(0, 2) + static_cast<double>(around.x),
                        warp(1, 0) * k, warp(1, 1) * k, warp(1, 2) + static_cast<double>(around.y));
  return true;
}

struct Placement {
  double iou = -1;  // -1: the place cannot be checked
  cv::Matx23d affine;
  bool dark_ink = false;
  std::vector<cv::Point2f> corners;
};

// Carries the whole silhouette into the image by the affine map that turns the model's whitened anchor
// into the region's (rotated by phi), and measures how well it covers the ink there.
Placement rough_placement(const Mark& mark, cv::Point2d model_centroid, const cv::Matx22d& model_whiten, const cv::Point2d& centroid,
                          const cv::Matx22d& unwhiten, double phi, const Canvas& canvas, const Ink& region_ink) {
  const cv::Matx22d rot(std::cos(phi), -std::sin(phi), std::sin(phi), std::cos(phi));
  const cv::Matx22d a = unwhiten * rot * model_whiten;
  const cv::Vec2d t = cv::Vec2d(centroid.x, centroid.y) - a * cv::Vec2d(model_centroid.x, model_centroid.y);
  Placement p;
  p.affine = cv::Matx23d(a(0, 0), a(0, 1), t[0], a(1, 0), a(1, 1), t[1]);
  p.iou = overlap_at(mark, p.affine, canvas, p.corners, p.dark_ink, &region_ink);
  return p;
}

// ECC alignments already run on one image. Nested MSER regions of one place propose the same mark with rough
// placements a pixel or two apart, and ECC started from either ends in the same place: about a quarter of the
// alignments on ICDAR 2003's photos were such repeats (bench/RESULTS.md, issue 16).
class Alignments {
 public:
  // The alignment of `silhouette` from `rough` (its corners in the image: `corners`), or the one already run
  // on this image from a start whose corners lie within kSameStart pixels; nullopt when ECC did not converge.
  std::optional<cv::Matx23d> refine(const cv::Mat& silhouette, const cv::Matx23d& rough, const std::vector<cv::Point2f>& corners,
                                    const cv::Mat& grey, bool dark_ink) {
    for (const auto& run : runs_)
      if (run.silhouette == silhouette.data && run.dark_ink == dark_ink && close(run.corners, corners)) return run.result;
    Run run{silhouette.data, corners, dark_ink, std::nullopt};
    cv::Matx23d refined;
    if (align_with_ink(silhouette, rough, grey, dark_ink, refined)) run.result = refined;
    runs_.push_back(std::move(run));
    return runs_.back().result;
  }

 private:
  static constexpr float kSameStart = 2;  // pixels, in the image the regions are found in
  struct Run {
    const uchar* silhouette;  // the model's, which outlives the image's search
    std::vector<cv::Point2f> corners;
    bool dark_ink;
    std::optional<cv::Matx23d> result;
  };
  static bool close(const std::vector<cv::Point2f>& a, const std::vector<cv::Point2f>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (cv::norm(a[i] - b[i]) > kSameStart) return false;
    return true;
  }
  std::vector<Run> runs_;
};

// The placement that stands: the rough one measured as a flat mark, or, when that falls short and the
// rough one nearly covers the region's ink, the rough one aligned with the ink (refine) and measured again.
Placement settle(const Mark& mark, const Canvas& canvas, const Placement& rough, double needed, Alignments& alignments) {
  if (rough.iou < kMinRoughOverlap) return rough;  // nothing there to align with, nor to fit
  Placement p = rough;
  p.iou = overlap_at(mark, rough.affine, canvas, p.corners, p.dark_ink);
  if (p.iou >= needed) return p;
  const auto refined = alignments.refine(mark.silhouette, rough.affine, rough.corners, canvas.grey, rough.dark_ink);
  if (!refined) return p;
  Placement q;
  q.affine = *refined;
  q.iou = overlap_at(mark, *refined, canvas, q.corners, q.dark_ink);
  return q.iou > p.iou && q.dark_ink == rough.dark_ink ? q : p;
}

}  // namespace

std::vector<ShapeDetection> ShapeMatcher::match(const cv::Mat& full, std::vector<std::string>* trace,
                                                const std::vector<cv::Rect2f>& text_lines) const {
  if (models_.empty() || full.empty()) return {};
  // Silhouettes need no fine detail: a smaller image keeps the cost of the region search down.
  const double scale = std::min(1.0, static_cast<double>(options_.max_side) / std::max(full.cols, full.rows));
  cv::Mat grey = full;
  if (scale < 1) cv::resize(full, grey, cv::Size(), scale, scale, cv::INTER_AREA);
  const int area = grey.rows * grey.cols;
  // The floors on a region's size, set for a search at kReferenceSide, in this search's pixels.
  const double to_reference = std::min(1.0, static_cast<double>(kReferenceSide) / std::max(full.cols, full.rows));
  const double floor_scale = scale / to_reference;
  const Canvas canvas{grey, area, static_cast<int>(std::lround(kMinSide * floor_scale))};
  const int min_box = static_cast<int>(std::lround(kMinRegionBox * floor_scale));
  const auto min_region_area = static_cast<int>(std::lround(options_.min_region_area * floor_scale * floor_scale));
  auto mser = cv::MSER::create(5, min_region_area, area / 4, 0.25);
  std::vector<std::vector<cv::Point>> regions;
  std::vector<cv::Rect> boxes;
  mser->detectRegions(grey, regions, boxes);
  const auto lines = scaled(text_lines, scale);
  std::vector<ShapeDetection> found;
  int candidates = 0, by_details = 0, glyphs = 0;
  RegionLooks looks;
  std::set<std::tuple<const Model*, int, int, int, int>> tried;
  Alignments alignments;
  // The nearest model of each brand that `distance_to` puts within `max_distance`, nearest first.
  const auto nearest_per_brand = [this](double max_distance, const auto& distance_to) {
    std::vector<std::pair<double, const Model*>> nearest;
    for (const auto& cand : models_) {
      const double d = distance_to(cand);
      if (d > max_distance) continue;
      auto same = std::find_if(nearest.begin(), nearest.end(), [&](const auto& n) { return n.second->brand == cand.brand; });
      if (same != nearest.end()) {
        if (d < same->first) *same = {d, &cand};
      } else {
        nearest.emplace_back(d, &cand);
      }
    }
    std::sort(nearest.begin(), nearest.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return nearest;
  };
  for (std::size_t ri = 0; ri < regions.size(); ++ri) {
    const auto& pts = regions[ri];
    const cv::Rect& box = boxes[ri];
    if (box.width < min_box || box.height < min_box) continue;
    if (inside_text_line(cv::Rect2f(box), lines)) {
      ++glyphs;
      continue;
    }
    if (!looks.first_look(box, static_cast<int>(pts.size()))) continue;
    const int stride = std::max<int>(1, static_cast<int>(pts.size() / 800));
    const Frame f = frame_of(pts, stride);
    if (!f.ok) continue;
    Signature sig;
    if (!signature_of(pts, stride, f, sig)) continue;
    const Spectrum spec = spectrum_of(sig);
    // The region as a mask, with room around it for the ring its ink is measured against.
    const cv::Rect around = cv::Rect(box.x - 4, box.y - 4, box.width + 8, box.height + 8) & cv::Rect(0, 0, grey.cols, grey.rows);
    cv::Mat part = cv::Mat::zeros(around.size(), CV_8U);
    for (const auto& q : pts) part.at<uchar>(q.y - around.y, q.x - around.x) = 255;
    const Ratios ratios = ratios_of(part);
    // The nearest silhouettes of a few different brands are each carried into the image and checked
    // against the ink there: the signature only proposes (it is coarse, and plain parts resemble several
    // brands about equally); the whole silhouette's overlap decides. A fixed number per region keeps the
    // cost flat as the catalogue grows.
    auto nearest = nearest_per_brand(options_.max_signature_distance, [&](const Model& cand) {
      return distance(spec, ratios, cand.spectrum, cand.ratios);
    });
    if (static_cast<int>(nearest.size()) > options_.proposals) nearest.resize(static_cast<std::size_t>(options_.proposals));
    const std::size_t by_signature = nearest.size();
    // A region with a plain outline (a disc, a rounded square, whatever its holes and notches) is near
    // every plain-outline mark by its signature, which cannot rank them: the marks whose details are
    // most like the region's are proposed as well (as many again).
    if (ratios.solidity < 1 - kMinDetail / 2 && ratios.outline_solidity() > kMaxSolidity) {
      const auto plain = nearest_per_brand(kMaxDetailDistance, [&](const Model& cand) {
        return cand.detail_decides ? detail_distance(ratios, cand.ratios) : std::numeric_limits<double>::infinity();
      });
      int added = 0;
      for (const auto& p : plain) {
        if (added == options_.proposals) break;
        if (std::any_of(nearest.begin(), nearest.end(), [&](const auto& n) { return n.second->brand == p.second->brand; })) continue;
        nearest.push_back(p);
        ++added;
      }
    }
    if (nearest.empty()) continue;
    // A region that is not a flat patch apart from its surroundings holds no flat mark.
    Ink ink;
    if (!flat_ink(grey(around), part, ink)) continue;
    for (std::size_t ni = 0; ni < nearest.size(); ++ni) {
      const auto& [best_d, model] = nearest[ni];
      const Model& m = *model;
      // A mark proposed by its details alone is placed once per place: nested regions a few pixels
      // apart would place it there again.
      if (ni >= by_signature && !tried.emplace(model, box.x / 8, box.y / 8, box.width / 8, box.height / 8).second) continue;
      const Mark mark{m.silhouette, m.silhouette_bits, m.detail_bits, m.detail_decides};
      ++candidates;
      if (ni >= by_signature) ++by_details;
      // The rotation between the two whitened shapes: the best circular alignments of the signatures
      // (a symmetric part, such as one bar of three, aligns equally well several ways: the whole
      // silhouette decides between them).
      std::array<double, kBins> score{};
      for (int k = 0; k < kBins; ++k)
        for (int b = 0; b < kBins; ++b) score[k] += m.signature[b] * sig[(b + k) % kBins];
      std::vector<int> peaks;
      for (int k = 0; k < kBins; ++k)
        if (score[k] >= score[(k + 1) % kBins] && score[k] >= score[(k + kBins - 1) % kBins]) peaks.push_back(k);
      std::sort(peaks.begin(), peaks.end(), [&](int x, int y) { return score[x] > score[y]; });
      if (peaks.size() > 4) peaks.resize(4);
      Placement best;
      for (const int shift : peaks) {
        // The signature's bins are coarse, and an elongated part whitens into a near-square whose
        // alignment is ill-defined: near each peak, take the angle whose map is closest to a similarity.
        double phi = 2 * CV_PI * shift / kBins, least = 1e9;
        for (int step = -8; step <= 8; ++step) {
          const double p = 2 * CV_PI * (shift + step / 4.0) / kBins;
          const cv::Matx22d r(std::cos(p), -std::sin(p), std::sin(p), std::cos(p));
          const auto [larger, smaller] = singular_values(f.unwhiten * r * m.whiten);
          const double aniso = larger / std::max(1e-12, smaller);
          if (aniso < least) least = aniso, phi = p;
        }
        auto placement = rough_placement(mark, m.centroid, m.whiten, f.centroid, f.unwhiten, phi, canvas, ink);
        if (placement.iou > best.iou) best = std::move(placement);
      }
      // Whitening places a part only roughly (a region merged with a little background, a part cut
      // off): the best rough placement that falls short is aligned with the ink and measured again.
      // A plain outline told apart by its details alone must fit more closely: a disc crossed by a bar
      // covers most of a comma.
      const double needed = m.detail_decides ? options_.min_iou + kPlainOutlineMargin : options_.min_iou;
      if (best.iou >= 0) best = settle(mark, canvas, best, needed, alignments);
      const double best_iou = best.iou;
      const auto& best_mapped = best.corners;
      if (trace && best_iou >= 0)
        trace->push_back(fmt::format("shape {} {}: {} distance {:.3f}, IoU {:.2f}", m.brand, m.label,
                                     ni < by_signature ? "signature" : "detail", best_d, best_iou));
      if (best_iou < needed) continue;
      ShapeDetection d;
      d.brand = m.brand;
      d.reference = m.label;
      d.iou = best_iou;
      for (int i = 0; i < 4; ++i) d.quad[i] = best_mapped[i] * static_cast<float>(1 / scale);
      found.push_back(std::move(d));
    }
  }
  // Nested regions of one mark give the same placement many times: keep the best of each place.
  std::sort(found.begin(), found.end(), [](const ShapeDetection& a, const ShapeDetection& b) { return a.iou > b.iou; });
  found = keep_apart(std::move(found), 0.3);
  if (trace)
    trace->push_back(fmt::format("shape: {} regions ({} glyphs of text lines), {} candidates ({} by their details), {} kept",
                                 regions.size(), glyphs, candidates, by_details, found.size()));
  return found;
}

}  // namespace cluetrace::logo
