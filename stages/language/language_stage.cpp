#include "stages/language/language_stage.hpp"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>
#include <unicode/unistr.h>

#include "pipeline/models.hpp"

namespace cluetrace::language {

LanguageOptions LanguageOptions::read(OptionReader& o) {
  LanguageOptions opts;
  opts.langid.languages = o.get_string_list("languages", {"de", "fr", "nl", "es", "it", "pt", "pl", "cs", "sv", "da", "en"});
  for (const auto& code : opts.langid.languages) {
    if (hunspell_locale(code).empty()) {
      o.problem("languages", fmt::format("'{}' has no language data here (known: de fr nl es it pt pl cs sv da en)", code));
    }
  }
  opts.langid.model_dir = resolve_model_path(o.get_string("model_dir", ""), "language");
  const std::string kind = o.get_string("dictionaries", "aspell");
  try {
    opts.langid.dictionaries = parse_dictionary_kind(kind);
  } catch (const std::invalid_argument& e) {
    o.problem("dictionaries", e.what());
  }
  opts.langid.aspell_dir = o.get_string("aspell_dir", "");
  opts.langid.hunspell_dir = o.get_string("hunspell_dir", "/usr/share/hunspell");
  opts.min_probability = o.get_double("min_probability", 0.05, 0.0, 1.0);
  opts.common_words = static_cast<int>(o.get_int("common_words", 2000, 0, 1'000'000));
  return opts;
}

void LanguageStage::prepare() {
  identifier_ = std::make_unique<LanguageIdentifier>(options_.langid, LanguageIdentifier::Dictionaries::later);
}

void LanguageStage::load() { identifier_->load_dictionaries(); }

nlohmann::ordered_json LanguageStage::resources() const {
  nlohmann::ordered_json r{{"model_dir", options_.langid.model_dir.string()},
                           {"dictionaries", std::string(dictionary_kind_name(options_.langid.dictionaries))},
                           {"dictionary_library", dictionary_library(options_.langid.dictionaries)},
                           {"aspell_dir", options_.langid.aspell_dir.string()},
                           {"hunspell_dir", options_.langid.hunspell_dir.string()}};
  if (identifier_) r["languages"] = identifier_->sources();
  return r;
}

std::string language_text(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string token, out;
  while (in >> token) {
    if (token.find('@') != std::string::npos || token.find("://") != std::string::npos) continue;
    std::string lower = token;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower.starts_with("www.")) continue;
    if (!out.empty()) out += ' ';
    out += token;
  }
  return out;
}

LineWords LanguageStage::line_words(std::string_view text) const {
  LineWords counts;
  for (const auto& word : LanguageIdentifier::words(language_text(text))) {
    ++counts.words;
    const int rank = identifier_->best_rank(word);
    // Short words are function words or fragments, whatever the lists say.
    const auto letters = icu::UnicodeString::fromUTF8(word).countChar32();  // characters, not bytes
    if (letters >= 4 && (rank == 0 || rank > options_.common_words)) counts.rare.push_back(word);
  }
  return counts;
}

void LanguageStage::process(ImageRecord& image, StageResult&) {
  std::vector<double> mix(identifier_->languages().size(), 0.0);
  double total_weight = 0;
  for (const auto& clue : image.all_clues()) {
    if (clue.kind != ClueKind::text || image.text_languages.count(clue.value)) continue;
    image.text_words[clue.value] = line_words(clue.value);
    std::size_t n = 0;
    const auto ll = identifier_->log_likelihood(language_text(clue.value), &n);
    if (n == 0) continue;
    auto guesses = identifier_->posterior(ll);
    // The image: the lines' distributions averaged, longer and surer lines counting more (a brand name in
    // English on a German label does not outvote the label).
    const double weight = clue.confidence * static_cast<double>(std::min<std::size_t>(n, 6));
    for (const auto& g : guesses) {
      const auto it = std::find(identifier_->languages().begin(), identifier_->languages().end(), g.code);
      mix[static_cast<std::size_t>(it - identifier_->languages().begin())] += weight * g.probability;
    }
    total_weight += weight;
    std::erase_if(guesses, [&](const LanguageGuess& g) { return g.probability < options_.min_probability; });
    image.text_languages[clue.value] = std::move(guesses);
  }
  // Aspell's word lists, mapped page by page by the lookups, are unmapped every kUnmapEveryImages images: on
  // ICDAR 2003 the run's peak 867 -> 828 MiB at +0.6 ms an image (after every image: 817 MiB, +8 ms, each page
  // mapped again costing a fault; never: the lists' ~116 MB stay resident), bench/RESULTS.md, issue 16.
  if (++images_since_unmap_ % kUnmapEveryImages == 0) identifier_->unmap_dictionary_pages();
  if (total_weight <= 0) return;
  std::vector<LanguageGuess> languages;
  for (std::size_t i = 0; i < mix.size(); ++i) {
    const double p = mix[i] / total_weight;
    if (p >= options_.min_probability) languages.push_back({identifier_->languages()[i], p});
  }
  std::stable_sort(languages.begin(), languages.end(), [](const auto& a, const auto& b) { return a.probability > b.probability; });
  image.languages = std::move(languages);
}

}  // namespace cluetrace::language
