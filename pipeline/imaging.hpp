// Small pixel helpers shared by stages and the case outputs.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace cluetrace {

// `image` scaled by `factor`: area averaging when it shrinks, `enlarge` interpolation when it grows. The size
// is given explicitly (rounded, at least one pixel), so a 20000 x 10 strip never rounds to zero rows. Returns
// `image` itself when the size does not change.
cv::Mat scaled(const cv::Mat& image, double factor, int enlarge = cv::INTER_LINEAR);

}  // namespace cluetrace
