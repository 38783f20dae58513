#include "pipeline/thread_limit.hpp"

#include <algorithm>
#include <cstddef>

#include <opencv2/core/utility.hpp>

namespace cluetrace {

// cv::setNumThreads(1) runs OpenCV's loops on the calling thread; a larger count re-creates OpenCV's arena
// with that many slots. Neither may happen while a loop of OpenCV's is running: scopes are opened before a
// graph or the case outputs start their work and closed after it ended.
ThreadLimit::ThreadLimit(int threads)
    : previous_opencv_threads_(cv::getNumThreads()),
      workers_(oneapi::tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(std::max(1, threads))) {
  cv::setNumThreads(std::max(1, threads));
}

ThreadLimit::~ThreadLimit() { cv::setNumThreads(previous_opencv_threads_); }

}  // namespace cluetrace
