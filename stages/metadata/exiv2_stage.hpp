// metadata.exiv2: EXIF, XMP and IPTC with Exiv2: camera make and model, capture time, software, GPS (a `gps`
// clue whose country comes from an offline point-in-polygon lookup), and IPTC/XMP location fields.
#pragma once

#include <memory>
#include <string>

#include "pipeline/stage.hpp"
#include "stages/metadata/borders.hpp"

namespace cluetrace::metadata {

struct MetadataOptions {
  std::string borders;                       // GeoJSON; empty = models/geo/borders.json of this installation
  std::string if_borders_missing = "skip";  // skip: GPS clues without a country (run.json says why) | error
  std::int64_t max_bytes = 256 << 20;        // larger files are not parsed for metadata
  static MetadataOptions read(OptionReader& options);
};

class Exiv2Stage final : public Stage {
 public:
  explicit Exiv2Stage(MetadataOptions options) : options_(std::move(options)) {}
  std::string_view id() const override { return "metadata.exiv2"; }
  void prepare() override;
  nlohmann::ordered_json resources() const override;
  void process(ImageRecord& image, StageResult& out) override;

 private:
  MetadataOptions options_;
  std::filesystem::path borders_path_;
  std::string missing_reason_;
  std::unique_ptr<Borders> borders_;
};

}  // namespace cluetrace::metadata
