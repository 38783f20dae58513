// Postcodes in the formats of European countries. A code whose format is unique (NL "1234 AB", GB "SW1A 1AA",
// PT "1234-567") or that carries a country prefix ("D-10115") names its country; the common bare formats
// (four or five digits) collide across countries, so they count only before a place name and point to every
// country that uses them.
#include <cctype>
#include <regex>

#include "stages/clues/extract.hpp"

namespace cluetrace::clues {
namespace {

// Upper-case first letter of a place name: ASCII, Latin-1 (U+00C0-U+00DE) or Latin Extended-A upper
// (even code points U+0100-U+017E).
bool starts_place_name(std::string_view s) {
  if (s.empty()) return false;
  const auto c0 = static_cast<unsigned char>(s[0]);
  if (std::isupper(c0)) return s.size() >= 3;
  if (s.size() < 2) return false;
  const auto c1 = static_cast<unsigned char>(s[1]);
  if (c0 == 0xC3) return c1 >= 0x80 && c1 <= 0x9E && c1 != 0x97;
  if (c0 == 0xC4 || c0 == 0xC5) return ((c0 - 0xC4) * 64 + (c1 - 0x80)) % 2 == 0;
  return false;
}

// What follows `end`: one space (or a comma and space) then a place name.
bool place_follows(std::string_view text, std::size_t end) {
  std::size_t i = end;
  if (i < text.size() && text[i] == ',') ++i;
  if (i >= text.size() || text[i] != ' ') return false;
  while (i < text.size() && text[i] == ' ') ++i;
  return starts_place_name(text.substr(i));
}

bool glued_to_number(std::string_view text, std::size_t begin, std::size_t end) {
  const auto digit_or_sep = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == ','; };
  return (begin > 0 && (std::isdigit(static_cast<unsigned char>(text[begin - 1])) ||
                        (begin > 1 && digit_or_sep(text[begin - 1]) && std::isdigit(static_cast<unsigned char>(text[begin - 2]))))) ||
         (end < text.size() && digit_or_sep(text[end]) && end + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[end + 1]))) ||
         (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end])));
}

std::vector<CountryWeight> equal(std::initializer_list<const char*> codes) {
  std::vector<CountryWeight> out;
  for (const char* c : codes) out.push_back({c, 1.0 / static_cast<double>(codes.size())});
  return out;
}

struct Format {
  std::regex re;
  std::string name;
  std::vector<CountryWeight> countries;
  bool needs_place;  // only before a place name
};

// Country prefixes used on letters and signs before the code (distinguishing signs of vehicles and ISO codes).
std::string prefix_country(std::string_view prefix) {
  static const std::pair<std::string_view, std::string_view> table[] = {
      {"D", "DE"}, {"DE", "DE"}, {"A", "AT"}, {"AT", "AT"}, {"CH", "CH"}, {"F", "FR"}, {"FR", "FR"},
      {"I", "IT"}, {"IT", "IT"}, {"NL", "NL"}, {"B", "BE"}, {"BE", "BE"}, {"L", "LU"}, {"LU", "LU"},
      {"E", "ES"}, {"ES", "ES"}, {"P", "PT"}, {"PT", "PT"}, {"PL", "PL"}, {"CZ", "CZ"}, {"SK", "SK"},
      {"S", "SE"}, {"SE", "SE"}, {"DK", "DK"}, {"N", "NO"}, {"NO", "NO"}, {"FI", "FI"}, {"FIN", "FI"},
      {"H", "HU"}, {"HU", "HU"}, {"SLO", "SI"}, {"SI", "SI"}, {"HR", "HR"}, {"RO", "RO"}, {"GR", "GR"},
      {"LT", "LT"}, {"LV", "LV"}, {"EE", "EE"}, {"FL", "LI"}, {"LI", "LI"}, {"MC", "MC"}};
  for (const auto& [p, c] : table) {
    if (p == prefix) return std::string(c);
  }
  return {};
}

