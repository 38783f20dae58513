// logo.features: finds brand marks from the configured catalogue (SIFT + index + homography, see
// matcher.hpp) and brand names read by OCR (wordmarks), and reports each as a `logo` clue with the
// brand's countries. The matching runs beside OCR; what reads the text stage's clues runs after it.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>

#include "pipeline/stage.hpp"
#include "stages/logo/catalogue.hpp"
#include "stages/logo/matcher.hpp"

namespace cluetrace::logo {

struct LogoOptions {
  std::string catalogue;                      // YAML file; empty: models/logos/catalogue.yaml of this installation
  std::string if_catalogue_missing = "skip";  // skip: no logo clues, said in run.json | error: refuse to start
  MatchOptions match;
  // false: the image is not searched for marks (no index loaded, no features): only brand names read by OCR
  // (wordmarks) are reported, for a first pass over a whole seizure (config/quick.yaml).
  bool marks = true;
  bool wordmarks = true;              // brand names read by OCR count as sightings
  int wordmark_min_length = 4;        // shorter names (letters and digits) are too easily read by chance
  double wordmark_min_confidence = 0.4;  // OCR confidence of the words that spell the name (exactly)
  // A feature match where OCR read other words (text_conflict.hpp) is dropped unless this well supported.
  bool text_check = true;
  double text_check_min_confidence = 0.6;  // OCR confidence of the words that count
  double text_check_min_coverage = 0.3;    // share of the mark's box those words cover
  int text_check_keep_inliers = 30;        // matches agreeing on the placement that keep it anyway
  static LogoOptions read(OptionReader& options);
};

// Folds a name or an OCR'd word for wordmark comparison: lower case, letters and digits only, common
// Latin diacritics removed ("Albert Heijn" -> "albertheijn", "Citroën" -> "citroen").
std::string fold_name(std::string_view text);

class LogoStage final : public Stage {
 public:
  explicit LogoStage(LogoOptions options) : options_(std::move(options)) {}
  std::string_view id() const override { return "logo.features"; }
  void prepare() override;
  nlohmann::ordered_json resources() const override;
  void process(ImageRecord& image, StageResult& out) override;
  // The matching (the pixels and the text detector's regions) runs beside OCR; the check against what OCR
  // read and the wordmarks after it (pipeline/stage.hpp).
  bool splits_around_ocr() const override { return true; }
  void before_ocr(const ImageRecord& image, StageResult& out) override;
  void after_ocr(ImageRecord& image, StageResult& out) override;

 private:
  void load_matcher();
  void index_names();
  Clue mark_clue(const Detection& detection, const ImageRecord& image) const;
  void add_wordmarks(const ImageRecord& image, std::vector<Clue>& clues) const;
  Clue make_clue(const Brand& brand, double confidence) const;

  LogoOptions options_;
  std::filesystem::path catalogue_path_;
  std::string missing_reason_;
  Catalogue catalogue_;
  std::unique_ptr<Matcher> matcher_;
  std::unordered_map<std::string, const Brand*> by_id_;
  std::unordered_map<std::string, const Brand*> by_wordmark_;
  std::unordered_map<std::string, std::vector<std::string>> folded_names_;  // brand id -> name and aliases, folded
  std::size_t longest_wordmark_words_ = 1;
  double prepare_ms_ = 0;
};

}  // namespace cluetrace::logo
