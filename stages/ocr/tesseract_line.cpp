#include "stages/ocr/tesseract_line.hpp"

#include <tesseract/baseapi.h>
#include <tesseract/resultiterator.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include <opencv2/imgproc.hpp>
#include <spdlog/spdlog.h>

#include "pipeline/fold.hpp"
#include "pipeline/models.hpp"
#include "stages/ocr/tessdata_archive.hpp"

namespace cluetrace::ocr {
namespace {

double distance(cv::Point2f a, cv::Point2f b) { return std::hypot(a.x - b.x, a.y - b.y); }

constexpr int kPpocrHeight = 48;  // the height PP-OCR's recogniser reads lines at

// The white border prepare_line() puts around a line of this height.
int line_margin(int height) { return std::max(8, height / 3); }

}  // namespace

void map_words_back(std::vector<Word>& words, const std::array<cv::Point2f, 4>& quad, int height, cv::Point2f offset) {
  if (words.empty()) return;
  const cv::Mat to_original = line_transform(quad, height).inv();
  for (auto& word : words) {
    std::vector<cv::Point2f> corners(word.quad.begin(), word.quad.end()), mapped;
    for (auto& p : corners) p -= offset;
    cv::perspectiveTransform(corners, mapped, to_original);
    std::copy(mapped.begin(), mapped.end(), word.quad.begin());
  }
}

TesseractLineOptions TesseractLineOptions::read(OptionReader& o) {
  TesseractLineOptions opts;
  read_language_options(o, opts.languages, opts.tessdata_dir);
  opts.line_height = static_cast<int>(o.get_int("line_height", opts.line_height, 16, 200));
  opts.min_confidence = o.get_double("min_confidence", opts.min_confidence, 0.0, 1.0);
  opts.min_word_confidence = o.get_double("min_word_confidence", opts.min_word_confidence, 0.0, 1.0);
  opts.min_alnum = static_cast<int>(o.get_int("min_alnum", opts.min_alnum, 0, 100));
  opts.min_region_height = static_cast<int>(o.get_int("min_region_height", opts.min_region_height, 1, 1000));
  opts.reread_languages = o.get_string_list("reread_languages", opts.reread_languages);
  opts.reread_below = o.get_double("reread_below", opts.reread_below, 0.0, 1.0);
  opts.reread_scope = o.get_string("reread_scope", "needed", {"needed", "all"}) == "all" ? RereadScope::all
                                                                                             : RereadScope::needed;
  opts.second_reader = o.get_string("second_reader", opts.second_reader, {"ppocr", "none"});
  opts.ppocr_models = o.get_string("ppocr_models", opts.ppocr_models);
  std::vector<std::string> widths;
  for (const int w : opts.ppocr_widths) widths.push_back(std::to_string(w));
  widths = o.get_string_list("ppocr_widths", widths);
  opts.ppocr_widths.clear();
  for (const auto& w : widths) {
    int value = 0;
    const auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), value);
    if (ec != std::errc() || end != w.data() + w.size() || value < 8 || value > 4096 || value % 8 != 0) {
      o.problem("ppocr_widths", "each width must be a multiple of 8 from 8 to 4096");
    } else {
      opts.ppocr_widths.push_back(value);
    }
  }
  opts.if_ppocr_missing = o.get_string("if_ppocr_missing", opts.if_ppocr_missing, {"tesseract", "error"});
  opts.vote.sure = o.get_double("ppocr_sure", opts.vote.sure, 0.0, 1.0);
  opts.vote.doubt = o.get_double("ppocr_doubt", opts.vote.doubt, 0.0, 1.0);
  opts.ppocr_skip_above = o.get_double("ppocr_skip_above", opts.ppocr_skip_above, 0.0, 1.01);
  opts.ppocr_skip_needs_dictionary = o.get_bool("ppocr_skip_needs_dictionary", opts.ppocr_skip_needs_dictionary);
  return opts;
}

