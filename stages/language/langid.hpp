// Language identification for short text (a few words on an object): per word, a mixture of
//  - how frequent the word is in the language (ranked frequency lists),
//  - whether the language's spelling dictionary accepts it (aspell's or hunspell's: word_dictionary.hpp),
//  - a character trigram model of the language (which also carries its diacritics and letters),
// multiplied over the words of a text into a distribution over the configured languages.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pipeline/types.hpp"
#include "stages/language/word_dictionary.hpp"

namespace cluetrace::language {

struct LangIdOptions {
  std::vector<std::string> languages;      // ISO 639-1
  std::filesystem::path model_dir;         // words/<code>.txt (ranked), ngrams/<code>.json (langdetect profiles)
  DictionaryKind dictionaries = DictionaryKind::aspell;  // whose spelling dictionaries
  std::filesystem::path aspell_dir;        // aspell's compiled dictionaries and language data; empty = aspell's own
  std::filesystem::path hunspell_dir = "/usr/share/hunspell";  // <locale>.aff/.dic
  double frequency_share = 0.6;            // mixture weight of the frequency list against the character model
  double dictionary_boost = 20;            // a word the dictionary accepts is this much likelier in that language ...
  double dictionary_penalty = 0.3;         // ... and one it rejects this much less likely
};

struct WordEvidence {
  std::string word;                 // lower case, as scored
  std::vector<double> log_likelihood;  // per language, in options order
};

class LanguageIdentifier {
 public:
  // When the spelling dictionaries load: with the rest, or by load_dictionaries() (the language stage loads them
  // while the first images run: pipeline/stage_loading.hpp). Until then the identifier must not be asked.
  enum class Dictionaries { now, later };
  // Loads every language's data (the dictionaries: as `dictionaries` says; their files must be there either
  // way); throws std::runtime_error naming the missing or broken file.
  explicit LanguageIdentifier(LangIdOptions options, Dictionaries dictionaries = Dictionaries::now);
  ~LanguageIdentifier();
  LanguageIdentifier(const LanguageIdentifier&) = delete;
  LanguageIdentifier& operator=(const LanguageIdentifier&) = delete;

  const std::vector<std::string>& languages() const { return options_.languages; }
  // Loads the spelling dictionaries of an identifier made with Dictionaries::later (once; not thread-safe).
  void load_dictionaries();

  // The words of `text` that carry evidence (letters, no digits), lower case.
  static std::vector<std::string> words(std::string_view text);
  // Per-language log-likelihood of one word (thread-safe).
  std::vector<double> word_log_likelihood(const std::string& word) const;
  // Posterior over the configured languages (uniform prior), most probable first; empty when the text has no
  // word.
  std::vector<LanguageGuess> identify(std::string_view text) const;
  // Sum of word log-likelihoods per language (for combining several texts).
  std::vector<double> log_likelihood(std::string_view text, std::size_t* word_count = nullptr) const;
  std::vector<LanguageGuess> posterior(const std::vector<double>& log_likelihood) const;
  // The best (lowest, 1-based) rank of a lower-case word in any language's frequency list; 0 when in none.
  int best_rank(const std::string& word) const;

  // Where each language's data came from (for run.json).
  std::vector<std::string> sources() const;

  // Unmaps the pages of aspell's word lists that lookups have mapped (unmap_word_list_pages); nothing for
  // hunspell's. The language stage calls it every few images, so that the lists do not add up in the worker's
  // resident memory. Thread-safe.
  void unmap_dictionary_pages() const;

 private:
  struct Model;
  std::unique_ptr<Model> load_model(const std::string& code) const;
  void load_dictionary(Model& model) const;
  // Runs load(i) for every language, on no more threads than there are malloc arenas; throws the first error in
  // language order.
  void for_each_language(const std::function<void(std::size_t)>& load) const;
  LangIdOptions options_;
  std::vector<std::unique_ptr<Model>> models_;
};

// The hunspell locale used for a language code ("de" -> "de_DE"); empty for a language without one.
std::string hunspell_locale(std::string_view language);

}  // namespace cluetrace::language
