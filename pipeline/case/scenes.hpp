// Matching scenes across images: the same room or place photographed again. Each image's background (its
// clue regions masked out, so the same product in two rooms is not "the same scene") is summarised by a
// perceptual hash and ORB features; two images match when enough features agree on one homography. (A hash
// alone is not enough: two plain, nearly empty backgrounds have close hashes and share nothing.)
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include "pipeline/types.hpp"

namespace cluetrace {

struct SceneSignature {
  int width = 0, height = 0;  // of the frame the points are in (the image scaled so its long side is kSceneSide)
  std::uint64_t phash = 0;    // OpenCV img_hash PHash of the whole image
  std::vector<cv::Point2f> points;
  cv::Mat descriptors;  // one 32-byte ORB descriptor per point (CV_8U)
};

inline constexpr int kSceneSide = 800;

// `masked`: regions (original pixels) whose features are left out: the clues' boxes.
// `grey`: the image in grey when the caller has it (ImageRecord::grey()); empty: converted here.
SceneSignature scene_signature(const cv::Mat& bgr, const std::vector<Box>& masked, int features, const cv::Mat& grey = {});
std::string encode_signature(const SceneSignature& signature);
// Empty on anything that is not a signature this version wrote.
std::optional<SceneSignature> decode_signature(std::string_view bytes);

int hash_distance(std::uint64_t a, std::uint64_t b);

struct SceneMatchOptions {
  int min_inliers = 20;
  int max_hash_distance = 6;  // in large cases, pairs with hashes this close are verified whatever the index says
  std::size_t exhaustive_below = 64;  // fewer images: every pair is verified; more: candidates from an index
  std::size_t candidates_per_image = 8;  // indexed: the best-supported pictures verified per picture
  // Large cases (match_scenes_from): the LSH keys and votes are sorted in partitions of at most a quarter of
  // this; beyond it they wait in files under spill_folder (default: the system's temporary folder).
  std::size_t memory_budget = std::size_t{256} << 20;
  std::filesystem::path spill_folder;
};

struct SceneMatch {
  std::size_t a = 0, b = 0;  // indexes into the signatures, a < b
  int inliers = 0;           // distinct matches agreeing on one homography
  int hash_distance = 64;
};

// Every pair of images whose backgrounds match, sorted by (a, b). `verified_pairs`: how many pairs were checked.
std::vector<SceneMatch> match_scenes(const std::vector<SceneSignature>& signatures, const SceneMatchOptions& options,
                                     std::size_t* verified_pairs = nullptr);

// Reads signature i of a case (nullopt: unreadable, left out).
using SignatureLoader = std::function<std::optional<SceneSignature>(std::size_t)>;

// Up to this many signatures are held at once and matched as match_scenes does.
inline constexpr std::size_t kScenesInMemory = 2000;

// Every matching pair among `n` signatures read through `load`, in bounded memory: up to kScenesInMemory
// it is match_scenes; beyond, each picture is reduced to its perceptual hash and the LSH keys of its first 64
// features (8 bytes a key), candidate pairs are the pictures whose keys collide in several places or whose
// hashes are close (sorted lists, no index in memory), and each candidate is verified by reading the two
// signatures again. The keys and their votes are sorted a partition at a time (options.memory_budget), in
// files when they do not fit; keys get one bit wider each time the case doubles past 100,000 pictures, so a
// bucket holds about as many pictures by chance at any size. Sorted by (a, b).
std::vector<SceneMatch> match_scenes_from(const SignatureLoader& load, std::size_t n, const SceneMatchOptions& options,
                                          std::size_t* verified_pairs = nullptr);

// Distinct inliers of the homography between two signatures (0 when there is none, or when fewer than
// `min_matches` features match at all or their matches land on fewer than `min_matches` distinct places: no
// homography could then have `min_matches` distinct inliers, and none is looked for).
int verify_scene_pair(const SceneSignature& a, const SceneSignature& b, int min_matches = 8);

}  // namespace cluetrace
