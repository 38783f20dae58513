#include "pipeline/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "pipeline/decode.hpp"
#include "pipeline/digest.hpp"
#include "pipeline/worker.hpp"

namespace cluetrace {
namespace {

constexpr std::size_t kUnsentHighWater = 64 * 1024;  // item frames kept ready beyond what the pipe holds
constexpr int kTickMs = 200;                         // how often the clock is looked at
constexpr int kIdleDeathLimit = 3;                   // worker deaths in a row with no image inside
constexpr std::int64_t kStopGraceNs = 60'000'000'000;  // after a stop, images inside have this long to finish

void make_pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(fmt::format("cannot make a pipe: {}", std::strerror(errno)));
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// What a report needs about a file whose processing crashed: hashes over every byte, size and format. Read in
// a child process of its own, because the hashing and reading code may be what crashed.
ImageRecord facts_of_crashed_file(const InputItem& input) {
  ImageRecord image;
  image.input = input;
  const auto child = run_in_child(
      [&] {
        ImageRecord facts;
        facts.input = input;
        read_and_hash_only(facts);
        nlohmann::json j{{"md5", facts.digests.md5},     {"sha1", facts.digests.sha1},
                         {"sha256", facts.digests.sha256}, {"complete", facts.digests_complete},
                         {"bytes", facts.file_bytes},    {"format", facts.format}};
        auto errors = nlohmann::json::array();
        for (const auto& e : facts.errors) errors.push_back({{"stage", e.stage}, {"message", e.message}});
        j["errors"] = errors;
        return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      },
      600);
  try {
    if (!child.exit.ok()) throw std::runtime_error(child.error.empty() ? "the process reading it " + child.exit.describe() : child.error);
    const auto j = nlohmann::json::parse(child.output);
    image.digests = {j.at("md5"), j.at("sha1"), j.at("sha256")};
    image.digests_complete = j.at("complete");
    image.file_bytes = j.at("bytes");
    image.format = j.at("format");
    for (const auto& e : j.at("errors")) image.errors.push_back({e.at("stage"), e.at("message")});
  } catch (const std::exception& e) {
    image.digests = MultiDigest().finish();  // of nothing; hashes_complete says they cover nothing
    image.digests_complete = false;
    image.errors.push_back({std::string(kReadStage), fmt::format("the file could not be hashed: {}", e.what())});
  }
  return image;
}

}  // namespace

Supervisor::Supervisor(Config& config, ReportContext context, SupervisorOptions options)
    : config_(config),
      context_(std::move(context)),
      options_(std::move(options)),
      journal_(static_cast<std::size_t>(std::max(1, options_.max_in_flight)) + 1) {}

Supervisor::~Supervisor() {
  if (worker_.pid > 0) {
    ::kill(worker_.pid, SIGKILL);
    int status = 0;
    while (::waitpid(worker_.pid, &status, 0) < 0 && errno == EINTR) {}
  }
  close_fd(worker_.jobs_fd);
  close_fd(worker_.results_fd);
}

void Supervisor::spawn(bool alone) {
  // fork() copies only the calling thread: with another thread alive (holding a lock, say) the worker could
  // hang. The supervisor never starts one; say so loudly if something did.
  if (const int threads = thread_count(); threads > 1) {
    spdlog::warn("the supervisor has {} threads when it starts a worker process; the worker may hang", threads);
  }
  int jobs[2], results[2];
  make_pipe(jobs);
  try {
    make_pipe(results);
  } catch (...) {
    ::close(jobs[0]);
    ::close(jobs[1]);
    throw;
  }
  journal_.clear();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    for (int fd : {jobs[0], jobs[1], results[0], results[1]}) ::close(fd);
    throw std::runtime_error(fmt::format("cannot start a worker process: {}", std::strerror(err)));
  }
  if (pid == 0) {
    close_descriptors_except({jobs[0], results[1]});
    WorkerSetup setup;
    setup.config = &config_;
    setup.threads = options_.threads;
    setup.max_in_flight = alone ? 1 : options_.max_in_flight;
    setup.jobs_fd = jobs[0];
    setup.results_fd = results[1];
    setup.journal = &journal_;
    setup.out_dir = options_.out_dir;
    setup.context = context_;
    ::_exit(worker_main(setup));
  }
  ::close(jobs[0]);
  ::close(results[1]);
  worker_ = Worker{};
  worker_.pid = pid;
  worker_.jobs_fd = jobs[1];
  worker_.results_fd = results[0];
  worker_.alone = alone;
  set_nonblocking(worker_.jobs_fd);
  set_nonblocking(worker_.results_fd);
  ++stats_.worker_starts;
}

