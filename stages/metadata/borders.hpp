// Offline reverse geocoding: which country a latitude/longitude falls in, by point-in-polygon over country
// borders (GeoJSON MultiPolygons in [lon, lat], keyed by ISO 3166-1 alpha-2; default: the borders of the npm
// package @rapideditor/country-coder, fetched at set-up into models/geo/borders.json).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace cluetrace::metadata {

class Borders {
 public:
  // Throws std::runtime_error naming the file when it cannot be read or holds no usable country.
  static Borders load(const std::filesystem::path& file);
  // The country containing the point; nothing at sea or outside every border. Smaller territories win over the
  // countries around them (Vatican City over Italy).
  std::optional<std::string> country_at(double latitude, double longitude) const;
  std::size_t countries() const { return shapes_.size(); }

 private:
  struct Ring {
    std::vector<double> lon, lat;
  };
  struct Shape {
    std::string code;
    double min_lon, max_lon, min_lat, max_lat;
    double area;  // of the bounding box, to prefer the smallest enclosing shape
    std::vector<std::vector<Ring>> polygons;  // each: outer ring, then holes
  };
  std::vector<Shape> shapes_;
};

}  // namespace cluetrace::metadata
