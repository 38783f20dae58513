#include "stages/rank/specificity.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace cluetrace::rank {
namespace {

double default_weight(ClueKind kind) {
  switch (kind) {
    case ClueKind::gps: return 1.0;
    case ClueKind::phone: return 0.95;
    case ClueKind::email: return 0.95;
    case ClueKind::barcode: return 0.9;
    case ClueKind::url: return 0.9;
    case ClueKind::address: return 0.9;
    case ClueKind::postcode: return 0.7;
    case ClueKind::logo: return 0.6;
    case ClueKind::metadata: return 0.5;
    case ClueKind::price: return 0.4;
    case ClueKind::text: return 0.3;
    case ClueKind::date: return 0.3;
    case ClueKind::other: return 0.2;
  }
  return 0.2;
}

}  // namespace

SpecificityOptions SpecificityOptions::read(OptionReader& o) {
  SpecificityOptions opts;
  auto weights = o.child("weights");
  for (const auto kind : kAllClueKinds) {
    opts.weights[static_cast<std::size_t>(kind)] = weights.get_double(to_string(kind), default_weight(kind), 0.0, 1.0);
  }
  weights.finish();
  o.adopt("weights", weights);
  return opts;
}

void SpecificityStage::process(ImageRecord& image, StageResult&) {
  auto clues = image.all_clues();
  for (auto& clue : clues) {
    const double weight = options_.weights[static_cast<std::size_t>(clue.kind)];
    clue.score = std::clamp(weight * clue.confidence, 0.0, 1.0);
    if (clue.explanation.empty()) {
      clue.explanation = fmt::format("{} (specificity {:.2f}) read with confidence {:.2f}: score {:.2f}",
                                     to_string(clue.kind), weight, clue.confidence, clue.score);
    }
  }
  // Stable: equal scores keep stage order, so reports are reproducible.
  std::stable_sort(clues.begin(), clues.end(), [](const Clue& a, const Clue& b) { return a.score > b.score; });
  int rank = 0;
  for (auto& clue : clues) clue.rank = ++rank;
  image.ranked_clues = std::move(clues);
  image.ranked = true;
}

}  // namespace cluetrace::rank