bool Supervisor::wait_ready() {
  while (!worker_.ready && !worker_.prepare_failed) {
    if (stop_requested()) {
      // A worker that hangs while it prepares must not hold Ctrl-C up.
      ::kill(worker_.pid, SIGKILL);
      return false;
    }
    pollfd p{worker_.results_fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, kTickMs);
    if (ready < 0 && errno != EINTR) break;
    if (ready > 0 && !read_results()) break;
  }
  return worker_.ready;
}

bool Supervisor::stop_requested() const { return options_.stop_requested && options_.stop_requested->load(); }

void Supervisor::start() {
  // A write to a worker that has died must fail with EPIPE (handled), not end the supervisor.
  std::signal(SIGPIPE, SIG_IGN);
  spawn(false);
  if (wait_ready()) return;
  const auto exit = reap();
  if (worker_.prepare_failed) throw std::runtime_error(*worker_.prepare_failed);
  throw std::runtime_error(fmt::format("the worker process {} while preparing the stages", exit.describe()));
}

bool Supervisor::has_work() const { return !queue_.empty() || !suspects_.empty() || !deferred_.empty(); }

SupervisorStats Supervisor::run(const std::vector<InputItem>& todo, const ReportLineSink& sink) {
  todo_ = &todo;
  sink_ = &sink;
  done_.assign(todo.size(), false);
  queue_.clear();
  for (std::size_t i = 0; i < todo.size(); ++i) queue_.push_back(i);

  for (;;) {
    if (worker_.pid < 0) {
      release_resolved_suspects();
      if (!has_work() || stop_requested() || !stats_.stopped.empty()) break;
      spawn(!suspects_.empty());
      if (!wait_ready()) {
        const auto exit = reap();
        if (worker_.prepare_failed) {
          stats_.stopped = "a new worker process could not prepare the stages: " + *worker_.prepare_failed;
          break;
        }
        after_exit(exit);
        continue;
      }
    }
    drive();
    after_exit(reap());
  }
  // Interrupted: a stop was asked for and images were left without a report (for --resume).
  stats_.interrupted = stop_requested() && std::find(done_.begin(), done_.end(), false) != done_.end();
  todo_ = nullptr;
  sink_ = nullptr;
  return stats_;
}

void Supervisor::refill() {
  const bool stopping = stop_requested();
  if (stopping && !worker_.stop_sent) {
    // Ctrl-C reaches the worker too when it comes from the terminal; a SIGTERM sent to us alone does not.
    ::kill(worker_.pid, SIGTERM);
    worker_.stop_sent = true;
    worker_.stop_sent_ns = monotonic_ns();
  } else if (stopping && !worker_.stop_killed && monotonic_ns() - worker_.stop_sent_ns > kStopGraceNs) {
    // The images inside did not finish in the grace period (one may hang): they are left for --resume.
    ::kill(worker_.pid, SIGKILL);
    worker_.stop_killed = true;
  }
  if (worker_.jobs_closed) return;
  auto& source = worker_.alone ? suspects_ : queue_;
  while (!stopping && worker_.unsent.size() < kUnsentHighWater && !source.empty()) {
    const auto seq = source.front();
    source.pop_front();
    if (done_[seq]) continue;
    worker_.unsent += encode_frame(FrameType::item, encode_item({seq, (*todo_)[seq]}));
    worker_.sent.push_back(seq);
  }
  // Nothing more for this worker: it finishes what it has and ends.
  if (worker_.unsent.empty() && (stopping || source.empty())) {
    close_fd(worker_.jobs_fd);
    worker_.jobs_closed = true;
  }
}

void Supervisor::write_pending() {
  while (!worker_.unsent.empty()) {
    const auto n = ::write(worker_.jobs_fd, worker_.unsent.data(), worker_.unsent.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      // EPIPE: the worker is gone; its end of file on the results pipe tells the rest.
      worker_.unsent.clear();
      close_fd(worker_.jobs_fd);
      worker_.jobs_closed = true;
      return;
    }
    worker_.unsent.erase(0, static_cast<std::size_t>(n));
  }
}

bool Supervisor::read_results() {
  char buffer[1 << 16];
  for (;;) {
    const auto n = ::read(worker_.results_fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN;
    }
    if (n == 0) return false;
    worker_.frames.append({buffer, static_cast<std::size_t>(n)});
    while (auto frame = worker_.frames.next()) handle_frame(*frame);
  }
}

