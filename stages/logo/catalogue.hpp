// The logo catalogue: brands (id, name, category, colours, countries, source note) with reference
// images (SVG or raster, optionally a box in a photo), stored as YAML an analyst can read and extend,
// plus a compiled feature index beside it (`<catalogue>.index`) that the matcher loads without
// re-rendering anything.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <istream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include "pipeline/types.hpp"

namespace cluetrace::logo {

struct Reference {
  std::filesystem::path file;  // as written in the YAML: relative to the catalogue's folder, or absolute
  std::optional<Box> box;      // the mark's box in a photo; absent: the whole file is the mark
};

struct Brand {
  std::string id;  // stable key, e.g. simple-icons' slug ("edeka")
  std::string name;
  std::string category;
  std::vector<std::string> colours;  // "#RRGGBB"
  bool global = false;                // says nothing about place
  std::vector<CountryWeight> countries;
  std::string source;
  bool wordmark = true;  // the brand's name may be read as text and counts as a sighting of the brand
  std::vector<std::string> aliases;  // other names that count as the wordmark
  std::vector<Reference> references;
};

struct Catalogue {
  std::filesystem::path file;  // the YAML file it was read from (or will be written to)
  std::string name;
  std::vector<Brand> brands;

  std::filesystem::path folder() const { return file.parent_path(); }
  std::filesystem::path resolve(const std::filesystem::path& p) const { return p.is_absolute() ? p : folder() / p; }
  const Brand* find(std::string_view id) const;
  Brand* find(std::string_view id);
  std::filesystem::path index_file() const { return file.string() + ".index"; }
};

// Reads and validates a catalogue; throws std::runtime_error naming the file, the line and the key.
Catalogue load_catalogue(const std::filesystem::path& file);
// The same from the catalogue's text; `file` names it in messages and anchors its relative reference paths.
Catalogue load_catalogue_text(std::string_view yaml, const std::filesystem::path& file);

// The rules load_catalogue enforces, for checking what is added before anything is written.
bool valid_brand_id(const std::string& id);  // lower-case letters, digits, '.', '_', '+', '-'; no path separators
bool valid_colour(const std::string& colour);  // #RRGGBB
bool valid_country_code(const std::string& code);  // upper-case ISO 3166-1 alpha-2
// Writes the YAML atomically (temporary file + rename). Comments are not preserved.
void save_catalogue(const Catalogue& catalogue);

// One reference image prepared for matching: grey mark on a plain margin.
struct RenderedReference {
  cv::Mat grey;         // 8-bit
  cv::Mat mask;         // 8-bit, 255 where the mark is (SVG: from alpha; photo: the whole crop)
  cv::Rect mark;        // the mark's extent inside `grey`
  cv::Vec3b colour{0, 0, 0};  // dominant mark colour (BGR) as rendered
  bool invented_margin = false;  // a photo crop: the margin repeats its edge pixels (nothing real is there)
};

// Renders a reference to an image: SVG through `rsvg-convert` (librsvg2-bin), raster files through
// OpenCV (cropped to the box). `side` is the long side of the mark in pixels. The colour version
// (BGRA, mark on transparency for SVG) is what the synthetic benchmark composites.
cv::Mat render_reference_bgra(const std::filesystem::path& file, const std::optional<Box>& box, int side);
RenderedReference prepare_reference(const cv::Mat& bgra);

// Features of one prepared reference, as stored in the index.
struct ReferenceFeatures {
  std::string brand;
  std::string key;      // sha256 of the file + box + feature version: reused when unchanged
  std::string label;    // the reference's file name, for explanations
  cv::Size size;
  cv::Rect mark;
  std::vector<cv::KeyPoint> keypoints;
  cv::Mat descriptors;  // CV_8U, N x kDescriptorSize (polarity-free SIFT, see extract_features)
  cv::Mat silhouette;   // CV_8U 0/255, the mark's own pixels (transparent references only), cropped to `mark`
  // The silhouette as an index stores it (PNG), while it is not decoded: read_index() leaves them so, as most
  // are never used (the shape matcher models ~40 % of the references). silhouette_of() gives the pixels.
  std::vector<uchar> silhouette_png;
  // The shape matcher's model of the silhouette, prepared by `cluetrace catalogue build` (ShapeMatcher::prepare):
  // opaque bytes here; empty in an index written before it was kept, or without a silhouette.
  std::string shape_model;
};

struct FeatureIndexFile {
  std::vector<ReferenceFeatures> references;
  // The matcher's KD-trees over these references' descriptors, prepared by `cluetrace catalogue build`
  // (kd_trees.hpp): opaque bytes here; empty in an index written before they were kept.
  std::string kd_trees;
};

// Whether a reference has a silhouette (decoded or not), and its pixels: decoded from the index's PNG when
// needed (each call decodes again; keep the result). Throws naming the brand and file when the bytes are damaged.
bool has_silhouette(const ReferenceFeatures& reference);
cv::Mat silhouette_of(const ReferenceFeatures& reference);

// The keys a catalogue's references need (file hashes are read, nothing is rendered).
std::vector<std::pair<std::string, std::pair<const Brand*, const Reference*>>> reference_keys(const Catalogue& catalogue);

// Extracts features for every reference not already in `previous` (matched by key); reports progress
// through `log`. Throws naming the brand and file when a reference cannot be read or rendered.
FeatureIndexFile build_index(const Catalogue& catalogue, const FeatureIndexFile* previous,
                             const std::function<void(const std::string&)>& log);
void write_index(const FeatureIndexFile& index, const std::filesystem::path& file);
FeatureIndexFile read_index(const std::filesystem::path& file);
// The same from a stream of `size` bytes (counts are checked against it before anything is allocated);
// `name` names it in messages. Throws std::runtime_error for a damaged or truncated index.
FeatureIndexFile read_index(std::istream& in, std::uint64_t size, const std::string& name);

// SIFT features of a grey image, the same for references and scenes: orientation modulo 180 degrees and
// opposite gradient bins folded together, so a mark matches whether it is darker or lighter than its
// surroundings (8-bit descriptors of kDescriptorSize values).
void extract_features(const cv::Mat& grey, int max_features, std::vector<cv::KeyPoint>& keypoints, cv::Mat& descriptors,
                      double contrast_threshold = 0.03);

inline constexpr int kFeatureVersion = 6;
inline constexpr int kDescriptorSize = 64;
inline constexpr std::array<int, 2> kReferenceSides{320, 128};  // long sides of the rendered reference views
inline constexpr int kReferenceFeatures = 400;  // most features kept per reference and polarity
inline constexpr int kWeakReferenceFeatures = 25;

}  // namespace cluetrace::logo