TesseractLineStage::TesseractLineStage(TesseractLineOptions options)
    : options_(std::move(options)), engines_(options_.languages, options_.tessdata_dir, prepared_tessdata_dir()) {
  if (!options_.reread_languages.empty()) {
    reread_engines_ = std::make_unique<TesseractEngines>(options_.reread_languages, options_.tessdata_dir);
  }
}

void TesseractLineStage::prepare() {
  engines_.check();
  if (reread_engines_) reread_engines_->check();
  if (options_.second_reader != "ppocr") return;
  ppocr_ = std::make_unique<PpocrReader>(resolve_model_path(options_.ppocr_models, "ppocr-rec"), options_.ppocr_widths);
  try {
    ppocr_->prepare();
  } catch (const std::runtime_error& e) {
    if (options_.if_ppocr_missing == "error") throw;
    ppocr_missing_ = e.what();
    ppocr_.reset();
    spdlog::warn("ocr: second reader off: {}", ppocr_missing_);
  }
}

nlohmann::ordered_json TesseractLineStage::resources() const {
  auto j = engines_.resources();
  if (reread_engines_) j["reread"] = reread_engines_->resources();
  if (ppocr_) j["ppocr"] = ppocr_->resources();
  if (!ppocr_missing_.empty()) j["ppocr"] = {{"off", ppocr_missing_}};
  return j;
}

cv::Mat line_transform(const std::array<cv::Point2f, 4>& q, int height, int* width) {
  const double w = std::max(distance(q[0], q[1]), distance(q[3], q[2]));
  const double h = std::max(distance(q[0], q[3]), distance(q[1], q[2]));
  if (w < 1 || h < 1) return {};
  const int out_w = std::clamp(static_cast<int>(std::lround(w * height / h)), 1, 8000);
  if (width) *width = out_w;
  const std::array<cv::Point2f, 4> dst{cv::Point2f(0, 0), cv::Point2f(static_cast<float>(out_w), 0),
                                       cv::Point2f(static_cast<float>(out_w), static_cast<float>(height)),
                                       cv::Point2f(0, static_cast<float>(height))};
  return cv::getPerspectiveTransform(q.data(), dst.data());
}

cv::Mat rectify_line(const cv::Mat& gray, const std::array<cv::Point2f, 4>& q, int height) {
  int out_w = 0;
  const cv::Mat m = line_transform(q, height, &out_w);
  if (m.empty()) return {};
  const double h = std::max(distance(q[0], q[3]), distance(q[1], q[2]));
  cv::Mat line;
  cv::warpPerspective(gray, line, m, cv::Size(out_w, height), height > h ? cv::INTER_CUBIC : cv::INTER_AREA,
                      cv::BORDER_REPLICATE);
  return line;
}

