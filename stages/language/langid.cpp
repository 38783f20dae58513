#include "stages/language/langid.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>
#include <nlohmann/json.hpp>
#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include "pipeline/malloc_arenas.hpp"

namespace cluetrace::language {
namespace {

std::string utf8_of(const icu::UnicodeString& u) {
  std::string out;
  u.toUTF8String(out);
  return out;
}

std::string lower(std::string_view text) {
  auto u = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  return utf8_of(u.toLower(icu::Locale::getRoot()));
}

std::string capitalised(const std::string& word) {
  auto u = icu::UnicodeString::fromUTF8(word);
  if (u.isEmpty()) return word;
  const UChar32 first = u.char32At(0);
  icu::UnicodeString head(static_cast<UChar32>(u_toupper(first)));
  return utf8_of(head + u.tempSubString(U16_LENGTH(first)));
}

// Code points of a word as UTF-8 strings, padded with a space on both sides.
std::vector<std::string> symbols(const std::string& word) {
  std::vector<std::string> out{" "};
  const auto u = icu::UnicodeString::fromUTF8(word);
  for (int32_t i = 0; i < u.length(); i = u.moveIndex32(i, 1)) out.push_back(utf8_of(icu::UnicodeString(u.char32At(i))));
  out.push_back(" ");
  return out;
}

}  // namespace

struct LanguageIdentifier::Model {
  std::string code;
  std::unordered_map<std::string, int> rank;  // lower-case word -> best rank (1-based)
  double rank_norm = 1;                       // sum over the list of 1 / (rank + kRankOffset)
  std::unordered_map<std::string, double> grams;  // lower-case 1..3-grams -> count
  double unigram_total = 1;
  DictionarySource dictionary_source;           // found when the model loads
  std::unique_ptr<WordDictionary> dictionary;  // null until opened (LanguageIdentifier::Dictionaries)
  mutable std::mutex dictionary_mutex;         // a dictionary is not safe to share between threads
  std::string source;

  static constexpr double kRankOffset = 10;

  double count(const std::string& gram) const {
    const auto it = grams.find(gram);
    return it == grams.end() ? 0.0 : it->second;
  }

  // log P(word) under an interpolated character trigram model (end of word included).
  double char_log_probability(const std::string& word) const {
    const auto s = symbols(word);
    double lp = 0;
    for (std::size_t i = 1; i < s.size(); ++i) {
      const std::string& c = s[i];
      double p = 0, w = 0;
      auto term = [&](double lambda, double num, double den) {
        if (den > 0) {
          p += lambda * num / den;
          w += lambda;
        }
      };
      if (i >= 2) term(0.6, count(s[i - 2] + s[i - 1] + c), count(s[i - 2] + s[i - 1]));
      term(0.3, count(s[i - 1] + c), s[i - 1] == " " ? unigram_total : count(s[i - 1]));
      if (c != " ") term(0.09, count(c), unigram_total);
      p = w > 0 ? p / w * 0.99 : 0;
      lp += std::log(p + 0.01 / 100.0);  // a small floor: unseen letters cost, but do not veto
    }
    return lp;
  }

