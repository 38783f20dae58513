// The shape matcher: finds plain single-colour marks (a swoosh, three stripes, a bitten apple) that give
// too few keypoints for the feature matcher. Stable regions of the image (MSER, both polarities) are
// compared with each brand's silhouette in an affine-normalised frame (whitened moments; a rotation-free
// radial signature), and a candidate is kept only when the brand's whole silhouette, carried into the
// image by the recovered affine map, covers the ink there (intersection over union).
#pragma once

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "stages/logo/catalogue.hpp"
#include "stages/logo/nearest_warp.hpp"

namespace cluetrace::logo {

struct ShapeOptions {
  int max_brand_features = 150;  // brands whose references have fewer features than this are shape-matched
  double max_signature_distance = 0.12;
  int proposals = 3;             // nearest silhouettes (of different brands) verified per image region
  double min_iou = 0.75;         // the whole silhouette against the ink where it lands
  int min_region_area = 150;     // pixels, for a search at 1000 pixels long (scaled with max_side, shape.cpp)
  int max_side = 800;            // the region search runs on the image scaled to this long side
};

struct ShapeDetection {
  std::string brand;
  std::array<cv::Point2f, 4> quad;  // in the coordinates of the image given to match()
  double iou = 0;
  std::string reference;
};

class ShapeMatcher {
 public:
  // Each reference's model comes from its prepared bytes (`shape_model`, see prepare()) when they are there and
  // of this version, and is made from its silhouette otherwise.
  ShapeMatcher(const FeatureIndexFile& index, ShapeOptions options);
  // `grey` is the (already scaled) image the feature matcher also uses; regions that are glyphs of
  // `text_lines` (in its pixels) are not tried.
  std::vector<ShapeDetection> match(const cv::Mat& grey, std::vector<std::string>* trace = nullptr,
                                    const std::vector<cv::Rect2f>& text_lines = {}) const;
  std::size_t model_count() const { return models_.size(); }
  // References whose model (or that they have none) came from the index, not made at the start.
  std::size_t prepared_count() const { return prepared_; }

  static constexpr int kBins = 64;
  using Signature = std::array<float, kBins>;  // radius per angle in the whitened frame, mean 1
  using Spectrum = std::array<float, 12>;      // magnitudes of its first harmonics: rotation-free
  struct Ratios {
    double solidity = 1, fill = 1;  // area against the convex hull's, and against the outline filled
    double detail_offset = 0;       // the details' centroid from the part's, in the part's standard deviations
    // Area against the outline's convex hull, holes filled: near 1 for a plain outline (a disc, a square).
    double outline_solidity() const { return solidity / std::max(1e-6, fill); }
  };

  struct Model {
    std::string brand, label;
    cv::Mat silhouette;  // 0/255
    cv::Mat detail;      // 0/255: concavities, holes and gaps inside the hull (empty: too few to check)
    PackedMask silhouette_bits, detail_bits;  // the two, as placements read them
    Ratios ratios;       // of the anchor
    bool detail_decides = false;  // a plain outline: only its details tell it from a disc or a square
    cv::Point2d centroid;
    cv::Matx22d whiten;  // C^-1/2 of the anchor component
    Signature signature;
    Spectrum spectrum;
  };
  const std::vector<Model>& models() const { return models_; }

  // Fills each reference's `shape_model` with its model (or that it has none) as bytes for the index, so that
  // the matcher starts without making them: that was a third of the logo stage's start-up (bench/RESULTS.md,
  // issue 16). `cluetrace catalogue build` calls it.
  static void prepare(FeatureIndexFile& index);

 private:
  // The model of one reference's silhouette, or none when its shape is one a background makes by chance.
  static std::optional<Model> model_of(const ReferenceFeatures& reference);
  // The model kept in `reference.shape_model`: nullopt when there is none of this version (made then); an
  // empty optional inside when the reference has no model.
  static std::optional<std::optional<Model>> prepared_model(const ReferenceFeatures& reference);

  std::vector<Model> models_;
  std::size_t prepared_ = 0;
  ShapeOptions options_;
};

}  // namespace cluetrace::logo
