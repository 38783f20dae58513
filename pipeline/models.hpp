// Where model files and catalogues live: models/ of this installation, or $CLUETRACE_MODELS_DIR.
#pragma once

#include <filesystem>
#include <string>

namespace cluetrace {

std::filesystem::path models_dir();
// Tables shipped in the repository (data/: GS1 prefixes ...): data/ of this installation, or $CLUETRACE_DATA_DIR.
std::filesystem::path data_dir();
// A configured model path: empty means `default_name` under models_dir(); relative paths are taken
// from the current directory.
std::filesystem::path resolve_model_path(const std::string& configured, const std::string& default_name);

}  // namespace cluetrace