void Supervisor::handle_frame(Frame& frame) {
  switch (frame.type) {
    case FrameType::ready: {
      worker_.ready = true;
      const auto stages = nlohmann::ordered_json::parse(frame.payload, nullptr, false);
      if (stages.is_array() && stages.size() == config_.stages.size()) {
        for (std::size_t i = 0; i < stages.size(); ++i) {
          const auto& j = stages[i];
          if (!j.is_object()) continue;
          auto& slot = config_.stages[i];
          if (j.contains("prepare_ms") && j["prepare_ms"].is_number()) slot.prepare_ms = j["prepare_ms"].get<double>();
          if (j.contains("id") && j["id"].is_string()) slot.prepared_id = j["id"].get<std::string>();
          if (j.contains("resources")) slot.prepared_resources = j["resources"];
        }
      }
      break;
    }
    case FrameType::loaded: {
      const auto stages = nlohmann::ordered_json::parse(frame.payload, nullptr, false);
      if (stages.is_array() && stages.size() == config_.stages.size()) {
        for (std::size_t i = 0; i < stages.size(); ++i) {
          const auto& j = stages[i];
          if (j.is_object() && j.contains("load_ms") && j["load_ms"].is_number()) config_.stages[i].load_ms = j["load_ms"].get<double>();
        }
      }
      break;
    }
    case FrameType::prepare_failed: worker_.prepare_failed = frame.payload; break;
    case FrameType::done: worker_.done = true; break;
    case FrameType::fatal: worker_.fatal = frame.payload; break;
    case FrameType::report: {
      auto report = decode_report(frame.payload);
      if (report.seq >= done_.size() || done_[report.seq]) break;  // never written twice
      done_[report.seq] = true;
      const auto it = std::find(worker_.sent.begin(), worker_.sent.end(), report.seq);
      if (it != worker_.sent.end()) worker_.sent.erase(it);
      (*sink_)(report.seq, report.status, report.line);
      count_outcome(false);
      idle_deaths_ = 0;
      release_resolved_suspects();
      break;
    }
    case FrameType::item: throw std::runtime_error("the worker sent an item frame");
  }
}

void Supervisor::check_time() {
  if (options_.image_timeout_s <= 0 || worker_.timed_out || !worker_.hung.empty() || worker_.load_timed_out) return;
  const auto now = monotonic_ns();
  const auto limit = static_cast<std::int64_t>(options_.image_timeout_s * 1e9);
  // A stage loading while the images run (StageLoading) is held to the same limit; the images are not held to
  // theirs meanwhile, since they may be waiting for it outside any phase.
  if (const auto loading = journal_.loading()) {
    if (now - loading->since_ns <= limit) return;
    worker_.load_timed_out = fmt::format("stage {} was still loading after {:g} s (run.image_timeout_s, --image-timeout)",
                                         stage_name(loading->stage), options_.image_timeout_s);
    ::kill(worker_.pid, SIGKILL);
    return;
  }
  // An image is over its time when a phase of it has been running that long: time spent waiting for a thread
  // between phases is not held against it. One that has been inside three times as long with no phase
  // running (a hang outside any marked step) is over its time too.
  std::vector<JournalImage> over;
  for (const auto& image : journal_.in_flight()) {
    if (image.seq >= done_.size() || done_[image.seq] || image.entered_ns == 0) continue;
    std::int64_t oldest = 0;
    for (const auto& [phase, since] : image.running) oldest = oldest == 0 ? since : std::min(oldest, since);
    const bool phase_over = oldest != 0 && now - oldest > limit;
    const bool inside_over = oldest == 0 && now - image.entered_ns > 3 * limit;
    if (phase_over || inside_over) over.push_back(image);
  }
  if (over.empty()) return;
  if (over.size() == 1 || worker_.alone) {
    worker_.timed_out = over.front().seq;
    worker_.timed_out_where = where(over.front(), {}).first;
  } else {
    // Several at once (a thread that helps another image's task while it waits marks both): which one hangs
    // is learnt by running them alone.
    for (const auto& image : over) worker_.hung.push_back(image.seq);
  }
  // A thread cannot be stopped safely: the whole worker goes, and the other images start again elsewhere.
  ::kill(worker_.pid, SIGKILL);
}

void Supervisor::drive() {
  for (;;) {
    refill();
    pollfd fds[2] = {{worker_.results_fd, POLLIN, 0}, {worker_.jobs_fd, POLLOUT, 0}};
    const nfds_t count = (!worker_.jobs_closed && !worker_.unsent.empty()) ? 2 : 1;
    const int ready = ::poll(fds, count, kTickMs);
    if (ready < 0 && errno != EINTR) throw std::runtime_error(fmt::format("poll: {}", std::strerror(errno)));
    if (ready > 0 && count == 2 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) write_pending();
    if (ready > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      if (!read_results()) return;  // end of file: the worker has ended
    }
    check_time();
  }
}

