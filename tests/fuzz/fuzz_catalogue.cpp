// Fuzz target: the logo catalogue's YAML and its binary feature index. The first byte chooses which reader
// gets the rest. Either it reads a catalogue/index or throws std::runtime_error with a message; no crash, no
// allocation sized by an unchecked count.
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "stages/logo/catalogue.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (data[0] % 2 == 0) {
      const auto catalogue = cluetrace::logo::load_catalogue_text(rest, "/nonexistent/fuzz/catalogue.yaml");
      for (const auto& brand : catalogue.brands) {
        if (!cluetrace::logo::valid_brand_id(brand.id)) std::abort();  // the loader enforces what add checks
      }
    } else {
      std::istringstream in(rest);
      cluetrace::logo::read_index(in, rest.size(), "fuzz.index");
    }
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).empty()) std::abort();
  }
  return 0;
}
