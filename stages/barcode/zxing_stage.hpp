// barcode.zxing: reads 1D and 2D codes with zxing-cpp (EAN/UPC, Code 128/39/93, ITF, Codabar, QR, DataMatrix,
// Aztec, PDF417). Retail codes (EAN-13, UPC-A) carry the country of the GS1 member organisation that issued
// the number; QR payloads that are web addresses, phone numbers or e-mail addresses also become clues of those kinds.
#pragma once

#include <string>
#include <vector>

#include "pipeline/stage.hpp"
#include "stages/barcode/gs1.hpp"

namespace cluetrace::barcode {

struct BarcodeOptions {
  std::vector<std::string> formats;  // zxing format names; empty = all
  std::string prefixes;              // GS1 prefix table; empty = data/gs1/prefixes.tsv of this installation
  bool try_harder = true;            // more scan lines and both polarities
  bool try_rotate = true;            // 90/180/270 degree turns
  int max_symbols = 32;              // codes read per image at most
  int upscale_below = 1200;          // images with a shorter long side are also read at twice the size (small codes)
  bool opencv_retail = true;         // EAN/UPC also read by OpenCV's barcode module (small, tilted, blurred codes)
  static BarcodeOptions read(OptionReader& options);
};

// Whether OpenCV's retail-code reader may look at an image of this size: it divides by zero on images whose
// shorter side is under kOpenCvRetailMinSide pixels (OpenCV 4.6).
inline constexpr int kOpenCvRetailMinSide = 51;
bool opencv_retail_can_run(cv::Size size);

class ZxingStage final : public Stage {
 public:
  explicit ZxingStage(BarcodeOptions options) : options_(std::move(options)) {}
  std::string_view id() const override { return "barcode.zxing"; }
  void prepare() override;
  nlohmann::ordered_json resources() const override;
  void process(ImageRecord& image, StageResult& out) override;

 private:
  BarcodeOptions options_;
  std::filesystem::path prefixes_path_;
  Gs1Table gs1_;
};

}  // namespace cluetrace::barcode
