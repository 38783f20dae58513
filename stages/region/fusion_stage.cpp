#include "stages/region/fusion_stage.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "pipeline/countries.hpp"
#include "pipeline/fold.hpp"

namespace cluetrace::region {
namespace {

double default_weight(ClueKind kind) {
  switch (kind) {
    case ClueKind::gps: return 4.0;       // a position
    case ClueKind::phone: return 2.0;     // a numbering plan
    case ClueKind::url: return 1.5;       // a ccTLD
    case ClueKind::email: return 1.5;
    case ClueKind::address: return 2.0;
    case ClueKind::postcode: return 1.0;
    case ClueKind::metadata: return 1.5;  // IPTC/XMP location fields
    case ClueKind::barcode: return 1.0;   // the GS1 member organisation that issued the number
    case ClueKind::logo: return 1.0;      // where the brand is present
    case ClueKind::price: return 0.8;     // the currency
    case ClueKind::text: return 0.0;
    case ClueKind::date: return 0.0;
    case ClueKind::other: return 0.0;
  }
  return 0.0;
}

struct Evidence {
  std::map<std::string, double> distribution;  // sums to 1
  double weight = 0;
  int clue_index = -1;  // into all_clues(); -1: the image's languages
};

}  // namespace

FusionOptions FusionOptions::read(OptionReader& o) {
  FusionOptions opts;
  opts.weights = read_clue_weights(o, "weights", default_weight, 100.0);
  opts.language_weight = o.get_double("language_weight", 1.0, 0.0, 100.0);
  opts.national_phone_factor = o.get_double("national_phone_factor", 0.5, 0.0, 1.0);
  opts.floor = o.get_double("floor", 0.02, 1e-6, 1.0);
  opts.min_probability = o.get_double("min_probability", 0.01, 0.0, 1.0);
  opts.max_regions = static_cast<int>(o.get_int("max_regions", 10, 1, 300));
  return opts;
}

void FusionStage::process(ImageRecord& image, StageResult&) {
  const auto clues = image.all_clues();
  std::vector<Evidence> evidence;
  std::set<std::pair<ClueKind, std::string>> seen;  // the same number twice is one piece of evidence
  for (std::size_t i = 0; i < clues.size(); ++i) {
    const auto& clue = clues[i];
    double weight = options_.weights[static_cast<std::size_t>(clue.kind)] * clue.confidence;
    if (clue.countries.empty() || weight <= 0) continue;
    if (!seen.insert({clue.kind, fold_key(clue.value)}).second) continue;  // as the rank stage merges readings
    if (clue.kind == ClueKind::phone && clue.details.is_object() && clue.details.value("written_with_country_code", true) == false) {
      weight *= options_.national_phone_factor;
    }
    Evidence e;
    double total = 0;
    for (const auto& c : clue.countries) total += std::max(0.0, c.weight);
    if (total <= 0) continue;
    for (const auto& c : clue.countries) e.distribution[c.code] += std::max(0.0, c.weight) / total;
    e.weight = weight;
    e.clue_index = static_cast<int>(i);
    evidence.push_back(std::move(e));
  }
  if (options_.language_weight > 0 && !image.languages.empty()) {
    Evidence e;
    double total = 0;
    for (const auto& lang : image.languages) {
      for (const auto& c : countries::language_countries(lang.code)) {
        e.distribution[c.code] += lang.probability * c.weight;
        total += lang.probability * c.weight;
      }
    }
    if (total > 0) {
      for (auto& [code, p] : e.distribution) p /= total;
      e.weight = options_.language_weight;
      evidence.push_back(std::move(e));
    }
  }
  if (evidence.empty()) return;  // nothing localises this image: say so with no regions

  // Candidates: every country some evidence names.
  std::set<std::string> candidates;
  for (const auto& e : evidence) {
    for (const auto& [code, p] : e.distribution) candidates.insert(code);
  }
  std::map<std::string, double> score;
  for (const auto& code : candidates) {
    double s = 0;
    for (const auto& e : evidence) {
      const auto it = e.distribution.find(code);
      s += e.weight * std::log(options_.floor + (it == e.distribution.end() ? 0.0 : it->second));
    }
    score[code] = s;
  }
  // The evidence leaves room for a country none of it names: one more candidate scored at the floor.
  double none = 0;
  for (const auto& e : evidence) none += e.weight * std::log(options_.floor);
  double top = none;
  for (const auto& [code, s] : score) top = std::max(top, s);
  double sum = std::exp(none - top);
  for (const auto& [code, s] : score) sum += std::exp(s - top);

  std::vector<RegionGuess> regions;
  for (const auto& [code, s] : score) {
    const double p = std::exp(s - top) / sum;
    if (p < options_.min_probability) continue;
    RegionGuess g{code, p, {}, {}};
    for (const auto& e : evidence) {
      const auto it = e.distribution.find(code);
      // Supporting: every clue that names the country.
      if (e.clue_index >= 0 && it != e.distribution.end() && it->second > 0) g.evidence_clues.push_back(static_cast<std::size_t>(e.clue_index));
    }
    regions.push_back(std::move(g));
  }
  std::stable_sort(regions.begin(), regions.end(), [](const auto& a, const auto& b) { return a.probability > b.probability; });
  if (static_cast<int>(regions.size()) > options_.max_regions) regions.resize(static_cast<std::size_t>(options_.max_regions));
  image.regions = std::move(regions);
}

}  // namespace cluetrace::region
