// Dates: numeric (31.12.2024, 31/12/24, 2024-12-31, US 12/31/2024) and with month names in the major
// European languages ("12. März 2024", "3 de marzo de 2024", "March 3, 2024").
#include <array>
#include <cctype>
#include <regex>

#include <fmt/format.h>

#include "stages/clues/extract.hpp"

namespace cluetrace::clues {
namespace {

// Lower-case month names (nominative and, where the language declines them, genitive), January first.
const std::vector<std::array<std::string_view, 12>>& month_names() {
  static const std::vector<std::array<std::string_view, 12>> names{
      {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"},
      {"januar", "februar", "m\xC3\xA4rz", "april", "mai", "juni", "juli", "august", "september", "oktober", "november", "dezember"},
      {"j\xC3\xA4nner", "feber", "maerz", "april", "mai", "juni", "juli", "august", "september", "oktober", "november", "dezember"},
      {"janvier", "f\xC3\xA9vrier", "mars", "avril", "mai", "juin", "juillet", "ao\xC3\xBBt", "septembre", "octobre", "novembre", "d\xC3\xA9" "cembre"},
      {"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"},
      {"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
      {"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"},
      {"janeiro", "fevereiro", "mar\xC3\xA7o", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro", "novembro", "dezembro"},
      {"stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia", "wrze\xC5\x9Bnia", "pa\xC5\xBA" "dziernika", "listopada", "grudnia"},
      {"ledna", "\xC3\xBAnora", "b\xC5\x99" "ezna", "dubna", "kv\xC4\x9Btna", "\xC4\x8D" "ervna", "\xC4\x8D" "ervence", "srpna", "z\xC3\xA1\xC5\x99\xC3\xAD", "\xC5\x99\xC3\xADjna", "listopadu", "prosince"},
      {"januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober", "november", "december"},
      {"januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober", "november", "december"},
  };
  return names;
}

// Lower-cases ASCII and the two-byte Latin capitals that month names use (Ä, É, Ú, Č, Ř ...).
std::string fold(std::string_view s) {
  std::string out(s);
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto c = static_cast<unsigned char>(out[i]);
    if (c < 0x80) {
      out[i] = static_cast<char>(std::tolower(c));
    } else if (c == 0xC3 && i + 1 < out.size()) {
      auto d = static_cast<unsigned char>(out[i + 1]);
      if (d >= 0x80 && d <= 0x9E && d != 0x97) out[i + 1] = static_cast<char>(d + 0x20);
      ++i;
    } else if ((c == 0xC4 || c == 0xC5) && i + 1 < out.size()) {
      auto d = static_cast<unsigned char>(out[i + 1]);
      if (((c - 0xC4) * 64 + (d - 0x80)) % 2 == 0) out[i + 1] = static_cast<char>(d + 1);
      ++i;
    }
  }
  return out;
}

int month_of(std::string_view word) {
  std::string w = fold(word);
  if (!w.empty() && w.back() == '.') w.pop_back();
  for (const auto& names : month_names()) {
    for (int m = 0; m < 12; ++m) {
      if (names[static_cast<std::size_t>(m)] == w) return m + 1;
    }
  }
  return 0;
}

bool valid(int y, int m, int d) {
  static constexpr int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return y >= 1900 && y <= 2099 && m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1];
}

int full_year(const std::string& y) {
  const int v = std::stoi(y);
  if (y.size() == 4) return v;
  return v < 70 ? 2000 + v : 1900 + v;
}

DateMatch make(std::string_view text, std::size_t begin, std::size_t end, int y, int m, int d, std::string order) {
  return {{begin, end}, std::string(text.substr(begin, end - begin)), fmt::format("{:04}-{:02}-{:02}", y, m, d), std::move(order)};
}

}  // namespace

std::vector<DateMatch> find_dates(std::string_view text) {
  std::vector<DateMatch> out;
  const std::string s(text);
  const auto flags = std::regex::ECMAScript | std::regex::optimize;
  static const std::regex iso(R"((?:^|[^\d.])((\d{4})-(\d{2})-(\d{2}))(?![\d])|^((\d{4})-(\d{2})-(\d{2}))(?!\d))", flags);
  static const std::regex numeric(R"((?:^|[^\d.,/-])((\d{1,2})([./-])(\d{1,2})\3(\d{4}|\d{2}))(?![\d.,/-]?\d))", flags);
  static const std::regex named(R"((?:^|[^\d])((\d{1,2})\.?\s+(?:de\s+)?([^\s\d.,]+\.?)\s+(?:de\s+)?(\d{4}))(?!\d))", flags);
  static const std::regex english(R"(([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?!\d))", flags);

  for (std::sregex_iterator it(s.begin(), s.end(), iso), end; it != end; ++it) {
    const auto& m = *it;
    const int y = std::stoi(m[2].str()), mo = std::stoi(m[3].str()), d = std::stoi(m[4].str());
    if (m[1].matched && valid(y, mo, d)) {
      out.push_back(make(text, static_cast<std::size_t>(m.position(1)), static_cast<std::size_t>(m.position(1) + m.length(1)), y, mo, d, "YMD"));
    }
  }
  for (std::sregex_iterator it(s.begin(), s.end(), numeric), end; it != end; ++it) {
    const auto& m = *it;
    const int a = std::stoi(m[2].str()), b = std::stoi(m[4].str());
    const int y = full_year(m[5].str());
    const auto begin = static_cast<std::size_t>(m.position(1));
    const auto stop = begin + static_cast<std::size_t>(m.length(1));
    // Day first, as in Europe; month first only where the day cannot be the first number (US "12/31/2024").
    if (valid(y, b, a)) {
      out.push_back(make(text, begin, stop, y, b, a, "DMY"));
    } else if (m[3].str() == "/" && valid(y, a, b)) {
      out.push_back(make(text, begin, stop, y, a, b, "MDY"));
    }
  }
  for (std::sregex_iterator it(s.begin(), s.end(), named), end; it != end; ++it) {
    const auto& m = *it;
    const int mo = month_of(m[3].str());
    const int d = std::stoi(m[2].str()), y = std::stoi(m[4].str());
    if (mo && valid(y, mo, d)) {
      const auto begin = static_cast<std::size_t>(m.position(1));
      out.push_back(make(text, begin, begin + static_cast<std::size_t>(m.length(1)), y, mo, d, "DMY"));
    }
  }
  for (std::sregex_iterator it(s.begin(), s.end(), english), end; it != end; ++it) {
    const auto& m = *it;
    const int mo = month_of(m[1].str());
    const int d = std::stoi(m[2].str()), y = std::stoi(m[3].str());
    if (mo && valid(y, mo, d)) {
      const auto begin = static_cast<std::size_t>(m.position(0));
      out.push_back(make(text, begin, begin + static_cast<std::size_t>(m.length(0)), y, mo, d, "MDY"));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.span.begin < b.span.begin; });
  return out;
}

}  // namespace cluetrace::clues