ChildExit Supervisor::reap() {
  close_fd(worker_.jobs_fd);
  close_fd(worker_.results_fd);
  int status = 0;
  while (::waitpid(worker_.pid, &status, 0) < 0 && errno == EINTR) {}
  worker_.pid = -1;
  auto exit = child_exit_from_status(status);
  exit.timed_out = worker_.timed_out.has_value();
  return exit;
}

std::string Supervisor::phase_label(Phase phase) const {
  if (phase == Phase::decode) return std::string(kDecodeStage);
  if (phase == Phase::review) return "review";
  if (phase == Phase::report) return "report";
  const auto kind = *stage_of(phase);
  const auto& configured = config_.stages.at(static_cast<std::size_t>(kind));
  return configured.stage ? std::string(configured.stage->id()) : std::string(to_string(kind));
}

// Which stage the image was in: (the stage for the error, the words for the message).
std::pair<std::string, std::string> Supervisor::where(const JournalImage& image, const JournalCrash& crash) const {
  if (crash.seq == image.seq && crash.phase) {
    const auto label = phase_label(*crash.phase);
    return {label, label};
  }
  if (!image.running.empty()) {
    auto running = image.running;
    std::sort(running.begin(), running.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    std::string words;
    for (const auto& [phase, since] : running) words += (words.empty() ? "" : " or ") + phase_label(phase);
    return {phase_label(running.front().first), words};
  }
  if (image.last_finished) {
    const auto label = phase_label(*image.last_finished);
    return {label, "the step after " + label};
  }
  return {std::string(kReadStage), std::string(kReadStage)};
}

void Supervisor::release_resolved_suspects() {
  if (!trying_ || !done_[*trying_]) return;
  // The image the crash handler named has its outcome. Failed (it crashed or hung alone): the others it was
  // with are innocent and go back to the normal queue. Reported: it did not crash alone, so the others are
  // tried alone too.
  if (failed_.contains(*trying_)) {
    queue_.insert(queue_.begin(), deferred_.begin(), deferred_.end());
  } else {
    suspects_.insert(suspects_.end(), deferred_.begin(), deferred_.end());
  }
  deferred_.clear();
  trying_.reset();
}

void Supervisor::count_outcome(bool crashed) {
  outcomes_.push_back(crashed);
  while (outcomes_.size() > static_cast<std::size_t>(std::max(1, options_.crash_window))) outcomes_.pop_front();
  const auto crashes = std::count(outcomes_.begin(), outcomes_.end(), true);
  if (crashed && crashes > options_.crash_limit && stats_.stopped.empty()) {
    stats_.stopped = fmt::format(
        "stopped: {} of the last {} images crashed or hung the worker process, more than the {} allowed; something is "
        "wrong with this installation or these files (the failed reports say where). The reports written so far are "
        "kept; --resume continues after a fix",
        crashes, outcomes_.size(), options_.crash_limit);
  }
}

void Supervisor::fail(std::size_t seq, const std::string& stage, const std::string& message, bool crash) {
  if (done_[seq]) return;
  auto image = facts_of_crashed_file((*todo_)[seq]);
  image.seq = seq;
  image.errors.push_back({stage, message});
  const auto report = make_report(image, context_);
  done_[seq] = true;
  failed_.insert(seq);
  (*sink_)(seq, ImageStatus::failed, report.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  (crash ? stats_.crashed_images : stats_.timed_out_images)++;
  count_outcome(true);
}

void Supervisor::after_exit(const ChildExit& exit) {
  auto& back_to = worker_.alone ? suspects_ : queue_;
  if (worker_.fatal && stats_.stopped.empty()) stats_.stopped = "the worker process could not go on: " + *worker_.fatal;

  // Which images were inside the worker (entered decode, not reported), and which were only sent.
  const auto crash = journal_.crash();
  std::vector<JournalImage> inside;
  for (auto& image : journal_.in_flight()) {
    if (image.seq < done_.size() && !done_[image.seq]) inside.push_back(std::move(image));
  }
  std::sort(inside.begin(), inside.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
  std::set<std::size_t> inside_seqs;
  for (const auto& image : inside) inside_seqs.insert(image.seq);
  std::vector<std::size_t> waiting;
  for (const auto seq : worker_.sent) {
    if (!done_[seq] && !inside_seqs.contains(seq)) waiting.push_back(seq);
  }
  back_to.insert(back_to.begin(), waiting.begin(), waiting.end());

  if (exit.ok() && worker_.done) return;  // a clean end: everything sent was reported
  if (worker_.fatal) {
    // The worker said why it stopped (a full disk, say): not a crash of any image. The run stops with that.
    back_to.insert(back_to.begin(), inside_seqs.begin(), inside_seqs.end());
    return;
  }
  const std::string how = exit.signal != 0 ? "crashed (" + signal_name(exit.signal) + ")" : exit.describe();
  if (crash.loading || worker_.load_timed_out) {
    // A stage's load crashed or hung (StageLoading): no image is to blame, and no worker can go on without it.
    ++stats_.worker_deaths;
    back_to.insert(back_to.begin(), inside_seqs.begin(), inside_seqs.end());
    if (stats_.stopped.empty()) {
      stats_.stopped = worker_.load_timed_out ? *worker_.load_timed_out
                                              : fmt::format("the worker process {} while loading stage {}", how, stage_name(*crash.loading));
    }
    return;
  }
  if (worker_.stop_sent && !worker_.timed_out && worker_.hung.empty()) {
    // Interrupted: what was inside is left for --resume, as for any image not reported.
    return;
  }
  ++stats_.worker_deaths;
  if (worker_.timed_out) {
    const auto seq = *worker_.timed_out;
    fail(seq, worker_.timed_out_where,
         fmt::format("timed out after {:g} s in {}; the worker process was stopped and the other images went on in a "
                     "new one (run.image_timeout_s, --image-timeout)",
                     options_.image_timeout_s, worker_.timed_out_where),
         false);
    std::vector<std::size_t> others;
    for (const auto& image : inside) {
      if (image.seq != seq) others.push_back(image.seq);
    }
    back_to.insert(back_to.begin(), others.begin(), others.end());
    release_resolved_suspects();
    return;
  }
  if (!worker_.hung.empty()) {
    std::vector<std::size_t> others;
    for (const auto& image : inside) {
      if (std::find(worker_.hung.begin(), worker_.hung.end(), image.seq) == worker_.hung.end()) others.push_back(image.seq);
    }
    back_to.insert(back_to.begin(), others.begin(), others.end());
    suspects_.insert(suspects_.begin(), worker_.hung.begin(), worker_.hung.end());
    stats_.retried_alone += worker_.hung.size();
    spdlog::info("{} images were over their time together; running them one at a time to find the one that hangs", worker_.hung.size());
    return;
  }
  if (inside.empty()) {
    if (++idle_deaths_ >= kIdleDeathLimit && stats_.stopped.empty()) {
      stats_.stopped = fmt::format("the worker process {} {} times in a row without an image inside; the run cannot go on",
                                   how, idle_deaths_);
    }
    return;
  }
  idle_deaths_ = 0;
  const bool named_inside = crash.seq && inside_seqs.contains(*crash.seq);
  if (inside.size() == 1 && (worker_.alone || named_inside)) {
    // Alone, or the very image the crashing thread was working on.
    const auto& image = inside.front();
    const auto [stage, words] = where(image, crash);
    fail(image.seq, stage,
         fmt::format("the process {} while running {} on this image; the other images went on in a new worker process",
                     how, words),
         true);
    release_resolved_suspects();
    return;
  }
  // Several images were inside, or one that the crashing thread was not working on: run them one at a time to
  // learn which one crashes. The image of the thread that took the signal goes first; if it crashes alone, the
  // others go back to the normal queue.
  stats_.retried_alone += inside.size();
  std::vector<std::size_t> seqs;
  for (const auto& image : inside) seqs.push_back(image.seq);
  if (named_inside && !trying_) {
    trying_ = *crash.seq;
    suspects_.push_front(*crash.seq);
    for (const auto seq : seqs) {
      if (seq != *crash.seq) deferred_.push_back(seq);
    }
  } else {
    suspects_.insert(suspects_.begin(), seqs.begin(), seqs.end());
  }
  spdlog::info("the worker process {} with {} images inside; running them one at a time to find the one that crashes",
               how, inside.size());
}

std::string Supervisor::stage_name(StageKind kind) const {
  const auto& slot = config_.stages[static_cast<std::size_t>(kind)];
  return slot.prepared_id.empty() ? std::string(to_string(kind)) : fmt::format("{} ({})", to_string(kind), slot.prepared_id);
}

}  // namespace cluetrace
