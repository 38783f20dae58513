// `cluetrace export-crops`: crowdsource-ready crops of selected clues. Each crop is cut from the original
// file (whose SHA-256 must still match its report), with a margin, and written as a new PNG with no
// metadata. A crop that reaches a face or a person detected in the whole image, or in which one is detected
// on its own (OpenCV Haar cascades from opencv-data, HOG people detector), is refused, with the reason, and
// never written.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace cluetrace {

struct ExportRequest {
  std::filesystem::path case_dir;  // an output folder with reports.jsonl
  std::filesystem::path out;       // where the crops and manifest.json go (created)
  std::filesystem::path root;      // relative image paths in the reports are taken from here (default: cwd)
  std::vector<std::string> kinds;  // clue kinds to export; empty: all kinds with a region
  double min_score = 0.0;
  int top = 0;                     // per image, the best N selected clues; 0: all
  std::vector<std::string> clues;  // SHA256-prefix:RANK picks; when given, only these
  std::vector<std::string> decisions;  // only clues the analyst marked so in clues.sqlite (publish, confirm, ...)
  double margin = 0.25;            // of the box's size on every side
  std::filesystem::path cascades_dir;  // empty: $CLUETRACE_HAAR_DIR or /usr/share/opencv4/haarcascades
};

// What looks for people in a crop. Throws std::runtime_error naming the missing cascade file.
class PersonGuard {
 public:
  explicit PersonGuard(const std::filesystem::path& cascades_dir);
  ~PersonGuard();
  PersonGuard(const PersonGuard&) = delete;
  PersonGuard& operator=(const PersonGuard&) = delete;
  struct Detection {
    cv::Rect where;    // in the pixels given to find()
    std::string what;  // "a face (frontal)", "a person (HOG weight 0.73)"
  };
  // Faces (Haar, frontal and profile both ways) and people (HOG) in an image or a crop.
  std::vector<Detection> find(const cv::Mat& bgr);
  // Why a crop must not be published: something found in the crop itself ...
  std::optional<std::string> reason_to_refuse(const cv::Mat& crop);
  // ... or a detection in the whole image (grown by a quarter) that the crop's rectangle overlaps.
  std::optional<std::string> reason_to_refuse(const cv::Rect& crop, const std::vector<Detection>& in_image);

 private:
  struct Detectors;
  std::unique_ptr<Detectors> detectors_;
};

std::filesystem::path default_cascades_dir();

// The original image a report describes, decoded, after checking it is still the very file that was analysed
// (its SHA-256, no more bytes than were read). Throws std::runtime_error naming the file otherwise.
cv::Mat read_analysed_image(const std::filesystem::path& source, const std::string& sha256, std::int64_t bytes);

struct ExportSummary {
  std::size_t written = 0, refused = 0;
};

// Throws std::runtime_error when the export cannot start (no reports, no face detector); per-crop problems
// are refusals in the manifest and on `log`.
ExportSummary export_crops(const ExportRequest& request, std::ostream& log);

}  // namespace cluetrace
