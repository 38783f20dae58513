#include "pipeline/case/export_crops.hpp"

#include <cstdlib>
#include <map>
#include <ostream>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "pipeline/case/artefacts.hpp"
#include "pipeline/case/case_outputs.hpp"
#include "pipeline/case/decisions.hpp"
#include "pipeline/digest.hpp"
#include "pipeline/evidence_file.hpp"
#include "pipeline/fold.hpp"
#include "pipeline/image_codecs.hpp"
#include "pipeline/imaging.hpp"
#include "pipeline/report_store.hpp"

namespace cluetrace {
namespace {

// Detectors look at crops at least this large (small crops are upscaled: a face of 20 px is still a face).
constexpr int kMinCheckSide = 256;
constexpr int kMaxCheckSide = 1600;  // ... and large ones reduced to this (bounds the time and memory of a check)
// HOG people detector: SVM margin a detection needs (OpenCV's default people model).
constexpr double kPersonWeight = 1.0;
// Haar: neighbours a detection needs. A frontal face must be found by two cascades (default and alt2) at one
// place: letters and textures fool one cascade often, both rarely.
constexpr int kFaceNeighbours = 6, kProfileNeighbours = 8;

bool selected_by_pick(const std::vector<std::string>& picks, const std::string& sha, int rank) {
  for (const auto& pick : picks) {
    const auto colon = pick.rfind(':');
    if (colon == std::string::npos || colon < 4) continue;
    if (sha.starts_with(pick.substr(0, colon)) && pick.substr(colon + 1) == std::to_string(rank)) return true;
  }
  return false;
}

}  // namespace

struct PersonGuard::Detectors {
  cv::CascadeClassifier frontal, frontal_alt, profile;
  cv::HOGDescriptor people;
};

std::filesystem::path default_cascades_dir() {
  if (const char* env = std::getenv("CLUETRACE_HAAR_DIR"); env && *env) return env;
  return "/usr/share/opencv4/haarcascades";
}

PersonGuard::PersonGuard(const std::filesystem::path& dir) : detectors_(std::make_unique<Detectors>()) {
  for (const auto& [classifier, name] : {std::pair{&detectors_->frontal, "haarcascade_frontalface_default.xml"},
                                         std::pair{&detectors_->frontal_alt, "haarcascade_frontalface_alt2.xml"},
                                         std::pair{&detectors_->profile, "haarcascade_profileface.xml"}}) {
    const auto file = dir / name;
    if (!classifier->load(file.string())) {
      throw std::runtime_error(fmt::format("cannot check crops for faces: {} cannot be loaded (Debian package opencv-data)",
                                           file.string()));
    }
  }
  detectors_->people.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
}

PersonGuard::~PersonGuard() = default;

std::vector<PersonGuard::Detection> PersonGuard::find(const cv::Mat& bgr) {
  std::vector<Detection> out;
  if (bgr.empty()) return out;
  // Faces: small crops are enlarged (a 20-pixel face is still a face), large images reduced, both bounded.
  const int short_side = std::min(bgr.cols, bgr.rows), long_side = std::max(bgr.cols, bgr.rows);
  double f = 1.0;
  if (short_side < kMinCheckSide) f = static_cast<double>(kMinCheckSide) / short_side;
  f = std::min(f, static_cast<double>(kMaxCheckSide) / long_side);
  cv::Mat grey;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  // No histogram equalisation: stretched over a whole scene it flattens a small face into its surroundings.
  grey = scaled(grey, f, cv::INTER_CUBIC);
  auto back = [&](const cv::Rect& r) {
    return cv::Rect(static_cast<int>(r.x / f), static_cast<int>(r.y / f), static_cast<int>(std::ceil(r.width / f)),
                    static_cast<int>(std::ceil(r.height / f)));
  };
  std::vector<cv::Rect> found, confirm;
  detectors_->frontal.detectMultiScale(grey, found, 1.1, kFaceNeighbours, 0, cv::Size(24, 24));
  if (!found.empty()) detectors_->frontal_alt.detectMultiScale(grey, confirm, 1.1, kFaceNeighbours, 0, cv::Size(24, 24));
  for (const auto& r : found) {
    const bool confirmed = std::any_of(confirm.begin(), confirm.end(), [&](const cv::Rect& c) {
      return (r & c).area() > 0.3 * std::min(r.area(), c.area());
    });
    if (confirmed) out.push_back({back(r), "a face (frontal)"});
  }
  detectors_->profile.detectMultiScale(grey, found, 1.1, kProfileNeighbours, 0, cv::Size(24, 24));
  for (const auto& r : found) out.push_back({back(r), "a face (profile)"});
  cv::Mat flipped;
  cv::flip(grey, flipped, 1);
  detectors_->profile.detectMultiScale(flipped, found, 1.1, kProfileNeighbours, 0, cv::Size(24, 24));
  for (const auto& r : found) out.push_back({back(cv::Rect(grey.cols - r.x - r.width, r.y, r.width, r.height)), "a face (profile)"});
  // People at no more than the image's own resolution: the HOG window is 64 x 128, and enlarged strokes of
  // text look like limbs to it.
  const double g = std::min(1.0, static_cast<double>(kMaxCheckSide) / long_side);
  const cv::Mat small = scaled(bgr, g);
  if (small.cols >= 64 && small.rows >= 128) {
    std::vector<double> weights;
    detectors_->people.detectMultiScale(small, found, weights, 0.0, cv::Size(8, 8), cv::Size(16, 16), 1.05, 2.0);
    for (std::size_t i = 0; i < found.size(); ++i) {
      if (weights[i] <= kPersonWeight) continue;
      const auto& r = found[i];
      out.push_back({cv::Rect(static_cast<int>(r.x / g), static_cast<int>(r.y / g), static_cast<int>(r.width / g), static_cast<int>(r.height / g)),
                     fmt::format("a person (HOG weight {:.2f})", weights[i])});
    }
  }
  return out;
}

std::optional<std::string> PersonGuard::reason_to_refuse(const cv::Mat& crop) {
  const auto found = find(crop);
  if (found.empty()) return std::nullopt;
  const auto& d = found.front();
  return fmt::format("{} was detected at {},{} {}x{} in the crop", d.what, d.where.x, d.where.y, d.where.width, d.where.height);
}

std::optional<std::string> PersonGuard::reason_to_refuse(const cv::Rect& crop, const std::vector<Detection>& in_image) {
  for (const auto& d : in_image) {
    // A margin around each detection: the rest of a head or a body lies beyond what the detector boxes.
    const int mx = d.where.width / 4, my = d.where.height / 4;
    const cv::Rect grown(d.where.x - mx, d.where.y - my, d.where.width + 2 * mx, d.where.height + 2 * my);
    if ((grown & crop).area() > 0) {
      return fmt::format("{} was detected in the image at {},{} {}x{}, which the crop overlaps", d.what, d.where.x,
                         d.where.y, d.where.width, d.where.height);
    }
  }
  return std::nullopt;
}

cv::Mat read_analysed_image(const std::filesystem::path& source, const std::string& sha256, std::int64_t max_bytes) {
  std::string bytes;
  try {
    // No more bytes than were analysed: a file that grew has changed.
    bytes = read_evidence(source, max_bytes);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("the source image has changed or cannot be read: {}", e.what()));
  }
  if (sha256_hex(bytes) != sha256) {
    throw std::runtime_error(fmt::format("{} has changed since it was analysed (SHA-256 differs from the report)", source.string()));
  }
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    // decode.max_file_bytes allows up to 2^40 bytes; OpenCV's decoder takes an int-sized buffer.
    throw std::runtime_error(fmt::format("{} is {} bytes, too large to cut a crop from", source.string(), bytes.size()));
  }
  cv::Mat pixels = codecs::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, bytes.data()), cv::IMREAD_COLOR);
  if (pixels.empty()) throw std::runtime_error(fmt::format("{} cannot be decoded", source.string()));
  return pixels;
}

