// What the review outputs need from an image's pixels, made once after ranking while the image is in memory:
// a crop per located clue (for the HTML pages), the background's scene signature (for links across images)
// and, only when the config asks for it, a preview of the whole image. The writer stores them as files.
#pragma once

#include <filesystem>
#include <string>

#include <opencv2/core.hpp>

#include "pipeline/config.hpp"
#include "pipeline/types.hpp"

namespace cluetrace {

ReviewArtefacts make_review_artefacts(const ImageRecord& image, const OutputOptions& options);

// The crop of a clue's box: the box grown by `margin` of its size on every side, clipped to the image.
cv::Rect crop_rect(const Box& box, double margin, cv::Size image);

// Where the artefacts of an image live in an output folder (by content hash: the same picture under two names
// shares them). Paths are relative to the output folder.
std::filesystem::path crop_path(const std::string& sha256, int rank);
std::filesystem::path scene_path(const std::string& sha256);
std::filesystem::path preview_path(const std::string& sha256);
std::filesystem::path objects_path(const std::string& sha256);

// Writes the artefacts of `image` under `out_dir` (atomically, each file).
void store_review_artefacts(const std::filesystem::path& out_dir, const ImageRecord& image);

}  // namespace cluetrace