  bool accepts(const std::string& word) const {
    if (!dictionary) {
      throw std::logic_error(fmt::format("language '{}': its {} dictionary was asked before it was loaded", code,
                                         dictionary_kind_name(dictionary_source.kind)));
    }
    std::lock_guard lock(dictionary_mutex);
    return dictionary->spells(word) || dictionary->spells(capitalised(word));
  }
};

std::string hunspell_locale(std::string_view language) { return dictionary_name(DictionaryKind::hunspell, language); }

LanguageIdentifier::LanguageIdentifier(LangIdOptions options, Dictionaries dictionaries) : options_(std::move(options)) {
  if (options_.languages.empty()) throw std::runtime_error("no languages configured");
  std::vector<std::unique_ptr<Model>> models(options_.languages.size());
  for_each_language([&](std::size_t i) {
    models[i] = load_model(options_.languages[i]);
    if (dictionaries == Dictionaries::now) load_dictionary(*models[i]);
  });
  models_ = std::move(models);
  if (dictionaries == Dictionaries::now) unmap_dictionary_pages();  // what opening them touched
}

void LanguageIdentifier::unmap_dictionary_pages() const {
  if (options_.dictionaries == DictionaryKind::aspell) unmap_word_list_pages();
}

void LanguageIdentifier::load_dictionaries() {
  for_each_language([&](std::size_t i) {
    if (!models_[i]->dictionary) load_dictionary(*models_[i]);
  });
  unmap_dictionary_pages();  // what opening them touched
}

void LanguageIdentifier::for_each_language(const std::function<void(std::size_t)>& load) const {
  // Each language's word list, n-gram profile and dictionary are loaded on their own, in parallel (hunspell's
  // dictionaries, where configured, are most of the start-up) on no more threads than there are malloc arenas:
  // hunspell's millions of small allocations on threads sharing an arena wait for its lock
  // (pipeline/malloc_arenas.hpp). The first error, in language order, is the one reported.
  std::vector<std::string> errors(options_.languages.size());
  oneapi::tbb::task_arena loaders(malloc_arena_limit());
  loaders.execute([&] {
    oneapi::tbb::parallel_for(std::size_t{0}, options_.languages.size(), [&](std::size_t i) {
      try {
        load(i);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  });
  for (const auto& error : errors) {
    if (!error.empty()) throw std::runtime_error(error);
  }
}

std::unique_ptr<LanguageIdentifier::Model> LanguageIdentifier::load_model(const std::string& code) const {
  auto model = std::make_unique<Model>();
  model->code = code;
  const auto words_file = options_.model_dir / "words" / (code + ".txt");
  std::ifstream words(words_file);
  if (!words) throw std::runtime_error(fmt::format("{}: missing (language '{}'; run scripts/fetch-models.sh)", words_file.string(), code));
  std::string line;
  int rank = 0;
  while (std::getline(words, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    ++rank;
    model->rank.emplace(lower(line), rank);  // keeps the first (best) rank of each lower-case form
  }
  if (model->rank.empty()) throw std::runtime_error(fmt::format("{}: no words", words_file.string()));
  model->rank_norm = 0;
  for (const auto& [w, r] : model->rank) model->rank_norm += 1.0 / (r + Model::kRankOffset);

  const auto grams_file = options_.model_dir / "ngrams" / (code + ".json");
  std::ifstream grams_in(grams_file);
  if (!grams_in) throw std::runtime_error(fmt::format("{}: missing (language '{}'; run scripts/fetch-models.sh)", grams_file.string(), code));
  try {
    const auto profile = nlohmann::json::parse(grams_in);
    for (const auto& [gram, count] : profile.at("freq").items()) model->grams[lower(gram)] += count.get<double>();
    model->unigram_total = profile.at("n_words").at(0).get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: not an n-gram profile: {}", grams_file.string(), e.what()));
  }

  const auto& dir = options_.dictionaries == DictionaryKind::aspell ? options_.aspell_dir : options_.hunspell_dir;
  model->dictionary_source = locate_dictionary(options_.dictionaries, code, dir);
  model->source = fmt::format("{} words, {} n-grams, {}", model->rank.size(), model->grams.size(), model->dictionary_source.describe());
  return model;
}

void LanguageIdentifier::load_dictionary(Model& model) const { model.dictionary = open_dictionary(model.dictionary_source); }

LanguageIdentifier::~LanguageIdentifier() = default;

std::vector<std::string> LanguageIdentifier::sources() const {
  std::vector<std::string> out;
  for (const auto& m : models_) out.push_back(m->code + ": " + m->source);
  return out;
}

std::vector<std::string> LanguageIdentifier::words(std::string_view text) {
  std::vector<std::string> out;
  const auto u = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  icu::UnicodeString word;
  bool digit = false;
  auto flush = [&] {
    while (!word.isEmpty() && word.char32At(word.length() - 1) == '\'') word.truncate(word.length() - 1);
    if (!word.isEmpty() && !digit) out.push_back(utf8_of(word.toLower(icu::Locale::getRoot())));
    word.remove();
    digit = false;
  };
  for (int32_t i = 0; i < u.length(); i = u.moveIndex32(i, 1)) {
    UChar32 c = u.char32At(i);
    if (c == 0x2019) c = '\'';  // typographic apostrophe
    if (u_isalpha(c) || u_hasBinaryProperty(c, UCHAR_DIACRITIC)) {
      word.append(c);
    } else if (u_isdigit(c)) {
      digit = true;
      word.append(c);
    } else if (c == '\'' && !word.isEmpty()) {
      word.append(c);  // l'eau, c'est, it's
    } else {
      flush();
    }
  }
  flush();
  return out;
}

std::vector<double> LanguageIdentifier::word_log_likelihood(const std::string& word) const {
  std::vector<double> out;
  out.reserve(models_.size());
  for (const auto& m : models_) {
    double freq = 0;
    if (const auto it = m->rank.find(word); it != m->rank.end()) freq = 1.0 / ((it->second + Model::kRankOffset) * m->rank_norm);
    const double dict = m->accepts(word) ? options_.dictionary_boost : options_.dictionary_penalty;
    const double chars = std::exp(m->char_log_probability(word));
    out.push_back(std::log(options_.frequency_share * freq + (1 - options_.frequency_share) * chars * dict + 1e-300));
  }
  return out;
}

int LanguageIdentifier::best_rank(const std::string& word) const {
  int best = 0;
  for (const auto& m : models_) {
    if (const auto it = m->rank.find(word); it != m->rank.end() && (best == 0 || it->second < best)) best = it->second;
  }
  return best;
}

std::vector<double> LanguageIdentifier::log_likelihood(std::string_view text, std::size_t* word_count) const {
  std::vector<double> total(models_.size(), 0.0);
  const auto ws = words(text);
  for (const auto& w : ws) {
    const auto ll = word_log_likelihood(w);
    for (std::size_t i = 0; i < total.size(); ++i) total[i] += ll[i];
  }
  if (word_count) *word_count = ws.size();
  return total;
}

std::vector<LanguageGuess> LanguageIdentifier::posterior(const std::vector<double>& ll) const {
  std::vector<LanguageGuess> out;
  const double top = *std::max_element(ll.begin(), ll.end());
  double sum = 0;
  for (const double v : ll) sum += std::exp(v - top);
  for (std::size_t i = 0; i < ll.size(); ++i) out.push_back({models_[i]->code, std::exp(ll[i] - top) / sum});
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.probability > b.probability; });
  return out;
}

std::vector<LanguageGuess> LanguageIdentifier::identify(std::string_view text) const {
  std::size_t n = 0;
  const auto ll = log_likelihood(text, &n);
  if (n == 0) return {};
  return posterior(ll);
}

}  // namespace cluetrace::language
