// The KD-trees the logo matcher searches for a scene's descriptors: built over every reference's RootSIFT
// descriptors, or read back from the bytes `cluetrace catalogue build` keeps in the logo index, so that the
// stage does not build them at each start (a third of its start-up, on one core).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <opencv2/core.hpp>
#include <opencv2/flann.hpp>

#include "stages/logo/catalogue.hpp"
#include "stages/logo/kd_forest.hpp"

namespace cluetrace::logo {

// Every reference's RootSIFT descriptors (root_sift, matcher.hpp) in one CV_32F matrix, in index order,
// references without features left out; empty when there are none.
cv::Mat descriptor_matrix(const FeatureIndexFile& index);

// The KD-trees over `descriptors`: the same trees every time for the same rows (their split dimensions are
// drawn from a fixed seed, so every report is the same from run to run). The index keeps a reference to
// `descriptors`, which must outlive it.
std::unique_ptr<cv::flann::Index> build_kd_trees(const cv::Mat& descriptors);

// `trees` as bytes for the index, tied to the rows they were built over and to this OpenCV's version.
// Empty when OpenCV could not write them (the index is then written without them).
std::string save_kd_trees(const cv::flann::Index& trees, const cv::Mat& descriptors);

// The trees kept in `bytes`, when they were saved for exactly these rows (their SHA-256) by this OpenCV and
// are whole (the SHA-256 of OpenCV's own bytes), ready to search (kd_forest.hpp); nullopt otherwise, and the
// caller builds them.
std::optional<KdForest> load_kd_trees(std::string_view bytes, const cv::Mat& descriptors);

// The trees build_kd_trees makes over `descriptors`, ready to search: for an index written without them.
// Throws when OpenCV's trees cannot be read back (no anonymous memory file, or a FLANN of another layout).
KdForest build_kd_forest(const cv::Mat& descriptors);

}  // namespace cluetrace::logo
