// OpenCV DNN nets shared by the worker threads of one stage, a bounded number at a time. A net keeps the
// buffers of its last forward pass (tens of MB for the text detector and the line reader), so one set per
// thread made memory grow by that much with every thread. Through a pool of share 0.5, two threads use one
// net between them, four use two; idle nets are kept for the next pass, least recently used dropped first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <utility>

#include <opencv2/dnn.hpp>

#include "pipeline/memory_gate.hpp"

namespace cluetrace {

class NetPool {
 public:
  // What a net is made for: OpenCV 4.6 nets keep the input shape of their first pass, so a net serves one key
  // (an input size, a model) only.
  using Key = std::uint64_t;
  using Make = std::function<cv::dnn::Net(Key)>;

  // `share`: of the calling task arena's threads, how many may use a net at once (at least one);
  // `kept_per_user`: idle nets kept for each of them (one per key a stage commonly meets).
  NetPool(double share, std::size_t kept_per_user) : gate_(share), kept_per_user_(kept_per_user) {}
  NetPool(const NetPool&) = delete;
  NetPool& operator=(const NetPool&) = delete;

  // Runs work(net) with a net for `key`, an idle one or one from `make`, that no other thread uses meanwhile;
  // waits while the bound is reached. The work runs isolated (MemoryGate): while its forward pass's parallel
  // loops run, its thread takes up no other image's task that would wait here. A net whose work threw is dropped.
  // `keep` false: the net is dropped afterwards, not kept idle (one for a rare, large input).
  template <typename Work>
  void run(Key key, const Make& make, const Work& work, bool keep = true);

  // Keeps a net idle for the next user: one just used, or one made elsewhere (a stage's checked one).
  void give(Key key, cv::dnn::Net net);
  // How many nets are idle now.
  std::size_t idle() const;

 private:
  cv::dnn::Net take(Key key, const Make& make);

  MemoryGate gate_;
  std::size_t kept_per_user_;
  mutable std::mutex mutex_;
  std::list<std::pair<Key, cv::dnn::Net>> idle_;  // most recently used last
};

template <typename Work>
void NetPool::run(Key key, const Make& make, const Work& work, bool keep) {
  gate_.run([&] {
    cv::dnn::Net net = take(key, make);
    work(net);  // on a throw the net is not put back: its state after a failed pass is unknown
    if (keep) give(key, std::move(net));
  });
}

}  // namespace cluetrace
