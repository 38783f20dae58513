// The HTML review report: <dir>/index.html (the case overview) and <dir>/pages/NNNN.html (one per report).
// Static files that open from disk: no network, no scripts, no external fonts (a Content-Security-Policy
// says so to the browser). Pages show the crops of the clue regions, never the whole image unless
// outputs.full_image is set, and then blurred and greyscale until the analyst clicks it.
#pragma once

#include <string>
#include <string_view>

#include "pipeline/case/case_data.hpp"
#include "pipeline/config.hpp"

namespace cluetrace {

// Escapes & < > " ' for text and attribute values.
std::string html_escape(std::string_view text);

// The page of report `index` (relative to the output folder).
std::string page_path(std::size_t index);

void write_html(const CaseData& data, const OutputOptions& options);

}  // namespace cluetrace
