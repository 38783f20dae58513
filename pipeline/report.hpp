// One image's clue-report/1 JSON object (docs/clue-report.schema.json), plus our added fields.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/types.hpp"

namespace cluetrace {

inline constexpr std::string_view kReportSchema = "clue-report/1";

struct ReportContext {
  std::string config_sha256;
  std::string tool_version;
  std::vector<std::string> stage_ids;  // the implementations that ran, in graph order
  bool include_text_regions = false;
  std::string run_id;  // the run that wrote the report (runs.jsonl, clues.sqlite)
};

ImageStatus status_of(const ImageRecord& image);
nlohmann::ordered_json make_report(const ImageRecord& image, const ReportContext& context);

}  // namespace cluetrace
