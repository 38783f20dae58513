#include "pipeline/malloc_arenas.hpp"

#include <algorithm>

#include <oneapi/tbb/info.h>

namespace cluetrace {

int malloc_arena_limit() { return std::max(1, oneapi::tbb::info::default_concurrency() / 4); }

}  // namespace cluetrace
