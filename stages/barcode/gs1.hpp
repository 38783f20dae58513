// The GS1 prefix table (data/gs1/prefixes.tsv): the first three digits of a GTIN-13 name the GS1 member
// organisation that issued the number (not the country of manufacture), or a range that says nothing about
// place (in-store numbers, coupons, ISBN/ISSN).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/types.hpp"

namespace cluetrace::barcode {

struct Gs1Range {
  int from = 0, to = 0;          // inclusive, 000..999
  std::string country;           // ISO 3166-1 alpha-2; empty: says nothing about place
  std::vector<std::string> also;  // other countries the same member organisation serves
  std::string meaning;
};

class Gs1Table {
 public:
  // Throws std::runtime_error naming the file and line of the first problem; checks that 000..999 is covered.
  static Gs1Table load(const std::filesystem::path& file);
  const Gs1Range* lookup(int prefix) const;
  std::size_t size() const { return ranges_.size(); }

 private:
  std::vector<Gs1Range> ranges_;
};

// The GTIN-13 a retail code stands for: EAN-13 as is, UPC-A with a leading zero; nothing for other formats.
std::optional<std::string> gtin13(std::string_view format, std::string_view digits);

// Countries a prefix points to: the member organisation's country first, the others it serves after.
std::vector<CountryWeight> gs1_countries(const Gs1Range& range);

}  // namespace cluetrace::barcode
