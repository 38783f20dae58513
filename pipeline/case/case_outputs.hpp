// The outputs for people and other tools, made from an output folder's reports at the end of a run (and by
// `cluetrace report DIR`): index.html and pages/, clues.sqlite, summary.csv, vics.json, links.json.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/config.hpp"

namespace cluetrace {

// Calls `fn` with each report of <dir>/reports.jsonl as the case outputs read it, one line at a time (lines
// that are not reports are skipped). Throws OutputError when there is no reports.jsonl.
void for_each_report_line(const std::filesystem::path& dir, const std::function<void(const nlohmann::json&)>& fn);

// One line of reports.jsonl as the case outputs read it: fields of the wrong type dropped or repaired. nullopt,
// with the reason in `problem`, when the line is not a report at all (not JSON, no image path).
std::optional<nlohmann::json> parse_report_line(std::string_view line, std::string& problem);

// A clue's countries as one text field: "DE:0.90;AT:0.10" (CSV, database).
std::string countries_text(const nlohmann::json& clue);

// Appends this run's record (id, times, status, tool, config, counts) to <dir>/runs.jsonl (atomically).
void record_run(const std::filesystem::path& dir, const nlohmann::ordered_json& run);

struct CaseOutputs {
  std::vector<std::filesystem::path> written;
  std::vector<std::string> problems;  // "summary.csv: why", one per output that could not be written
  std::size_t images = 0;
};

// Builds the case store (clues.sqlite) from the reports, then writes every output the options enable from it,
// each file atomically, each independently of the others. Throws OutputError when the folder has no
// reports.jsonl or the store cannot be built. Memory does not grow with the number of reports.
// `decision_sources`: other case databases whose analyst decisions the new store takes over (a merge's shards).
CaseOutputs write_case_outputs(const std::filesystem::path& dir, const OutputOptions& options,
                               const std::vector<std::filesystem::path>& decision_sources = {});

}  // namespace cluetrace
