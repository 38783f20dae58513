// Versions of the tool and of every library it links, for `cluetrace version`, run.json and reports.
#pragma once

#include <nlohmann/json.hpp>

namespace cluetrace {

nlohmann::ordered_json library_versions();

}  // namespace cluetrace
