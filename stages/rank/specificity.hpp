// rank.specificity: score = how much the clue's kind narrows the search x how sure the reading is.
#pragma once

#include <array>

#include "pipeline/stage.hpp"

namespace cluetrace::rank {

struct SpecificityOptions {
  // Weight per clue kind (index: ClueKind), 0..1. A phone number narrows more than a common word.
  ClueWeights weights{};
  static SpecificityOptions read(OptionReader& options);
};

class SpecificityStage final : public Stage {
 public:
  explicit SpecificityStage(SpecificityOptions options) : options_(options) {}
  std::string_view id() const override { return "rank.specificity"; }
  void process(ImageRecord& image, StageResult& out) override;

 private:
  SpecificityOptions options_;
};

}  // namespace cluetrace::rank
