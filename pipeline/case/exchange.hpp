// Exchange formats: summary.csv (one row per clue) and vics.json (Project VIC VICS, data model 2.0, OData;
// docs/vics-export.schema.json is what we emit).
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/case/store.hpp"
#include "pipeline/config.hpp"

namespace cluetrace {

// RFC 4180, UTF-8, header first, one row per clue; an image without clues gets one row with the clue columns
// empty (a failed image: its first error in `explanation`). Cells a spreadsheet would run as a formula
// (=, +, -, @ or their full-width forms first, other than a plain number such as +4930123456) start with an
// apostrophe, and so does any such start after a ';', tab or line break inside a cell.
void write_summary_csv(const CaseStore& store, const std::filesystem::path& file);
std::string csv_cell(const std::string& value);

// One case; one Media entry per distinct MD5 (its paths as MediaFiles), ranked clues in Comments and Tags.
// Reports whose hashes do not cover the whole file are left out (their MD5 would match nothing).
// Written a Media entry at a time.
void write_vics(const CaseStore& store, const std::filesystem::path& dir, const OutputOptions& options);

}  // namespace cluetrace
