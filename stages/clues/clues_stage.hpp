// clues.extract: turns every line the OCR read into structured clues (phone, url, email, price, postcode,
// date), each keeping the line it came from (details.source) and the box of the words it spans.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pipeline/stage.hpp"
#include "stages/clues/extract.hpp"

namespace cluetrace::clues {

struct CluesOptions {
  // Regions tried, in order, for phone numbers written without a country code.
  std::vector<std::string> phone_regions;
  bool phones = true, urls = true, emails = true, prices = true, postcodes = true, dates = true;
  static CluesOptions read(OptionReader& options);
};

class CluesStage final : public Stage {
 public:
  explicit CluesStage(CluesOptions options);
  std::string_view id() const override { return "clues.extract"; }
  nlohmann::ordered_json resources() const override;
  void process(ImageRecord& image, StageResult& out) override;

 private:
  CluesOptions options_;
  std::unique_ptr<PhoneFinder> phones_;
};

}  // namespace cluetrace::clues
