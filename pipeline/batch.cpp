#include "pipeline/batch.hpp"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <random>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/task_arena.h>
#include <spdlog/spdlog.h>

#include "pipeline/case/artefacts.hpp"
#include "pipeline/case/case_outputs.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/inputs.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/report.hpp"
#include "pipeline/timing.hpp"
#include "pipeline/versions.hpp"

namespace cluetrace {
namespace {

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
      j["id"] = s.stage->id();
      j["placeholder"] = s.stage->is_placeholder();
      j["resources"] = s.stage->resources();
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

void prepare_stages(Config& config) {
  for (auto& s : config.stages) {
    if (!s.stage) continue;
    try {
      s.stage->prepare();
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("stage {} ({}) cannot start: {}", to_string(s.kind), s.stage->id(), e.what()));
    }
  }
}

BatchSummary run_batch(Config& config, const BatchOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const std::string started_utc = utc_now();
  BatchSummary summary;

  const InputSet inputs = collect_inputs(options.inputs);
  for (const auto& p : inputs.problems) spdlog::warn("input: {}: {}", p.path, p.reason);
  summary.images = inputs.images.size();
  summary.skipped = inputs.skipped.size();
  summary.input_problems = inputs.problems.size();

  // Stages start before the output folder is touched: a missing model must not cost an --overwrite its reports.
  prepare_stages(config);
  std::vector<std::string> order;
  for (const auto& item : inputs.images) order.push_back(item.display_path);
  ReportStore store(options.out_dir, config.sha256, options.mode);
  summary.reports_path = store.path();
  summary.run_json_path = options.out_dir / "run.json";

  std::vector<InputItem> todo;
  auto failures = nlohmann::ordered_json::array();
  for (const auto& item : inputs.images) {
    const auto status = store.kept_status(item.display_path);
    if (status.empty()) {
      todo.push_back(item);
      continue;
    }
    ++summary.resumed;
    if (status == "ok") ++summary.ok;
    if (status == "partial") ++summary.partial;
    if (status == "failed") {
      ++summary.failed;
      failures.push_back({{"path", item.display_path}, {"status", status}, {"note", "kept from the earlier run"}});
    }
  }

  const std::string run_id = new_run_id();
  ReportContext context{config.sha256, CLUETRACE_VERSION, {}, config.report.text_regions, run_id};
  for (const auto& s : config.stages) {
    if (s.stage) context.stage_ids.emplace_back(s.stage->id());
  }
  const int threads = effective_threads(config, options);
  const int max_in_flight = effective_max_in_flight(config, options);

  nlohmann::ordered_json run;
  run["run_id"] = run_id;
  run["tool"] = {{"name", "cluetrace"}, {"version", CLUETRACE_VERSION}};
  run["libraries"] = library_versions();
  run["command_line"] = options.command_line;
  run["config"] = {{"source", config.source}, {"sha256", config.sha256}, {"effective", config.effective}};
  run["stages"] = stages_json(config);
  run["threads"] = threads;
  run["max_in_flight"] = max_in_flight;
  run["started_utc"] = started_utc;
  run["status"] = "running";
  write_file_atomically(summary.run_json_path, run.dump(2) + "\n");

  Progress progress(inputs.images.size(), options.progress);
  for (std::size_t i = 0; i < summary.resumed; ++i) progress.image_done(false);
  const ImageSink sink = [&](ImageRecord& image) {
    const auto status = status_of(image);
    // total: from the decode node picking the image up to its report being written (queueing included).
    image.timings_ms["total"] = ms_since(image.started);
    const auto report = make_report(image, context);
    store.append(report);
    try {
      store_review_artefacts(options.out_dir, image);
    } catch (const std::exception& e) {
      // The report is written; only its crops or scene signature are missing (the pages say so).
      spdlog::warn("{}: review crops and scene signature not stored: {}", image.input.display_path, e.what());
    }
    image.review = {};
    switch (status) {
      case ImageStatus::ok: ++summary.ok; break;
      case ImageStatus::partial: ++summary.partial; break;
      case ImageStatus::failed: ++summary.failed; break;
    }
    if (status != ImageStatus::ok) {
      failures.push_back({{"path", image.input.display_path}, {"status", to_string(status)}, {"errors", report["errors"]}});
    }
    progress.image_done(status == ImageStatus::failed);
  };
  GraphOptions graph_options{threads, max_in_flight, options.stop_requested};
  const std::size_t emitted = run_graph(todo, config, graph_options, sink);
  progress.finish();
  summary.interrupted = emitted < todo.size();
  store.finish(order);

  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  run["finished_utc"] = utc_now();
  run["status"] = summary.interrupted ? "interrupted" : "complete";
  run["seconds"] = summary.seconds;
  run["counts"] = {{"images", summary.images},   {"reported", summary.ok + summary.partial + summary.failed},
                   {"ok", summary.ok},           {"partial", summary.partial},
                   {"failed", summary.failed},   {"kept_from_earlier_run", summary.resumed},
                   {"kept_for_other_inputs", store.kept_count() - summary.resumed},
                   {"skipped", summary.skipped}, {"input_problems", summary.input_problems}};
  run["failures"] = failures;
  run["skipped"] = notes_json(inputs.skipped);
  run["input_problems"] = notes_json(inputs.problems);
  try {
    record_run(options.out_dir, run);
  } catch (const std::exception& e) {
    spdlog::error("{}: this run is not recorded in runs.jsonl: {}", options.out_dir.string(), e.what());
  }

  // The case outputs cover every report in the folder (also those kept from earlier runs). Every image has its
  // report by now: a failure here is said, in run.json too, and does not fail the run.
  try {
    CaseOutputs outputs;
    // Scene matching runs in parallel: within the run's thread count, like the graph.
    oneapi::tbb::task_arena(threads).execute([&] { outputs = write_case_outputs(options.out_dir, config.outputs); });
    summary.outputs = outputs.written;
    for (const auto& p : outputs.problems) summary.outputs_error += (summary.outputs_error.empty() ? "" : "; ") + p;
  } catch (const std::exception& e) {
    summary.outputs_error = e.what();
  }
  if (!summary.outputs_error.empty()) run["outputs_error"] = summary.outputs_error;
  write_file_atomically(summary.run_json_path, run.dump(2) + "\n");
  return summary;
}

}  // namespace cluetrace
