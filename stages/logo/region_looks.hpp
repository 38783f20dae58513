// Which of an image's stable regions (MSER) the silhouette search looks at. MSER returns the same region
// many times over: a region at one grey threshold and the next differ by a few edge pixels, and each
// proposes the same silhouettes again. A region is looked at only the first time its place is seen.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <tuple>

#include <opencv2/core.hpp>

namespace cluetrace::logo {

class RegionLooks {
 public:
  // Twins: every side of the box within this many pixels of a region already looked at, and the pixel counts
  // within this share of the larger. On the ICDAR 2003 photos a quarter of the silhouette search's candidates
  // came from such twins, and on the synthetic logo scenes a third (bench/RESULTS.md, issue 16).
  static constexpr int kTwinEdge = 2;
  static constexpr double kTwinPixels = 0.03;

  // True when the region with this box and pixel count is the first look at its place; it is then remembered.
  // A region in the same cell of a coarse grid of boxes and counts (half the box's coordinates, a sixteenth of
  // its pixels) as an earlier one is not, nor a twin of an earlier first look.
  bool first_look(const cv::Rect& box, int pixels) {
    if (!cells_.emplace(box.x / 2, box.y / 2, box.width / 2, box.height / 2, pixels / 16).second) return false;
    for (auto it = by_left_.lower_bound(box.x - kTwinEdge); it != by_left_.end() && it->first <= box.x + kTwinEdge; ++it)
      if (twins(it->second, {box, pixels})) return false;
    by_left_.emplace(box.x, Look{box, pixels});
    return true;
  }

 private:
  struct Look {
    cv::Rect box;
    int pixels;
  };
  static bool twins(const Look& a, const Look& b) {
    const auto near = [](int u, int v) { return std::abs(u - v) <= kTwinEdge; };
    return near(a.box.x, b.box.x) && near(a.box.y, b.box.y) && near(a.box.br().x, b.box.br().x) && near(a.box.br().y, b.box.br().y) &&
           std::abs(a.pixels - b.pixels) <= kTwinPixels * std::max(a.pixels, b.pixels);
  }
  std::set<std::tuple<int, int, int, int, int>> cells_;
  std::multimap<int, Look> by_left_;  // first looks by their box's left edge
};

}  // namespace cluetrace::logo
