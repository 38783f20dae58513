// Query by example: "where else in this case does this object appear?" asked of a region, not of a whole image.
//
// Every picture of a case keeps a compact feature store: ORB features of the whole image (scaled so its long
// side is at most kObjectSide, spread over a grid so plain areas get some too) and their visual words, about
// 40 bytes a feature. An index beside the case database (objects.keys) holds each picture's distinct words: a
// query region's features are turned into words the same way, every picture is scored by the weight of the
// words it shares with the query (rare words weigh more; one sequential pass over the file, no index in memory),
// and the best-scoring pictures are verified as the logo matcher verifies a mark: matched features must agree
// on one homography, which also outlines the region.
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
  std::vector<std::uint32_t> words;  // the features' distinct visual words (empty without a vocabulary)
};

inline constexpr int kObjectSide = 1600;    // pictures larger than this are scaled down to it
inline constexpr int kObjectMinSide = 800;  // smaller ones are enlarged to it

// The features of a whole image (BGR or grey).
ObjectFeatures object_features(const cv::Mat& image, int features);
std::string encode_objects(const ObjectFeatures& features);
// Empty on anything that is not a feature store this version wrote.
std::optional<ObjectFeatures> decode_objects(std::string_view bytes);
// Only the visual words of a stored picture (a few KB of the file); nullopt when it is not a store.
std::optional<std::vector<std::uint32_t>> read_object_words(const std::filesystem::path& file);

// Visual words: a two-level tree of binary centroids (k-majority clustering of ORB descriptors), trained on a
// sample of a case's own features. A feature's word is its nearest centroid at each level.
class Vocabulary {
 public:
  Vocabulary() = default;
  // `sample`: descriptors (CV_8U, 32 bytes a row); `branching` centroids per node (words = branching^2).
  static Vocabulary train(const cv::Mat& sample, int branching, std::uint64_t seed = 1);
  // Sorted, distinct words of descriptors.
  std::vector<std::uint32_t> words(const cv::Mat& descriptors) const;
  std::uint32_t size() const { return static_cast<std::uint32_t>(branching_ * branching_); }
  int branching() const { return branching_; }
  std::string encode() const;
  static std::optional<Vocabulary> decode(std::string_view bytes);

 private:
  int branching_ = 0;
  cv::Mat top_;                  // branching rows
  std::vector<cv::Mat> leaves_;  // per top centroid, its branching rows (fewer when it had fewer members)
};

// The vocabulary cluetrace ships (models/objects/vocabulary.bin, made by bench/objects/train_vocabulary), loaded
// once; nullptr when it is missing (query by example is then off, with a warning).
const Vocabulary* object_vocabulary();
// A vocabulary as that file holds it.
std::string encode_vocabulary_file(const Vocabulary& vocabulary);

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
  double min_votes = 2.0;       // weight of shared words for a picture to be a candidate at all
  int min_inliers = 10;         // distinct matches on one homography that make it the same object
  std::size_t limit = 50;       // answers returned
};

struct ObjectHit {
  std::int64_t image_id = 0;
  std::string sha256;
  double votes = 0;
  int inliers = 0;
  std::vector<cv::Point2f> polygon;  // the query's outline in this picture, original pixels
};

struct ObjectSearchStats {
  std::size_t pictures = 0, candidates = 0, verified = 0;
  double scan_ms = 0, verify_ms = 0;
};

// A case whose run kept no object stores (its run.json says `object_stores: false`: `outputs.objects: false`,
// as config/quick.yaml has) cannot be searched by example.
struct NoObjectStores : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Every picture of the case in `dir` that shows the queried object, most inliers first. Throws NoObjectStores
// for a case made without them, std::runtime_error naming the file when the index is missing or broken.
std::vector<ObjectHit> find_object(const std::filesystem::path& dir, const ObjectQuery& query,
                                   const ObjectSearchOptions& options, ObjectSearchStats* stats = nullptr);

// Distinct inliers of the homography from the query to `target`, and the query's outline mapped into the
// target's original pixels (empty when they do not agree on one plausible homography).
int verify_object(const ObjectQuery& query, const ObjectFeatures& target, int min_inliers, std::vector<cv::Point2f>* polygon);

}  // namespace cluetrace
