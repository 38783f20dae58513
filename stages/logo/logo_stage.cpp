#include "stages/logo/logo_stage.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "pipeline/digest.hpp"
#include "pipeline/models.hpp"
#include "pipeline/timing.hpp"
#include "stages/logo/geometry.hpp"
#include "stages/logo/text_conflict.hpp"

namespace cluetrace::logo {
namespace {

constexpr const char* kDefaultCatalogue = "logos/catalogue.yaml";

// ASCII base letters of U+00C0..U+017F ('.' = not a letter); ß, æ, œ, þ are spelled out below.
constexpr std::string_view kLatin1 = "AAAAAA.CEEEEIIIIDNOOOOO.OUUUUY..aaaaaa.ceeeeiiiidnooooo.ouuuuy.y";
constexpr std::string_view kLatinA =
    "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIi..JjKkkLlLlLlLlLlNnNnNnnNnOoOoOo..RrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";

Box box_of(const std::array<cv::Point2f, 4>& q, int width, int height) {
  const cv::Rect2f b = quad_bounds(q);
  const int ix0 = std::clamp(static_cast<int>(std::floor(b.x)), 0, std::max(0, width - 1));
  const int iy0 = std::clamp(static_cast<int>(std::floor(b.y)), 0, std::max(0, height - 1));
  const int ix1 = std::clamp(static_cast<int>(std::ceil(b.x + b.width)), ix0 + 1, width);
  const int iy1 = std::clamp(static_cast<int>(std::ceil(b.y + b.height)), iy0 + 1, height);
  return {ix0, iy0, ix1 - ix0, iy1 - iy0};
}

std::vector<cv::Rect2f> text_lines(const std::vector<TextRegion>& regions) {
  std::vector<cv::Rect2f> lines;
  lines.reserve(regions.size());
  for (const auto& r : regions) lines.push_back(quad_bounds(r.quad));
  return lines;
}

bool boxes_touch(const Box& a, const Box& b) {
  const int margin = std::max({a.height, b.height, 8}) / 2;
  return a.x - margin < b.x + b.width && b.x - margin < a.x + a.width && a.y - margin < b.y + b.height &&
         b.y - margin < a.y + a.height;
}

}  // namespace

std::string fold_name(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    char32_t cp = c;
    int len = 1;
    if (c >= 0xC0 && c < 0xE0 && i + 1 < text.size()) {
      cp = ((c & 0x1F) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3F), len = 2;
    } else if (c >= 0xE0) {
      len = c < 0xF0 ? 3 : 4;
      cp = 0x10000;  // outside the Latin ranges: dropped
    }
    i += len;
    if (cp < 0x80) {
      if (std::isalnum(static_cast<int>(cp))) out += static_cast<char>(std::tolower(static_cast<int>(cp)));
      continue;
    }
    if (cp == 0xDF) out += "ss";
    else if (cp == 0xC6 || cp == 0xE6) out += "ae";
    else if (cp == 0x152 || cp == 0x153) out += "oe";
    else if (cp == 0xDE || cp == 0xFE) out += "th";
    else if (cp >= 0xC0 && cp <= 0xFF && kLatin1[cp - 0xC0] != '.') out += static_cast<char>(std::tolower(kLatin1[cp - 0xC0]));
    else if (cp >= 0x100 && cp <= 0x17F && kLatinA[cp - 0x100] != '.') out += static_cast<char>(std::tolower(kLatinA[cp - 0x100]));
  }
  return out;
}

