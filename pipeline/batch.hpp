// The facade: the CLI and the tests run a batch through this one entry point.
#pragma once

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/config.hpp"
#include "pipeline/report_store.hpp"
#include "pipeline/shard.hpp"

namespace cluetrace {

struct BatchOptions {
  std::vector<std::string> inputs;  // files, folders, @list.txt
  ShardSpec shard;                  // one part of the case (--shard K/N); whole by default
  std::filesystem::path out_dir;
  OpenMode mode = OpenMode::fresh;
  std::optional<int> threads;        // overrides run.threads
  std::optional<int> max_in_flight;  // overrides run.max_in_flight
  std::optional<double> image_timeout_s;  // overrides run.image_timeout_s
  bool progress = false;             // draw a progress line on stderr
  const std::atomic<bool>* stop_requested = nullptr;
  std::vector<std::string> command_line;  // recorded in run.json
};

struct BatchSummary {
  std::size_t images = 0;  // inputs that are images (each has a report when the run completes)
  std::size_t ok = 0, partial = 0, failed = 0;
  std::size_t resumed = 0;  // reports kept from an earlier run
  std::size_t skipped = 0;  // non-image files and repeats seen while walking
  std::size_t input_problems = 0;
  bool interrupted = false;
  std::string stopped;  // why the run stopped before every image had its report (crash budget, a fatal error)
  std::size_t crashed = 0, timed_out = 0, worker_starts = 0;  // images that crashed or hung the worker
  double seconds = 0;
  std::filesystem::path reports_path, run_json_path;
  std::vector<std::filesystem::path> outputs;  // case outputs written (index.html, clues.sqlite ...)
  std::string outputs_error;                   // why they were not all written (the reports are complete)
};

// Runs the graph in a worker process under a supervisor (pipeline/supervisor.hpp): a crash or a hang in
// third-party code costs the image it happened on. Call it from a single-threaded process: it forks.
// Throws InputError (an INPUT does not exist), OutputError (the output folder cannot be used) or
// std::runtime_error (a stage cannot start: missing model or language data). Per-image problems never throw.
BatchSummary run_batch(Config& config, const BatchOptions& options);

// Resolved thread count and in-flight bound for a config plus overrides.
int effective_threads(const Config& config, const BatchOptions& options);
int effective_max_in_flight(const Config& config, const BatchOptions& options);

double effective_image_timeout(const Config& config, const BatchOptions& options);

// Starts every enabled stage (loads models and language data); throws naming the stage on failure. With
// StageLoads::later, only prepare() runs: the caller loads the stages (a worker process, StageLoading).
enum class StageLoads { now, later };
void prepare_stages(Config& config, StageLoads loads = StageLoads::now);

}  // namespace cluetrace
