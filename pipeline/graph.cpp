// The whole topology, top to bottom:
//
//                                                                                               ┌─▶ ocr ───────────┐
//   source ─▶ limiter ─▶ route ─┬──────────────────────────────────┬─▶ decode ─┬─▶ text_detect ─┤                  ├─▶ after ocr ─▶ logo ─┐
//                               └─▶ large queue ─▶ large limiter ──┘           │                └─▶ logo matching ─┘                      │
//                                                                              ├─▶ barcode ───────────────────────────────────────────────┼─▶ join ─▶ language ─▶ clues ─▶ region ─▶ rank ─▶ review ─▶ writer
//                                                                              └─▶ metadata ──────────────────────────────────────────────┘                                                              │
//       ▲                       ▲                                                                                                                                                                        │
//       │                       └──── large limiter.decrement (a large image left the graph) ◀───────────────────────────────────────────────────────────────────────────────────────────────────────────┤
//       └──────────────────────────── limiter.decrement (one image left the graph) ◀─────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
//
// route sends an image whose header declares more than run.large_image_megapixels through a
// limiter of one: large photos are worked on one at a time, smaller ones beside them. Two 48-megapixel photos
// at once (their pixels, the text detector's finer pass, the barcode reader's grey copies) took a run at 2
// threads past 1 GiB. The size is read from the file's first bytes before it is decoded (declared_pixels), so
// a large image waiting its turn holds no pixels.
//
// review is not a stage: it cuts the clue crops and the background signature the case outputs need
// (pipeline/case/artefacts.hpp) while the pixels are still in memory, in parallel, off the serial writer.
// The writer hands each image on as soon as it is done, not in input order: one slow or hung image must not
// hold back the reports behind it (the report store puts reports.jsonl in input order at the end).
//
// Every node passes a shared_ptr<ImageRecord>; stages on parallel branches write only their own slot.
// logo follows ocr because it also recognises brand names in the text the OCR read, and checks its marks against
// the words read there; its matching needs only the pixels and the text detector's regions, so it runs beside
// ocr (Stage::splits_around_ocr) and an image waits for the longer of the two, not for both.
// With a journal (the worker process) each node marks the phase its image is in, so that a crash or a hang
// can be pinned on an image and a stage (pipeline/supervisor.hpp).
#include "pipeline/graph.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <tuple>

#include <fmt/format.h>
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>
#include <spdlog/spdlog.h>

#include "pipeline/case/artefacts.hpp"
#include "pipeline/decode.hpp"
#include "pipeline/thread_limit.hpp"
#include "pipeline/timing.hpp"

namespace cluetrace {
namespace {

namespace flow = oneapi::tbb::flow;

// The pixel count above which an image is large (run.large_image_megapixels); 0: none is.
std::uint64_t large_image_pixels(const Config& config) {
  return static_cast<std::uint64_t>(std::max(0.0, config.run.large_image_megapixels) * 1e6);
}

using Job = std::shared_ptr<ImageRecord>;

// Records the picture of the graph while the edges are made, so --dump-graph cannot drift from the code.
class Picture {
 public:
  void node(const std::string& name, const std::string& label) { nodes_.emplace_back(name, label); }
  void edge(const std::string& from, const std::string& to) { edges_.emplace_back(from, to); }
  std::string dot() const {
    std::string out = "digraph cluetrace {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n";
    for (const auto& [name, label] : nodes_) out += fmt::format("  \"{}\" [label=\"{}\"];\n", name, label);
    for (const auto& [from, to] : edges_) out += fmt::format("  \"{}\" -> \"{}\";\n", from, to);
    return out + "}\n";
  }

