// rank.specificity: score = how much the clue narrows the search (its specificity) x how sure the reading is.
// Near-duplicates on one image (the same word read from two tiles, a brand name read both as text and as a
// wordmark) become one clue first; every clue gets a one-line explanation of its score.
#pragma once

#include "pipeline/stage.hpp"

namespace cluetrace::rank {

struct SpecificityOptions {
  // Weight per clue kind (index: ClueKind), 0..1. A phone number narrows more than a common word.
  ClueWeights weights{};
  double common_text = 0.5;   // text lines with no rare word (language stage's text_words) count this much
  double global_brand = 0.5;  // logos of brands present everywhere count this much
  bool merge_duplicates = true;
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

// Merges near-duplicates in place: overlapping clues of one kind with the same folded value, and text lines
// that only repeat another clue's value (a wordmark, an address, a price) where they overlap it. The kept clue lists what it
// absorbed in details.merged. Returns, per input position, the position of the clue it went into.
std::vector<std::size_t> merge_duplicates(std::vector<Clue>& clues);

}  // namespace cluetrace::rank
