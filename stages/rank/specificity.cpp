#include "stages/rank/specificity.hpp"

#include <algorithm>
#include <cmath>

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
  opts.weights = read_clue_weights(o, "weights", default_weight, 1.0);
  return opts;
}

void SpecificityStage::process(ImageRecord& image, StageResult&) {
  auto clues = image.all_clues();
  // Text clues take the language the language stage found for their line.
  for (auto& clue : clues) {
    if (clue.kind != ClueKind::text || !clue.language.empty()) continue;
    const auto it = image.text_languages.find(clue.value);
    if (it == image.text_languages.end() || it->second.empty()) continue;
    if (it->second.front().probability >= 0.5) clue.language = it->second.front().code;
    if (clue.details.is_null()) clue.details = nlohmann::ordered_json::object();
    auto& langs = clue.details["languages"] = nlohmann::ordered_json::array();
    for (const auto& g : it->second) langs.push_back({{"code", g.code}, {"probability", std::round(g.probability * 1000) / 1000}});
  }
  for (auto& clue : clues) {
    const double weight = options_.weights[static_cast<std::size_t>(clue.kind)];
    clue.score = std::clamp(weight * clue.confidence, 0.0, 1.0);
    if (clue.explanation.empty()) {
      clue.explanation = fmt::format("{} (specificity {:.2f}) read with confidence {:.2f}: score {:.2f}",
                                     to_string(clue.kind), weight, clue.confidence, clue.score);
    }
  }
  // Stable: equal scores keep stage order, so reports are reproducible.
  std::vector<std::size_t> order(clues.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return clues[a].score > clues[b].score; });
  std::vector<int> rank_of(clues.size());
  std::vector<Clue> sorted;
  sorted.reserve(clues.size());
  for (std::size_t r = 0; r < order.size(); ++r) {
    rank_of[order[r]] = static_cast<int>(r) + 1;
    sorted.push_back(std::move(clues[order[r]]));
    sorted.back().rank = static_cast<int>(r) + 1;
  }
  clues = std::move(sorted);
  // The region stage names its evidence by position in all_clues(): turn those into ranks.
  for (auto& region : image.regions) {
    region.evidence.clear();
    for (const auto index : region.evidence_clues) {
      if (index < rank_of.size()) region.evidence.push_back(rank_of[index]);
    }
    std::sort(region.evidence.begin(), region.evidence.end());
  }
  image.ranked_clues = std::move(clues);
  image.ranked = true;
}

}  // namespace cluetrace::rank