const std::vector<Format>& formats() {
  static const std::vector<Format> table = [] {
    std::vector<Format> t;
    const auto flags = std::regex::ECMAScript | std::regex::optimize;
    // Netherlands: four digits (no leading zero), two letters (never SA, SD, SS).
    t.push_back({std::regex(R"(\b[1-9]\d{3} ?(?!SA|SD|SS)[A-Z]{2}\b)", flags), "NL 1234 AB", equal({"NL"}), false});
    // United Kingdom: outward code (area + district) and inward code.
    t.push_back({std::regex(R"(\b[A-Z]{1,2}\d[A-Z\d]? \d[ABD-HJLNP-UW-Z]{2}\b)", flags), "GB outward inward", equal({"GB"}), false});
    // Portugal: four digits, dash, three digits.
    t.push_back({std::regex(R"(\b[1-9]\d{3}-\d{3}\b)", flags), "PT 1234-567", equal({"PT"}), false});
    // Poland: two digits, dash, three digits.
    t.push_back({std::regex(R"(\b\d{2}-\d{3}\b)", flags), "PL 12-345", equal({"PL"}), true});
    // Czechia, Slovakia, Sweden, Greece: three digits, space, two digits.
    t.push_back({std::regex(R"(\b[1-9]\d{2} \d{2}\b)", flags), "3+2 digits", equal({"CZ", "SK", "SE", "GR"}), true});
    // Five digits: Germany, France, Italy, Spain, Finland, Croatia, Estonia, Lithuania (and more).
    t.push_back({std::regex(R"(\b\d{5}\b)", flags), "5 digits", equal({"DE", "FR", "IT", "ES", "FI", "HR", "EE"}), true});
    // Four digits: Austria, Belgium, Switzerland, Denmark, Norway, Hungary, Luxembourg, Slovenia, Bulgaria.
    t.push_back({std::regex(R"(\b[1-9]\d{3}\b)", flags), "4 digits", equal({"AT", "BE", "CH", "DK", "NO", "HU", "LU", "SI", "BG"}), true});
    return t;
  }();
  return table;
}

const std::regex& prefixed_regex() {
  static const std::regex re(R"(\b(FIN|SLO|[A-Z]{1,2})-(\d{2}-\d{3}|\d{3} \d{2}|\d{4,5})\b)", std::regex::ECMAScript | std::regex::optimize);
  return re;
}

bool overlaps(const std::vector<PostcodeMatch>& found, std::size_t begin, std::size_t end) {
  for (const auto& f : found) {
    if (begin < f.span.end && f.span.begin < end) return true;
  }
  return false;
}

}  // namespace

std::vector<PostcodeMatch> find_postcodes(std::string_view text) {
  std::vector<PostcodeMatch> out;
  const std::string s(text);
  for (std::sregex_iterator it(s.begin(), s.end(), prefixed_regex()), end; it != end; ++it) {
    const std::string country = prefix_country((*it)[1].str());
    if (country.empty()) continue;
    PostcodeMatch m;
    m.span = {static_cast<std::size_t>(it->position(0)), static_cast<std::size_t>(it->position(0) + it->length(0))};
    m.as_read = it->str(0);
    m.value = (*it)[2].str();
    m.countries = {{country, 1.0}};
    m.format = "country prefix";
    out.push_back(std::move(m));
  }
  for (const auto& format : formats()) {
    for (std::sregex_iterator it(s.begin(), s.end(), format.re), end; it != end; ++it) {
      const auto begin = static_cast<std::size_t>(it->position(0));
      const auto stop = begin + static_cast<std::size_t>(it->length(0));
      if (overlaps(out, begin, stop) || glued_to_number(s, begin, stop)) continue;
      if (begin > 0 && (s[begin - 1] == '-' || s[begin - 1] == '+' || s[begin - 1] == '/')) continue;
      if (format.needs_place && !place_follows(s, stop)) continue;
      PostcodeMatch m;
      m.span = {begin, stop};
      m.as_read = it->str(0);
      m.value = m.as_read;
      m.countries = format.countries;
      m.format = format.name;
      out.push_back(std::move(m));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.span.begin < b.span.begin; });
  return out;
}

}  // namespace cluetrace::clues
