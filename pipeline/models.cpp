#include "pipeline/models.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

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

std::vector<char> read_model_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error(fmt::format("cannot read {} (scripts/fetch-models.sh prepares it)", file.string()));
  const std::streamoff size = in.tellg();
  if (size < 0) throw std::runtime_error(fmt::format("cannot read {}: its size is unknown (not a file?)", file.string()));
  std::vector<char> bytes(static_cast<std::size_t>(size));
  in.seekg(0);
  if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
    throw std::runtime_error(fmt::format("cannot read {} whole ({} bytes expected)", file.string(), bytes.size()));
  }
  return bytes;
}

}  // namespace cluetrace
