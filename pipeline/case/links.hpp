// Links across the images of a case: clues that recur in several pictures (the same phone number, brand,
// barcode, web address, rare word), identical files under several paths and pictures of the same scene
// (pipeline/case/scenes.hpp). The case store finds them (pipeline/case/store.cpp); links.json lists them.
#pragma once

#include <filesystem>
#include <string>

#include "pipeline/case/store.hpp"

namespace cluetrace {

// The key under which readings of a clue are the same lead: folded letters and digits; web addresses
// without scheme and "www."; empty for kinds that do not link images (prices, dates).
std::string link_key(const std::string& kind, const std::string& value);

// <dir>/links.json, written one link at a time.
void write_links_json(const CaseStore& store, const std::filesystem::path& file);

}  // namespace cluetrace
