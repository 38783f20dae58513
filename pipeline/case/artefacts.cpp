#include "pipeline/case/artefacts.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "pipeline/case/objects.hpp"
#include "pipeline/case/scenes.hpp"
#include "pipeline/image_codecs.hpp"
#include "pipeline/imaging.hpp"
#include "pipeline/report_store.hpp"

namespace cluetrace {
namespace {

constexpr int kJpegQuality = 85;
constexpr int kPreviewSide = 1280;

std::string jpeg_of(const cv::Mat& bgr, int max_side) {
  const int side = std::max(bgr.cols, bgr.rows);
  const cv::Mat small = side > max_side ? scaled(bgr, static_cast<double>(max_side) / side) : bgr;
  std::vector<uchar> bytes;
  codecs::imencode(".jpg", small, bytes, {cv::IMWRITE_JPEG_QUALITY, kJpegQuality});
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace

cv::Rect crop_rect(const Box& box, double margin, cv::Size image) {
  const int mx = static_cast<int>(std::lround(box.width * margin)) + 2;
  const int my = static_cast<int>(std::lround(box.height * margin)) + 2;
  return cv::Rect(box.x - mx, box.y - my, box.width + 2 * mx, box.height + 2 * my) & cv::Rect(cv::Point(0, 0), image);
}

ReviewArtefacts make_review_artefacts(const ImageRecord& image, const OutputOptions& options) {
  ReviewArtefacts out;
  if (!image.decoded || image.pixels.empty()) return out;
  std::vector<Box> boxes;
  for (const auto& clue : image.ranked_clues) {
    if (!clue.box) continue;
    boxes.push_back(*clue.box);
    if (!options.html) continue;
    const cv::Rect r = crop_rect(*clue.box, options.crop_margin, image.pixels.size());
    if (r.area() > 0) out.crops.emplace_back(clue.rank, jpeg_of(image.pixels(r), options.crop_max_side));
  }
  if (options.links && options.scenes) {
    out.scene = encode_signature(scene_signature(image.pixels, boxes, options.scene_features, image.grey()));
  }
  if (options.objects) out.objects = encode_objects(object_features(image.grey(), options.object_features));
  if (options.html && options.full_image) out.preview = jpeg_of(image.pixels, kPreviewSide);
  return out;
}

std::filesystem::path crop_path(const std::string& sha256, int rank) {
  return std::filesystem::path("crops") / sha256.substr(0, 2) / (sha256 + "-" + std::to_string(rank) + ".jpg");
}

std::filesystem::path scene_path(const std::string& sha256) {
  return std::filesystem::path("scenes") / sha256.substr(0, 2) / (sha256 + ".scene");
}

std::filesystem::path objects_path(const std::string& sha256) {
  return std::filesystem::path("objects") / sha256.substr(0, 2) / (sha256 + ".orb");
}

std::filesystem::path preview_path(const std::string& sha256) {
  return std::filesystem::path("previews") / (sha256 + ".jpg");
}

void store_review_artefacts(const std::filesystem::path& out_dir, const ImageRecord& image) {
  const auto& sha = image.digests.sha256;
  if (sha.size() != 64) return;
  auto store = [&](const std::filesystem::path& relative, const std::string& bytes) {
    const auto path = out_dir / relative;
    std::filesystem::create_directories(path.parent_path());
    write_file_atomically(path, bytes, false);  // made again by a --resume'd or repeated run
  };
  // Crops of an earlier run of this picture (another config or version ranks differently) must not stand
  // beside this report's clues.
  const auto crops_dir = out_dir / crop_path(sha, 1).parent_path();
  if (std::filesystem::is_directory(crops_dir)) {
    for (const auto& e : std::filesystem::directory_iterator(crops_dir)) {
      if (e.path().filename().string().starts_with(sha + "-")) std::filesystem::remove(e.path());
    }
  }
  for (const auto& [rank, jpeg] : image.review.crops) store(crop_path(sha, rank), jpeg);
  if (!image.review.scene.empty()) store(scene_path(sha), image.review.scene);
  if (!image.review.objects.empty()) store(objects_path(sha), image.review.objects);
  if (!image.review.preview.empty()) store(preview_path(sha), image.review.preview);
}

}  // namespace cluetrace
