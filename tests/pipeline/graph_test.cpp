// Contract: the flow graph reports every image exactly once (as it finishes), turns a stage's exception into a
// `partial` image while the others go on, never holds more than max_in_flight images at once, and records
// each image's phases in the journal while it is inside.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>
#include <opencv2/core/utility.hpp>

#include "pipeline/batch.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/memory_gate.hpp"
#include "pipeline/report.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace cluetrace;
using namespace cluetrace::test;

namespace {

// A real stage for the logo slot: throws on images 77 pixels wide, counts how many images it holds at once,
// and sleeps a little so images overlap.
class ProbeStage final : public Stage {
 public:
  std::string_view id() const override { return "logo.probe"; }
  void process(ImageRecord& image, StageResult& out) override {
    const int now = ++inside_;
    int seen = max_inside_.load();
    while (now > seen && !max_inside_.compare_exchange_weak(seen, now)) {}
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + (image.seq * 7) % 13));
    --inside_;
    if (image.width == 77) throw std::runtime_error("probe refuses 77-pixel images");
    Clue clue;
    clue.kind = ClueKind::logo;
    clue.value = "probe" + std::to_string(image.seq);
    clue.confidence = 0.5;
    clue.stage = std::string(id());
    out.clues.push_back(clue);
  }
  std::atomic<int> inside_{0};
  std::atomic<int> max_inside_{0};
};

// `count` small grey PNG files in `dir`, as inputs.
std::vector<InputItem> plain_images(const TempDir& dir, int count) {
  std::vector<InputItem> inputs;
  for (int i = 0; i < count; ++i) {
    const auto path = dir / ("img" + std::to_string(i) + ".png");
    write_bytes(path, encode(cv::Mat(20, 40, CV_8UC3, cv::Scalar::all(200)), ".png"));
    inputs.push_back({path, path.string()});
  }
  return inputs;
}

// The default stages without OCR, a prepared `Probe` in the logo slot (`probe` points at it).
template <typename Probe>
Config config_with_probe(Probe*& probe) {
  auto config = load_config_text("stages:\n  ocr:\n    enabled: false\n", "test");
  auto owned = std::make_unique<Probe>();
  probe = owned.get();
  config.stages[static_cast<std::size_t>(StageKind::logo)].stage = std::move(owned);
  prepare_stages(config);
  return config;
}

TEST(Graph, EveryImageOncePartialOnThrowAndBoundedInFlight) {
  TempDir dir;
  std::vector<InputItem> inputs;
  for (int i = 0; i < 24; ++i) {
    const auto path = dir / ("img" + std::to_string(i) + ".png");
    write_bytes(path, encode(cv::Mat(20, i == 5 ? 77 : 40, CV_8UC3, cv::Scalar::all(200)), ".png"));
    inputs.push_back({path, path.string()});
  }
  ProbeStage* probe = nullptr;
  auto config = config_with_probe(probe);
  std::map<std::size_t, std::string> statuses;
  const ImageSink sink = [&](ImageRecord& image) {
    EXPECT_EQ(image.input.display_path, inputs[image.seq].display_path);
    EXPECT_TRUE(statuses.emplace(image.seq, to_string(status_of(image))).second) << "image " << image.seq << " twice";
    if (image.seq == 5) {
      ASSERT_EQ(image.stage_results[static_cast<std::size_t>(StageKind::logo)].errors.size(), 1u);
      EXPECT_EQ(image.stage_results[static_cast<std::size_t>(StageKind::logo)].errors[0].stage, "logo.probe");
    }
  };
  const auto emitted = run_graph(inputs, config, {4, 3, nullptr}, sink);
  EXPECT_EQ(emitted, inputs.size());
  ASSERT_EQ(statuses.size(), inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) EXPECT_EQ(statuses[i], i == 5 ? "partial" : "ok") << i;
  EXPECT_LE(probe->max_inside_.load(), 3);
  EXPECT_GE(probe->max_inside_.load(), 2) << "images never overlapped: the graph ran serially";
}

TEST(Graph, StopRequestLetsInFlightImagesFinish) {
  TempDir dir;
  const auto inputs = plain_images(dir, 10);
  ProbeStage* probe = nullptr;
  auto config = config_with_probe(probe);
  std::atomic<bool> stop{false};
  std::size_t written = 0;
  const ImageSink sink = [&](ImageRecord&) {
    if (++written == 3) stop = true;
  };
  const auto emitted = run_graph(inputs, config, {2, 2, &stop}, sink);
  EXPECT_LT(emitted, inputs.size());
  EXPECT_EQ(written, emitted) << "an image that entered the graph was not written";
}

// A stage that checks, while it runs, that the journal shows its image inside the logo phase.
class JournalProbe final : public Stage {
 public:
  explicit JournalProbe(Journal& journal) : journal_(journal) {}
  std::string_view id() const override { return "logo.journal_probe"; }
  void process(ImageRecord& image, StageResult&) override {
    bool seen = false;
    for (const auto& in : journal_.in_flight()) {
      if (in.seq != image.seq) continue;
      for (const auto& [phase, since] : in.running) seen = seen || (phase == phase_of(StageKind::logo) && since > 0);
    }
    if (!seen) ++missing;
  }
  Journal& journal_;
  std::atomic<int> missing{0};
};

