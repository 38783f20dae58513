#include "stages/rank/specificity.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "pipeline/fold.hpp"

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

bool overlap(const std::optional<Box>& a, const std::optional<Box>& b) {
  if (!a || !b) return true;  // one of them has no place (metadata): the value alone decides
  const int x0 = std::max(a->x, b->x), y0 = std::max(a->y, b->y);
  const int x1 = std::min(a->x + a->width, b->x + b->width), y1 = std::min(a->y + a->height, b->y + b->height);
  return x1 > x0 && y1 > y0;
}

// The names a non-text clue could be read as in a line of text.
std::vector<std::string> readable_keys(const Clue& clue) {
  std::vector<std::string> keys{fold_key(clue.value)};
  if (clue.kind == ClueKind::logo && clue.details.is_object()) {
    if (const auto it = clue.details.find("name"); it != clue.details.end() && it->is_string()) {
      keys.push_back(fold_key(it->get<std::string>()));
    }
  }
  return keys;
}

// A line that is only a number with a unit or currency ("2,49 €", "EUR 2.49") repeats the number clue.
bool repeats_number(const std::string& text_key, const Clue& clue) {
  if (clue.kind != ClueKind::price && clue.kind != ClueKind::barcode && clue.kind != ClueKind::postcode) return false;
  const std::string digits = digits_only(text_key);
  return !digits.empty() && digits == digits_only(clue.value) && text_key.size() - digits.size() <= 3;
}

nlohmann::ordered_json merged_entry(const Clue& clue) {
  nlohmann::ordered_json j{{"kind", to_string(clue.kind)}, {"value", clue.value}, {"stage", clue.stage},
                           {"confidence", std::round(clue.confidence * 1e4) / 1e4}};
  if (clue.box) j["box"] = {clue.box->x, clue.box->y, clue.box->width, clue.box->height};
  return j;
}

void absorb(Clue& into, const Clue& from) {
  if (!into.details.is_object()) into.details = nlohmann::ordered_json::object();
  auto& merged = into.details["merged"];
  if (!merged.is_array()) merged = nlohmann::ordered_json::array();
  merged.push_back(merged_entry(from));
  if (from.details.is_object()) {
    if (const auto it = from.details.find("merged"); it != from.details.end()) {
      for (const auto& m : *it) merged.push_back(m);
    }
  }
}

}  // namespace

std::vector<std::size_t> merge_duplicates(std::vector<Clue>& clues) {
  std::vector<std::size_t> into(clues.size());
  std::iota(into.begin(), into.end(), 0);
  std::vector<std::string> keys;
  keys.reserve(clues.size());
  for (const auto& c : clues) keys.push_back(fold_key(c.value));
  auto root = [&](std::size_t i) {
    while (into[i] != i) i = into[i];
    return i;
  };

  // 1. The same value of the same kind where another reading of it is (overlapping tiles, two detectors):
  //    one clue; the surest reading stays. Two separate sightings (a brand on two bags) stay two clues.
  for (std::size_t i = 0; i < clues.size(); ++i) {
    if (keys[i].empty() || into[i] != i) continue;
    for (std::size_t j = i + 1; j < clues.size(); ++j) {
      if (into[j] != j || clues[j].kind != clues[i].kind || keys[j] != keys[i] || !overlap(clues[i].box, clues[j].box)) continue;
      const std::size_t keep = clues[j].confidence > clues[i].confidence ? j : i;
      const std::size_t drop = keep == i ? j : i;
      absorb(clues[keep], clues[drop]);
      into[drop] = keep;
      if (drop == i) break;
    }
  }
  // 2. A text line that only repeats another clue's value where that clue is: the typed clue stays.
  for (std::size_t t = 0; t < clues.size(); ++t) {
    if (into[t] != t || clues[t].kind != ClueKind::text || keys[t].empty()) continue;
    for (std::size_t c = 0; c < clues.size(); ++c) {
      // Both located: a line is not absorbed into a clue with no place (metadata), which would lose its crop.
      if (into[c] != c || clues[c].kind == ClueKind::text || !clues[t].box || !clues[c].box ||
          !overlap(clues[t].box, clues[c].box)) {
        continue;
      }
      const auto names = readable_keys(clues[c]);
      if (std::find(names.begin(), names.end(), keys[t]) == names.end() && !repeats_number(keys[t], clues[c])) continue;
      absorb(clues[c], clues[t]);
      into[t] = c;
      break;
    }
  }
  std::vector<std::size_t> position(clues.size());
  std::vector<Clue> kept;
  for (std::size_t i = 0; i < clues.size(); ++i) {
    if (into[i] != i) continue;
    position[i] = kept.size();
    kept.push_back(std::move(clues[i]));
  }
  for (std::size_t i = 0; i < clues.size(); ++i) position[i] = position[root(i)];
  clues = std::move(kept);
  return position;
}

