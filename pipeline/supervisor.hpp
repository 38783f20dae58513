// The supervisor: runs the graph in a worker process and survives it. It sends the worker the images to do,
// writes nothing itself but what the worker reports, and watches the journal (pipeline/journal.hpp). When the
// worker dies by a signal it writes a `failed` report for the image inside the crashing code, sends every other
// image in flight again to a new worker, and goes on; when an image runs past its time it kills the worker and
// does the same. When several images were in flight it finds the one that crashes by running the suspects
// one at a time, so that a good image is never failed for its neighbour. docs/architecture.md tells the story.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pipeline/child_process.hpp"
#include "pipeline/config.hpp"
#include "pipeline/journal.hpp"
#include "pipeline/report.hpp"
#include "pipeline/worker_protocol.hpp"

namespace cluetrace {

struct SupervisorOptions {
  int threads = 1;
  int max_in_flight = 2;
  double image_timeout_s = 0;  // 0: none
  int crash_window = 50;       // the run stops when more than crash_limit of the last crash_window images
  int crash_limit = 20;        // crashed or hung the worker
  const std::atomic<bool>* stop_requested = nullptr;
  std::filesystem::path out_dir;
};

struct SupervisorStats {
  std::size_t worker_starts = 0;
  std::size_t crashed_images = 0;  // failed because they crashed the worker
  std::size_t timed_out_images = 0;
  std::size_t worker_deaths = 0;   // every time a worker died or was killed
  std::size_t retried_alone = 0;   // images run one at a time to find which one crashes
  bool interrupted = false;        // a stop was requested: images not reported are left for --resume
  std::string stopped;             // why the run stopped before every image was reported (empty: it did not)
};

// Receives each image's report, once per image, as images finish (not in input order).
using ReportLineSink = std::function<void(std::size_t seq, ImageStatus status, const std::string& line)>;

class Supervisor {
 public:
  Supervisor(Config& config, ReportContext context, SupervisorOptions options);
  ~Supervisor();  // a worker still running is killed
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts the first worker and waits until it has prepared every stage. Throws std::runtime_error naming
  // the stage when one cannot start.
  void start();

  // Runs every image of `todo` (its sequence number is its index) and returns when each has a report, a stop
  // was requested, or the run cannot go on (SupervisorStats::stopped).
  SupervisorStats run(const std::vector<InputItem>& todo, const ReportLineSink& sink);

 private:
  struct Worker {
    pid_t pid = -1;
    int jobs_fd = -1;     // we write items here (non-blocking)
    int results_fd = -1;  // we read frames here (non-blocking)
    bool alone = false;   // runs suspects one at a time
    bool ready = false;
    bool done = false;
    bool jobs_closed = false;
    bool stop_sent = false;
    std::int64_t stop_sent_ns = 0;
    bool stop_killed = false;
    std::string unsent;           // frames not yet taken by the pipe
    std::deque<std::size_t> sent; // images sent and not reported, in the order sent
    FrameBuffer frames;
    std::optional<std::string> prepare_failed;
    std::optional<std::string> fatal;
    std::optional<std::size_t> timed_out;  // the image it was killed for
    std::string timed_out_where;
    std::vector<std::size_t> hung;         // killed because these were over their time together
    std::optional<std::string> load_timed_out;  // killed because a stage's load ran over the time limit (why)
  };

  void spawn(bool alone);
  bool wait_ready();  // false when the worker ended before it was ready
  void drive();       // until the current worker has exited
  ChildExit reap();
  void refill();
  void write_pending();
  bool read_results();  // false at end of file
  void handle_frame(Frame& frame);
  void check_time();
  void after_exit(const ChildExit& exit);
  void fail(std::size_t seq, const std::string& stage, const std::string& message, bool crash);
  void count_outcome(bool crashed);
  std::string stage_name(StageKind kind) const;  // "language (language.evidence)"
  void release_resolved_suspects();
  bool stop_requested() const;
  std::string phase_label(Phase phase) const;
  std::pair<std::string, std::string> where(const JournalImage& image, const JournalCrash& crash) const;
  bool has_work() const;

  Config& config_;
  ReportContext context_;
  SupervisorOptions options_;
  Journal journal_;
  Worker worker_;
  SupervisorStats stats_;

  const std::vector<InputItem>* todo_ = nullptr;
  const ReportLineSink* sink_ = nullptr;
  std::vector<bool> done_;
  std::deque<std::size_t> queue_;     // images to do in the normal way
  std::deque<std::size_t> suspects_;  // images to run one at a time
  std::deque<std::size_t> deferred_;  // suspects waiting while the likeliest one is tried alone first
  std::optional<std::size_t> trying_; // that likeliest one (named by the crash handler)
  std::set<std::size_t> failed_;      // images failed for a crash or a hang
  std::deque<bool> outcomes_;         // the last crash_window images: did they crash the worker
  int idle_deaths_ = 0;               // worker deaths in a row with no image inside
};

}  // namespace cluetrace