LogoOptions LogoOptions::read(OptionReader& o) {
  LogoOptions opts;
  opts.catalogue = o.get_string("catalogue", opts.catalogue);
  opts.if_catalogue_missing = o.get_string("if_catalogue_missing", opts.if_catalogue_missing, {"skip", "error"});
  opts.match.max_side = static_cast<int>(o.get_int("max_side", opts.match.max_side, 256, 8192));
  opts.match.max_features = static_cast<int>(o.get_int("max_features", opts.match.max_features, 100, 100000));
  opts.match.contrast = o.get_double("contrast", opts.match.contrast, 0.001, 0.2);
  opts.match.ratio = o.get_double("ratio", opts.match.ratio, 0.5, 0.99);
  opts.match.min_inliers = static_cast<int>(o.get_int("min_inliers", opts.match.min_inliers, 5, 1000));
  opts.match.min_inlier_share = o.get_double("min_inlier_share", opts.match.min_inlier_share, 0.0, 1.0);
  opts.match.candidates = static_cast<int>(o.get_int("candidates", opts.match.candidates, 1, 1000));
  opts.match.flann_checks = static_cast<int>(o.get_int("flann_checks", opts.match.flann_checks, 8, 4096));
  opts.match.min_spread = o.get_double("min_spread", opts.match.min_spread, 0.0, 1.0);
  opts.match.hough = o.get_bool("hough", opts.match.hough);
  opts.match.coarse_side = static_cast<int>(o.get_int("coarse_side", opts.match.coarse_side, 0, 8192));
  opts.match.coarse_windows = static_cast<int>(o.get_int("coarse_windows", opts.match.coarse_windows, 1, 1000));
  opts.match.coarse_support = static_cast<int>(o.get_int("coarse_support", opts.match.coarse_support, 2, 1000));
  opts.marks = o.get_bool("marks", opts.marks);
  opts.match.shapes = o.get_bool("shapes", opts.match.shapes);
  opts.match.shape.min_iou = o.get_double("shape_min_iou", opts.match.shape.min_iou, 0.3, 1.0);
  opts.match.shape.max_side = static_cast<int>(o.get_int("shape_max_side", opts.match.shape.max_side, 128, 8192));
  opts.match.shape.proposals = static_cast<int>(o.get_int("shape_proposals", opts.match.shape.proposals, 1, 100));
  opts.match.shape.max_signature_distance = o.get_double("shape_max_distance", opts.match.shape.max_signature_distance, 0.01, 1.0);
  opts.match.shape.max_brand_features =
      static_cast<int>(o.get_int("shape_max_brand_features", opts.match.shape.max_brand_features, 0, 100000));
  opts.wordmarks = o.get_bool("wordmarks", opts.wordmarks);
  opts.wordmark_min_length = static_cast<int>(o.get_int("wordmark_min_length", opts.wordmark_min_length, 2, 100));
  opts.wordmark_min_confidence = o.get_double("wordmark_min_confidence", opts.wordmark_min_confidence, 0.0, 1.0);
  opts.text_check = o.get_bool("text_check", opts.text_check);
  opts.text_check_min_confidence = o.get_double("text_check_min_confidence", opts.text_check_min_confidence, 0.0, 1.0);
  opts.text_check_min_coverage = o.get_double("text_check_min_coverage", opts.text_check_min_coverage, 0.0, 1.0);
  opts.text_check_keep_inliers = static_cast<int>(o.get_int("text_check_keep_inliers", opts.text_check_keep_inliers, 5, 100000));
  return opts;
}

void LogoStage::prepare() {
  const auto start = std::chrono::steady_clock::now();
  catalogue_path_ = resolve_model_path(options_.catalogue, kDefaultCatalogue);
  if (!std::filesystem::is_regular_file(catalogue_path_)) {
    missing_reason_ = fmt::format("logo catalogue {} is missing (set-up builds the default one; "
                                  "`cluetrace catalogue add` starts your own)",
                                  catalogue_path_.string());
    if (options_.if_catalogue_missing == "error") throw std::runtime_error(missing_reason_);
    return;
  }
  catalogue_ = load_catalogue(catalogue_path_);
  if (options_.marks) load_matcher();
  index_names();
  prepare_ms_ = ms_since(start);
}

// The catalogue's compiled index (features and silhouettes of every reference) and the matcher over it.
void LogoStage::load_matcher() {
  const auto index_path = catalogue_.index_file();
  if (!std::filesystem::is_regular_file(index_path))
    throw std::runtime_error(fmt::format("{}: no compiled index beside it ({}): run `cluetrace catalogue build {}`",
                                         catalogue_path_.string(), index_path.string(), catalogue_path_.string()));
  auto index = read_index(index_path);
  std::set<std::string> have;
  for (const auto& r : index.references) have.insert(r.key);
  for (const auto& reference : reference_keys(catalogue_)) {
    const auto& key = reference.first;  // named, not bound: the lambda captures it (clang 14)
    const auto& where = reference.second;
    if (std::any_of(kReferenceSides.begin(), kReferenceSides.end(),
                    [&](int side) { return !have.count(fmt::format("{}:s{}", key, side)); }))
      throw std::runtime_error(fmt::format("{}: the index is out of date (brand {}, reference {} changed or was added): run "
                                           "`cluetrace catalogue build {}`",
                                           catalogue_path_.string(), where.first->id, where.second->file.string(),
                                           catalogue_path_.string()));
  }
  // Only the references the catalogue names now (an index may hold features of removed brands).
  std::set<std::string> wanted;
  for (const auto& b : catalogue_.brands) wanted.insert(b.id);
  std::erase_if(index.references, [&](const ReferenceFeatures& r) { return !wanted.count(r.brand); });
  matcher_ = std::make_unique<Matcher>(std::move(index), options_.match);
}

