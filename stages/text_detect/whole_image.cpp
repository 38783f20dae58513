#include "stages/text_detect/whole_image.hpp"

namespace cluetrace::text_detect {

WholeImageOptions WholeImageOptions::read(OptionReader&) { return {}; }

void WholeImageStage::process(ImageRecord& image, StageResult&) {
  const auto w = static_cast<float>(image.width), h = static_cast<float>(image.height);
  image.text_regions = {TextRegion{{cv::Point2f{0, 0}, {w, 0}, {w, h}, {0, h}}, 1.0}};
}

}  // namespace cluetrace::text_detect
