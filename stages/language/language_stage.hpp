// language.evidence: the language of each line of text and of the image, from word frequencies, spelling
// dictionaries (aspell or hunspell) and character n-grams (langid.hpp). Writes image.languages, image.text_languages and image.text_words.
#pragma once

#include <atomic>
#include <memory>

#include "pipeline/stage.hpp"
#include "stages/language/langid.hpp"

namespace cluetrace::language {

struct LanguageOptions {
  LangIdOptions langid;
  double min_probability = 0.05;
  int common_words = 2000;  // a word among this many most frequent of a language is common (text_words)
  static LanguageOptions read(OptionReader& options);
};

class LanguageStage final : public Stage {
 public:
  explicit LanguageStage(LanguageOptions options) : options_(std::move(options)) {}
  std::string_view id() const override { return "language.evidence"; }
  void prepare() override;  // word lists and n-grams; the dictionaries' files are checked
  void load() override;     // the spelling dictionaries (hunspell's: most of the start-up)
  nlohmann::ordered_json resources() const override;
  void process(ImageRecord& image, StageResult& out) override;
  const LanguageIdentifier& identifier() const { return *identifier_; }
  const LanguageOptions& options() const { return options_; }
  // How many words of a line there are and how many of them are rare.
  LineWords line_words(std::string_view text) const;

 private:
  static constexpr unsigned kUnmapEveryImages = 16;
  LanguageOptions options_;
  std::unique_ptr<LanguageIdentifier> identifier_;
  std::atomic<unsigned> images_since_unmap_{0};  // images processed, to unmap aspell's pages every kUnmapEveryImages
};

// Text without the parts that are not language: web and e-mail addresses, numbers.
std::string language_text(std::string_view text);

}  // namespace cluetrace::language
