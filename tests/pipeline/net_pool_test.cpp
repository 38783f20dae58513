// Contract: the pool of OpenCV DNN nets that the text detector and the line reader share between threads
// lets at most its share of the threads use a net at once, makes a net only when none for that key is idle,
// keeps a bounded number idle (least recently used dropped first), and drops a net whose work threw or that
// is not to be kept.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>
#include <opencv2/dnn.hpp>

#include "pipeline/net_pool.hpp"

namespace {

// A real one-layer net (ReLU): what it computes is checked, so a net handed out twice at once would show.
cv::dnn::Net relu_net() {
  cv::dnn::Net net;
  cv::dnn::LayerParams params;
  params.name = "relu";
  params.type = "ReLU";
  net.addLayerToPrev(params.name, params.type, params);
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  return net;
}

float forward_value(cv::dnn::Net& net, float value) {
  const cv::Mat input(std::vector<int>{1, 1, 4, 4}, CV_32F, cv::Scalar(value));
  net.setInput(input);
  const cv::Mat out = net.forward();
  return out.ptr<float>()[0];
}

TEST(NetPool, ItsShareOfTheThreadsUseNetsAtOnceAndIdleNetsAreReused) {
  const oneapi::tbb::global_control threads(oneapi::tbb::global_control::max_allowed_parallelism, 4);
  cluetrace::NetPool pool(0.5, 1);
  std::atomic<int> made{0}, inside{0}, most{0}, wrong{0}, done{0};
  const cluetrace::NetPool::Make make = [&](cluetrace::NetPool::Key) {
    ++made;
    return relu_net();
  };
  oneapi::tbb::task_arena(4).execute([&] {
    oneapi::tbb::parallel_for(0, 24, [&](int i) {
      pool.run(7, make, [&](cv::dnn::Net& net) {
        const int now = ++inside;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        // Nested parallel work inside, as a forward pass does through OpenCV's TBB loops.
        std::atomic<long> sum{0};
        oneapi::tbb::parallel_for(0, 2000, [&](int k) { sum += k; });
        const float v = static_cast<float>(i % 5) - 2.0f;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (forward_value(net, v) != std::max(0.0f, v)) ++wrong;
        --inside;
        ++done;
      });
    });
    EXPECT_LE(pool.idle(), 2u) << "one kept for each of the two users";
  });
  EXPECT_EQ(done.load(), 24);
  EXPECT_EQ(most.load(), 2) << "share 0.5 of 4 threads";
  EXPECT_LE(made.load(), 2) << "a net is made only when none is idle";
  EXPECT_EQ(wrong.load(), 0);
}

TEST(NetPool, KeepsTheMostRecentlyUsedAndDropsANetWhoseWorkThrew) {
  const oneapi::tbb::global_control threads(oneapi::tbb::global_control::max_allowed_parallelism, 1);
  oneapi::tbb::task_arena(1).execute([&] {
    cluetrace::NetPool pool(0.5, 2);  // one user, two kept
    std::vector<cluetrace::NetPool::Key> made;
    const cluetrace::NetPool::Make make = [&](cluetrace::NetPool::Key key) {
      made.push_back(key);
      return relu_net();
    };
    const auto use = [&](cluetrace::NetPool::Key key) {
      pool.run(key, make, [&](cv::dnn::Net& net) { EXPECT_EQ(forward_value(net, 3.0f), 3.0f); });
    };
    use(1);
    use(2);
    use(3);  // 1 is dropped: the least recently used of three
    EXPECT_EQ(pool.idle(), 2u);
    use(2);  // idle: reused
    use(1);  // made again
    EXPECT_EQ(made, (std::vector<cluetrace::NetPool::Key>{1, 2, 3, 1}));

    EXPECT_THROW(pool.run(2, make, [](cv::dnn::Net&) { throw std::runtime_error("a failed pass"); }), std::runtime_error);
    EXPECT_EQ(pool.idle(), 1u) << "the net of the failed pass is not put back";
    use(2);  // made again, and the pool is not held by the failed user
    EXPECT_EQ(made.back(), 2u);
    EXPECT_EQ(made.size(), 5u);

    // A net not to keep (a rare, large input) is dropped after its pass: the kept ones stay.
    const auto idle = pool.idle();
    pool.run(9, make, [&](cv::dnn::Net& net) { EXPECT_EQ(forward_value(net, 2.0f), 2.0f); }, false);
    EXPECT_EQ(pool.idle(), idle);
    use(9);
    EXPECT_EQ(made, (std::vector<cluetrace::NetPool::Key>{1, 2, 3, 1, 2, 9, 9}));
  });
}

}  // namespace
