#include "stages/barcode/gs1.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "pipeline/countries.hpp"

namespace cluetrace::barcode {
namespace {

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, sep)) out.push_back(field);
  if (!line.empty() && line.back() == sep) out.emplace_back();
  return out;
}

int parse_prefix(const std::string& s, const std::filesystem::path& file, int line) {
  if (s.size() != 3 || s.find_first_not_of("0123456789") != std::string::npos) {
    throw std::runtime_error(fmt::format("{}:{}: '{}' is not a three-digit GS1 prefix", file.string(), line, s));
  }
  return std::stoi(s);
}

}  // namespace

Gs1Table Gs1Table::load(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open the GS1 prefix table", file.string()));
  Gs1Table table;
  std::string text;
  int line = 0, expected = 0;
  while (std::getline(in, text)) {
    ++line;
    if (line == 1 || text.empty() || text[0] == '#') continue;  // header
    const auto f = split(text, '\t');
    if (f.size() < 5) throw std::runtime_error(fmt::format("{}:{}: expected 5 tab-separated fields (from, to, country, also, meaning)", file.string(), line));
    Gs1Range r;
    r.from = parse_prefix(f[0], file, line);
    r.to = parse_prefix(f[1], file, line);
    if (r.from != expected || r.to < r.from) {
      throw std::runtime_error(fmt::format("{}:{}: range {}-{} leaves a gap or overlaps (expected it to start at {:03})", file.string(), line, f[0], f[1], expected));
    }
    expected = r.to + 1;
    r.country = f[2];
    if (!r.country.empty() && !countries::is_country_code(r.country)) {
      throw std::runtime_error(fmt::format("{}:{}: '{}' is not an ISO 3166-1 alpha-2 code", file.string(), line, r.country));
    }
    for (const auto& code : split(f[3], ',')) {
      if (code.empty()) continue;
      if (!countries::is_country_code(code)) throw std::runtime_error(fmt::format("{}:{}: '{}' is not an ISO 3166-1 alpha-2 code", file.string(), line, code));
      r.also.push_back(code);
    }
    r.meaning = f[4];
    table.ranges_.push_back(std::move(r));
  }
  if (expected != 1000) throw std::runtime_error(fmt::format("{}: the ranges end at {:03}, not 999", file.string(), expected - 1));
  return table;
}

const Gs1Range* Gs1Table::lookup(int prefix) const {
  for (const auto& r : ranges_) {
    if (prefix >= r.from && prefix <= r.to) return &r;
  }
  return nullptr;
}

std::optional<std::string> gtin13(std::string_view format, std::string_view digits) {
  if (digits.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  if (format == "EAN-13" && digits.size() == 13) return std::string(digits);
  if (format == "UPC-A" && digits.size() == 12) return std::string("0").append(digits);
  if (format == "UPC-A" && digits.size() == 13) return std::string(digits);
  return std::nullopt;
}

std::vector<CountryWeight> gs1_countries(const Gs1Range& range) {
  if (range.country.empty()) return {};
  std::vector<CountryWeight> out{{range.country, 1.0}};
  for (const auto& c : range.also) out.push_back({c, 0.1});
  double total = 0;
  for (const auto& c : out) total += c.weight;
  for (auto& c : out) c.weight /= total;
  return out;
}

}  // namespace cluetrace::barcode
