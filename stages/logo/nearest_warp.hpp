#pragma once
// Where cv::warpAffine(src, dst, forward, size, INTER_NEAREST, BORDER_CONSTANT) reads each destination
// pixel: the forward map inverted in double as OpenCV 4.6 inverts it, then its 10-bit fixed point rounded per
// row (warp_fixed_point.hpp). A pixel read through it is the pixel OpenCV's warp writes, to the bit, so a pass
// over the destination can take the warped image's values without making it: the silhouettes' placements
// (shape.cpp) count their overlap with the ink that way, where one warp and four masks per placement were a
// quarter of the silhouette search (bench/RESULTS.md, issue 16).

#include <cstddef>
#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include "stages/logo/warp_fixed_point.hpp"

namespace cluetrace::logo {

class NearestWarp {
 public:
  // `forward`: source pixels to destination pixels, as cv::warpAffine takes it; `width`: the destination's.
  NearestWarp(const cv::Matx23d& forward, int width);

  // Starts destination row y (out of line: compiled without fused multiply-adds, as the constructor).
  void row(int y);
  // The source column and row destination pixel x of the current row reads (either may lie outside the
  // source, where OpenCV writes the border: 0).
  int source_x(int x) const { return (x0_ + adelta_[static_cast<std::size_t>(x)]) >> warp_fixed_point::kAbBits; }
  int source_y(int x) const { return (y0_ + bdelta_[static_cast<std::size_t>(x)]) >> warp_fixed_point::kAbBits; }
  // The whole warp of `src` (CV_8UC1) at `size`: cv::warpAffine's output.
  cv::Mat warp(const cv::Mat& src, cv::Size size);

 private:
  // The source pixel (8-bit, one channel) at (sx, sy); 0 outside the source.
  static unsigned char at(const cv::Mat& src, int sx, int sy) {
    return static_cast<unsigned>(sx) < static_cast<unsigned>(src.cols) && static_cast<unsigned>(sy) < static_cast<unsigned>(src.rows)
               ? src.ptr<unsigned char>(sy)[sx]
               : 0;
  }

  double m_[6];  // destination to source
  std::vector<int> adelta_, bdelta_;
  int x0_ = 0, y0_ = 0;
};

// An 8-bit mask held as one bit a pixel (set where the mask is nonzero): what a placement reads of a
// silhouette and its details, from eight times less memory than the bytes (~70 KB a silhouette, 215 of them).
class PackedMask {
 public:
  PackedMask() = default;
  explicit PackedMask(const cv::Mat& mask);
  bool empty() const { return cols_ == 0 || rows_ == 0; }
  cv::Size size() const { return {static_cast<int>(cols_), static_cast<int>(rows_)}; }
  bool inside(int sx, int sy) const { return static_cast<unsigned>(sx) < cols_ && static_cast<unsigned>(sy) < rows_; }
  // 1 where the pixel is inside and set, 0 elsewhere (outside the mask, OpenCV's warp writes its constant
  // border, 0). Branch-free.
  int at(int sx, int sy) const {
    const bool in = inside(sx, sy);
    const std::size_t word = in ? static_cast<std::size_t>(sy) * stride_ + (static_cast<unsigned>(sx) >> 6) : 0;
    return static_cast<int>(in & ((words_[word] >> (static_cast<unsigned>(sx) & 63)) & 1));
  }

 private:
  std::vector<std::uint64_t> words_{0};  // never empty: at() reads word 0 for pixels outside
  std::size_t stride_ = 0;               // words a row
  unsigned cols_ = 0, rows_ = 0;
};

// What the warp of a mark covers in a patch of the image, against the patch's ink, counted in one pass over
// the patch. The masks are packed (PackedMask), of one size; `detail` may be empty. The ink is the patch's
// pixels below `level` when `dark`, above it otherwise (cv::compare's result). Each count is the
// cv::countNonZero of the masks the silhouette placement used to make (with `warped` and `details` the warps
// of `mark` and `detail`):
struct WarpedInk {
  int mark = 0;       // warped
  int inter = 0;      // ink & warped
  int uni = 0;        // ink | warped
  int detail = 0;     // details (0 without a detail mask)
  int gap_inter = 0;  // gaps & details, where gaps = (details | warped) & ~ink
  int gap_uni = 0;    // gaps | details
};
WarpedInk count_warped_ink(NearestWarp& map, const PackedMask& mark, const PackedMask& detail, const cv::Mat& patch, double level, bool dark);

}  // namespace cluetrace::logo
