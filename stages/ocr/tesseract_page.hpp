// ocr.tesseract_page: Tesseract's own page layout and LSTM recognition inside each text region
// (whole-image OCR when the region is the whole image).
#pragma once

#include <string>
#include <vector>

#include "pipeline/stage.hpp"
#include "stages/ocr/tesseract_engine.hpp"

namespace cluetrace::ocr {

struct TesseractPageOptions {
  std::vector<std::string> languages{"eng"};  // traineddata names, joined with '+'
  std::string tessdata_dir;                  // empty: the system's tessdata
  std::string page_segmentation = "auto";    // auto | sparse | single_block
  double min_confidence = 0.5;               // lines below are dropped
  int min_alnum = 2;                         // a line needs this many letters or digits to be a clue
  static TesseractPageOptions read(OptionReader& options);
};

class TesseractPageStage final : public Stage {
 public:
  explicit TesseractPageStage(TesseractPageOptions options);
  std::string_view id() const override { return "ocr.tesseract_page"; }
  void prepare() override { engines_.check(); }
  nlohmann::ordered_json resources() const override { return engines_.resources(); }
  void process(ImageRecord& image, StageResult& out) override;

 private:
  TesseractPageOptions options_;
  TesseractEngines engines_;
};

}  // namespace cluetrace::ocr
