// Plane geometry the logo matchers share: a quadrilateral's bounds, how much two boxes overlap, whether
// a box is one glyph of a line of text, and keeping one detection per place.
#pragma once

#include <algorithm>
#include <array>
#include <vector>

#include <opencv2/core.hpp>

namespace cluetrace::logo {

inline cv::Rect2f quad_bounds(const std::array<cv::Point2f, 4>& q) {
  float x0 = q[0].x, x1 = q[0].x, y0 = q[0].y, y1 = q[0].y;
  for (const auto& p : q) x0 = std::min(x0, p.x), x1 = std::max(x1, p.x), y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  return {x0, y0, x1 - x0, y1 - y0};
}

// Intersection over the smaller box's area: 1 when one box lies inside the other.
inline double overlap_share(const cv::Rect2f& a, const cv::Rect2f& b) {
  const double inter = (a & b).area();
  return inter / std::max(1e-6, static_cast<double>(std::min(a.area(), b.area())));
}

// One glyph of a line of text: mostly inside a text line at least twice its length. (A line drawn
// around the box alone says nothing: text detectors fire on marks too.)
inline bool inside_text_line(const cv::Rect2f& box, const std::vector<cv::Rect2f>& lines) {
  return std::any_of(lines.begin(), lines.end(), [&](const cv::Rect2f& line) {
    return (box & line).area() > 0.5 * box.area() && std::max(line.width, line.height) >= 2 * std::max(box.width, box.height);
  });
}

// Boxes scaled by `factor` (into an image resized by it).
inline std::vector<cv::Rect2f> scaled(const std::vector<cv::Rect2f>& boxes, double factor) {
  const auto f = static_cast<float>(factor);
  std::vector<cv::Rect2f> out;
  out.reserve(boxes.size());
  for (const auto& b : boxes) out.emplace_back(b.x * f, b.y * f, b.width * f, b.height * f);
  return out;
}

// Keeps, from detections ordered best first, each one that overlaps no kept one by more than `share`.
template <typename Detection>
std::vector<Detection> keep_apart(std::vector<Detection> best_first, double share) {
  std::vector<Detection> kept;
  for (auto& d : best_first) {
    const auto box = quad_bounds(d.quad);
    if (std::none_of(kept.begin(), kept.end(), [&](const Detection& k) { return overlap_share(box, quad_bounds(k.quad)) > share; }))
      kept.push_back(std::move(d));
  }
  return kept;
}

}  // namespace cluetrace::logo