// Every brand by its id, its names folded for the text check, and the names that count as wordmarks.
void LogoStage::index_names() {
  for (const auto& b : catalogue_.brands) {
    by_id_[b.id] = &b;
    auto& folded = folded_names_[b.id];
    for (const auto& n : b.aliases) folded.push_back(fold_name(n));
    folded.push_back(fold_name(b.name));
    folded.push_back(fold_name(b.id));
    std::erase_if(folded, [](const std::string& f) { return f.size() < 3; });
    if (!b.wordmark) continue;
    std::vector<std::string> names{b.name};
    names.insert(names.end(), b.aliases.begin(), b.aliases.end());
    for (const auto& n : names) {
      const auto key = fold_name(n);
      if (static_cast<int>(key.size()) < options_.wordmark_min_length) continue;
      by_wordmark_.emplace(key, &b);
      longest_wordmark_words_ = std::max<std::size_t>(longest_wordmark_words_, std::count(n.begin(), n.end(), ' ') + 1);
    }
  }
  longest_wordmark_words_ = std::min<std::size_t>(longest_wordmark_words_, 4);
}

nlohmann::ordered_json LogoStage::resources() const {
  nlohmann::ordered_json j{{"catalogue", catalogue_path_.string()}};
  if (!missing_reason_.empty()) {
    j["missing"] = missing_reason_;
    return j;
  }
  j["brands"] = catalogue_.brands.size();
  j["marks"] = options_.marks;
  if (matcher_) {
    j["references"] = matcher_->reference_count();
    j["descriptors"] = matcher_->descriptor_count();
    // How many silhouettes are matched by shape, and how many references' models came prepared from the index
    // (`cluetrace catalogue build`) rather than made at the start.
    if (const auto* shapes = matcher_->shapes())
      j["silhouettes"] = {{"models", shapes->model_count()}, {"prepared_in_index", shapes->prepared_count()}};
    j["kd_trees"] = matcher_->trees_from_index() ? "prepared in the index" : "built at the start";
  }
  j["wordmarks"] = options_.wordmarks ? by_wordmark_.size() : 0;
  return j;
}

Clue LogoStage::make_clue(const Brand& brand, double confidence) const {
  Clue c;
  c.kind = ClueKind::logo;
  c.value = brand.id;
  c.confidence = std::clamp(confidence, 0.0, 1.0);
  c.stage = std::string(id());
  if (!brand.global) c.countries = brand.countries;
  return c;
}

void LogoStage::process(ImageRecord& image, StageResult& out) {
  before_ocr(image, out);
  after_ocr(image, out);
}

void LogoStage::before_ocr(const ImageRecord& image, StageResult& out) {
  if (!matcher_) return;
  // A mark needs room: strips and icons smaller than this hold none (and MSER refuses them).
  constexpr int kMinSide = 16;
  if (image.pixels.cols < kMinSide || image.pixels.rows < kMinSide) return;
  // A letter is a concave one-part shape too: a silhouette inside a line of text (the text detector's
  // regions) is a glyph, not a mark. The matcher does not try silhouettes on the glyphs of these lines,
  // and a silhouette placed across one is dropped here.
  const auto lines = text_lines(image.text_regions);
  for (const auto& d : matcher_->match(image.grey(), nullptr, lines)) {
    if (d.method == "shape" && inside_text_line(quad_bounds(d.quad), lines)) continue;
    out.clues.push_back(mark_clue(d, image));
  }
}

void LogoStage::after_ocr(ImageRecord& image, StageResult& out) {
  if (!missing_reason_.empty()) return;
  // A wordmark matched by its letter shapes onto printed words that OCR read as something else.
  if (options_.text_check) {
    const auto& ocr = image.stage_results[static_cast<std::size_t>(StageKind::ocr)].clues;
    std::erase_if(out.clues, [&](const Clue& c) {
      return c.details.value("method", "") == "features" && c.quad &&
             c.details.value("inliers", 0) < options_.text_check_keep_inliers &&
             text_conflict(quad_bounds(*c.quad), folded_names_.at(c.value), ocr, options_.text_check_min_confidence,
                           options_.text_check_min_coverage)
                 .contradicts;
    });
  }
  if (options_.wordmarks) add_wordmarks(image, out.clues);
}

