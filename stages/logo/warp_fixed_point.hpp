#pragma once
// cv::warpAffine's fixed point (OpenCV 4.6, imgwarp.cpp), shared by the logo stage's own warps: the ECC
// alignment's bilinear sampling (ecc.cpp) and the silhouettes' nearest-pixel placement (nearest_warp.hpp).
// Both read the pixels OpenCV's warp would, to the bit, because they compute the same integers.

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>

namespace cluetrace::logo::warp_fixed_point {

// Coordinates in 1/1024 pixel; bilinear weights at 1/32 pixel.
constexpr int kAbBits = 10;
constexpr int kInterBits = 5;
constexpr int kInterTab = 1 << kInterBits;
constexpr int kLinearRound = (1 << kAbBits) / kInterTab / 2;
constexpr int kNearestRound = (1 << kAbBits) / 2;
constexpr double kScale = 1 << kAbBits;

// OpenCV's saturate_cast<int>(double): round half to even, clamped.
inline std::int64_t fixed(double v) {
  if (!(v > INT_MIN)) return INT_MIN;  // also NaN, as the conversion instruction gives
  if (v > INT_MAX) return INT_MAX;
  return std::lrint(v);
}

// Fixed-point coordinates are held within this (2^29 / 1024: half a million pixels, far outside any image
// here, where OpenCV's 16-bit source coordinates also lie outside), so that sums of two stay in int.
constexpr std::int64_t kBound = std::int64_t{1} << 29;

inline int bounded(std::int64_t v) { return static_cast<int>(std::clamp<std::int64_t>(v, -kBound, kBound)); }

}  // namespace cluetrace::logo::warp_fixed_point