 private:
  std::vector<std::pair<std::string, std::string>> nodes_;
  std::vector<std::pair<std::string, std::string>> edges_;
};

std::string stage_label(const ConfiguredStage& s) {
  std::string label(to_string(s.kind));
  if (!s.enabled) return label + "\\n(disabled)";
  label += "\\n" + std::string(s.stage ? s.stage->id() : s.impl);
  if (s.stage && s.stage->is_placeholder()) label += "\\n(placeholder)";
  return label;
}

// Runs `work` (one stage, or one part of it) on one image; a failure becomes a value on the image, never an
// exception. The stage's time is the sum of its parts.
template <typename Work>
void run_stage(const Stage& stage, ImageRecord& image, StageResult& out, Journal* journal, Phase phase, Work&& work) {
  const PhaseMark mark(journal, image.journal_slot, phase);
  const auto start = std::chrono::steady_clock::now();
  try {
    work();
  } catch (const std::exception& e) {
    out.errors.push_back({std::string(stage.id()), e.what()});
  } catch (...) {
    out.errors.push_back({std::string(stage.id()), "failed with an exception not derived from std::exception"});
  }
  out.elapsed_ms += ms_since(start);
}

// Which part of a stage a node runs: all of it, or, for the logo stage when it splits around OCR
// (Stage::splits_around_ocr), the part beside OCR or the part after it.
enum class Part { whole, before_ocr, after_ocr };

// The graph for one batch. Built the same way for running and for drawing.
class BatchGraph {
 public:
  // `large_pixels`: images over this many pixels go through the large limiter (0: none does).
  BatchGraph(const Config& config, int max_in_flight, std::uint64_t large_pixels, Journal* journal, const StageLoading* loading,
             std::function<bool(Job&)> next_job, const ImageSink* sink)
      : source_(graph_, [next = std::move(next_job), large_pixels](oneapi::tbb::flow_control& fc) -> Job {
          Job job;
          if (!next(job)) {
            fc.stop();
            return job;
          }
          if (large_pixels > 0) {
            const auto pixels = declared_pixels(job->input.path);
            job->large = pixels && *pixels > large_pixels;
          }
          return job;
        }),
        limiter_(graph_, static_cast<std::size_t>(max_in_flight)),
        route_(graph_, flow::unlimited,
               [](const Job& job, RouteNode::output_ports_type& ports) {
                 if (job->large) {
                   std::get<1>(ports).try_put(job);
                 } else {
                   std::get<0>(ports).try_put(job);
                 }
               }),
        large_queue_(graph_),
        large_limiter_(graph_, 1),
        decode_(graph_, flow::unlimited,
                [&config, journal](Job job) {
                  job->started = std::chrono::steady_clock::now();
                  job->stage_results.resize(kAllStageKinds.size());
                  if (journal) job->journal_slot = journal->enter_image(job->seq);
                  const PhaseMark mark(journal, job->journal_slot, Phase::decode);
                  // Bad files are handled inside; this catches what is left (out of memory on a huge file).
                  try {
                    read_and_decode(*job, config.decode);
                  } catch (const std::exception& e) {
                    job->pixels.release();
                    job->decoded = false;
                    job->errors.push_back({std::string(kDecodeStage), e.what()});
                  }
                  return job;
                }),
        after_ocr_join_(graph_, [](const Job& j) { return tag(j); }, [](const Job& j) { return tag(j); }),
        after_ocr_(graph_, flow::unlimited, [](const std::tuple<Job, Job>& t) { return std::get<0>(t); }),
        join_(graph_, [](const Job& j) { return tag(j); }, [](const Job& j) { return tag(j); },
              [](const Job& j) { return tag(j); }),
        merge_(graph_, flow::unlimited,
               [](const JoinTuple& t) {
                 Job job = std::get<0>(t);
                 job->file_data.reset();  // the branches that parse the file's bytes are done
                 return job;
               }),
        review_(graph_, flow::unlimited,
                [&config, journal](Job job) {
                  if (!job->decoded) return job;
                  const PhaseMark mark(journal, job->journal_slot, Phase::review);
                  const auto start = std::chrono::steady_clock::now();
                  try {
                    job->review = make_review_artefacts(*job, config.outputs);
                  } catch (const std::exception& e) {
                    // The report is complete without them; the pages say the crop is missing.
                    spdlog::warn("{}: review crops and scene signature not made: {}", job->input.display_path, e.what());
                  }
                  job->grey_cache->release();  // no stage reads it after this
                  job->timings_ms["review"] = ms_since(start);
                  return job;
                }),
        writer_(graph_, flow::serial, [sink, journal](const Job& job, WriterNode::output_ports_type& ports) {
          {
            const PhaseMark mark(journal, job->journal_slot, Phase::report);
            if (sink) (*sink)(*job);
          }
          if (journal) journal->leave_image(job->journal_slot);
          std::get<0>(ports).try_put(flow::continue_msg());
          if (job->large) std::get<1>(ports).try_put(flow::continue_msg());
        }) {
    // The logo stage's part beside OCR, when it splits (otherwise that node passes images on, and the logo
    // node runs the whole stage after OCR).
    const auto& logo = config.stages[static_cast<std::size_t>(StageKind::logo)];
    Stage* logo_stage = logo.stage && logo.stage->splits_around_ocr() ? logo.stage.get() : nullptr;
    for (auto& configured : config.stages) {
      const Part part = configured.kind == StageKind::logo && logo_stage ? Part::after_ocr : Part::whole;
      stages_.emplace(configured.kind, stage_node(configured.kind, configured.stage.get(), part, journal, loading));
      picture_.node(std::string(to_string(configured.kind)), stage_label(configured));
    }
    logo_before_ocr_ = stage_node(StageKind::logo, logo_stage, Part::before_ocr, journal, loading);
    picture_.node("logo_before_ocr", logo_stage ? "logo\\n(matching, beside ocr)" : "logo\\n(nothing beside ocr)");
    picture_.node("after_ocr", "after ocr\\n(join by image)");
    picture_.node("source", "source\\n(input list)");
    picture_.node("limiter", fmt::format("limiter\\n(max {} in flight)", max_in_flight));
    picture_.node("route", fmt::format("route\\n(large: over {} MP)", config.run.large_image_megapixels));
    picture_.node("large_queue", "large queue");
    picture_.node("large_limiter", "large limiter\\n(one at a time)");
    picture_.node("decode", "decode\\n(read, hash, decode)");
    picture_.node("join", "join\\n(by image)");
    picture_.node("review", "review\\n(crops, scene signature)");
    picture_.node("writer", "writer\\n(serial)");

    connect(source_, limiter_, "source", "limiter");
    connect(limiter_, route_, "limiter", "route");
    flow::make_edge(flow::output_port<0>(route_), decode_);
    picture_.edge("route", "decode");
    flow::make_edge(flow::output_port<1>(route_), large_queue_);
    picture_.edge("route", "large_queue");
    connect(large_queue_, large_limiter_, "large_queue", "large_limiter");
    connect(large_limiter_, decode_, "large_limiter", "decode");
    connect(decode_, stage(StageKind::text_detect), "decode", "text_detect");
    connect(stage(StageKind::text_detect), stage(StageKind::ocr), "text_detect", "ocr");
    connect(stage(StageKind::text_detect), *logo_before_ocr_, "text_detect", "logo_before_ocr");
    flow::make_edge(stage(StageKind::ocr), flow::input_port<0>(after_ocr_join_));
    flow::make_edge(*logo_before_ocr_, flow::input_port<1>(after_ocr_join_));
    for (const char* from : {"ocr", "logo_before_ocr"}) picture_.edge(from, "after_ocr");
    connect(after_ocr_join_, after_ocr_, "", "");  // unpacks the pair: drawn as part of the join
    connect(after_ocr_, stage(StageKind::logo), "", "logo");
    picture_.edge("after_ocr", "logo");
    connect(decode_, stage(StageKind::barcode), "decode", "barcode");
    connect(decode_, stage(StageKind::metadata), "decode", "metadata");
    flow::make_edge(stage(StageKind::logo), flow::input_port<0>(join_));
    flow::make_edge(stage(StageKind::barcode), flow::input_port<1>(join_));
    flow::make_edge(stage(StageKind::metadata), flow::input_port<2>(join_));
    for (const char* from : {"logo", "barcode", "metadata"}) picture_.edge(from, "join");
    connect(join_, merge_, "join", "");  // the merge node only unpacks the tuple: drawn as part of join
    connect(merge_, stage(StageKind::language), "", "language");
    picture_.edge("join", "language");
    connect(stage(StageKind::language), stage(StageKind::clues), "language", "clues");
    connect(stage(StageKind::clues), stage(StageKind::region), "clues", "region");
    connect(stage(StageKind::region), stage(StageKind::rank), "region", "rank");
    connect(stage(StageKind::rank), review_, "rank", "review");
    connect(review_, writer_, "review", "writer");
    flow::make_edge(flow::output_port<0>(writer_), limiter_.decrementer());
    picture_.edge("writer", "limiter");
    flow::make_edge(flow::output_port<1>(writer_), large_limiter_.decrementer());
    picture_.edge("writer", "large_limiter");
  }

