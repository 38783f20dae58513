#include "pipeline/opencv_threads.hpp"

#include <algorithm>

#include <opencv2/core/utility.hpp>

namespace cluetrace {

// cv::setNumThreads(1) runs OpenCV's loops on the calling thread; a larger count re-creates OpenCV's arena
// with that many slots. Neither may happen while a loop of OpenCV's is running: scopes are opened before a
// graph or the case outputs start their work and closed after it ended.
OpenCvThreads::OpenCvThreads(int threads) : previous_(cv::getNumThreads()) {
  cv::setNumThreads(std::max(1, threads));
}

OpenCvThreads::~OpenCvThreads() { cv::setNumThreads(previous_); }

}  // namespace cluetrace
