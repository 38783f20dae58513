// ocr.tesseract_page: Tesseract's own page layout and LSTM recognition inside each text region.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <oneapi/tbb/enumerable_thread_specific.h>

#include "pipeline/stage.hpp"

namespace tesseract {
class TessBaseAPI;
}

namespace cluetrace::ocr {

struct TesseractPageOptions {
  std::vector<std::string> languages{"eng"};  // traineddata names, joined with '+'
  std::string tessdata_dir;                  // empty: the system's tessdata
  std::string page_segmentation = "auto";    // auto | sparse | single_block
  double min_confidence = 0.5;               // lines below are dropped
  int min_alnum = 2;                         // a line needs this many letters or digits to be a clue
  static TesseractPageOptions read(OptionReader& options);
};

// Tesseract keeps its own state per instance: one TessBaseAPI per worker thread.
class TesseractPageStage final : public Stage {
 public:
  explicit TesseractPageStage(TesseractPageOptions options);
  ~TesseractPageStage() override;
  std::string_view id() const override { return "ocr.tesseract_page"; }
  void prepare() override;
  nlohmann::ordered_json resources() const override;
  void process(ImageRecord& image, StageResult& out) override;

 private:
  std::unique_ptr<tesseract::TessBaseAPI> make_api() const;

  TesseractPageOptions options_;
  std::string language_string_;
  std::string datapath_;  // resolved by prepare()
  oneapi::tbb::enumerable_thread_specific<std::unique_ptr<tesseract::TessBaseAPI>> apis_;
};

// Whether an OCR'd line is worth reporting: enough letters or digits, not mostly punctuation.
bool plausible_text(std::string_view utf8, int min_alnum);

}  // namespace cluetrace::ocr
