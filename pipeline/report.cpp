#include "pipeline/report.hpp"

#include "pipeline/stage.hpp"

#include <algorithm>
#include <cmath>

namespace cluetrace {
namespace {

double round_to(double value, double step) { return std::round(value / step) * step; }

nlohmann::ordered_json quad_json(const std::array<cv::Point2f, 4>& quad) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& p : quad) out.push_back({round_to(p.x, 0.1), round_to(p.y, 0.1)});
  return out;
}

nlohmann::ordered_json clue_json(const Clue& clue) {
  nlohmann::ordered_json j;
  j["rank"] = clue.rank;
  j["kind"] = to_string(clue.kind);
  j["value"] = clue.value;
  j["confidence"] = round_to(std::clamp(clue.confidence, 0.0, 1.0), 1e-4);
  j["score"] = round_to(std::clamp(clue.score, 0.0, 1.0), 1e-4);
  if (clue.box) j["box"] = {clue.box->x, clue.box->y, clue.box->width, clue.box->height};
  if (clue.quad) j["quad"] = quad_json(*clue.quad);
  if (!clue.language.empty()) j["language"] = clue.language;
  if (!clue.countries.empty()) {
    auto countries = nlohmann::ordered_json::array();
    for (const auto& c : clue.countries) countries.push_back({{"code", c.code}, {"weight", c.weight}});
    j["countries"] = countries;
  }
  if (!clue.words.empty()) {
    auto words = nlohmann::ordered_json::array();
    for (const auto& w : clue.words) {
      words.push_back({{"text", w.text},
                       {"confidence", round_to(w.confidence, 1e-4)},
                       {"quad", quad_json(w.quad)},
                       {"dictionary", w.dictionary}});
    }
    j["words"] = words;
  }
  if (!clue.stage.empty()) j["stage"] = clue.stage;
  if (!clue.explanation.empty()) j["explanation"] = clue.explanation;
  if (clue.details.is_object() && !clue.details.empty()) j["details"] = clue.details;
  return j;
}

}  // namespace

ImageStatus status_of(const ImageRecord& image) {
  if (!image.decoded || !image.errors.empty()) return ImageStatus::failed;
  if (!image.warnings.empty()) return ImageStatus::partial;
  for (const auto& result : image.stage_results) {
    if (!result.errors.empty()) return ImageStatus::partial;
  }
  return ImageStatus::ok;
}

nlohmann::ordered_json make_report(const ImageRecord& image, const ReportContext& context) {
  nlohmann::ordered_json report;
  report["schema"] = kReportSchema;

  auto& img = report["image"];
  img["path"] = image.input.display_path;
  img["sha256"] = image.digests.sha256;
  img["md5"] = image.digests.md5;
  img["sha1"] = image.digests.sha1;
  img["bytes"] = image.file_bytes;
  // False when the file could not be read to its end: the hashes then cover only what was read
  // (nothing, for a file that could not be opened) and must not be matched against hash sets.
  img["hashes_complete"] = image.digests_complete;
  if (!image.format.empty()) img["format"] = image.format;
  if (image.decoded) {
    img["width"] = image.width;
    img["height"] = image.height;
  }
  if (image.frames > 1) img["frames"] = image.frames;  // only the first was analysed
  if (image.salvage) {
    // Boxes are in the file's own pixel grid: the analysed rows are its top `height` rows.
    img["salvaged"] = {{"valid_rows", image.height},
                       {"declared_width", image.salvage->declared_width},
                       {"declared_height", image.salvage->declared_height},
                       {"how", image.salvage->how}};
  }

  report["status"] = to_string(status_of(image));
  auto errors = nlohmann::ordered_json::array();
  for (const auto& w : image.warnings) errors.push_back({{"stage", w.stage}, {"message", w.message}});
  for (const auto& e : image.errors) errors.push_back({{"stage", e.stage}, {"message", e.message}});
  for (const auto& result : image.stage_results) {
    for (const auto& e : result.errors) errors.push_back({{"stage", e.stage}, {"message", e.message}});
  }
  report["errors"] = errors;

  auto clues = nlohmann::ordered_json::array();
  if (image.ranked) {
    for (const auto& clue : image.ranked_clues) clues.push_back(clue_json(clue));
  } else {
    // Without the rank stage the clues keep stage order, unscored.
    int rank = 0;
    for (auto clue : image.all_clues()) {
      clue.rank = ++rank;
      clue.score = 0;
      clues.push_back(clue_json(clue));
    }
  }
  report["clues"] = clues;

  auto languages = nlohmann::ordered_json::array();
  for (const auto& l : image.languages) languages.push_back({{"code", l.code}, {"probability", l.probability}});
  report["languages"] = languages;
  auto regions = nlohmann::ordered_json::array();
  for (const auto& r : image.regions) {
    regions.push_back({{"code", r.code}, {"probability", r.probability}, {"evidence", r.evidence}});
  }
  report["regions"] = regions;

  auto timings = nlohmann::ordered_json::object();
  for (const auto& [name, ms] : image.timings_ms) timings[name] = round_to(ms, 0.01);
  for (std::size_t slot = 0; slot < image.stage_results.size(); ++slot) {
    const auto& result = image.stage_results[slot];
    if (result.elapsed_ms > 0) timings[std::string(to_string(kAllStageKinds.at(slot)))] = round_to(result.elapsed_ms, 0.01);
  }
  report["timings_ms"] = timings;

  if (context.include_text_regions) {
    auto regions_json = nlohmann::ordered_json::array();
    for (const auto& r : image.text_regions) {
      regions_json.push_back({{"quad", quad_json(r.quad)}, {"score", round_to(r.score, 1e-3)}});
    }
    report["text_regions"] = regions_json;
  }
  // Its place in the walk of the run's INPUTs: `cluetrace merge` puts shards' reports back in this order.
  report["walk_index"] = image.input.walk_index;
  report["config_sha256"] = context.config_sha256;
  if (!context.run_id.empty()) report["run_id"] = context.run_id;
  report["tool"] = {{"name", "cluetrace"}, {"version", context.tool_version}};
  report["stages"] = context.stage_ids;
  return report;
}

}  // namespace cluetrace
