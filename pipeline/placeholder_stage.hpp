// A stand-in for a stage that later work replaces: it produces nothing, and run.json says so.
#pragma once

#include <string>

#include "pipeline/stage.hpp"

namespace cluetrace {

class PlaceholderStage final : public Stage {
 public:
  explicit PlaceholderStage(std::string id) : id_(std::move(id)) {}
  std::string_view id() const override { return id_; }
  bool is_placeholder() const override { return true; }
  void process(ImageRecord&, StageResult&) override {}

 private:
  std::string id_;
};

}  // namespace cluetrace
