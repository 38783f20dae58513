// Times the parts of the logo matcher on each image (decode excluded): greyscale and scaling, SIFT
// keypoints and descriptors in two passes (as before) and in one (extract_features), the index search and verification, and the silhouette search. Prints
// medians in milliseconds. A profiling aid for bench/logo, not part of a run.
//   logo_profile CATALOGUE.yaml IMAGE...
#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <vector>

#include <fmt/format.h>
#include <opencv2/features2d.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "stages/logo/catalogue.hpp"
#include "stages/logo/matcher.hpp"
#include "stages/logo/shape.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: logo_profile CATALOGUE.yaml IMAGE...\n";
    return 2;
  }
  cv::setNumThreads(1);
  const auto cat = cluetrace::logo::load_catalogue(argv[1]);
  const cluetrace::logo::MatchOptions options;
  cluetrace::logo::Matcher matcher(cluetrace::logo::read_index(cat.index_file()), options);
  cluetrace::logo::ShapeMatcher shapes(matcher.index(), options.shape);
  std::map<std::string, std::vector<double>> times;
  std::vector<double> features;
  for (int i = 2; i < argc; ++i) {
    const cv::Mat img = cv::imread(argv[i], cv::IMREAD_COLOR);
    if (img.empty()) continue;
    auto t = Clock::now();
    cv::Mat grey;
    cv::cvtColor(img, grey, cv::COLOR_BGR2GRAY);
    const double scale = std::min(1.0, static_cast<double>(options.max_side) / std::max(grey.cols, grey.rows));
    if (scale < 1) cv::resize(grey, grey, cv::Size(), scale, scale, cv::INTER_AREA);
    times["grey+scale"].push_back(ms_since(t));
    t = Clock::now();
    auto sift = cv::SIFT::create(options.max_features, 3, options.contrast, 10, 1.6);
    std::vector<cv::KeyPoint> kps;
    sift->detect(grey, kps);
    times["sift detect"].push_back(ms_since(t));
    t = Clock::now();
    cv::Mat d;
    if (!kps.empty()) sift->compute(grey, kps, d);
    times["sift compute"].push_back(ms_since(t));
    t = Clock::now();
    std::vector<cv::KeyPoint> keypoints;
    cv::Mat descriptors;
    cluetrace::logo::extract_features(grey, options.max_features, keypoints, descriptors, options.contrast);
    times["extract_features (one pass)"].push_back(ms_since(t));
    features.push_back(static_cast<double>(keypoints.size()));
    t = Clock::now();
    matcher.match_features(keypoints, descriptors);
    times["index search + verify"].push_back(ms_since(t));
    t = Clock::now();
    {
      const double s2 = std::min(1.0, static_cast<double>(options.shape.max_side) / std::max(grey.cols, grey.rows));
      cv::Mat small = grey;
      if (s2 < 1) cv::resize(grey, small, cv::Size(), s2, s2, cv::INTER_AREA);
      auto mser = cv::MSER::create(5, options.shape.min_region_area, small.rows * small.cols / 4, 0.25);
      std::vector<std::vector<cv::Point>> regions;
      std::vector<cv::Rect> boxes;
      mser->detectRegions(small, regions, boxes);
      times["silhouettes: MSER alone"].push_back(ms_since(t));
      features.back() += 0;
      times["silhouettes: MSER regions"].push_back(static_cast<double>(regions.size()));
    }
    t = Clock::now();
    shapes.match(grey);
    times["silhouettes"].push_back(ms_since(t));
    t = Clock::now();
    matcher.match(img);
    times["whole match()"].push_back(ms_since(t));
  }
  fmt::print("{} images, median {} features; {} references, {} descriptors in the index\n", features.size(), median(features),
             matcher.reference_count(), matcher.descriptor_count());
  for (const auto& [name, v] : times) fmt::print("{:<26} {:8.1f} ms\n", name, median(v));
  return 0;
}