Clue LogoStage::mark_clue(const Detection& d, const ImageRecord& image) const {
  const Brand* brand = by_id_.at(d.brand);
  Clue c = make_clue(*brand, d.confidence);
  c.quad = d.quad;
  c.box = box_of(d.quad, image.width, image.height);
  c.details = {{"name", brand->name}, {"category", brand->category}, {"global", brand->global}, {"method", d.method}};
  if (d.method == "shape") {
    c.details["iou"] = std::round(d.iou * 1000) / 1000;
    c.details["reference"] = d.reference;
    c.explanation = fmt::format("{} mark: a region of the image has its shape; the whole silhouette of {} covers the ink "
                                "there (IoU {:.2f})",
                                brand->name, d.reference, d.iou);
  } else {
    c.details["inliers"] = d.inliers;
    c.details["matches"] = d.matches;
    c.details["reference"] = d.reference;
    c.explanation = fmt::format("{} mark: {} SIFT matches agree on one homography with reference {}", brand->name,
                                d.inliers, d.reference);
  }
  return c;
}

void LogoStage::add_wordmarks(const ImageRecord& image, std::vector<Clue>& clues) const {
  const auto& text = image.stage_results[static_cast<std::size_t>(StageKind::ocr)].clues;
  for (const auto& line : text) {
    if (line.kind != ClueKind::text) continue;
    struct W {
      std::string folded;
      double confidence;
      std::optional<std::array<cv::Point2f, 4>> quad;
    };
    std::vector<W> words;
    if (!line.words.empty()) {
      for (const auto& w : line.words) words.push_back({fold_name(w.text), w.confidence, w.quad});
    } else {
      std::string word;
      for (char ch : line.value + " ") {
        if (ch == ' ') {
          if (!word.empty()) words.push_back({fold_name(word), line.confidence, line.quad});
          word.clear();
        } else {
          word += ch;
        }
      }
    }
    for (std::size_t i = 0; i < words.size(); ++i) {
      std::string key;
      double conf = 1;
      for (std::size_t n = 1; n <= longest_wordmark_words_ && i + n <= words.size(); ++n) {
        key += words[i + n - 1].folded;
        conf = std::min(conf, words[i + n - 1].confidence);
        const auto it = by_wordmark_.find(key);
        if (it == by_wordmark_.end() || conf < options_.wordmark_min_confidence) continue;
        const Brand& brand = *it->second;
        std::vector<cv::Point2f> pts;
        for (std::size_t k = i; k < i + n; ++k)
          if (words[k].quad) pts.insert(pts.end(), words[k].quad->begin(), words[k].quad->end());
        std::optional<Box> box;
        if (!pts.empty()) {
          const cv::Rect r = cv::boundingRect(pts);
          box = box_of({cv::Point2f(float(r.x), float(r.y)), cv::Point2f(float(r.x + r.width), float(r.y)), cv::Point2f(float(r.x + r.width), float(r.y + r.height)),
                        cv::Point2f(float(r.x), float(r.y + r.height))},
                       image.width, image.height);
        } else if (line.box) {
          box = line.box;
        }
        const double word_conf = 0.8 * conf;
        // The same brand seen as a mark where its name was read: one clue, more certain.
        Clue* same = nullptr;
        for (auto& c : clues)
          if (c.value == brand.id && (!c.box || !box || boxes_touch(*c.box, *box))) same = &c;
        if (same) {
          if (const std::string method = same->details.value("method", ""); method == "features" || method == "shape") {
            same->confidence = 1 - (1 - same->confidence) * (1 - word_conf);
            same->details["method"] = method + "+wordmark";
            same->details["wordmark"] = line.value;
            same->explanation += fmt::format("; its name was read as \"{}\"", line.value);
          }
          continue;
        }
        Clue c = make_clue(brand, word_conf);
        c.box = box;
        c.details = {{"name", brand.name}, {"category", brand.category}, {"global", brand.global},
                     {"method", "wordmark"}, {"text", line.value}};
        c.explanation = fmt::format("{}'s name read as text in \"{}\" (OCR confidence {:.2f})", brand.name, line.value, conf);
        clues.push_back(std::move(c));
      }
    }
  }
}

}  // namespace cluetrace::logo
