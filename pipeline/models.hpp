// Where model files and catalogues live: models/ of this installation, or $CLUETRACE_MODELS_DIR.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace cluetrace {

std::filesystem::path models_dir();
// Tables shipped in the repository (data/: GS1 prefixes ...): data/ of this installation, or $CLUETRACE_DATA_DIR.
std::filesystem::path data_dir();
// A configured model path: empty means `default_name` under models_dir(); relative paths are taken
// from the current directory.
std::filesystem::path resolve_model_path(const std::string& configured, const std::string& default_name);
// A model file's bytes, read in one call; throws naming the file when it cannot be read whole.
std::vector<char> read_model_bytes(const std::filesystem::path& file);

}  // namespace cluetrace