SpecificityOptions SpecificityOptions::read(OptionReader& o) {
  SpecificityOptions opts;
  opts.weights = read_clue_weights(o, "weights", default_weight, 1.0);
  opts.common_text = o.get_double("common_text", opts.common_text, 0.0, 1.0);
  opts.global_brand = o.get_double("global_brand", opts.global_brand, 0.0, 1.0);
  opts.merge_duplicates = o.get_bool("merge_duplicates", opts.merge_duplicates);
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

  std::vector<std::size_t> position(clues.size());
  std::iota(position.begin(), position.end(), 0);
  if (options_.merge_duplicates) position = merge_duplicates(clues);

  for (auto& clue : clues) {
    const double weight = options_.weights[static_cast<std::size_t>(clue.kind)];
    double specificity = weight;
    std::string why = fmt::format("{} {:.2f}", to_string(clue.kind), weight);
    if (clue.kind == ClueKind::text) {
      if (const auto it = image.text_words.find(clue.value); it != image.text_words.end() && it->second.words > 0) {
        if (it->second.rare.empty()) {
          specificity *= options_.common_text;
          why += fmt::format(" x {:.2f} (only common words)", options_.common_text);
        } else {
          why += fmt::format(" ({} of {} words rare)", it->second.rare.size(), it->second.words);
          if (!clue.details.is_object()) clue.details = nlohmann::ordered_json::object();
          clue.details["rare_words"] = it->second.rare;
        }
      }
    } else if (clue.kind == ClueKind::logo && clue.details.is_object() && clue.details.value("global", false)) {
      specificity *= options_.global_brand;
      why += fmt::format(" x {:.2f} (brand sold everywhere)", options_.global_brand);
    }
    clue.score = std::clamp(specificity * clue.confidence, 0.0, 1.0);
    std::string line = fmt::format("score {:.2f} = specificity {} x confidence {:.2f}", clue.score, why, clue.confidence);
    if (clue.details.is_object() && clue.details.contains("merged")) {
      line += fmt::format("; {} more reading(s) merged into it", clue.details["merged"].size());
    }
    if (!clue.explanation.empty()) line += "; " + clue.explanation;
    clue.explanation = std::move(line);
  }
  // Stable: equal scores keep stage order, so reports are reproducible.
  std::vector<std::size_t> order(clues.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return clues[a].score > clues[b].score; });
  std::vector<int> rank_of(clues.size());
  std::vector<Clue> sorted;
  sorted.reserve(clues.size());
  for (std::size_t r = 0; r < order.size(); ++r) {
    rank_of[order[r]] = static_cast<int>(r) + 1;
    sorted.push_back(std::move(clues[order[r]]));
    sorted.back().rank = static_cast<int>(r) + 1;
  }
  // The region stage names its evidence by position in all_clues(): turn those into ranks (merged clues
  // count once, as the clue they went into).
  for (auto& region : image.regions) {
    region.evidence.clear();
    for (const auto index : region.evidence_clues) {
      if (index < position.size()) region.evidence.push_back(rank_of[position[index]]);
    }
    std::sort(region.evidence.begin(), region.evidence.end());
    region.evidence.erase(std::unique(region.evidence.begin(), region.evidence.end()), region.evidence.end());
  }
  image.ranked_clues = std::move(sorted);
  image.ranked = true;
}

}  // namespace cluetrace::rank
