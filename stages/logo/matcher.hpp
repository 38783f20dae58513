// Finds catalogue marks in a photo: SIFT features of the scene are looked up in one approximate
// nearest-neighbour index over every reference of every brand (so the cost per image grows with the
// logarithm of the catalogue, not linearly), matches pass a ratio test against the nearest *other*
// brand, and the few best-supported references are verified with a RANSAC homography.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <opencv2/core.hpp>

#include "stages/logo/catalogue.hpp"
#include "stages/logo/kd_forest.hpp"
#include "stages/logo/shape.hpp"

namespace cluetrace::logo {

struct MatchOptions {
  int max_side = 1280;      // scenes are scaled down to this long side before feature extraction
  int max_features = 4000;  // SIFT features kept per scene
  double contrast = 0.02;   // SIFT contrast threshold for scenes (references: 0.03)
  double ratio = 0.9;       // nearest brand vs nearest other brand (Lowe's ratio test at brand level)
  int min_inliers = 6;      // homography inliers (distinct scene points) to report a mark
  double min_inlier_share = 0.12;  // inliers / the matches RANSAC was given (hub brands draw many)
  int candidates = 12;      // references verified per image, best supported first
  int flann_checks = 64;    // leaves visited per nearest-neighbour query
  double min_spread = 0.2;  // inliers must cover this share of the reference mark's width and height
  bool hough = true;        // rank and verify candidates by their geometrically consistent matches (Hough bins)
  bool shapes = true;       // also match plain marks by their silhouette (shape.hpp)
  ShapeOptions shape;
  // Coarse to fine (0: off): features of the whole scene at this long side only propose windows (where
  // matches of one reference agree on a pose); SIFT at full resolution runs in those windows alone, and
  // every mark is verified there as before.
  int coarse_side = 640;
  int coarse_windows = 8;  // windows verified at full resolution per scene at most
  int coarse_support = 3;  // coarse matches of one reference that agree on one pose, to propose a window
};

struct Detection {
  std::string brand;
  std::array<cv::Point2f, 4> quad;  // the mark's corners in scene pixels, clockwise from top-left
  int inliers = 0;
  int matches = 0;
  std::string reference;  // reference file name
  std::string method = "features";  // features | shape
  double iou = 0;                    // shape: silhouette against the ink
  double confidence = 0;
};

class Matcher {
 public:
  Matcher(FeatureIndexFile index, MatchOptions options);
  // `trace`, when given, receives one line per verified candidate (for bench/logo/inspect_logos).
  // `text_lines` (image pixels): lines of text whose glyphs are not tried as silhouettes.
  std::vector<Detection> match(const cv::Mat& bgr, std::vector<std::string>* trace = nullptr,
                               const std::vector<cv::Rect2f>& text_lines = {}) const;
  // The same search for a grey image and its own features (used by `catalogue check`), skipping one brand.
  std::vector<Detection> match_features(const std::vector<cv::KeyPoint>& keypoints, const cv::Mat& descriptors,
                                        const std::string& skip_brand = {}, std::vector<std::string>* trace = nullptr) const;
  std::size_t reference_count() const { return refs_.size(); }
  std::size_t descriptor_count() const { return static_cast<std::size_t>(all_.rows); }
  // The shape matcher (null with shapes off).
  const ShapeMatcher* shapes() const { return shapes_.get(); }
  // Whether the KD-trees came prepared from the index (`cluetrace catalogue build`) or were built at the start.
  bool trees_from_index() const { return trees_from_index_; }
  const FeatureIndexFile& index() const { return index_; }
  // Coarse to fine, the first look: features of `grey` scaled to coarse_side. Marks verified there that
  // are large enough are kept; the places where matches of one reference agree on a smaller mark become
  // windows for the full-resolution search. Both in the pixels of `grey`.
  struct CoarseLook {
    std::vector<cv::Rect> windows;
    std::vector<Detection> large;
  };
  CoarseLook look_coarse(const cv::Mat& grey, std::vector<std::string>* trace = nullptr) const;

 private:
  // The RootSIFT descriptors of every reference in one matrix, their rows' references, and the KD-trees over them.
  void build_feature_index();
  // Ratio-tested matches of the scene's RootSIFT descriptors, grouped by reference: (distance ratio,
  // scene keypoint, reference keypoint).
  using MatchGroups = std::map<int, std::vector<std::tuple<float, int, int>>>;
  // A reference and the positions (in its group) of its matches that agree on one pose.
  struct Candidate {
    int support = 0;
    int ref = 0;
    std::vector<int> consistent;
  };
  MatchGroups group_matches(const cv::Mat& root_descriptors, const std::string& skip_brand) const;
  // References with at least `min_matches` matches, `min_consistent` of them on one pose, best first.
  std::vector<Candidate> rank_candidates(const MatchGroups& groups, const std::vector<cv::KeyPoint>& keypoints, int min_matches,
                                         int min_consistent) const;
  // Coarse to fine: the box (coarse pixels) where a candidate's agreeing matches predict its mark, or
  // none when a mark of its brand was verified there already (`large` or `weak`).
  std::optional<cv::Rect2f> predicted_window(const std::vector<std::tuple<float, int, int>>& group, const Candidate& c,
                                             const std::vector<cv::KeyPoint>& keypoints, const std::vector<Detection>& large,
                                             const std::vector<Detection>& weak) const;
  // RANSAC verification of the best-ranked candidates, one mark per place.
  std::vector<Detection> verify(const MatchGroups& groups, const std::vector<cv::KeyPoint>& keypoints, const cv::Mat& root_descriptors,
                                std::vector<std::string>* trace) const;
  // Marks found by their features in `grey`: in the whole of it, or coarse to fine.
  std::vector<Detection> find_by_features(const cv::Mat& grey, std::vector<std::string>* trace) const;
  // extract_features on a scene or window; on one of kGatedPixels or more, through a MemoryGate; on one of more
  // than kSplitPixels, in halves.
  void features_of(const cv::Mat& grey, int max_features, std::vector<cv::KeyPoint>& keypoints, cv::Mat& descriptors) const;
  void features_in_halves(const cv::Mat& grey, int max_features, std::vector<cv::KeyPoint>& keypoints, cv::Mat& descriptors) const;

  FeatureIndexFile index_;
  MatchOptions options_;
  struct Ref {
    int brand = 0;  // index into brands_
    const ReferenceFeatures* features = nullptr;
    int first_row = 0;  // its first descriptor in all_
  };
  std::vector<std::string> brands_;
  std::vector<Ref> refs_;
  std::vector<int> row_ref_, row_kp_;
  cv::Mat all_;  // RootSIFT, CV_32F
  std::optional<KdForest> forest_;  // over all_
  bool trees_from_index_ = false;
  std::unique_ptr<ShapeMatcher> shapes_;
};

// RootSIFT: L1-normalised square roots, so Euclidean distance compares like the Hellinger kernel.
cv::Mat root_sift(const cv::Mat& descriptors_u8);

// What `catalogue check` finds wrong with a brand's references.
struct CheckFinding {
  std::string brand;
  std::string severity;  // "weak": too few features to match; "confusable": a reference matches another brand
  std::string message;
};
std::vector<CheckFinding> check_catalogue(const Catalogue& catalogue, const Matcher& matcher);

}  // namespace cluetrace::logo
