// Query by example: "where else in this case does this object appear?" asked of a region, not of a whole image.
//
// Every picture of a case keeps a compact feature store: ORB features of the whole image (scaled so its long
// side is at most kObjectSide, spread over a grid so plain areas get some too), about 20 KB a picture. An index
// beside the case database (objects.keys) holds each picture's LSH keys of those features, sorted: a query
// region's features are hashed the same way, every picture is scored by how many of its keys the query holds
// (one sequential pass over the file, no index in memory), and the best-scoring pictures are verified as the
// logo matcher verifies a mark: matched features must agree on one homography, which also outlines the region.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

namespace cluetrace {

struct ObjectFeatures {
  int width = 0, height = 0;  // of the frame the points are in
  double scale = 1.0;         // frame pixels per original pixel
  std::vector<cv::Point2f> points;
  cv::Mat descriptors;  // one 32-byte ORB descriptor per point (CV_8U)
};

inline constexpr int kObjectSide = 1024;
inline constexpr int kObjectTables = 4;     // LSH tables
inline constexpr int kObjectKeyBits = 20;   // bits of a descriptor per key

// The features of a whole image (BGR or grey).
ObjectFeatures object_features(const cv::Mat& image, int features);
std::string encode_objects(const ObjectFeatures& features);
// Empty on anything that is not a feature store this version wrote.
std::optional<ObjectFeatures> decode_objects(std::string_view bytes);

// Sorted, distinct LSH keys of descriptors: (table << kObjectKeyBits) | the table's bits.
std::vector<std::uint32_t> object_keys(const cv::Mat& descriptors);

// A picture of the case for the index: its first image id and its SHA-256 (whose feature store is read).
struct ObjectPicture {
  std::int64_t image_id = 0;
  std::string sha256;
};

// Writes <dir>/objects.keys (atomically) from the feature stores under <dir>; pictures without one are left out.
// Returns the pictures indexed. Throws std::runtime_error naming the file it cannot write.
std::size_t build_object_index(const std::filesystem::path& dir, const std::vector<ObjectPicture>& pictures);

// What is looked for: features of the region and its outline, in the query's own frame.
struct ObjectQuery {
  ObjectFeatures features;
  std::vector<cv::Point2f> outline;  // the region's corners, in the query frame
  std::string exclude_sha256;        // the picture the region was drawn on (not an answer)
};

// The region `box` (original pixels) of an image of the case.
ObjectQuery query_from_region(const cv::Mat& image, const cv::Rect& box, int features = 500);
// A crop the analyst uploads: all of it.
ObjectQuery query_from_crop(const cv::Mat& crop, int features = 500);

struct ObjectSearchOptions {
  std::size_t candidates = 64;  // best-scoring pictures verified
  int min_votes = 3;            // keys in common for a picture to be a candidate at all
  int min_inliers = 12;         // distinct matches on one homography that make it the same object
  std::size_t limit = 50;       // answers returned
};

struct ObjectHit {
  std::int64_t image_id = 0;
  std::string sha256;
  int votes = 0, inliers = 0;
  std::vector<cv::Point2f> polygon;  // the query's outline in this picture, original pixels
};

struct ObjectSearchStats {
  std::size_t pictures = 0, candidates = 0, verified = 0;
  double scan_ms = 0, verify_ms = 0;
};

// Every picture of the case in `dir` that shows the queried object, most inliers first. Throws
// std::runtime_error naming the file when the index is missing or broken.
std::vector<ObjectHit> find_object(const std::filesystem::path& dir, const ObjectQuery& query,
                                   const ObjectSearchOptions& options, ObjectSearchStats* stats = nullptr);

// Distinct inliers of the homography from the query to `target`, and the query's outline mapped into the
// target's original pixels (empty when they do not agree on one plausible homography).
int verify_object(const ObjectQuery& query, const ObjectFeatures& target, int min_inliers, std::vector<cv::Point2f>* polygon);

}  // namespace cluetrace
