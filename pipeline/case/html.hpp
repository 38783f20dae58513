// The HTML review report: <dir>/index.html (the case overview), <dir>/overview/ (its longer lists, 500 rows a
// page, so no file grows with the case) and <dir>/pages/NNNNN.html (one per report), all from the case store.
// Static files that open from disk: no network, no scripts, no external fonts (a Content-Security-Policy
// says so to the browser). Pages show the crops of the clue regions, never the whole image unless
// outputs.full_image is set, and then blurred and greyscale until the analyst clicks it.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "pipeline/case/store.hpp"
#include "pipeline/config.hpp"

namespace cluetrace {

// Escapes & < > " ' for text and attribute values.
std::string html_escape(std::string_view text);

// The page of report `index` (0-based; relative to the output folder).
std::string page_path(std::size_t index);

// Rows per overview page.
inline constexpr std::size_t kOverviewPage = 500;

void write_html(const CaseStore& store, const std::filesystem::path& dir, const OutputOptions& options);

}  // namespace cluetrace
