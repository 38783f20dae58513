#include "pipeline/worker.hpp"

#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <mutex>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pipeline/batch.hpp"
#include "pipeline/case/artefacts.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/stage_loading.hpp"
#include "pipeline/start_up_heap.hpp"
#include "pipeline/timing.hpp"
#include "pipeline/worker_protocol.hpp"

namespace cluetrace {
namespace {

// Set by SIGINT/SIGTERM: finish the images in flight, take no new ones.
std::atomic<bool> g_worker_stop{false};
extern "C" void on_worker_stop(int) { g_worker_stop.store(true); }

void set_signals(Journal& journal) {
  // Die with the supervisor: a worker left behind would go on writing crops into a case nobody records.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  std::signal(SIGINT, on_worker_stop);
  std::signal(SIGTERM, on_worker_stop);
  std::signal(SIGPIPE, SIG_IGN);  // a write to a supervisor that is gone fails with EPIPE instead
  journal.install_crash_handler();
}

}  // namespace

ReportFrame finish_image(ImageRecord& image, const ReportContext& context, const std::filesystem::path& out_dir) {
  const auto status = status_of(image);
  // total: from the decode node picking the image up to its report being written (queueing included).
  image.timings_ms["total"] = ms_since(image.started);
  const auto report = make_report(image, context);
  try {
    store_review_artefacts(out_dir, image);
  } catch (const std::exception& e) {
    // The report is complete without them; the pages say the crop is missing.
    spdlog::warn("{}: review crops and scene signature not stored: {}", image.input.display_path, e.what());
  }
  image.review = {};
  // Text from an image or its metadata may not be valid UTF-8: replaced (U+FFFD), never a reason to lose a report.
  return {image.seq, status, report.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)};
}

int worker_main(const WorkerSetup& setup) {
  set_signals(*setup.journal);
  std::mutex results_mutex;  // the writer node and this thread both send frames
  auto send = [&](FrameType type, std::string_view payload) {
    const std::lock_guard lock(results_mutex);
    write_frame(setup.results_fd, type, payload);
  };
  // Until every thread has finished an image, glibc takes even the largest blocks from the heap (the reason is in
  // start_up_heap.hpp).
  StartUpHeap start_up_heap(static_cast<std::size_t>(std::max(1, setup.threads)));
  try {
    try {
      prepare_stages(*setup.config, StageLoads::later);
    } catch (const std::exception& e) {
      send(FrameType::prepare_failed, e.what());
      return 3;
    }
    // The supervisor records how long each stage took to start, and what each prepared stage says of itself
    // (model paths and hashes, fallbacks), in run.json: its own stages were never prepared.
    nlohmann::ordered_json ready = nlohmann::ordered_json::array();
    for (const auto& stage : setup.config->stages) {
      nlohmann::ordered_json j{{"prepare_ms", stage.prepare_ms}};
      if (stage.stage) {
        j["id"] = stage.stage->id();
        j["resources"] = stage.stage->resources();
      }
      ready.push_back(std::move(j));
    }
    send(FrameType::ready, ready.dump());
    // The stages load while the first images run; the supervisor learns how long each took.
    const StageLoading loading(*setup.config, setup.journal, [&] {
      nlohmann::ordered_json loaded = nlohmann::ordered_json::array();
      for (const auto& stage : setup.config->stages) loaded.push_back({{"load_ms", stage.load_ms}});
      try {
        send(FrameType::loaded, loaded.dump());
      } catch (const std::exception&) {
        // The supervisor is gone: the graph's next report finds that out and ends the worker.
      }
    });

    const ImageSource source = [&](InputItem& item, std::size_t& seq) {
      const auto frame = read_frame(setup.jobs_fd);
      if (!frame) return false;  // the supervisor has no more images for this worker
      if (frame->type != FrameType::item) throw std::runtime_error("unexpected message from the supervisor");
      auto decoded = decode_item(frame->payload);
      item = std::move(decoded.item);
      seq = decoded.seq;
      return true;
    };
    const ImageSink sink = [&](ImageRecord& image) {
      send(FrameType::report, encode_report(finish_image(image, setup.context, setup.out_dir)));
      start_up_heap.image_finished();
    };
    const GraphOptions options{setup.threads, setup.max_in_flight, &g_worker_stop, setup.journal, &loading};
    run_graph(source, *setup.config, options, sink);
    send(FrameType::done, {});
    return 0;
  } catch (const std::exception& e) {
    try {
      send(FrameType::fatal, e.what());
    } catch (const std::exception&) {
      // The supervisor is gone; it learns nothing more from us either way.
    }
    return 4;
  }
}

}  // namespace cluetrace
