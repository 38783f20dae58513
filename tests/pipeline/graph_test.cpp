// Contract: the flow graph reports every image exactly once (as it finishes), turns a stage's exception into a
// `partial` image while the others go on, never holds more than max_in_flight images at once, works on one
// large image at a time (smaller ones beside it), and records each image's phases in the journal while it is
// inside.
#include <atomic>
#include <chrono>
#include <condition_variable>
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
#include <opencv2/imgproc.hpp>

#include "pipeline/batch.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/memory_gate.hpp"
#include "pipeline/report.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace cluetrace;
using namespace cluetrace::test;

namespace {

// The stages share one grey image per image (ImageRecord::grey()): parallel branches asking at once get the
// same pixels, converted once and exactly as each stage converted them before; new pixels get a new grey;
// after the graph releases it, the next ask makes it again.
TEST(SharedGrey, MadeOnceForParallelAsksAndAgainForNewPixels) {
  ImageRecord record;
  record.pixels = cv::Mat(480, 640, CV_8UC3);
  cv::randu(record.pixels, 0, 256);
  cv::Mat expected;
  cv::cvtColor(record.pixels, expected, cv::COLOR_BGR2GRAY);

  std::vector<cv::Mat> seen(8);
  std::vector<std::thread> threads;
  for (auto& s : seen) threads.emplace_back([&record, &s] { s = record.grey(); });
  for (auto& t : threads) t.join();
  for (const auto& s : seen) {
    ASSERT_EQ(s.data, seen[0].data);  // one conversion, shared
    EXPECT_EQ(cv::norm(s, expected, cv::NORM_INF), 0.0);
  }
  const ImageRecord copy = record;  // a copy of the record shares it too
  EXPECT_EQ(copy.grey().data, seen[0].data);

  record.pixels = cv::Mat(480, 640, CV_8UC3, cv::Scalar(10, 200, 30));
  const cv::Mat other = record.grey();
  EXPECT_NE(other.data, seen[0].data);
  cv::cvtColor(record.pixels, expected, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(cv::norm(other, expected, cv::NORM_INF), 0.0);

  record.grey_cache->release();
  EXPECT_EQ(cv::norm(record.grey(), expected, cv::NORM_INF), 0.0);
  ImageRecord failed;  // no pixels (decoding failed): no grey either
  EXPECT_TRUE(failed.grey().empty());
}

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

// The default stages without OCR, a prepared `Probe` in the logo slot (`probe` points at it); `run` is YAML for
// the config's run block.
template <typename Probe>
Config config_with_probe(Probe*& probe, const std::string& run = "{}") {
  auto config = load_config_text("run: " + run + "\nstages:\n  ocr:\n    enabled: false\n", "test");
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

// A stage for the logo slot that counts, at once, the large images (60 pixels wide) inside it, all images
// inside it, and the moments a large and a small image were inside together.
class SizeProbe final : public Stage {
 public:
  std::string_view id() const override { return "logo.size_probe"; }
  void process(ImageRecord& image, StageResult&) override {
    const bool large = image.width == 60;
    std::atomic<int>& mine = large ? large_inside_ : small_inside_;
    const int now = ++mine;
    if (large) raise(most_large_, now);
    raise(most_inside_, large_inside_.load() + small_inside_.load());
    if (large_inside_.load() > 0 && small_inside_.load() > 0) ++mixed_;
    std::this_thread::sleep_for(std::chrono::milliseconds(15));
    --mine;
  }
  static void raise(std::atomic<int>& most, int now) {
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {}
  }
  std::atomic<int> large_inside_{0}, small_inside_{0}, most_large_{0}, most_inside_{0}, mixed_{0};
};

// 8 PNG files of 60 x 50 pixels (3,000: large above 0.002 megapixels) between 16 of 40 x 20.
std::vector<InputItem> large_and_small_images(const TempDir& dir) {
  std::vector<InputItem> inputs;
  for (int i = 0; i < 24; ++i) {
    const bool large = i % 3 == 0;
    const auto path = dir / ("img" + std::to_string(i) + ".png");
    write_bytes(path, encode(cv::Mat(large ? 50 : 20, large ? 60 : 40, CV_8UC3, cv::Scalar::all(200)), ".png"));
    inputs.push_back({path, path.string()});
  }
  return inputs;
}

TEST(Graph, LargeImagesOneAtATimeWithSmallOnesBesideThem) {
  TempDir dir;
  const auto inputs = large_and_small_images(dir);
  SizeProbe* probe = nullptr;
  auto config = config_with_probe(probe, "{large_image_megapixels: 0.002}");
  std::set<std::size_t> written;
  const ImageSink sink = [&](ImageRecord& image) {
    EXPECT_TRUE(written.insert(image.seq).second) << "image " << image.seq << " twice";
    EXPECT_EQ(image.large, image.width == 60) << image.input.display_path;
    EXPECT_EQ(to_string(status_of(image)), "ok") << image.input.display_path;
  };
  EXPECT_EQ(run_graph(inputs, config, {4, 4, nullptr}, sink), inputs.size());
  EXPECT_EQ(written.size(), inputs.size());
  EXPECT_EQ(probe->most_large_.load(), 1) << "two large images were worked on at once";
  EXPECT_GE(probe->most_inside_.load(), 2) << "images never overlapped: the graph ran serially";
  EXPECT_GT(probe->mixed_.load(), 0) << "no small image went on beside a large one";
}

TEST(Graph, WithoutTheBoundLargeImagesOverlap) {
  TempDir dir;
  const auto inputs = large_and_small_images(dir);
  SizeProbe* probe = nullptr;
  auto config = config_with_probe(probe, "{large_image_megapixels: 0}");
  std::size_t written = 0;
  const ImageSink sink = [&](ImageRecord& image) {
    EXPECT_FALSE(image.large);
    ++written;
  };
  run_graph(inputs, config, {4, 4, nullptr}, sink);
  EXPECT_EQ(written, inputs.size());
  EXPECT_GE(probe->most_large_.load(), 2) << "the probe cannot see two large images at once";
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

// A stage in the logo slot that works on its thread for a while, then in one of OpenCV's parallel loops, and
// records the most threads working at once (in either) over the run.
class BusyProbe final : public Stage {
 public:
  std::string_view id() const override { return "logo.busy_probe"; }
  void process(ImageRecord&, StageResult&) override {
    work(std::chrono::milliseconds(6));
    cv::parallel_for_(cv::Range(0, 16), [&](const cv::Range& r) {
      for (int i = r.start; i < r.end; ++i) work(std::chrono::milliseconds(2));
    });
  }
  std::atomic<int> most_at_once{0};

 private:
  void work(std::chrono::milliseconds how_long) {
    const int now = ++busy_;
    int most = most_at_once.load();
    while (now > most && !most_at_once.compare_exchange_weak(most, now)) {
    }
    std::this_thread::sleep_for(how_long);
    --busy_;
  }
  std::atomic<int> busy_{0};
};

TEST(Graph, TheRunWorksOnNoMoreThreadsThanItsThreadCountOnAWiderMachine) {
  // oneTBB as on an 8-core machine, whatever this one has: its workers would be lent to OpenCV's arena and the
  // run's alike, up to 8 threads in all.
  const oneapi::tbb::global_control machine(oneapi::tbb::global_control::max_allowed_parallelism, 8);
  TempDir dir;
  const auto inputs = plain_images(dir, 12);
  for (const int threads : {2, 3}) {
    BusyProbe* probe = nullptr;
    auto config = config_with_probe(probe);
    EXPECT_EQ(run_graph(inputs, config, {threads, 6, nullptr}, [](ImageRecord&) {}), inputs.size());
    EXPECT_LE(probe->most_at_once.load(), threads) << "--threads " << threads;
    EXPECT_GE(probe->most_at_once.load(), 2) << "--threads " << threads << ": the probe never ran two at once";
    EXPECT_EQ(oneapi::tbb::global_control::active_value(oneapi::tbb::global_control::max_allowed_parallelism), 8u)
        << "the run's bound on oneTBB's workers was not lifted";
  }
}

// Probes for the text detector, OCR and a logo stage that splits around OCR. OCR and the logo's part before
// it meet: each, when it starts on an image, waits (up to 10 s) for the other to have started on it too.
struct Meeting {
  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::size_t, std::set<std::string>> started;  // image -> the parts that have started on it
  // Marks `who` started on `seq`; true when `other` starts on it within 10 s.
  bool meet(std::size_t seq, const std::string& who, const std::string& other) {
    std::unique_lock lock(mutex);
    started[seq].insert(who);
    changed.notify_all();
    return changed.wait_for(lock, std::chrono::seconds(10), [&] { return started[seq].count(other) > 0; });
  }
};

class TextRegionProbe final : public Stage {
 public:
  std::string_view id() const override { return "text_detect.probe"; }
  void process(ImageRecord& image, StageResult&) override {
    TextRegion region;
    region.quad = {cv::Point2f(1, 1), {30, 1}, {30, 10}, {1, 10}};
    image.text_regions.push_back(region);
  }
};

class OcrMeetingProbe final : public Stage {
 public:
  explicit OcrMeetingProbe(Meeting& meeting) : meeting_(meeting) {}
  std::string_view id() const override { return "ocr.meeting_probe"; }
  void process(ImageRecord& image, StageResult& out) override {
    if (!meeting_.meet(image.seq, "ocr", "logo")) ++alone;
    Clue line;
    line.kind = ClueKind::text;
    line.value = "read " + std::to_string(image.seq);
    line.confidence = 0.9;
    out.clues.push_back(line);
  }
  Meeting& meeting_;
  std::atomic<int> alone{0};
};

class SplitLogoProbe final : public Stage {
 public:
  explicit SplitLogoProbe(Meeting& meeting) : meeting_(meeting) {}
  std::string_view id() const override { return "logo.split_probe"; }
  bool splits_around_ocr() const override { return true; }
  void process(ImageRecord& image, StageResult& out) override {
    before_ocr(image, out);
    after_ocr(image, out);
  }
  void before_ocr(const ImageRecord& image, StageResult& out) override {
    if (!meeting_.meet(image.seq, "logo", "ocr")) ++alone;
    if (image.text_regions.empty()) ++without_text_regions;
    out.clues.push_back(clue("matched"));
    if (image.seq == 2) throw std::runtime_error("the probe's matching fails on image 2");
  }
  void after_ocr(ImageRecord& image, StageResult& out) override {
    const auto& ocr = image.stage_results[static_cast<std::size_t>(StageKind::ocr)].clues;
    if (ocr.size() != 1 || ocr[0].value != "read " + std::to_string(image.seq)) ++before_ocr_was_done;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    out.clues.push_back(clue("checked"));
  }
  static Clue clue(const std::string& value) {
    Clue c;
    c.kind = ClueKind::logo;
    c.value = value;
    c.confidence = 0.5;
    return c;
  }
  Meeting& meeting_;
  std::atomic<int> alone{0}, without_text_regions{0}, before_ocr_was_done{0};
};

// A stage that splits around OCR (the logo stage) runs its first part beside OCR, after the text detector,
// and its second part once OCR is done; a failure in the first part leaves the image partial and the
// second part still runs; the stage's time is the sum of both parts.
TEST(Graph, ALogoStageThatSplitsMatchesBesideOcrAndChecksAfterIt) {
  TempDir dir;
  const auto inputs = plain_images(dir, 5);
  Meeting meeting;
  auto config = load_config_text("", "test");
  auto text = std::make_unique<TextRegionProbe>();
  auto ocr = std::make_unique<OcrMeetingProbe>(meeting);
  auto logo = std::make_unique<SplitLogoProbe>(meeting);
  auto* ocr_probe = ocr.get();
  auto* logo_probe = logo.get();
  config.stages[static_cast<std::size_t>(StageKind::text_detect)].stage = std::move(text);
  config.stages[static_cast<std::size_t>(StageKind::ocr)].stage = std::move(ocr);
  config.stages[static_cast<std::size_t>(StageKind::logo)].stage = std::move(logo);
  prepare_stages(config);
  std::map<std::size_t, std::pair<std::string, std::vector<std::string>>> seen;  // image -> status, logo clues
  std::map<std::size_t, double> logo_ms;
  const ImageSink sink = [&](ImageRecord& image) {
    const auto& logo_slot = image.stage_results[static_cast<std::size_t>(StageKind::logo)];
    std::vector<std::string> values;
    for (const auto& c : logo_slot.clues) values.push_back(c.value);
    seen[image.seq] = {std::string(to_string(status_of(image))), values};
    logo_ms[image.seq] = logo_slot.elapsed_ms;
  };
  // One image in flight, two threads: OCR and the matching can only meet by running at the same time.
  EXPECT_EQ(run_graph(inputs, config, {2, 1, nullptr}, sink), inputs.size());
  EXPECT_EQ(ocr_probe->alone.load(), 0) << "OCR ran while the logo stage's matching did not";
  EXPECT_EQ(logo_probe->alone.load(), 0) << "the logo stage's matching ran while OCR did not";
  EXPECT_EQ(logo_probe->without_text_regions.load(), 0) << "the matching ran before the text detector";
  EXPECT_EQ(logo_probe->before_ocr_was_done.load(), 0) << "the check after OCR ran before OCR was done";
  ASSERT_EQ(seen.size(), inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_EQ(seen[i].first, i == 2 ? "partial" : "ok") << i;
    EXPECT_EQ(seen[i].second, (std::vector<std::string>{"matched", "checked"})) << i;
    EXPECT_GE(logo_ms[i], 2.0) << "the stage's time is not the sum of its parts, image " << i;
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
  // The logo stage's matching beside OCR, the rest of it after.
  EXPECT_NE(dot.find("\"text_detect\" -> \"logo_before_ocr\""), std::string::npos) << dot;
  EXPECT_NE(dot.find("\"ocr\" -> \"after_ocr\""), std::string::npos) << dot;
  EXPECT_NE(dot.find("\"after_ocr\" -> \"logo\""), std::string::npos) << dot;
  EXPECT_NE(dot.find("matching, beside ocr"), std::string::npos) << dot;
  EXPECT_NE(dot.find("\"rank\" -> \"review\""), std::string::npos);
  // Large images wait their turn before they are decoded.
  EXPECT_NE(dot.find("\"large_limiter\" -> \"decode\""), std::string::npos) << dot;
  EXPECT_NE(dot.find("\"writer\" -> \"large_limiter\""), std::string::npos) << dot;
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
        // Long enough for four threads to be inside at once also while other tests load the machine.
        std::this_thread::sleep_for(std::chrono::milliseconds(60));
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
