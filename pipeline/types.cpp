#include "pipeline/types.hpp"

#include <opencv2/imgproc.hpp>

#include "pipeline/stage.hpp"

namespace cluetrace {

cv::Mat SharedGrey::of(const cv::Mat& pixels) {
  if (pixels.empty() || pixels.channels() == 1) return pixels;
  const std::lock_guard lock(mutex_);
  if (grey_.empty() || source_.data != pixels.data || source_.size != pixels.size || source_.step != pixels.step) {
    cv::Mat grey;
    cv::cvtColor(pixels, grey, pixels.channels() == 4 ? cv::COLOR_BGRA2GRAY : cv::COLOR_BGR2GRAY);
    source_ = pixels;
    grey_ = grey;
  }
  return grey_;
}

void SharedGrey::release() {
  const std::lock_guard lock(mutex_);
  source_.release();
  grey_.release();
}

std::string_view to_string(ClueKind kind) {
  switch (kind) {
    case ClueKind::text: return "text";
    case ClueKind::logo: return "logo";
    case ClueKind::barcode: return "barcode";
    case ClueKind::phone: return "phone";
    case ClueKind::url: return "url";
    case ClueKind::email: return "email";
    case ClueKind::price: return "price";
    case ClueKind::postcode: return "postcode";
    case ClueKind::address: return "address";
    case ClueKind::date: return "date";
    case ClueKind::metadata: return "metadata";
    case ClueKind::gps: return "gps";
    case ClueKind::other: return "other";
  }
  return "other";
}

std::optional<ClueKind> clue_kind_from_string(std::string_view name) {
  for (const auto kind : kAllClueKinds) {
    if (to_string(kind) == name) return kind;
  }
  return std::nullopt;
}

std::string_view to_string(ImageStatus status) {
  switch (status) {
    case ImageStatus::ok: return "ok";
    case ImageStatus::partial: return "partial";
    case ImageStatus::failed: return "failed";
  }
  return "failed";
}

std::string_view to_string(StageKind kind) {
  switch (kind) {
    case StageKind::text_detect: return "text_detect";
    case StageKind::ocr: return "ocr";
    case StageKind::logo: return "logo";
    case StageKind::barcode: return "barcode";
    case StageKind::metadata: return "metadata";
    case StageKind::clues: return "clues";
    case StageKind::language: return "language";
    case StageKind::region: return "region";
    case StageKind::rank: return "rank";
  }
  return "unknown";
}

std::vector<Clue> ImageRecord::all_clues() const {
  std::vector<Clue> clues;
  for (const auto& result : stage_results) clues.insert(clues.end(), result.clues.begin(), result.clues.end());
  return clues;
}

}  // namespace cluetrace
