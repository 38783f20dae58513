#include "pipeline/batch.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <random>
#include <thread>

#include <malloc.h>

#include <sys/resource.h>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/task_arena.h>
#include <spdlog/spdlog.h>

#include "pipeline/case/case_outputs.hpp"
#include "pipeline/child_process.hpp"
#include "pipeline/inputs.hpp"
#include "pipeline/thread_limit.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/report.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/supervisor.hpp"
#include "pipeline/worker.hpp"
#include "pipeline/versions.hpp"

namespace cluetrace {
namespace {

constexpr std::size_t kListedFailures = 1000;

// Peak resident memory of this process (the supervisor; the whole run when in-process) and of the largest
// child it waited for (a worker or the case outputs): with isolation the run's peak is about their sum, as the
// worker is forked before it loads any model.
nlohmann::ordered_json peak_memory_json() {
  rusage self{};
  rusage children{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  return {{"this_process_peak_kib", self.ru_maxrss}, {"largest_child_peak_kib", children.ru_maxrss}};
}

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(now));
}

// Names one run among the runs that wrote into an output folder: its start time and a random suffix.
std::string new_run_id() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::random_device random;
  return fmt::format("{:%Y%m%dT%H%M%SZ}-{:08x}", fmt::gmtime(now), random());
}

// run.json may quote file names and messages that are not UTF-8 (a Latin-1 name on the command line, a
// decoder's error): replaced by U+FFFD rather than a reason to abort the run.
std::string dump_json(const nlohmann::ordered_json& j) {
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

nlohmann::ordered_json notes_json(const std::vector<InputNote>& notes) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& n : notes) out.push_back({{"path", n.path}, {"reason", n.reason}});
  return out;
}

nlohmann::ordered_json stages_json(const Config& config) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& s : config.stages) {
    nlohmann::ordered_json j{{"kind", to_string(s.kind)}, {"enabled", s.enabled}, {"impl", s.impl}};
    if (s.stage) {
      j["id"] = s.prepared_id.empty() ? std::string(s.stage->id()) : s.prepared_id;
      j["placeholder"] = s.stage->is_placeholder();
      j["resources"] = s.prepared_resources.is_null() ? s.stage->resources() : s.prepared_resources;
      if (s.prepare_ms > 0) j["prepare_ms"] = std::round(s.prepare_ms * 10) / 10;
      if (const double ms = std::round(s.load_ms * 10) / 10; ms > 0) j["load_ms"] = ms;  // stages that load anything
    }
    out.push_back(j);
  }
  return out;
}

}  // namespace

int effective_threads(const Config& config, const BatchOptions& options) {
  const int threads = options.threads.value_or(config.run.threads);
  return threads > 0 ? threads : std::max(1, oneapi::tbb::info::default_concurrency());
}

int effective_max_in_flight(const Config& config, const BatchOptions& options) {
  const int bound = options.max_in_flight.value_or(config.run.max_in_flight);
  return bound > 0 ? bound : 2 * effective_threads(config, options);
}

namespace {

// glibc keeps small freed blocks in "fast bins" and sweeps them all into its free lists whenever a larger block
// is asked for. Hunspell's dictionaries make three million small allocations and frees while they load: the
// sweeps (malloc_consolidate) were a seventh of the CPU of `cluetrace langid`, which only loads them. Fast bins
// are off while the stages start (langid 1.98 -> 1.62 s, a one-photo run 2.42 -> 2.37 s, bench/RESULTS.md,
// issue 16) and back at glibc's default (128 bytes on 64-bit) for the images, whose speed was measured with them.
// tcmalloc, when the CLI is built with it, takes mallopt() and ignores it.
class FastBinsOffWhileStarting {
 public:
#ifdef __GLIBC__
  FastBinsOffWhileStarting() { ::mallopt(M_MXFAST, 0); }
  ~FastBinsOffWhileStarting() { ::mallopt(M_MXFAST, kGlibcDefault); }
#endif
  FastBinsOffWhileStarting(const FastBinsOffWhileStarting&) = delete;
  FastBinsOffWhileStarting& operator=(const FastBinsOffWhileStarting&) = delete;

 private:
  static constexpr int kGlibcDefault = 64 * static_cast<int>(sizeof(std::size_t)) / 4;
};

}  // namespace

