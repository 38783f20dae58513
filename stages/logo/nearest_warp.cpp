#include "stages/logo/nearest_warp.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cluetrace::logo {

NearestWarp::NearestWarp(const cv::Matx23d& forward, int width)
    : adelta_(static_cast<std::size_t>(std::max(width, 0))), bdelta_(static_cast<std::size_t>(std::max(width, 0))) {
  using namespace warp_fixed_point;
  // cv::warpAffine's inversion (without WARP_INVERSE_MAP), operation for operation.
  double* m = m_;
  for (int i = 0; i < 6; ++i) m[i] = forward.val[i];
  double d = m[0] * m[4] - m[1] * m[3];
  d = d != 0 ? 1. / d : 0;
  const double a11 = m[4] * d, a22 = m[0] * d;
  m[0] = a11;
  m[1] *= -d;
  m[3] *= -d;
  m[4] = a22;
  const double b1 = -m[0] * m[2] - m[1] * m[5];
  const double b2 = -m[3] * m[2] - m[4] * m[5];
  m[2] = b1;
  m[5] = b2;
  for (int x = 0; x < width; ++x) {
    adelta_[static_cast<std::size_t>(x)] = bounded(fixed(m[0] * x * kScale));
    bdelta_[static_cast<std::size_t>(x)] = bounded(fixed(m[3] * x * kScale));
  }
}

void NearestWarp::row(int y) {
  using namespace warp_fixed_point;
  x0_ = bounded(fixed((m_[1] * y + m_[2]) * kScale) + kNearestRound);
  y0_ = bounded(fixed((m_[4] * y + m_[5]) * kScale) + kNearestRound);
}

cv::Mat NearestWarp::warp(const cv::Mat& src, cv::Size size) {
  CV_Assert(src.type() == CV_8UC1 && size.width <= static_cast<int>(adelta_.size()));
  cv::Mat out(size, CV_8UC1);
  for (int y = 0; y < size.height; ++y) {
    row(y);
    auto* o = out.ptr<unsigned char>(y);
    for (int x = 0; x < size.width; ++x) o[x] = at(src, source_x(x), source_y(x));
  }
  return out;
}

PackedMask::PackedMask(const cv::Mat& mask)
    : stride_((static_cast<std::size_t>(std::max(mask.cols, 0)) + 63) / 64), cols_(static_cast<unsigned>(std::max(mask.cols, 0))),
      rows_(static_cast<unsigned>(std::max(mask.rows, 0))) {
  CV_Assert(mask.empty() || mask.type() == CV_8UC1);
  if (mask.empty()) {
    cols_ = rows_ = 0;
    return;
  }
  words_.assign(stride_ * rows_, 0);
  // A pixel at a time took ~60 ms for the default catalogue's 215 silhouettes, at every start; sixteen at a
  // time (SSE2: compare with zero, one bit a byte) a few.
  for (int y = 0; y < mask.rows; ++y) {
    const auto* m = mask.ptr<unsigned char>(y);
    std::uint64_t* row = words_.data() + static_cast<std::size_t>(y) * stride_;
    int x = 0;
#if defined(__SSE2__)
    const __m128i zero = _mm_setzero_si128();
    for (; x + 16 <= mask.cols; x += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(m + x));
      const auto unset = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, zero)));
      const std::uint64_t set = ~unset & 0xFFFFu;
      row[static_cast<unsigned>(x) >> 6] |= set << (static_cast<unsigned>(x) & 63);
    }
#endif
    for (; x < mask.cols; ++x)
      if (m[x] != 0) row[static_cast<unsigned>(x) >> 6] |= std::uint64_t{1} << (static_cast<unsigned>(x) & 63);
  }
}

namespace {

// The patch's ink as an integer bound on grey levels: ink is below `bound` when dark, above it otherwise;
// for 8-bit pixels the same decision as comparing with `level` in double (cv::compare makes the same one).
int ink_bound(double level, bool dark) {
  if (std::isnan(level)) return dark ? -1 : 256;  // no pixel compares true
  if (dark) return static_cast<int>(std::clamp(std::ceil(level), -1.0, 256.0));
  return static_cast<int>(std::clamp(std::floor(level), -1.0, 256.0));
}

// Ink pixels of one row.
int ink_in_row(const unsigned char* p, int n, int bound, bool dark) {
  int count = 0;
  if (dark) {
    for (int x = 0; x < n; ++x) count += p[x] < bound;
  } else {
    for (int x = 0; x < n; ++x) count += p[x] > bound;
  }
  return count;
}

}  // namespace

WarpedInk count_warped_ink(NearestWarp& map, const PackedMask& mark, const PackedMask& detail, const cv::Mat& patch, double level, bool dark) {
  CV_Assert(!mark.empty() && patch.type() == CV_8UC1 && (detail.empty() || detail.size() == mark.size()));
  const int bound = ink_bound(level, dark);
  const auto is_ink = [&](unsigned char v) { return static_cast<int>(dark ? v < bound : v > bound); };
  WarpedInk c;
  int ink = 0;
  for (int y = 0; y < patch.rows; ++y) {
    map.row(y);
    const auto* p = patch.ptr<unsigned char>(y);
    ink += ink_in_row(p, patch.cols, bound, dark);
    // The source coordinates move monotonically along a row, so the pixels that read inside the silhouette
    // are one run: only those are looked up.
    int lo = 0, hi = patch.cols;
    while (lo < hi && !mark.inside(map.source_x(lo), map.source_y(lo))) ++lo;
    while (hi > lo && !mark.inside(map.source_x(hi - 1), map.source_y(hi - 1))) --hi;
    int inter = 0, marked = 0;
    if (detail.empty()) {
      for (int x = lo; x < hi; ++x) {
        const int m = mark.at(map.source_x(x), map.source_y(x));
        marked += m, inter += m & is_ink(p[x]);
      }
    } else {
      int dn = 0, gi = 0, gu = 0;
      for (int x = lo; x < hi; ++x) {
        const int sx = map.source_x(x), sy = map.source_y(x);
        const int m = mark.at(sx, sy), d = detail.at(sx, sy), i = is_ink(p[x]);
        marked += m, inter += m & i;
        // gaps & details is details outside the ink; gaps | details, details or (mark outside the ink).
        const int gap = (d | m) & (i ^ 1);
        dn += d, gi += d & gap, gu += d | gap;
      }
      c.detail += dn, c.gap_inter += gi, c.gap_uni += gu;
    }
    c.mark += marked, c.inter += inter;
  }
  // ink | warped: the ink and the mark, less what they share.
  c.uni = ink + c.mark - c.inter;
  return c;
}

}  // namespace cluetrace::logo
