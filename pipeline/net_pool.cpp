#include "pipeline/net_pool.hpp"

#include <algorithm>

namespace cluetrace {

cv::dnn::Net NetPool::take(Key key, const Make& make) {
  {
    const std::lock_guard lock(mutex_);
    for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
      if (it->first != key) continue;
      cv::dnn::Net net = std::move(it->second);
      idle_.erase(std::next(it).base());
      return net;
    }
  }
  return make(key);  // outside the lock: building a net reads and parses its model
}

void NetPool::give(Key key, cv::dnn::Net net) {
  // The users the gate lets in at once in this arena, each with its kept nets.
  const std::size_t kept = std::max<std::size_t>(1, kept_per_user_ * static_cast<std::size_t>(gate_.bound()));
  const std::lock_guard lock(mutex_);
  idle_.emplace_back(key, std::move(net));
  while (idle_.size() > kept) idle_.pop_front();
}

std::size_t NetPool::idle() const {
  const std::lock_guard lock(mutex_);
  return idle_.size();
}

}  // namespace cluetrace