void prepare_stages(Config& config, StageLoads loads) {
  // Stages start side by side: they load independent models (the detector net, Tesseract, the logo index,
  // the dictionaries), and a worker that replaces a crashed one starts as fast as the slowest of them.
  const FastBinsOffWhileStarting fast_bins_off;
  std::vector<std::string> errors(config.stages.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < config.stages.size(); ++i) {
    auto& s = config.stages[i];
    if (!s.stage) continue;
    threads.emplace_back([&s, &error = errors[i], loads] {
      try {
        auto start = std::chrono::steady_clock::now();
        s.stage->prepare();
        s.prepare_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        if (loads == StageLoads::later) return;
        start = std::chrono::steady_clock::now();
        s.stage->load();
        s.load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      } catch (const std::exception& e) {
        error = fmt::format("stage {} ({}) cannot start: {}", to_string(s.kind), s.stage->id(), e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& error : errors) {
    if (!error.empty()) throw std::runtime_error(error);
  }
}

double effective_image_timeout(const Config& config, const BatchOptions& options) {
  return options.image_timeout_s.value_or(config.run.image_timeout_s);
}

namespace {

// The case outputs are made in a child process: they read files the worker wrote and run third-party code
// (SQLite, OpenCV) over them; a crash there must not cost the run its record.
std::string write_case_outputs_isolated(const std::filesystem::path& out_dir, const OutputOptions& outputs, int threads,
                                        BatchSummary& summary) {
  const auto child = run_in_child(
      [&] {
        CaseOutputs written;
        // Scene matching runs in parallel: within the run's thread count, like the graph.
        const ThreadLimit thread_limit(threads);
        oneapi::tbb::task_arena(threads).execute([&] { written = write_case_outputs(out_dir, outputs); });
        nlohmann::json j{{"problems", written.problems}};
        for (const auto& p : written.written) j["written"].push_back(p.string());
        return j.dump();
      },
      // A hang in a library here must not keep the run's record from being written: generous, but bounded.
      600.0 + 0.05 * static_cast<double>(summary.images));
  if (!child.error.empty()) return child.error;
  if (!child.exit.ok()) return "the process making them " + child.exit.describe();
  std::string problems;
  try {
    const auto j = nlohmann::json::parse(child.output);
    for (const auto& p : j.value("written", nlohmann::json::array())) summary.outputs.emplace_back(p.get<std::string>());
    for (const auto& p : j.at("problems")) problems += (problems.empty() ? "" : "; ") + p.get<std::string>();
  } catch (const std::exception& e) {
    return std::string("unreadable answer from the process making them: ") + e.what();
  }
  return problems;
}

}  // namespace

BatchSummary run_batch(Config& config, const BatchOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const std::string started_utc = utc_now();
  BatchSummary summary;

  InputSet inputs = collect_inputs(options.inputs, options.shard);
  for (const auto& p : inputs.problems) spdlog::warn("input: {}: {}", p.path, p.reason);
  summary.images = inputs.images.size();
  summary.skipped = inputs.skipped.size();
  summary.input_problems = inputs.problems.size();

  const std::string run_id = new_run_id();
  ReportContext context{config.sha256, CLUETRACE_VERSION, {}, config.report.text_regions, run_id};
  for (const auto& s : config.stages) {
    if (s.stage) context.stage_ids.emplace_back(s.stage->id());
  }
  const int threads = effective_threads(config, options);
  const int max_in_flight = effective_max_in_flight(config, options);
  const double image_timeout = effective_image_timeout(config, options);

  // Stages start (in the worker) before the output folder is touched: a missing model must not cost an
  // --overwrite its reports.
  SupervisorOptions supervision{threads, max_in_flight, image_timeout, config.run.crash_window, config.run.crash_limit,
                                options.stop_requested, options.out_dir};
  std::optional<Supervisor> supervisor;
  if (config.run.isolation) {
    supervisor.emplace(config, context, supervision);
    supervisor->start();
  } else {
    prepare_stages(config);
  }

  // Per input the run holds its item once (moved into `todo`) and its display path for the final order: a
  // few hundred bytes (bench/RESULTS.md, issue 17).
  std::vector<std::string> order;
  order.reserve(inputs.images.size());
  for (const auto& item : inputs.images) order.push_back(item.display_path);
  ReportStore store(options.out_dir, config.sha256, options.mode);
  summary.reports_path = store.path();
  summary.run_json_path = options.out_dir / "run.json";

  std::vector<InputItem> todo;
  auto failures = nlohmann::ordered_json::array();
  for (auto& item : inputs.images) {
    const auto status = store.kept_status(item.display_path);
    if (status.empty()) {
      todo.push_back(std::move(item));
      continue;
    }
    ++summary.resumed;
    if (status == "ok") ++summary.ok;
    if (status == "partial") ++summary.partial;
    if (status == "failed") {
      ++summary.failed;
      if (failures.size() < kListedFailures) failures.push_back({{"path", item.display_path}, {"status", status}, {"note", "kept from the earlier run"}});
    }
  }
  inputs.images.clear();
  inputs.images.shrink_to_fit();

  nlohmann::ordered_json run;
  run["run_id"] = run_id;
  run["tool"] = {{"name", "cluetrace"}, {"version", CLUETRACE_VERSION}};
  run["libraries"] = library_versions();
  run["command_line"] = options.command_line;
  run["config"] = {{"source", config.source}, {"sha256", config.sha256}, {"effective", config.effective}};
  run["stages"] = stages_json(config);
  run["threads"] = threads;
  run["max_in_flight"] = max_in_flight;
  run["large_image_megapixels"] = config.run.large_image_megapixels;
  run["object_stores"] = config.outputs.objects;  // query by example needs them (find_object says so)
  run["image_timeout_s"] = image_timeout;
  // What `cluetrace merge` checks shards against each other by: the part, and the INPUTs as given.
  run["shard"] = {{"index", options.shard.index}, {"count", options.shard.count}, {"inputs", options.inputs}};
  run["started_utc"] = started_utc;
  run["status"] = "running";
  write_file_atomically(summary.run_json_path, dump_json(run));

  Progress progress(summary.images, options.progress);
  for (std::size_t i = 0; i < summary.resumed; ++i) progress.image_done(false);
  const ReportLineSink sink = [&](std::size_t seq, ImageStatus status, const std::string& line) {
    store.append_line(line, seq);
    switch (status) {
      case ImageStatus::ok: ++summary.ok; break;
      case ImageStatus::partial: ++summary.partial; break;
      case ImageStatus::failed: ++summary.failed; break;
    }
    // run.json lists the first problems only (every report names its own): it must not grow with the case.
    if (status != ImageStatus::ok && failures.size() < kListedFailures) {
      nlohmann::ordered_json errors = nlohmann::ordered_json::array();
      try {
        errors = nlohmann::ordered_json::parse(line).value("errors", errors);
      } catch (const nlohmann::json::exception&) {
        // The report is written as it came; run.json just lacks its errors.
      }
      failures.push_back({{"path", todo[seq].display_path}, {"status", to_string(status)}, {"errors", errors}});
    }
    progress.image_done(status == ImageStatus::failed);
  };
  SupervisorStats stats;
  if (supervisor) {
    stats = supervisor->run(todo, sink);
  } else {
    // run.isolation: false, for a debugger: the graph in this process, reports in completion order as from a worker.
    const GraphOptions graph{threads, max_in_flight, options.stop_requested, nullptr};
    const auto emitted = run_graph(todo, config, graph, [&](ImageRecord& image) {
      const auto frame = finish_image(image, context, options.out_dir);
      sink(frame.seq, frame.status, frame.line);
    });
    stats.interrupted = emitted < todo.size();
  }
  progress.finish();
  todo = {};  // every image has its report: the items' memory goes before the store puts the file in order
  summary.interrupted = stats.interrupted;
  summary.stopped = stats.stopped;
  summary.crashed = stats.crashed_images;
  summary.timed_out = stats.timed_out_images;
  summary.worker_starts = stats.worker_starts;
  store.finish(order);

  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  run["stages"] = stages_json(config);  // again: a worker's stages finish loading (load_ms) while images run
  run["finished_utc"] = utc_now();
  run["status"] = !summary.stopped.empty() ? "stopped" : (summary.interrupted ? "interrupted" : "complete");
  if (!summary.stopped.empty()) run["stopped"] = summary.stopped;
  run["seconds"] = summary.seconds;
  run["counts"] = {{"images", summary.images},   {"reported", summary.ok + summary.partial + summary.failed},
                   {"ok", summary.ok},           {"partial", summary.partial},
                   {"failed", summary.failed},   {"kept_from_earlier_run", summary.resumed},
                   {"kept_for_other_inputs", store.kept_count() - summary.resumed},
                   {"skipped", summary.skipped}, {"input_problems", summary.input_problems}};
  run["isolation"] = {{"worker_processes", stats.worker_starts}, {"worker_deaths", stats.worker_deaths},
                      {"crashed_images", stats.crashed_images},  {"timed_out_images", stats.timed_out_images},
                      {"retried_alone", stats.retried_alone}};
  run["failures"] = failures;
  if (summary.failed + summary.partial > failures.size()) {
    run["failures_not_listed"] = summary.failed + summary.partial - failures.size();
  }
  run["skipped"] = notes_json(inputs.skipped);
  run["input_problems"] = notes_json(inputs.problems);
  try {
    record_run(options.out_dir, run);
  } catch (const std::exception& e) {
    spdlog::error("{}: this run is not recorded in runs.jsonl: {}", options.out_dir.string(), e.what());
  }

  // The case outputs cover every report in the folder (also those kept from earlier runs). Every image has its
  // report by now: a failure here is said, in run.json too, and does not fail the run.
  if (config.run.isolation) {
    summary.outputs_error = write_case_outputs_isolated(options.out_dir, config.outputs, threads, summary);
  } else {
    // In-process (a debugger's run): this process has run TBB, so it must not fork; the outputs are made here.
    try {
      CaseOutputs outputs;
      const ThreadLimit thread_limit(threads);
      oneapi::tbb::task_arena(threads).execute([&] { outputs = write_case_outputs(options.out_dir, config.outputs); });
      summary.outputs = outputs.written;
      for (const auto& p : outputs.problems) summary.outputs_error += (summary.outputs_error.empty() ? "" : "; ") + p;
    } catch (const std::exception& e) {
      summary.outputs_error = e.what();
    }
  }
  if (!summary.outputs_error.empty()) run["outputs_error"] = summary.outputs_error;
  run["memory"] = peak_memory_json();
  write_file_atomically(summary.run_json_path, dump_json(run));
  return summary;
}

}  // namespace cluetrace
