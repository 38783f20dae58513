// The oneTBB flow graph that carries every image through the stages. The topology is in graph.cpp.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/config.hpp"
#include "pipeline/journal.hpp"
#include "pipeline/stage_loading.hpp"
#include "pipeline/types.hpp"

namespace cluetrace {

struct GraphOptions {
  int threads = 1;
  int max_in_flight = 2;
  const std::atomic<bool>* stop_requested = nullptr;  // when set, no new image enters the graph
  Journal* journal = nullptr;  // when set, every image's phases are recorded there (the worker process)
  const StageLoading* loading = nullptr;  // when set, the stages are still loading: an image waits for its stage's load
};

// Gives the next image to run and its sequence number (unique within the run); false when there is none.
// Called on one thread at a time; may block briefly.
using ImageSource = std::function<bool(InputItem& item, std::size_t& seq)>;

// Called once per image as it finishes (not in input order), on one thread at a time.
using ImageSink = std::function<void(ImageRecord& image)>;

// Runs the images `source` gives through the stages of `config` (prepared), calling `sink` for each
// finished image. Returns how many images were emitted into the graph (fewer than the source had after a
// stop). An exception from `sink` (e.g. the disk is full) cancels the graph and is rethrown here.
std::size_t run_graph(const ImageSource& source, const Config& config, const GraphOptions& options,
                      const ImageSink& sink);
// The same over a list: sequence numbers are the positions in `inputs`.
std::size_t run_graph(const std::vector<InputItem>& inputs, const Config& config, const GraphOptions& options,
                      const ImageSink& sink);

// The same topology as Graphviz dot text, with each node's stage implementation.
std::string graph_dot(const Config& config);

}  // namespace cluetrace
