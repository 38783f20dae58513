// text_detect.whole_image: the whole image as a single text region, until a learned detector exists.
#pragma once

#include "pipeline/stage.hpp"

namespace cluetrace::text_detect {

struct WholeImageOptions {
  static WholeImageOptions read(OptionReader& options);
};

class WholeImageStage final : public Stage {
 public:
  explicit WholeImageStage(WholeImageOptions options) : options_(options) {}
  std::string_view id() const override { return "text_detect.whole_image"; }
  bool is_placeholder() const override { return true; }
  void process(ImageRecord& image, StageResult& out) override;

 private:
  WholeImageOptions options_;
};

}  // namespace cluetrace::text_detect
