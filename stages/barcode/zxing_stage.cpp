#include "stages/barcode/zxing_stage.hpp"

#include <algorithm>
#include <set>

#define ZX_USE_UTF8 1  // Result::text() as UTF-8 std::string
#include <ZXing/BarcodeFormat.h>
#include <ZXing/DecodeHints.h>
#include <ZXing/ReadBarcode.h>
#include <fmt/format.h>
#include <opencv2/barcode.hpp>
#include <opencv2/imgproc.hpp>
#include <phonenumbers/phonenumberutil.h>

#include "pipeline/countries.hpp"
#include "pipeline/models.hpp"

namespace cluetrace::barcode {
namespace {

ZXing::BarcodeFormats formats_of(const std::vector<std::string>& names) {
  if (names.empty()) return ZXing::BarcodeFormat::Any;
  ZXing::BarcodeFormats formats;
  for (const auto& n : names) formats |= ZXing::BarcodeFormatFromString(n);
  return formats;
}

struct Reading {
  std::string format, text;
  std::array<cv::Point2f, 4> quad;
};

std::vector<Reading> read_codes(const cv::Mat& gray, const ZXing::DecodeHints& hints, float scale) {
  std::vector<Reading> out;
  const ZXing::ImageView view(gray.data, gray.cols, gray.rows, ZXing::ImageFormat::Lum, static_cast<int>(gray.step));
  for (const auto& r : ZXing::ReadBarcodes(view, hints)) {
    if (!r.isValid()) continue;
    Reading reading{ZXing::ToString(r.format()), r.text(), {}};
    const auto& p = r.position();
    const ZXing::PointI corners[] = {p.topLeft(), p.topRight(), p.bottomRight(), p.bottomLeft()};
    for (int i = 0; i < 4; ++i) {
      reading.quad[static_cast<std::size_t>(i)] = cv::Point2f(static_cast<float>(corners[i].x) / scale, static_cast<float>(corners[i].y) / scale);
    }
    out.push_back(std::move(reading));
  }
  return out;
}

Box box_of(const std::array<cv::Point2f, 4>& quad, int width, int height) {
  cv::Rect r = cv::boundingRect(std::vector<cv::Point2f>(quad.begin(), quad.end()));
  r.x -= 1; r.y -= 1; r.width += 2; r.height += 2;  // 1D codes come back as a line: give them some extent
  r &= cv::Rect(0, 0, width, height);
  return {r.x, r.y, r.width, r.height};
}

}  // namespace

bool opencv_retail_can_run(cv::Size size) {
  // OpenCV 4.6's barcode localisation cuts the image (its shorter side first scaled down to at most 512) into
  // windows of cvRound(0.01 x shorter side) pixels and divides the size by that: below 51 pixels the window is
  // 0 and the integer division kills the process with SIGFPE (opencv_contrib #3332, fixed after 4.6). Such
  // images are word crops and thumbnails; zxing still reads them.
  return std::min(size.width, size.height) >= kOpenCvRetailMinSide;
}

BarcodeOptions BarcodeOptions::read(OptionReader& o) {
  BarcodeOptions opts;
  opts.formats = o.get_string_list("formats", {});
  for (const auto& f : opts.formats) {
    if (ZXing::BarcodeFormatFromString(f) == ZXing::BarcodeFormat::None) {
      o.problem("formats", fmt::format("'{}' is not a zxing format (EAN-13, EAN-8, UPC-A, UPC-E, Code128, Code39, Code93, ITF, Codabar, QRCode, DataMatrix, Aztec, PDF417)", f));
    }
  }
  opts.prefixes = o.get_string("prefixes", "");
  opts.try_harder = o.get_bool("try_harder", true);
  opts.try_rotate = o.get_bool("try_rotate", true);
  opts.max_symbols = static_cast<int>(o.get_int("max_symbols", 32, 1, 255));
  opts.upscale_below = static_cast<int>(o.get_int("upscale_below", 1200, 0, 100000));
  opts.opencv_retail = o.get_bool("opencv_retail", true);
  return opts;
}

void ZxingStage::prepare() {
  prefixes_path_ = options_.prefixes.empty() ? data_dir() / "gs1" / "prefixes.tsv" : std::filesystem::path(options_.prefixes);
  gs1_ = Gs1Table::load(prefixes_path_);
}

nlohmann::ordered_json ZxingStage::resources() const {
  return {{"zxing_cpp", "1.4 (Debian 12)"}, {"gs1_prefixes", prefixes_path_.string()}, {"gs1_ranges", gs1_.size()}};
}

void ZxingStage::process(ImageRecord& image, StageResult& out) {
  const cv::Mat gray = image.grey();
  ZXing::DecodeHints hints;
  hints.setFormats(formats_of(options_.formats));
  hints.setTryHarder(options_.try_harder);
  hints.setTryRotate(options_.try_rotate);
  // zxing-cpp 1.4 compares a linear code found on several pyramid layers with an assert that fails on codes
  // seen on more than one scan line (an abort, not an error): its own pyramid stays off, we scale ourselves.
  hints.setTryDownscale(false);
  hints.setMaxNumberOfSymbols(static_cast<uint8_t>(options_.max_symbols));
  auto readings = read_codes(gray, hints, 1.0f);
  auto another_look = [&](double scale) {
    // A strip scaled down would lose a whole side: nothing to read there.
    if (gray.cols * scale < 8 || gray.rows * scale < 8) return;
    cv::Mat scaled;
    cv::resize(gray, scaled, {}, scale, scale, scale > 1 ? cv::INTER_CUBIC : cv::INTER_AREA);
    for (auto& r : read_codes(scaled, hints, static_cast<float>(scale))) {
      const bool seen = std::any_of(readings.begin(), readings.end(), [&](const Reading& x) { return x.text == r.text && x.format == r.format; });
      if (!seen) readings.push_back(std::move(r));
    }
  };
  const int long_side = std::max(gray.cols, gray.rows);
  if (long_side < options_.upscale_below) another_look(2.0);  // small codes in small images
  if (long_side > 2400) another_look(0.5);  // large, blurred codes in large photos read better smaller
  if (options_.opencv_retail && opencv_retail_can_run(image.pixels.size())) {
    // OpenCV's EAN/UPC reader locates bars by their gradients first, so it reads small, tilted and blurred
    // retail codes that zxing's scan lines miss; it checks the check digit like zxing does. It is given the image's
    // shared grey: from colour it would make its own, the same, and a large photo's peak would hold both.
    cv::barcode::BarcodeDetector detector;
    std::vector<std::string> texts;
    std::vector<cv::barcode::BarcodeType> types;
    std::vector<cv::Point2f> corners;
    detector.detectAndDecode(gray, texts, types, corners);
    for (std::size_t i = 0; i < texts.size() && 4 * i + 3 < corners.size(); ++i) {
      if (texts[i].empty() || types[i] == cv::barcode::BarcodeType::NONE) continue;
      const char* format = types[i] == cv::barcode::BarcodeType::EAN_13 ? "EAN-13"
                           : types[i] == cv::barcode::BarcodeType::EAN_8 ? "EAN-8"
                           : types[i] == cv::barcode::BarcodeType::UPC_A ? "UPC-A"
                                                                         : "UPC-E";
      const bool seen = std::any_of(readings.begin(), readings.end(), [&](const Reading& x) { return x.text == texts[i]; });
      if (!seen) readings.push_back({format, texts[i], {corners[4 * i], corners[4 * i + 1], corners[4 * i + 2], corners[4 * i + 3]}});
    }
  }

  std::set<std::pair<std::string, std::string>> reported;
  for (const auto& r : readings) {
    if (!reported.insert({r.format, r.text}).second) continue;  // the same code twice (rotations, passes)
    Clue clue;
    clue.kind = ClueKind::barcode;
    clue.value = r.text;
    clue.confidence = 0.95;  // zxing returns only codes whose check digits / error correction agree
    clue.quad = r.quad;
    clue.box = box_of(r.quad, image.width, image.height);
    clue.stage = std::string(id());
    clue.details = {{"format", r.format}};
    if (const auto gtin = gtin13(r.format, r.text)) {
      const int prefix = std::stoi(gtin->substr(0, 3));
      if (const auto* range = gs1_.lookup(prefix)) {
        clue.details["gs1_prefix"] = gtin->substr(0, 3);
        clue.details["gs1_meaning"] = range->meaning;
        clue.countries = gs1_countries(*range);
        clue.explanation = range->country.empty()
                               ? fmt::format("{} {}: prefix {} is {} (says nothing about place)", r.format, r.text, gtin->substr(0, 3), range->meaning)
                               : fmt::format("{} {}: prefix {} issued by {}", r.format, r.text, gtin->substr(0, 3), range->meaning);
      }
    }
    out.clues.push_back(clue);

    // Payloads that are addresses or numbers are leads of their own kind, placed where the code is.
    std::string lower = r.text;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    Clue payload = clue;
    payload.details = {{"from_barcode", r.format}};
    payload.explanation.clear();
    payload.countries.clear();
    const auto scheme_end = lower.find("://");
    const std::string scheme = scheme_end == std::string::npos ? std::string() : lower.substr(0, scheme_end);
    if (scheme == "http" || scheme == "https" || lower.starts_with("www.")) {
      payload.kind = ClueKind::url;
      payload.value = r.text;
      std::string host = lower.substr(lower.find("://") == std::string::npos ? 0 : lower.find("://") + 3);
      host = host.substr(0, host.find_first_of("/?#:"));
      const auto dot = host.rfind('.');
      if (dot != std::string::npos) {
        if (const auto country = countries::tld_country(host.substr(dot + 1))) payload.countries = {{*country, 1.0}};
      }
      out.clues.push_back(std::move(payload));
    } else if (lower.starts_with("tel:")) {
      const auto* util = i18n::phonenumbers::PhoneNumberUtil::GetInstance();
      i18n::phonenumbers::PhoneNumber number;
      if (util->Parse(r.text.substr(4), "ZZ", &number) == i18n::phonenumbers::PhoneNumberUtil::NO_PARSING_ERROR && util->IsValidNumber(number)) {
        payload.kind = ClueKind::phone;
        util->Format(number, i18n::phonenumbers::PhoneNumberUtil::E164, &payload.value);
        std::string region;
        util->GetRegionCodeForNumber(number, &region);
        if (region.size() == 2) payload.countries = {{region, 1.0}};
        out.clues.push_back(std::move(payload));
      }
    } else if (lower.starts_with("mailto:")) {
      payload.kind = ClueKind::email;
      payload.value = lower.substr(7, lower.find('?') == std::string::npos ? std::string::npos : lower.find('?') - 7);
      const auto dot = payload.value.rfind('.');
      if (dot != std::string::npos) {
        if (const auto country = countries::tld_country(payload.value.substr(dot + 1))) payload.countries = {{*country, 1.0}};
      }
      out.clues.push_back(std::move(payload));
    }
  }
}

}  // namespace cluetrace::barcode