bool dark_background(const cv::Mat& line) {
  cv::Mat binary;
  cv::threshold(line, binary, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
  // The region's outer rows and columns are mostly background: whichever Otsu class holds most of them
  // is the background.
  const int ring = std::max(1, line.rows / 8);
  const cv::Rect inner(ring, ring, std::max(0, line.cols - 2 * ring), std::max(0, line.rows - 2 * ring));
  const int all_light = cv::countNonZero(binary);
  const int inner_light = inner.area() > 0 ? cv::countNonZero(binary(inner)) : 0;
  const int ring_pixels = static_cast<int>(binary.total()) - inner.area();
  return 2 * (all_light - inner_light) < ring_pixels;
}

cv::Mat prepare_line(const cv::Mat& line, bool invert) {
  cv::Mat upright = invert ? cv::Mat(255 - line) : line;
  cv::Mat stretched, padded;
  // Stretch contrast so faint text binarises cleanly inside Tesseract.
  cv::normalize(upright, stretched, 0, 255, cv::NORM_MINMAX);
  const int margin = line_margin(line.rows);
  cv::copyMakeBorder(stretched, padded, margin, margin, margin, margin, cv::BORDER_CONSTANT, cv::Scalar(255));
  return padded;
}

cv::Mat normalise_polarity(const cv::Mat& line) { return prepare_line(line, dark_background(line)); }

LineReading TesseractLineStage::read_line(TesseractEngines& engines, const cv::Mat& line) {
  auto& api = engines.local();
  api.SetPageSegMode(tesseract::PSM_SINGLE_LINE);
  api.SetImage(line.data, line.cols, line.rows, 1, static_cast<int>(line.step));
  api.SetSourceResolution(300);
  LineReading reading;
  if (api.Recognize(nullptr) != 0) throw std::runtime_error("Tesseract recognition failed");
  std::unique_ptr<tesseract::ResultIterator> it(api.GetIterator());
  double weighted = 0, weight = 0;
  if (it) {
    do {
      std::unique_ptr<char[]> raw(it->GetUTF8Text(tesseract::RIL_WORD));
      if (!raw) continue;
      const std::string word(raw.get());
      const double conf = it->Confidence(tesseract::RIL_WORD) / 100.0;
      if (word.empty() || conf < options_.min_word_confidence) continue;
      int x1 = 0, y1 = 0, x2 = 0, y2 = 0;
      it->BoundingBox(tesseract::RIL_WORD, &x1, &y1, &x2, &y2);
      const auto fx1 = static_cast<float>(x1), fy1 = static_cast<float>(y1);
      const auto fx2 = static_cast<float>(x2), fy2 = static_cast<float>(y2);
      reading.words.push_back(
          {word, conf, {cv::Point2f(fx1, fy1), {fx2, fy1}, {fx2, fy2}, {fx1, fy2}}, it->WordIsFromDictionary()});
      if (!reading.text.empty()) reading.text += ' ';
      reading.text += word;
      weighted += conf * static_cast<double>(word.size());
      weight += static_cast<double>(word.size());
      reading.weakest = reading.words.size() == 1 ? conf : std::min(reading.weakest, conf);
    } while (it->Next(tesseract::RIL_WORD));
  }
  api.Clear();
  reading.confidence = weight > 0 ? weighted / weight : 0;
  return reading;
}

void TesseractLineStage::reread(const cv::Mat& line, bool dark, LineReading& reading,
                                const std::function<bool(const std::string&)>& worth_models) {
  // The polarity guess can be wrong on textured or two-tone signs: try the other one too.
  cv::Mat best = prepare_line(line, dark);
  cv::Mat flipped = prepare_line(line, !dark);
  auto second = read_line(engines_, flipped);
  ++other_polarity_reads_;
  const std::string both = reading.text + ' ' + second.text;
  if (second.confidence > reading.confidence) {
    reading = std::move(second);
    best = flipped;
  }
  if (reread_engines_ && reading.confidence < options_.reread_below && worth_models(both)) {
    auto third = read_line(*reread_engines_, best);
    ++reread_model_reads_;
    if (third.confidence > reading.confidence) reading = std::move(third);
  }
}

void TesseractLineStage::to_original(std::vector<Word>& words, const std::array<cv::Point2f, 4>& quad) const {
  // Word boxes come in the padded line's pixels: undo the margin, then the rectification.
  const auto margin = static_cast<float>(line_margin(options_.line_height));
  map_words_back(words, quad, options_.line_height, cv::Point2f(margin, margin));
}

LineReads TesseractLineStage::reads() const {
  return {first_reads_.load(), other_polarity_reads_.load(), reread_model_reads_.load(), ppocr_reads_.load()};
}

bool TesseractLineStage::sure_of_itself(const LineReading& reading) const {
  return !reading.words.empty() && reading.confidence >= options_.ppocr_skip_above &&
         (!options_.ppocr_skip_needs_dictionary ||
          std::all_of(reading.words.begin(), reading.words.end(), [](const Word& w) { return w.dictionary; }));
}

LineReading TesseractLineStage::read_with_ppocr(const cv::Mat& bgr, const std::array<cv::Point2f, 4>& quad) {
  const cv::Mat line = rectify_line(bgr, quad, kPpocrHeight);
  if (line.empty()) return {};
  auto reading = words_from_steps(ppocr_->read(line), kPpocrHeight, options_.min_word_confidence);
  map_words_back(reading.words, quad, kPpocrHeight, cv::Point2f(0, 0));
  return reading;
}

LineReading TesseractLineStage::read_region(const cv::Mat& bgr, const cv::Mat& gray,
                                            const std::array<cv::Point2f, 4>& quad) {
  const cv::Mat line = rectify_line(gray, quad, options_.line_height);
  if (line.empty()) return {};
  const bool dark = dark_background(line);
  auto tesseract = read_line(engines_, prepare_line(line, dark));
  ++first_reads_;
  // PP-OCR reads every line Tesseract is not sure of (sure_of_itself); where the re-read models' turn depends
  // on its reading, it reads the line before them.
  LineReading ppocr;
  bool ppocr_read = false;
  const auto read_second = [&] {
    if (ppocr_ && !ppocr_read) {
      ppocr = read_with_ppocr(bgr, quad);
      ++ppocr_reads_;
    }
    ppocr_read = true;
  };
  // Tesseract reads a doubtful line again (other polarity, other models). The re-read models only where their
  // reading can change the line (reread_scope.hpp): PP-OCR unsure of it, or signs PP-OCR cannot spell ("€ 61,69"
  // read as "61,69" where PP-OCR was sure).
  if (tesseract.confidence < options_.reread_below) {
    reread(line, dark, tesseract, [&](const std::string& tesseract_texts) {
      if (options_.reread_scope == RereadScope::all) return true;
      read_second();
      return ppocr.words.empty() || ppocr.weakest < options_.vote.sure || looks_structured(tesseract_texts) ||
             looks_structured(ppocr.text);
    });
  }
  if (sure_of_itself(tesseract)) {
    ppocr = {};  // read early, but a line Tesseract ends sure of is Tesseract's alone
  } else {
    read_second();
  }
  to_original(tesseract.words, quad);
  if (ppocr.words.empty()) return tesseract;
  auto reading = combine_readings(tesseract, ppocr, [this](const std::string& c) { return ppocr_->spells(c); },
                                  options_.vote);
  // Tesseract knows which words are in its dictionary: a word both read alike keeps that knowledge.
  for (auto& word : reading.words) {
    for (const auto& other : tesseract.words) {
      if (other.text == word.text) word.dictionary = other.dictionary;
    }
  }
  return reading;
}

void TesseractLineStage::process(ImageRecord& image, StageResult& out) {
  const cv::Mat gray = image.grey();
  const cv::Rect frame(0, 0, gray.cols, gray.rows);
  for (const auto& region : image.text_regions) {
    const double height = std::max(distance(region.quad[0], region.quad[3]), distance(region.quad[1], region.quad[2]));
    if (height < options_.min_region_height) continue;
    auto reading = read_region(image.pixels, gray, region.quad);
    if (reading.text.empty() || reading.confidence < options_.min_confidence ||
        !plausible_text(reading.text, options_.min_alnum)) {
      continue;
    }
    Clue clue;
    clue.kind = ClueKind::text;
    clue.value = reading.text;
    clue.confidence = reading.confidence;
    clue.quad = region.quad;
    clue.words = std::move(reading.words);
    const cv::Rect box =
        cv::boundingRect(std::vector<cv::Point2f>(region.quad.begin(), region.quad.end())) & frame;
    clue.box = Box{box.x, box.y, box.width, box.height};
    clue.stage = std::string(id());
    out.clues.push_back(std::move(clue));
  }
}

}  // namespace cluetrace::ocr
