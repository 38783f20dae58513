#include "stages/ocr/tesseract_page.hpp"

#include <tesseract/baseapi.h>
#include <tesseract/resultiterator.h>

#include <stdexcept>

#include <opencv2/imgproc.hpp>

#include "stages/ocr/tessdata_archive.hpp"

namespace cluetrace::ocr {
namespace {

tesseract::PageSegMode to_psm(const std::string& name) {
  if (name == "sparse") return tesseract::PSM_SPARSE_TEXT;
  if (name == "single_block") return tesseract::PSM_SINGLE_BLOCK;
  return tesseract::PSM_AUTO;
}

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

}  // namespace

TesseractPageOptions TesseractPageOptions::read(OptionReader& o) {
  TesseractPageOptions opts;
  read_language_options(o, opts.languages, opts.tessdata_dir);
  opts.page_segmentation = o.get_string("page_segmentation", opts.page_segmentation, {"auto", "sparse", "single_block"});
  opts.min_confidence = o.get_double("min_confidence", opts.min_confidence, 0.0, 1.0);
  opts.min_alnum = static_cast<int>(o.get_int("min_alnum", opts.min_alnum, 0, 100));
  return opts;
}

TesseractPageStage::TesseractPageStage(TesseractPageOptions options)
    : options_(std::move(options)), engines_(options_.languages, options_.tessdata_dir, prepared_tessdata_dir()) {}

void TesseractPageStage::process(ImageRecord& image, StageResult& out) {
  auto* api = &engines_.local();
  api->SetPageSegMode(to_psm(options_.page_segmentation));
  const cv::Mat gray = image.grey();
  for (const auto& region : image.text_regions) {
    cv::Rect rect = cv::boundingRect(std::vector<cv::Point2f>(region.quad.begin(), region.quad.end()));
    rect &= cv::Rect(0, 0, gray.cols, gray.rows);
    if (rect.width < 4 || rect.height < 4) continue;
    const cv::Mat crop = gray(rect).clone();
    api->SetImage(crop.data, crop.cols, crop.rows, 1, static_cast<int>(crop.step));
    api->SetSourceResolution(300);
    if (api->Recognize(nullptr) != 0) throw std::runtime_error("Tesseract recognition failed");
    std::unique_ptr<tesseract::ResultIterator> it(api->GetIterator());
    if (!it) continue;
    do {
      std::unique_ptr<char[]> raw(it->GetUTF8Text(tesseract::RIL_TEXTLINE));
      if (!raw) continue;
      const std::string text = trim(raw.get());
      const double confidence = it->Confidence(tesseract::RIL_TEXTLINE) / 100.0;
      if (text.empty() || confidence < options_.min_confidence || !plausible_text(text, options_.min_alnum)) continue;
      int x1 = 0, y1 = 0, x2 = 0, y2 = 0;
      if (!it->BoundingBox(tesseract::RIL_TEXTLINE, &x1, &y1, &x2, &y2)) continue;
      Clue clue;
      clue.kind = ClueKind::text;
      clue.value = text;
      clue.confidence = confidence;
      clue.box = Box{rect.x + x1, rect.y + y1, x2 - x1, y2 - y1};
      clue.stage = std::string(id());
      out.clues.push_back(std::move(clue));
    } while (it->Next(tesseract::RIL_TEXTLINE));
    api->Clear();
  }
}

}  // namespace cluetrace::ocr
