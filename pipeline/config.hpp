// The run configuration: read once from YAML, validated, with every stage built from its options block.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/options.hpp"
#include "pipeline/stage.hpp"

namespace cluetrace {

struct RunSettings {
  int threads = 0;        // 0: all cores
  int max_in_flight = 0;  // images decoded and not yet written; 0: 2 x threads
  // Images whose header declares more megapixels than this are worked on one at a time (others beside them);
  // 0: no such bound. Two photos of 48 MP at once took a run at 2 threads past 1 GiB.
  double large_image_megapixels = 16;
  double image_timeout_s = 300;  // an image still in the worker after this long is failed; 0: no limit
  int crash_limit = 20;   // the run stops when more than crash_limit of the last crash_window images
  int crash_window = 50;  // crashed or hung the worker process
  bool isolation = true;  // false: the graph runs in the run's own process (for a debugger; a crash ends the run)
};

struct DecodeOptions {
  std::int64_t max_pixels = 100'000'000;         // refuse larger images before allocating them
  std::int64_t max_file_bytes = 1LL << 30;       // refuse to load larger files (they are still hashed)
};

struct ReportOptions {
  bool text_regions = false;  // include the detector's regions (quad, score) in each report, for benchmarking
};

// What is written for people and other tools beside reports.jsonl (docs/review.md). Not part of the config
// hash: it never changes a report, so a run resumed with other output settings keeps its reports.
struct OutputOptions {
  bool html = true;         // index.html and pages/
  bool full_image = false;  // image pages also show the whole image, blurred and greyscale until clicked
  bool database = true;     // clues.sqlite
  bool summary_csv = true;  // summary.csv
  bool vics = true;         // vics.json (Project VIC data model 2.0)
  std::string vics_form = "cases";  // cases: one Case holding the Media | media: the flat Media list (hash-set form)
  std::string vics_context; // @odata.context of vics.json; empty: the form's line of data/vics/odata-context.txt
  std::string case_name;    // VICS CaseNumber and page titles; empty: the output folder's name
  bool links = true;        // links.json: recurring clues and matching scenes across images
  double crop_margin = 0.15;   // crops extend each clue's box by this share of its size on every side
  int crop_max_side = 360;     // crops are scaled down to at most this many pixels
  bool scenes = true;          // background signatures for matching scenes across images
  int scene_features = 600;    // ORB features per image background
  int scene_min_inliers = 20;  // matches agreeing on one homography to call two backgrounds the same scene
  int scene_max_hash_distance = 6;  // in large cases, pairs with hashes this close are always verified
  bool objects = true;         // a feature store per picture and its index, for query by example (review)
  int object_features = 1000;  // ORB features per picture for query by example
};

struct ConfiguredStage {
  StageKind kind;
  bool enabled = true;
  std::string impl;              // implementation name within the kind
  std::unique_ptr<Stage> stage;  // null when disabled
  double prepare_ms = 0;         // how long prepare() took (run.json), once prepared
  double load_ms = 0;            // how long load() took (run.json), once loaded
  // What the stage that ran said of itself after prepare() (its id and resources: model paths, hashes,
  // fallbacks), when it was prepared in another process (the worker); run.json records these.
  std::string prepared_id;
  nlohmann::ordered_json prepared_resources;
};

struct Config {
  std::string source;  // the file it came from, or "<built-in default>"
  RunSettings run;
  DecodeOptions decode;
  ReportOptions report;
  OutputOptions outputs;
  std::vector<ConfiguredStage> stages;  // one per StageKind, in kAllStageKinds order
  nlohmann::ordered_json effective;     // every setting that shapes results, defaults filled in
  std::string sha256;                   // of effective.dump(): goes into every report
};

class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(ConfigProblems problems)
      : std::runtime_error(problems.to_string()), problems_(std::move(problems)) {}
  const ConfigProblems& problems() const { return problems_; }

 private:
  ConfigProblems problems_;
};

// Both throw ConfigError listing every problem found (not just the first).
Config load_config_file(const std::filesystem::path& file);
Config load_config_text(std::string_view yaml, const std::string& source_name);

// config/default.yaml as compiled into this binary.
std::string_view default_config_yaml();

}  // namespace cluetrace
