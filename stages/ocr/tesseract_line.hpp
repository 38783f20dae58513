// ocr.tesseract_line: each detected text region rectified, height-normalised, polarity-corrected and read
// by Tesseract's LSTM as a single line, and read again by PP-OCRv4's recogniser; the surer reading is kept
// (line_vote.hpp). Word boxes mapped back to original pixels.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/stage.hpp"
#include "stages/ocr/line_vote.hpp"
#include "stages/ocr/ppocr_reader.hpp"
#include "stages/ocr/reread_scope.hpp"
#include "stages/ocr/tesseract_engine.hpp"

namespace cluetrace::ocr {

struct TesseractLineOptions {
  std::vector<std::string> languages{"Latin"};
  std::string tessdata_dir;
  int line_height = 40;            // rectified lines are scaled to this height in pixels
  double min_confidence = 0.40;    // mean word confidence (0..1) a line needs
  double min_word_confidence = 0.30;  // words below are dropped from their line
  int min_alnum = 2;
  int min_region_height = 6;       // regions lower than this (original pixels) are not read
  std::vector<std::string> reread_languages{"eng", "deu", "fra"};  // re-read doubtful lines (empty: off)
  double reread_below = 0.8;       // lines read with less confidence than this are read again
  RereadScope reread_scope = RereadScope::needed;  // which of them the re-read models read (reread_scope.hpp)
  std::string second_reader = "ppocr";     // ppocr: PP-OCRv4's recogniser reads every line too | none
  std::string ppocr_models;                // folder with rec-<width>.onnx and keys.txt; empty: models/ppocr-rec
  // The frozen widths used, each line read by the narrowest it fits; wider lines are Tesseract's alone.
  std::vector<int> ppocr_widths{96, 128, 160, 224, 320, 480, 640};
  std::string if_ppocr_missing = "tesseract";  // tesseract: read with Tesseract alone (run.json says why) | error
  VoteOptions vote;
  double ppocr_skip_above = 0.95;  // PP-OCR skips lines Tesseract read this surely ...
  bool ppocr_skip_needs_dictionary = true;  // ... every word in its dictionary (false: whatever the words)
  static TesseractLineOptions read(OptionReader& options);
};

// How many times each reader read a line, over the stage's life (for benchmarks and tests).
struct LineReads {
  std::size_t tesseract = 0;       // first readings
  std::size_t other_polarity = 0;  // doubtful lines read again inverted
  std::size_t reread_models = 0;   // ... and by the re-read models
  std::size_t ppocr = 0;
};

class TesseractLineStage final : public Stage {
 public:
  explicit TesseractLineStage(TesseractLineOptions options);
  std::string_view id() const override { return "ocr.tesseract_line"; }
  void prepare() override;
  nlohmann::ordered_json resources() const override;
  void process(ImageRecord& image, StageResult& out) override;
  // One region of the image read as a line: word quads in the image's pixels.
  LineReading read_region(const cv::Mat& bgr, const cv::Mat& gray, const std::array<cv::Point2f, 4>& quad);
  LineReads reads() const;

 private:
  LineReading read_line(TesseractEngines& engines, const cv::Mat& line_gray);
  // A doubtful reading of `line` (grey, rectified) read again in the other polarity, then by the re-read
  // models where `worth_models` says so, given both polarities' texts; the surest reading is left in `reading`.
  void reread(const cv::Mat& line, bool dark, LineReading& reading,
              const std::function<bool(const std::string&)>& worth_models);
  // Word quads from the padded line's pixels to the image's.
  void to_original(std::vector<Word>& words, const std::array<cv::Point2f, 4>& quad) const;
  // Whether Tesseract's first reading is sure enough that PP-OCR need not read the line.
  bool sure_of_itself(const LineReading& reading) const;
  LineReading read_with_ppocr(const cv::Mat& bgr, const std::array<cv::Point2f, 4>& quad);

  TesseractLineOptions options_;
  TesseractEngines engines_;
  std::unique_ptr<TesseractEngines> reread_engines_;
  std::unique_ptr<PpocrReader> ppocr_;
  std::string ppocr_missing_;  // why the second reader is off, when if_ppocr_missing let the run go on
  std::atomic<std::size_t> first_reads_{0}, other_polarity_reads_{0}, reread_model_reads_{0}, ppocr_reads_{0};
};

// The region cut out of `gray` and warped to an upright line `height` pixels high.
cv::Mat rectify_line(const cv::Mat& gray, const std::array<cv::Point2f, 4>& quad, int height);
// The perspective transform rectify_line() applies (line pixels from original pixels).
cv::Mat line_transform(const std::array<cv::Point2f, 4>& quad, int height, int* width = nullptr);

// Word quads read in a line rectified from `quad` at `height` pixels (shifted by `offset` within it, e.g. a
// margin) mapped back into the image's pixels.
void map_words_back(std::vector<Word>& words, const std::array<cv::Point2f, 4>& quad, int height, cv::Point2f offset);

// Whether a rectified line's background is darker than its text (light text on a dark sign).
bool dark_background(const cv::Mat& line);
// The line made ready for Tesseract: inverted if asked, contrast stretched, a white margin added.
cv::Mat prepare_line(const cv::Mat& line, bool invert);
// prepare_line() with the polarity dark_background() guesses: text dark on light, as Tesseract prefers.
cv::Mat normalise_polarity(const cv::Mat& line);

}  // namespace cluetrace::ocr