  // Nodes are members destroyed before graph_; let tasks they spawned (buffer nodes forward on make_edge) finish first.
  ~BatchGraph() { graph_.wait_for_all(); }
  BatchGraph(const BatchGraph&) = delete;
  BatchGraph& operator=(const BatchGraph&) = delete;

  void run() {
    source_.activate();
    graph_.wait_for_all();
  }

  std::string dot() const { return picture_.dot(); }

 private:
  using StageNode = flow::function_node<Job, Job>;
  using RouteNode = flow::multifunction_node<Job, std::tuple<Job, Job>>;  // 0: as it comes, 1: a large image
  using WriterNode = flow::multifunction_node<Job, std::tuple<flow::continue_msg, flow::continue_msg>>;  // 1: a large one left
  using JoinTuple = std::tuple<Job, Job, Job>;

  static flow::tag_value tag(const Job& j) { return static_cast<flow::tag_value>(j->seq); }

  StageNode& stage(StageKind kind) { return *stages_.at(kind); }

  // The node that runs `part` of `stage` on each decoded image, in the stage's own slot.
  std::unique_ptr<StageNode> stage_node(StageKind kind, Stage* stage, Part part, Journal* journal, const StageLoading* loading) {
    const auto slot = static_cast<std::size_t>(kind);
    const Phase phase = phase_of(kind);
    return std::make_unique<StageNode>(graph_, flow::unlimited, [stage, slot, journal, loading, kind, phase, part](Job job) {
      if (!stage || !job->decoded) return job;
      // Before the phase begins: the wait for the stage's load is not the image's time (StageLoading).
      if (loading) loading->wait(kind);
      StageResult& out = job->stage_results[slot];
      run_stage(*stage, *job, out, journal, phase, [&] {
        switch (part) {
          case Part::whole: stage->process(*job, out); break;
          case Part::before_ocr: stage->before_ocr(*job, out); break;
          case Part::after_ocr: stage->after_ocr(*job, out); break;
        }
      });
      return job;
    });
  }

