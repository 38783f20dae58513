#include "stages/metadata/borders.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/countries.hpp"

namespace cluetrace::metadata {
namespace {

// Even-odd rule.
bool inside(const std::vector<double>& xs, const std::vector<double>& ys, double x, double y) {
  bool in = false;
  for (std::size_t i = 0, j = xs.size() - 1; i < xs.size(); j = i++) {
    if ((ys[i] > y) != (ys[j] > y) && x < (xs[j] - xs[i]) * (y - ys[i]) / (ys[j] - ys[i]) + xs[i]) in = !in;
  }
  return in;
}

// The feature's country: its own ISO code; else the assigned code among its groups ("FX" is France).
std::string code_of(const nlohmann::json& props) {
  auto assigned = [](const std::string& c) { return countries::is_country_code(c) ? c : std::string(); };
  const std::string own = props.value("iso1A2", "");
  if (own == "FX") return "FR";
  if (!assigned(own).empty()) return own;
  if (props.contains("country") && props["country"].is_string()) {
    if (auto c = assigned(props["country"].get<std::string>()); !c.empty()) return c;
  }
  return {};
}

}  // namespace

Borders Borders::load(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open the country borders file", file.string()));
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: not valid GeoJSON: {}", file.string(), e.what()));
  }
  Borders borders;
  for (const auto& feature : doc.value("features", nlohmann::json::array())) {
    const auto& geometry = feature.value("geometry", nlohmann::json());
    if (!geometry.is_object()) continue;
    const std::string code = code_of(feature.value("properties", nlohmann::json::object()));
    if (code.empty()) continue;
    const std::string type = geometry.value("type", "");
    nlohmann::json polygons;
    if (type == "MultiPolygon") polygons = geometry["coordinates"];
    else if (type == "Polygon") polygons = nlohmann::json::array({geometry["coordinates"]});
    else continue;
    Shape shape{code, std::numeric_limits<double>::max(), -std::numeric_limits<double>::max(),
                std::numeric_limits<double>::max(), -std::numeric_limits<double>::max(), 0, {}};
    for (const auto& polygon : polygons) {
      std::vector<Ring> rings;
      for (const auto& ring : polygon) {
        Ring r;
        for (const auto& point : ring) {
          r.lon.push_back(point.at(0).get<double>());
          r.lat.push_back(point.at(1).get<double>());
        }
        if (r.lon.size() < 3) continue;
        if (rings.empty()) {  // outer ring sets the bounds
          shape.min_lon = std::min(shape.min_lon, *std::min_element(r.lon.begin(), r.lon.end()));
          shape.max_lon = std::max(shape.max_lon, *std::max_element(r.lon.begin(), r.lon.end()));
          shape.min_lat = std::min(shape.min_lat, *std::min_element(r.lat.begin(), r.lat.end()));
          shape.max_lat = std::max(shape.max_lat, *std::max_element(r.lat.begin(), r.lat.end()));
        }
        rings.push_back(std::move(r));
      }
      if (!rings.empty()) shape.polygons.push_back(std::move(rings));
    }
    if (shape.polygons.empty()) continue;
    shape.area = (shape.max_lon - shape.min_lon) * (shape.max_lat - shape.min_lat);
    borders.shapes_.push_back(std::move(shape));
  }
  if (borders.shapes_.empty()) throw std::runtime_error(fmt::format("{}: no country shapes with an ISO 3166-1 code", file.string()));
  std::sort(borders.shapes_.begin(), borders.shapes_.end(), [](const Shape& a, const Shape& b) { return a.area < b.area; });
  return borders;
}

std::optional<std::string> Borders::country_at(double latitude, double longitude) const {
  for (const auto& s : shapes_) {  // smallest first
    if (longitude < s.min_lon || longitude > s.max_lon || latitude < s.min_lat || latitude > s.max_lat) continue;
    for (const auto& polygon : s.polygons) {
      if (!inside(polygon[0].lon, polygon[0].lat, longitude, latitude)) continue;
      bool in_hole = false;
      for (std::size_t h = 1; h < polygon.size() && !in_hole; ++h) in_hole = inside(polygon[h].lon, polygon[h].lat, longitude, latitude);
      if (!in_hole) return s.code;
    }
  }
  return std::nullopt;
}

}  // namespace cluetrace::metadata
