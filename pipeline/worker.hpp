// The worker process: prepares the stages, runs the graph over the images the supervisor sends, and sends
// back each image's report. Everything that touches an image's bytes with third-party code happens here,
// so that a crash or a hang costs this process, not the run (pipeline/supervisor.hpp).
#pragma once

#include <filesystem>

#include "pipeline/config.hpp"
#include "pipeline/journal.hpp"
#include "pipeline/report.hpp"
#include "pipeline/worker_protocol.hpp"

namespace cluetrace {

struct WorkerSetup {
  Config* config = nullptr;  // as loaded; the worker prepares its stages
  int threads = 1;
  int max_in_flight = 1;
  int jobs_fd = -1;     // frames from the supervisor: item..., then end of file
  int results_fd = -1;  // frames to the supervisor: ready | prepare_failed, report..., done | fatal
  Journal* journal = nullptr;
  std::filesystem::path out_dir;  // where the review crops and scene signatures go
  ReportContext context;
};

// Runs in the forked child; returns its exit status (0: every image it was sent is reported).
int worker_main(const WorkerSetup& setup);

// What the writer does with a finished image, in the worker or (run.isolation: false) in the run's own process:
// its report as one JSON line, its crops and scene signature stored under `out_dir`.
ReportFrame finish_image(ImageRecord& image, const ReportContext& context, const std::filesystem::path& out_dir);

}  // namespace cluetrace
