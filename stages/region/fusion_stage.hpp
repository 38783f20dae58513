// region.fusion: a ranked country distribution for the image from every clue's countries and the image's
// languages. Each piece of evidence is a distribution over countries; they are pooled log-linearly
// (a tempered product), so evidence that fits many countries (the euro, English, a global brand) moves little,
// two pieces that agree reinforce each other, and pieces that contradict split the probability instead of
// being averaged into a confident wrong answer. Nothing that localises: no regions.
#pragma once

#include <array>

#include "pipeline/stage.hpp"

namespace cluetrace::region {

struct FusionOptions {
  // How much one clue of each kind counts (index: ClueKind); 0 ignores the kind.
  ClueWeights weights{};
  double language_weight = 1.0;   // the image's language distribution, as one piece of evidence
  double national_phone_factor = 0.5;  // a number written without country code counts this much of a phone's weight
  double floor = 0.02;            // what a piece of evidence leaves to the countries it does not name
  double min_probability = 0.01;  // countries below this are left out of the report
  int max_regions = 10;
  static FusionOptions read(OptionReader& options);
};

class FusionStage final : public Stage {
 public:
  explicit FusionStage(FusionOptions options) : options_(options) {}
  std::string_view id() const override { return "region.fusion"; }
  void process(ImageRecord& image, StageResult& out) override;

 private:
  FusionOptions options_;
};

}  // namespace cluetrace::region
