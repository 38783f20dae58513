#include "pipeline/models.hpp"

#include <cstdlib>

namespace cluetrace {

std::filesystem::path models_dir() {
  if (const char* dir = std::getenv("CLUETRACE_MODELS_DIR"); dir != nullptr && *dir != '\0') return dir;
  return CLUETRACE_DEFAULT_MODELS_DIR;
}

std::filesystem::path data_dir() {
  if (const char* dir = std::getenv("CLUETRACE_DATA_DIR"); dir != nullptr && *dir != '\0') return dir;
  return CLUETRACE_DEFAULT_DATA_DIR;
}

std::filesystem::path resolve_model_path(const std::string& configured, const std::string& default_name) {
  if (configured.empty()) return models_dir() / default_name;
  return configured;
}

}  // namespace cluetrace