TEST(Graph, TheJournalShowsEachImageInItsStageAndEmptiesAfterwards) {
  TempDir dir;
  const auto inputs = plain_images(dir, 6);
  Journal journal(4);
  auto config = load_config_text("stages:\n  ocr:\n    enabled: false\n", "test");
  auto owned = std::make_unique<JournalProbe>(journal);
  auto* probe = owned.get();
  config.stages[static_cast<std::size_t>(StageKind::logo)].stage = std::move(owned);
  prepare_stages(config);
  std::size_t written = 0;
  const auto emitted = run_graph(inputs, config, {2, 3, nullptr, &journal}, [&](ImageRecord&) { ++written; });
  EXPECT_EQ(emitted, inputs.size());
  EXPECT_EQ(written, inputs.size());
  EXPECT_EQ(probe->missing.load(), 0) << "an image was not in the journal while its stage ran";
  EXPECT_TRUE(journal.in_flight().empty()) << "images stayed in the journal after their reports";
}

// A stage in the logo slot that runs one of OpenCV's own parallel loops, as the nets and SIFT do, and records
// OpenCV's thread count and how many threads the loop ran on.
class OpenCvLoopProbe final : public Stage {
 public:
  std::string_view id() const override { return "logo.opencv_loop_probe"; }
  void process(ImageRecord&, StageResult&) override {
    std::mutex mutex;
    std::set<std::thread::id> ran_on;
    cv::parallel_for_(cv::Range(0, 32), [&](const cv::Range&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
      const std::lock_guard lock(mutex);
      ran_on.insert(std::this_thread::get_id());
    });
    const std::lock_guard lock(mutex_);
    opencv_threads_.insert(cv::getNumThreads());
    most_threads_in_a_loop_ = std::max(most_threads_in_a_loop_, ran_on.size());
  }
  std::mutex mutex_;
  std::set<int> opencv_threads_;
  std::size_t most_threads_in_a_loop_ = 0;
};

TEST(Graph, OpenCvsOwnLoopsUseTheRunsThreadCountAndItIsPutBackAfterwards) {
  TempDir dir;
  const auto inputs = plain_images(dir, 4);
  const int before = cv::getNumThreads();
  for (const int threads : {1, 3}) {
    OpenCvLoopProbe* probe = nullptr;
    auto config = config_with_probe(probe);
    EXPECT_EQ(run_graph(inputs, config, {threads, 2, nullptr}, [](ImageRecord&) {}), inputs.size());
    EXPECT_EQ(probe->opencv_threads_, std::set<int>{threads}) << "--threads " << threads;
    EXPECT_LE(probe->most_threads_in_a_loop_, static_cast<std::size_t>(threads)) << "--threads " << threads;
    EXPECT_EQ(cv::getNumThreads(), before) << "OpenCV's thread count was not put back";
  }
}

TEST(Graph, DotShowsEveryStageAndItsImplementation) {
  const auto config = load_config_text("", "test");
  const auto dot = graph_dot(config);
  for (const auto kind : kAllStageKinds) {
    const std::string node = fmt::format("\"{}\" [", to_string(kind));
    EXPECT_NE(dot.find(node), std::string::npos) << node;
  }
  EXPECT_NE(dot.find("ocr.tesseract_line"), std::string::npos);
  EXPECT_NE(dot.find("text_detect.ppocr_db"), std::string::npos);
  EXPECT_NE(dot.find("\"rank\" -> \"review\""), std::string::npos);
  EXPECT_NE(dot.find("\"review\" -> \"writer\""), std::string::npos);
  EXPECT_NE(dot.find("barcode.zxing"), std::string::npos);
  EXPECT_NE(dot.find("region.fusion"), std::string::npos);
  // The language of the image is known before phone numbers without a country code are read.
  EXPECT_NE(dot.find("\"language\" -> \"clues\""), std::string::npos) << dot;
  EXPECT_EQ(dot.find("(placeholder)"), std::string::npos) << "every stage of the default config is built";
}

}  // namespace

namespace {

// The most tasks that were inside `work` at once, of 24 run by an arena of 4 threads.
template <typename Enter>
int most_at_once(const Enter& enter) {
  std::atomic<int> inside{0}, most{0}, done{0};
  oneapi::tbb::task_arena(4).execute([&] {
    oneapi::tbb::parallel_for(0, 24, [&](int) {
      enter([&] {
        const int now = ++inside;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        // Nested parallel work inside, as OpenCV's SIFT does through TBB.
        std::atomic<long> sum{0};
        oneapi::tbb::parallel_for(0, 2000, [&](int i) { sum += i; });
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        --inside;
        ++done;
      });
    });
  });
  EXPECT_EQ(done.load(), 24) << "every task got through";
  return most.load();
}

}  // namespace

// The gate the logo stage's large scale spaces pass: in an arena of 4 threads, share 0.5 lets 2 in at once,
// never more, and every task gets through, also when the work inside runs parallel loops of its own.
TEST(MemoryGate, HoldsTheBoundAndLetsEveryTaskThrough) {
  // Four threads also on a machine of two cores.
  const oneapi::tbb::global_control threads(oneapi::tbb::global_control::max_allowed_parallelism, 4);
  ASSERT_EQ(most_at_once([](const auto& work) { work(); }), 4) << "without the gate, 4 at once";
  cluetrace::MemoryGate gate(0.5);
  EXPECT_EQ(most_at_once([&](const auto& work) { gate.run(work); }), 2);
  EXPECT_EQ(gate.inside(), 0);
  cluetrace::MemoryGate one(0.1);
  EXPECT_EQ(most_at_once([&](const auto& work) { one.run(work); }), 1) << "at least one";
}
