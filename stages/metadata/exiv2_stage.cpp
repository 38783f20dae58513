#include "stages/metadata/exiv2_stage.hpp"

#include <unistd.h>

#include <cmath>
#include <mutex>

#include <exiv2/exiv2.hpp>
#include <fmt/format.h>

#include "pipeline/countries.hpp"
#include "pipeline/evidence_file.hpp"
#include "pipeline/models.hpp"

namespace cluetrace::metadata {
namespace {

// Degrees from an EXIF rational triple (degrees, minutes, seconds).
std::optional<double> degrees(const Exiv2::ExifData& exif, const char* key, const char* ref_key) {
  const auto it = exif.findKey(Exiv2::ExifKey(key));
  if (it == exif.end() || it->count() < 3) return std::nullopt;
  double value = 0;
  for (int i = 0; i < 3; ++i) {
    const auto r = it->toRational(i);
    if (r.second == 0) return std::nullopt;
    value += static_cast<double>(r.first) / r.second / std::pow(60.0, i);
  }
  const auto ref = exif.findKey(Exiv2::ExifKey(ref_key));
  if (ref != exif.end()) {
    const std::string s = ref->toString();
    if (!s.empty() && (s[0] == 'S' || s[0] == 'W')) value = -value;
  }
  return value;
}

// XMP GPS coordinates: "52,31.0002N" (degrees, decimal minutes, direction) or "52,31,0N".
std::optional<double> xmp_degrees(const Exiv2::XmpData& xmp, const char* key) {
  const auto it = xmp.findKey(Exiv2::XmpKey(key));
  if (it == xmp.end()) return std::nullopt;
  std::string s = it->toString();
  if (s.empty()) return std::nullopt;
  const char dir = s.back();
  if (std::string_view("NSEW").find(dir) == std::string_view::npos) return std::nullopt;
  s.pop_back();
  double value = 0, unit = 1;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto comma = s.find(',', start);
    const std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    try {
      value += std::stod(part) / unit;
    } catch (const std::exception&) {
      return std::nullopt;
    }
    unit *= 60;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return (dir == 'S' || dir == 'W') ? -value : value;
}

std::string text_of(const Exiv2::ExifData& exif, const char* key) {
  const auto it = exif.findKey(Exiv2::ExifKey(key));
  if (it == exif.end()) return {};
  std::string s = it->toString();
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

std::string text_of(const Exiv2::XmpData& xmp, const char* key) {
  const auto it = xmp.findKey(Exiv2::XmpKey(key));
  return it == xmp.end() ? std::string() : it->toString();
}

std::string text_of(const Exiv2::IptcData& iptc, const char* key) {
  const auto it = iptc.findKey(Exiv2::IptcKey(key));
  return it == iptc.end() ? std::string() : it->toString();
}

// ISO 3166-1 alpha-3 codes of IPTC CountryCode fields, for the European countries and the larger others.
std::string alpha2_of(std::string code) {
  for (auto& c : code) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (code.size() == 2) return countries::is_country_code(code) ? code : std::string();
  static const std::pair<std::string_view, std::string_view> table[] = {
      {"DEU", "DE"}, {"FRA", "FR"}, {"NLD", "NL"}, {"BEL", "BE"}, {"LUX", "LU"}, {"AUT", "AT"}, {"CHE", "CH"},
      {"ESP", "ES"}, {"PRT", "PT"}, {"ITA", "IT"}, {"POL", "PL"}, {"CZE", "CZ"}, {"SVK", "SK"}, {"SWE", "SE"},
      {"DNK", "DK"}, {"NOR", "NO"}, {"FIN", "FI"}, {"GBR", "GB"}, {"IRL", "IE"}, {"HUN", "HU"}, {"ROU", "RO"},
      {"GRC", "GR"}, {"HRV", "HR"}, {"SVN", "SI"}, {"BGR", "BG"}, {"EST", "EE"}, {"LVA", "LV"}, {"LTU", "LT"},
      {"USA", "US"}, {"CAN", "CA"}, {"BRA", "BR"}, {"MEX", "MX"}, {"RUS", "RU"}, {"UKR", "UA"}, {"TUR", "TR"},
      {"AUS", "AU"}, {"JPN", "JP"}, {"CHN", "CN"}, {"IND", "IN"}};
  for (const auto& [a3, a2] : table) {
    if (a3 == code) return std::string(a2);
  }
  return {};
}

std::once_flag exiv2_init;

}  // namespace

MetadataOptions MetadataOptions::read(OptionReader& o) {
  MetadataOptions opts;
  opts.borders = o.get_string("borders", "");
  opts.if_borders_missing = o.get_string("if_borders_missing", "skip", {"skip", "error"});
  opts.max_bytes = o.get_int("max_bytes", 256 << 20, 1 << 16, std::int64_t{1} << 40);
  return opts;
}

void Exiv2Stage::prepare() {
  std::call_once(exiv2_init, [] {
    Exiv2::XmpParser::initialize();  // not thread-safe: once, before any worker
    Exiv2::LogMsg::setLevel(Exiv2::LogMsg::mute);  // problems become errors on the image, not stderr noise
  });
  borders_path_ = resolve_model_path(options_.borders, "geo/borders.json");
  if (!std::filesystem::exists(borders_path_)) {
    missing_reason_ = fmt::format("{} is missing (run scripts/fetch-models.sh): GPS clues carry no country", borders_path_.string());
    if (options_.if_borders_missing == "error") throw std::runtime_error(missing_reason_);
    return;
  }
  borders_ = std::make_unique<Borders>(Borders::load(borders_path_));
}

nlohmann::ordered_json Exiv2Stage::resources() const {
  nlohmann::ordered_json r{{"exiv2", Exiv2::versionString()}, {"borders", borders_path_.string()}};
  if (borders_) r["border_shapes"] = borders_->countries();
  if (!missing_reason_.empty()) r["borders_missing"] = missing_reason_;
  return r;
}

void Exiv2Stage::process(ImageRecord& image, StageResult& out) {
  // The bytes that were hashed, not the file again: the metadata reported must come from the bytes the
  // report's hashes describe.
  if (!image.file_data) throw std::runtime_error("the file's bytes were not kept by decode");
  const auto& bytes = *image.file_data;
  if (static_cast<std::int64_t>(bytes.size()) > options_.max_bytes) {
    throw std::runtime_error(fmt::format("the file is {} bytes, above stages.metadata.max_bytes ({}); its metadata was not read",
                                         bytes.size(), options_.max_bytes));
  }
  Exiv2::Image::AutoPtr file;
  try {
    file = Exiv2::ImageFactory::open(reinterpret_cast<const Exiv2::byte*>(bytes.data()), static_cast<long>(bytes.size()));
    file->readMetadata();
  } catch (const Exiv2::AnyError& e) {
    // A format Exiv2 does not know (or no metadata block at all) is not an error of the image.
    if (e.code() == Exiv2::kerFileContainsUnknownImageType || e.code() == Exiv2::kerMemoryContainsUnknownImageType) return;
    throw std::runtime_error(fmt::format("Exiv2 could not read the metadata: {}", e.what()));
  }
  const auto& exif = file->exifData();
  const auto& xmp = file->xmpData();
  const auto& iptc = file->iptcData();
  auto add = [&](ClueKind kind, std::string value, double confidence, nlohmann::ordered_json details) {
    Clue clue;
    clue.kind = kind;
    clue.value = std::move(value);
    clue.confidence = confidence;
    clue.stage = std::string(id());
    clue.details = std::move(details);
    out.clues.push_back(std::move(clue));
    return &out.clues.back();
  };

  const std::string make = text_of(exif, "Exif.Image.Make"), model = text_of(exif, "Exif.Image.Model");
  if (!make.empty() || !model.empty()) {
    const std::string camera = model.rfind(make, 0) == 0 ? model : (make + (make.empty() ? "" : " ") + model);
    add(ClueKind::metadata, camera, 1.0, {{"field", "camera"}, {"make", make}, {"model", model}});
  }
  if (const auto serial = text_of(exif, "Exif.Photo.BodySerialNumber"); !serial.empty()) {
    add(ClueKind::metadata, serial, 1.0, {{"field", "camera_serial"}});
  }
  std::string when = text_of(exif, "Exif.Photo.DateTimeOriginal");
  if (when.empty()) when = text_of(exif, "Exif.Image.DateTime");
  if (when.empty()) when = text_of(xmp, "Xmp.exif.DateTimeOriginal");
  if (!when.empty()) add(ClueKind::metadata, when, 1.0, {{"field", "capture_time"}, {"note", "camera clock, time zone unknown"}});
  if (const auto software = text_of(exif, "Exif.Image.Software"); !software.empty()) {
    add(ClueKind::metadata, software, 1.0, {{"field", "software"}});
  }

  auto lat = degrees(exif, "Exif.GPSInfo.GPSLatitude", "Exif.GPSInfo.GPSLatitudeRef");
  auto lon = degrees(exif, "Exif.GPSInfo.GPSLongitude", "Exif.GPSInfo.GPSLongitudeRef");
  std::string source = "EXIF";
  if (!lat || !lon) {
    lat = xmp_degrees(xmp, "Xmp.exif.GPSLatitude");
    lon = xmp_degrees(xmp, "Xmp.exif.GPSLongitude");
    source = "XMP";
  }
  if (lat && lon && std::abs(*lat) <= 90 && std::abs(*lon) <= 180 && !(*lat == 0 && *lon == 0)) {
    auto* clue = add(ClueKind::gps, fmt::format("{:.6f},{:.6f}", *lat, *lon), 1.0,
                     {{"field", "gps"}, {"source", source}, {"latitude", *lat}, {"longitude", *lon}});
    if (borders_) {
      if (const auto country = borders_->country_at(*lat, *lon)) {
        clue->countries = {{*country, 1.0}};
        clue->details["country"] = *country;
      } else {
        clue->details["country"] = nullptr;
        clue->details["note"] = "outside every country border (at sea?)";
      }
    }
  }

  // Location fields a photographer or an agency filled in.
  std::string city = text_of(iptc, "Iptc.Application2.City");
  if (city.empty()) city = text_of(xmp, "Xmp.photoshop.City");
  std::string country_code = text_of(iptc, "Iptc.Application2.CountryCode");
  if (country_code.empty()) country_code = text_of(xmp, "Xmp.iptc.CountryCode");
  std::string country_name = text_of(iptc, "Iptc.Application2.CountryName");
  if (country_name.empty()) country_name = text_of(xmp, "Xmp.photoshop.Country");
  if (!city.empty() || !country_code.empty() || !country_name.empty()) {
    std::string value = city;
    for (const auto& part : {country_name, country_code}) {
      if (!part.empty()) value += (value.empty() ? "" : ", ") + part;
    }
    auto* clue = add(ClueKind::metadata, value, 0.8, {{"field", "location"}, {"city", city}, {"country_name", country_name}, {"country_code", country_code}});
    if (const auto a2 = alpha2_of(country_code); !a2.empty()) clue->countries = {{a2, 1.0}};
  }
}

}  // namespace cluetrace::metadata
