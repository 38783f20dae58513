// Developer tool: reads labelled word crops with the OCR stage's Tesseract line reader and with the PP-OCRv4
// reader, and prints one TSV row per word with both readings and their confidences, to calibrate how the
// two are combined.
//
//   compare_readers words DIR [OPTIONS]  DIR/labels.tsv: path TAB word (../shared/data/iiit5k-words)
//   compare_readers boxes DIR [OPTIONS]  DIR/truth.jsonl: texts[] with text and box (../shared/data/icdar2003-scene)
//
// Options: --ppocr-models FOLDER (rec-<width>.onnx and keys.txt; default models/ppocr-rec), --ppocr-widths
// W1,W2,... (default the stage's), --ppocr-only (PP-OCR's reading alone; the Tesseract columns are left empty).
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/models.hpp"
#include "stages/ocr/ppocr_reader.hpp"
#include "stages/ocr/tesseract_line.hpp"

namespace {

using namespace cluetrace;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

std::string clean(std::string s) {
  for (auto& c : s) {
    if (c == '\t' || c == '\n') c = ' ';
  }
  return s;
}

struct Settings {
  std::filesystem::path ppocr_models = models_dir() / "ppocr-rec";
  std::vector<int> ppocr_widths = ocr::TesseractLineOptions{}.ppocr_widths;
  bool ppocr_only = false;
};

ocr::TesseractLineOptions tesseract_alone() {
  ocr::TesseractLineOptions options;
  options.second_reader = "none";
  return options;
}

ocr::TesseractLineOptions both_readers(const Settings& settings) {
  ocr::TesseractLineOptions options;
  options.ppocr_models = settings.ppocr_models.string();
  options.ppocr_widths = settings.ppocr_widths;
  return options;
}

struct Readers {
  explicit Readers(const Settings& s)
      : only_ppocr(s.ppocr_only), stage(both_readers(s)), ppocr(s.ppocr_models, s.ppocr_widths) {}
  bool only_ppocr;
  ocr::TesseractLineStage tesseract{tesseract_alone()};
  ocr::TesseractLineStage stage;  // both readers, as the pipeline runs them
  ocr::PpocrReader ppocr;
};

void compare(Readers& r, const std::string& id, const cv::Mat& bgr, cv::Rect box, const std::string& truth) {
  box &= cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (box.width < 2 || box.height < 2) return;
  const auto x0 = static_cast<float>(box.x), y0 = static_cast<float>(box.y);
  const auto x1 = static_cast<float>(box.br().x), y1 = static_cast<float>(box.br().y);
  cv::Mat gray;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  auto t = Clock::now();
  const std::array<cv::Point2f, 4> quad{cv::Point2f(x0, y0), {x1, y0}, {x1, y1}, {x0, y1}};
  const auto tess = r.only_ppocr ? ocr::LineReading{} : r.tesseract.read_region(bgr, gray, quad);
  const double tess_ms = ms_since(t);
  bool all_dictionary = !tess.words.empty();
  double min_word = tess.words.empty() ? 0 : 1;
  for (const auto& w : tess.words) {
    all_dictionary = all_dictionary && w.dictionary;
    min_word = std::min(min_word, w.confidence);
  }
  t = Clock::now();
  const auto pp = r.ppocr.read(bgr(box));
  const double pp_ms = ms_since(t);
  std::string text;
  double sum = 0, lowest = pp.characters.empty() ? 0 : 1;
  for (const auto& c : pp.characters) {
    text += c.utf8;
    sum += c.probability;
    lowest = std::min(lowest, static_cast<double>(c.probability));
  }
  const auto combined = r.only_ppocr ? ocr::LineReading{} : r.stage.read_region(bgr, gray, quad);
  const double mean = pp.characters.empty() ? 0 : sum / static_cast<double>(pp.characters.size());
  std::cout << id << '\t' << clean(truth) << '\t' << clean(tess.text) << '\t' << tess.confidence << '\t' << min_word
            << '\t' << all_dictionary << '\t' << clean(text) << '\t' << mean << '\t' << lowest << '\t' << box.width
            << '\t' << box.height << '\t' << tess_ms << '\t' << pp_ms << '\t' << clean(combined.text) << '\n';
}

std::vector<int> widths_from(const std::string& list) {
  std::vector<int> widths;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) widths.push_back(std::stoi(item));
  return widths;
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  bool usable = argc >= 3;
  for (int i = 3; usable && i < argc; ++i) {
    const std::string option = argv[i];
    if (option == "--ppocr-only") {
      settings.ppocr_only = true;
    } else if (option == "--ppocr-models" && i + 1 < argc) {
      settings.ppocr_models = argv[++i];
    } else if (option == "--ppocr-widths" && i + 1 < argc) {
      settings.ppocr_widths = widths_from(argv[++i]);
    } else {
      usable = false;
    }
  }
  if (!usable) {
    std::cerr << "usage: compare_readers words|boxes DIR [--ppocr-models FOLDER] [--ppocr-widths W1,W2,...] [--ppocr-only]\n";
    return 2;
  }
  const std::string kind = argv[1];
  const std::filesystem::path dir = argv[2];
  Readers r(settings);
  if (!r.only_ppocr) {
    r.tesseract.prepare();
    r.stage.prepare();
  }
  r.ppocr.prepare();
  std::cout << "id\ttruth\ttess\ttess_conf\ttess_min_word\ttess_dict\tpp\tpp_mean\tpp_min\tw\th\ttess_ms\tpp_ms\tcombined\n";
  if (kind == "words") {
    std::ifstream in(dir / "labels.tsv");
    std::string line;
    while (std::getline(in, line)) {
      const auto tab = line.find('\t');
      if (tab == std::string::npos) continue;
      const auto path = line.substr(0, tab);
      const cv::Mat bgr = cv::imread((dir / path).string(), cv::IMREAD_COLOR);
      if (bgr.empty()) continue;
      compare(r, path, bgr, cv::Rect(0, 0, bgr.cols, bgr.rows), line.substr(tab + 1));
    }
  } else {
    std::ifstream in(dir / "truth.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line);
      const auto name = j.at("image").get<std::string>();
      auto file = dir / "images" / name;
      if (!std::filesystem::exists(file)) file = dir / name;
      const cv::Mat bgr = cv::imread(file.string(), cv::IMREAD_COLOR);
      if (bgr.empty()) continue;
      int k = 0;
      for (const auto& text : j.at("texts")) {
        const auto b = text.at("box");
        const int x = b[0], y = b[1], w = b[2], h = b[3];
        const int m = std::max(1, h / 10);
        compare(r, name + "#" + std::to_string(k++), bgr, cv::Rect(x - m, y - m, w + 2 * m, h + 2 * m),
                text.at("text").get<std::string>());
      }
    }
  }
  return 0;
}
