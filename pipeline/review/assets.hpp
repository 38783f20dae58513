// The review app's page, script and style sheet (pipeline/review/assets/), built into the binary by
// cmake/embed_assets.cmake.
#pragma once

#include <optional>
#include <string_view>
#include <utility>

namespace cluetrace {

// The bytes of an asset by its file name ("index.html", "app.js", "app.css"); nullopt for any other name.
std::optional<std::string_view> review_asset(std::string_view name);

}  // namespace cluetrace
