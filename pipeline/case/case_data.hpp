// One output folder read back as a case: every report in reports.jsonl, the runs that wrote them, and the
// links across its images. The case outputs (HTML, database, CSV, VICS) are all made from this.
#pragma once

#include <cstddef>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/case/scenes.hpp"

namespace cluetrace {

// A value that appears in the reports of several different pictures (different SHA-256).
struct RecurringClue {
  std::string kind;   // a clue kind, or "word" for a rare word inside text clues
  std::string value;  // as first read
  std::string key;    // what the readings have in common (folded)
  struct Sighting {
    std::size_t image = 0;  // index into CaseData::reports
    int rank = 0;           // the clue's rank in that report
  };
  std::vector<Sighting> sightings;
  double best_score = 0;
};

// Images whose backgrounds match (connected by verified pairs).
struct SceneGroup {
  std::vector<std::size_t> images;  // indexes into CaseData::reports
  std::vector<SceneMatch> pairs;    // a, b: indexes into CaseData::reports
};

struct CaseLinks {
  std::vector<RecurringClue> recurring;                   // most useful first
  std::vector<SceneGroup> scenes;                         // largest first
  std::vector<std::vector<std::size_t>> identical;        // reports of the same file content under several paths
  std::size_t signatures = 0;                             // images with a background signature
};

struct CaseData {
  std::filesystem::path dir;
  std::string name;                     // outputs.case_name, or the folder's name
  std::vector<nlohmann::json> reports;  // reports.jsonl, in file order
  std::vector<nlohmann::json> runs;     // runs.jsonl, oldest first
  CaseLinks links;
  std::set<std::string> crops;          // crop files present (paths under dir), listed once

  // Whether the crop of clue `rank` of picture `sha256` is on disk (artefacts.hpp's crop_path).
  bool has_crop(const std::string& sha256, int rank) const;
};

}  // namespace cluetrace
