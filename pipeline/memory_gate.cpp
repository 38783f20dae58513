#include "pipeline/memory_gate.hpp"

#include <algorithm>
#include <cmath>

namespace cluetrace {

MemoryGate& large_working_sets() {
  static MemoryGate gate(0.5);
  return gate;
}

int MemoryGate::bound() const {
  return std::max(1, static_cast<int>(std::floor(share_ * oneapi::tbb::this_task_arena::max_concurrency())));
}

void MemoryGate::enter() {
  const int most = bound();
  std::unique_lock lock(mutex_);
  freed_.wait(lock, [&] { return inside_ < most; });
  ++inside_;
}

void MemoryGate::leave() {
  {
    const std::lock_guard lock(mutex_);
    --inside_;
  }
  freed_.notify_one();
}

int MemoryGate::inside() const {
  const std::lock_guard lock(mutex_);
  return inside_;
}

}  // namespace cluetrace