ExportSummary export_crops(const ExportRequest& request, std::ostream& log) {
  PersonGuard guard(request.cascades_dir.empty() ? default_cascades_dir() : request.cascades_dir);
  std::filesystem::create_directories(request.out);

  // The analyst's decisions, when the export is chosen by them (a publication: the clues marked "publish").
  std::map<ClueKey, Decision> decisions;
  if (!request.decisions.empty()) {
    const auto database = request.case_dir / "clues.sqlite";
    if (!std::filesystem::is_regular_file(database)) {
      throw std::runtime_error(fmt::format("{}: no case database, so no decisions to export by (run `cluetrace report` first)", database.string()));
    }
    SQLite::Database db(database.string(), SQLite::OPEN_READONLY);
    decisions = current_decisions(db);
  }
  auto decision_of = [&](const std::string& sha, const nlohmann::json& clue) -> const Decision* {
    const auto d = decisions.find({sha, clue.value("kind", ""), clue.value("value", ""), decision_box_key(clue)});
    return d == decisions.end() ? nullptr : &d->second;
  };

  ExportSummary summary;
  auto manifest = nlohmann::ordered_json::array();
  for_each_report_line(request.case_dir, [&](const nlohmann::json& report) {
    if (report.value("status", "") == "failed") return;
    const auto& img = report["image"];
    const std::string sha = img.value("sha256", "");
    const std::string path = img.value("path", "");
    std::vector<const nlohmann::json*> chosen;
    for (const auto& clue : report["clues"]) {
      if (!clue.contains("box")) continue;
      const int rank = clue.value("rank", 0);
      if (!request.clues.empty()) {
        if (selected_by_pick(request.clues, sha, rank)) chosen.push_back(&clue);
        continue;
      }
      if (!request.decisions.empty()) {
        const Decision* d = decision_of(sha, clue);
        if (!d || std::find(request.decisions.begin(), request.decisions.end(), d->decision) == request.decisions.end()) continue;
      }
      if (clue.value("score", 0.0) < request.min_score) continue;
      if (!request.kinds.empty() &&
          std::find(request.kinds.begin(), request.kinds.end(), clue.value("kind", "")) == request.kinds.end()) {
        continue;
      }
      chosen.push_back(&clue);
      if (request.top > 0 && chosen.size() >= static_cast<std::size_t>(request.top)) break;
    }
    if (chosen.empty()) return;

    // The original, checked against its report: a crop must come from the very file that was analysed.
    std::filesystem::path source(path);
    if (source.is_relative() && !request.root.empty()) source = request.root / source;
    std::string problem;
    cv::Mat pixels;
    try {
      pixels = read_analysed_image(source, sha, img.value("bytes", std::int64_t{0}));
    } catch (const std::exception& e) {
      problem = e.what();
    }
    const auto in_image = pixels.empty() ? std::vector<PersonGuard::Detection>{} : guard.find(pixels);
    for (const auto* clue : chosen) {
      const int rank = clue->value("rank", 0);
      const auto& b = (*clue)["box"];
      nlohmann::ordered_json entry{{"image", path}, {"sha256", sha}, {"rank", rank}, {"kind", clue->value("kind", "")},
                                   {"value", clue->value("value", "")}, {"score", clue->value("score", 0.0)},
                                   {"md5", img.value("md5", "")}, {"sha1", img.value("sha1", "")}, {"box", b}};
      if (const Decision* d = decision_of(sha, *clue)) {
        entry["decision"] = {{"decision", d->decision}, {"note", d->note}, {"analyst", d->analyst}, {"at_utc", d->at_utc}};
      }
      std::string refused = problem;
      cv::Rect r;
      if (refused.empty()) {
        r = crop_rect(Box{b[0].get<int>(), b[1].get<int>(), b[2].get<int>(), b[3].get<int>()}, request.margin, pixels.size());
        if (r.area() <= 0) refused = "the clue's region lies outside the image";
      }
      cv::Mat crop;
      if (refused.empty()) {
        crop = pixels(r).clone();
        // People anywhere the crop reaches (a logo on a shirt shows no face in its crop, the whole image may),
        // and then the crop on its own, enlarged, for faces too small to find in the whole image.
        if (auto reason = guard.reason_to_refuse(r, in_image)) {
          refused = *reason;
        } else if (auto own = guard.reason_to_refuse(crop)) {
          refused = *own;
        }
      }
      if (!refused.empty()) {
        entry["refused"] = refused;
        ++summary.refused;
        log << terminal_safe(fmt::format("refused: {} clue {} ({} \"{}\"): {}", path, rank, clue->value("kind", ""),
                                         clue->value("value", ""), refused)) << "\n";
      } else {
        // Re-encoded from pixels: no EXIF, XMP, IPTC or ICC data of the original travels with it.
        std::vector<uchar> png;
        codecs::imencode(".png", crop, png);
        const std::string name = fmt::format("{}-{}-{}.png", sha.substr(0, 12), rank, clue->value("kind", ""));
        write_file_atomically(request.out / name, std::string(png.begin(), png.end()));
        entry["file"] = name;
        entry["crop"] = {r.x, r.y, r.width, r.height};
        ++summary.written;
      }
      manifest.push_back(entry);
    }
  });
  write_file_atomically(request.out / "manifest.json", manifest.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
  log << fmt::format("{} crop(s) written, {} refused; manifest: {}\n", summary.written, summary.refused,
                     (request.out / "manifest.json").string());
  return summary;
}

}  // namespace cluetrace
