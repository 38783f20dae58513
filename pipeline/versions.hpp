// Versions of the tool and of every library it links, for `cluetrace version`, run.json and reports.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace cluetrace {

nlohmann::ordered_json library_versions();

// The memory allocator this process runs with: "tcmalloc 2.10" where the CLI links it, else "glibc malloc 2.36".
std::string allocator_version();

}  // namespace cluetrace
