// Links across the images of a case: clues that recur in several pictures (the same phone number, brand,
// barcode, web address, rare word) and pictures of the same scene (pipeline/case/scenes.hpp).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/case/case_data.hpp"
#include "pipeline/config.hpp"

namespace cluetrace {

// The key under which readings of a clue are the same lead: folded letters and digits; web addresses
// without scheme and "www."; empty for kinds that do not link images (prices, dates).
std::string link_key(const std::string& kind, const std::string& value);

// Uses case.reports and the scene signatures under case.dir.
CaseLinks find_links(const CaseData& data, const OutputOptions& options);

nlohmann::ordered_json links_json(const CaseData& data);

}  // namespace cluetrace
