// Stage and image timings, in milliseconds, for timings_ms.
#pragma once

#include <chrono>

namespace cluetrace {

inline double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace cluetrace