  template <typename From, typename To>
  void connect(From& from, To& to, const std::string& from_name, const std::string& to_name) {
    flow::make_edge(from, to);
    if (!from_name.empty() && !to_name.empty()) picture_.edge(from_name, to_name);
  }

  flow::graph graph_;
  flow::input_node<Job> source_;
  flow::limiter_node<Job> limiter_;
  RouteNode route_;
  flow::queue_node<Job> large_queue_;  // large images admitted, waiting for their turn
  flow::limiter_node<Job> large_limiter_;
  flow::function_node<Job, Job> decode_;
  std::map<StageKind, std::unique_ptr<StageNode>> stages_;
  std::unique_ptr<StageNode> logo_before_ocr_;
  flow::join_node<std::tuple<Job, Job>, flow::tag_matching> after_ocr_join_;
  flow::function_node<std::tuple<Job, Job>, Job> after_ocr_;
  flow::join_node<JoinTuple, flow::tag_matching> join_;
  flow::function_node<JoinTuple, Job> merge_;
  flow::function_node<Job, Job> review_;
  WriterNode writer_;
  Picture picture_;
};

}  // namespace

std::size_t run_graph(const ImageSource& source, const Config& config, const GraphOptions& options,
                      const ImageSink& sink) {
  std::size_t emitted = 0;
  auto next_job = [&](Job& job) {
    if (options.stop_requested && options.stop_requested->load()) return false;
    InputItem item;
    std::size_t seq = 0;
    if (!source(item, seq)) return false;
    job = std::make_shared<ImageRecord>();
    job->seq = seq;
    job->input = std::move(item);
    ++emitted;
    return true;
  };
  const int threads = std::max(1, options.threads);
  const ThreadLimit thread_limit(threads);
  oneapi::tbb::task_arena arena(threads);
  arena.execute([&] {
    // Built inside the arena so its tasks run on the arena's threads.
    // On one thread images are worked on one at a time anyway: no file is opened to learn its size.
    const std::uint64_t large_pixels = threads > 1 ? large_image_pixels(config) : 0;
    BatchGraph graph(config, std::max(1, options.max_in_flight), large_pixels, options.journal, options.loading, next_job, &sink);
    graph.run();
  });
  return emitted;
}

std::size_t run_graph(const std::vector<InputItem>& inputs, const Config& config, const GraphOptions& options,
                      const ImageSink& sink) {
  std::size_t next = 0;
  const ImageSource source = [&](InputItem& item, std::size_t& seq) {
    if (next >= inputs.size()) return false;
    seq = next;
    item = inputs[next++];
    return true;
  };
  return run_graph(source, config, options, sink);
}

std::string graph_dot(const Config& config) {
  BatchGraph graph(config, std::max(1, config.run.max_in_flight), large_image_pixels(config), nullptr, nullptr,
                   [](Job&) { return false; }, nullptr);
  return graph.dot();
}

}  // namespace cluetrace
