#include "stages/ocr/tesseract_page.hpp"

#include <leptonica/allheaders.h>
#include <tesseract/baseapi.h>
#include <tesseract/resultiterator.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

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

bool plausible_text(std::string_view utf8, int min_alnum) {
  int alnum = 0, other = 0;
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c >= 0x80) {
      // A multi-byte UTF-8 sequence: count its lead byte as one letter (accented Latin, etc.).
      if ((c & 0xC0) == 0xC0) ++alnum;
      continue;
    }
    if (std::isalnum(c)) {
      ++alnum;
    } else if (!std::isspace(c)) {
      ++other;
    }
  }
  return alnum >= min_alnum && alnum >= other;
}

TesseractPageOptions TesseractPageOptions::read(OptionReader& o) {
  TesseractPageOptions opts;
  opts.languages = o.get_string_list("languages", opts.languages);
  if (opts.languages.empty()) o.problem("languages", "needs at least one Tesseract language");
  opts.tessdata_dir = o.get_string("tessdata_dir", opts.tessdata_dir);
  opts.page_segmentation = o.get_string("page_segmentation", opts.page_segmentation, {"auto", "sparse", "single_block"});
  opts.min_confidence = o.get_double("min_confidence", opts.min_confidence, 0.0, 1.0);
  opts.min_alnum = static_cast<int>(o.get_int("min_alnum", opts.min_alnum, 0, 100));
  return opts;
}

TesseractPageStage::TesseractPageStage(TesseractPageOptions options) : options_(std::move(options)) {
  language_string_ = fmt::format("{}", fmt::join(options_.languages, "+"));
}

TesseractPageStage::~TesseractPageStage() = default;

std::unique_ptr<tesseract::TessBaseAPI> TesseractPageStage::make_api() const {
  auto api = std::make_unique<tesseract::TessBaseAPI>();
  const char* datapath = options_.tessdata_dir.empty() ? nullptr : options_.tessdata_dir.c_str();
  // debug_file keeps Tesseract's own chatter (including its load errors) off the analyst's terminal;
  // the exceptions below say what went wrong instead.
  std::vector<std::string> names{"debug_file"}, values{"/dev/null"};
  if (api->Init(datapath, language_string_.c_str(), tesseract::OEM_LSTM_ONLY, nullptr, 0, &names, &values, false) != 0) {
    throw std::runtime_error(fmt::format(
        "Tesseract cannot load languages '{}' from {} (install tesseract-ocr-<lang> or set stages.ocr.tessdata_dir)",
        language_string_, options_.tessdata_dir.empty() ? "the system tessdata folder" : options_.tessdata_dir));
  }
  // Init succeeds when any one of the languages loads: insist on all of them.
  std::vector<std::string> loaded;
  api->GetLoadedLanguagesAsVector(&loaded);
  for (const auto& lang : options_.languages) {
    if (std::find(loaded.begin(), loaded.end(), lang) == loaded.end()) {
      throw std::runtime_error(fmt::format("Tesseract cannot load language '{}' (of '{}') from {} (install "
                                           "tesseract-ocr-{} or set stages.ocr.tessdata_dir)",
                                           lang, language_string_, api->GetDatapath(), lang));
    }
  }
  api->SetPageSegMode(to_psm(options_.page_segmentation));
  return api;
}

void TesseractPageStage::prepare() {
  setMsgSeverity(L_SEVERITY_ERROR);
  // Fail at start-up, not on the first image, when a language is missing.
  for (const auto& lang : options_.languages) {
    if (lang.find_first_of("/\\") != std::string::npos || lang.empty()) {
      throw std::runtime_error(fmt::format("'{}' is not a Tesseract language name", lang));
    }
  }
  auto api = make_api();
  datapath_ = api->GetDatapath();
}

nlohmann::ordered_json TesseractPageStage::resources() const {
  nlohmann::ordered_json j{{"languages", language_string_}, {"tessdata", datapath_}};
  for (const auto& lang : options_.languages) {
    const auto file = std::filesystem::path(datapath_) / (lang + ".traineddata");
    std::error_code ec;
    j["traineddata"][lang] = {{"path", file.string()}, {"bytes", std::filesystem::file_size(file, ec)}};
  }
  return j;
}

void TesseractPageStage::process(ImageRecord& image, StageResult& out) {
  auto& api = apis_.local();
  if (!api) api = make_api();
  cv::Mat gray;
  cv::cvtColor(image.pixels, gray, cv::COLOR_BGR2GRAY);
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
