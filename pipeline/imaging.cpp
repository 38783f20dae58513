#include "pipeline/imaging.hpp"

#include <algorithm>
#include <cmath>

namespace cluetrace {

cv::Mat scaled(const cv::Mat& image, double factor, int enlarge) {
  const cv::Size size(std::max(1, static_cast<int>(std::lround(image.cols * factor))),
                      std::max(1, static_cast<int>(std::lround(image.rows * factor))));
  if (image.empty() || size == image.size()) return image;
  cv::Mat out;
  cv::resize(image, out, size, 0, 0, factor < 1 ? cv::INTER_AREA : enlarge);
  return out;
}

}  // namespace cluetrace
