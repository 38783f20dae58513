// Every stage implementation this build knows: the composition root that names them for YAML.
#include "pipeline/placeholder_stage.hpp"
#include "pipeline/stage.hpp"
#include "stages/barcode/zxing_stage.hpp"
#include "stages/clues/clues_stage.hpp"
#include "stages/language/language_stage.hpp"
#include "stages/logo/logo_stage.hpp"
#include "stages/metadata/exiv2_stage.hpp"
#include "stages/ocr/tesseract_line.hpp"
#include "stages/ocr/tesseract_page.hpp"
#include "stages/rank/specificity.hpp"
#include "stages/region/fusion_stage.hpp"
#include "stages/text_detect/ppocr_db.hpp"
#include "stages/text_detect/whole_image.hpp"

namespace cluetrace {
namespace {

StageImplementation placeholder(StageKind kind) {
  const std::string id = std::string(to_string(kind)) + ".placeholder";
  return {kind, "placeholder", "produces nothing yet (stand-in until this stage is built)",
          [id](OptionReader&) { return std::make_unique<PlaceholderStage>(id); }};
}

}  // namespace

std::vector<StageImplementation> stage_catalog() {
  return {
      {StageKind::text_detect, "ppocr_db", "PP-OCRv4 DBNet text detector (ONNX, OpenCV DNN), global pass + tiles",
       [](OptionReader& o) { return std::make_unique<text_detect::DbStage>(text_detect::DbOptions::read(o)); }},
      {StageKind::text_detect, "mser", "model-free MSER components grouped into lines",
       [](OptionReader&) { return std::make_unique<text_detect::MserStage>(); }},
      {StageKind::text_detect, "whole_image", "the whole image as one text region (for cropped words or pages)",
       [](OptionReader& o) { return std::make_unique<text_detect::WholeImageStage>(text_detect::WholeImageOptions::read(o)); }},
      {StageKind::ocr, "tesseract_line", "each text region rectified and read by Tesseract as one line",
       [](OptionReader& o) { return std::make_unique<ocr::TesseractLineStage>(ocr::TesseractLineOptions::read(o)); }},
      {StageKind::ocr, "tesseract_page", "Tesseract page segmentation and LSTM recognition on each text region",
       [](OptionReader& o) { return std::make_unique<ocr::TesseractPageStage>(ocr::TesseractPageOptions::read(o)); }},
      {StageKind::logo, "features", "catalogue marks by SIFT features, an index over all brands and homography checks; brand names read by OCR",
       [](OptionReader& o) { return std::make_unique<logo::LogoStage>(logo::LogoOptions::read(o)); }},
      placeholder(StageKind::logo),
      {StageKind::barcode, "zxing", "EAN/UPC, QR, DataMatrix and more with zxing-cpp; GS1 prefixes name the issuing country",
       [](OptionReader& o) { return std::make_unique<barcode::ZxingStage>(barcode::BarcodeOptions::read(o)); }},
      placeholder(StageKind::barcode),
      {StageKind::metadata, "exiv2", "EXIF/XMP/IPTC with Exiv2: camera, capture time, software, GPS with an offline country lookup",
       [](OptionReader& o) { return std::make_unique<metadata::Exiv2Stage>(metadata::MetadataOptions::read(o)); }},
      placeholder(StageKind::metadata),
      {StageKind::clues, "extract", "phone numbers (libphonenumber), web and e-mail addresses, prices, postcodes and dates in the OCR'd text",
       [](OptionReader& o) { return std::make_unique<clues::CluesStage>(clues::CluesOptions::read(o)); }},
      placeholder(StageKind::clues),
      {StageKind::language, "evidence", "word frequencies, spelling dictionaries (aspell or hunspell) and character n-grams per line and per image",
       [](OptionReader& o) { return std::make_unique<language::LanguageStage>(language::LanguageOptions::read(o)); }},
      placeholder(StageKind::language),
      {StageKind::region, "fusion", "every clue's countries and the image's languages pooled into a country distribution",
       [](OptionReader& o) { return std::make_unique<region::FusionStage>(region::FusionOptions::read(o)); }},
      placeholder(StageKind::region),
      {StageKind::rank, "specificity", "score = weight of the clue's kind x confidence, sorted",
       [](OptionReader& o) { return std::make_unique<rank::SpecificityStage>(rank::SpecificityOptions::read(o)); }},
  };
}

}  // namespace cluetrace
