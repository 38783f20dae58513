#include "stages/ocr/reread_scope.hpp"

#include <cctype>

namespace cluetrace::ocr {
namespace {

bool ascii_alnum(unsigned char c) { return c < 0x80 && std::isalnum(c) != 0; }

// A currency sign starting at byte i (UTF-8): the Latin-1 cent, pound, currency and yen signs, or any of the
// Currency Symbols block (U+20A0-U+20CF: euro, rouble, lira, hryvnia, rupee ...).
bool currency_at(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  const unsigned b0 = byte(i), b1 = byte(i + 1), b2 = byte(i + 2);
  if (b0 == '$') return true;
  if (b0 == 0xC2) return b1 >= 0xA2 && b1 <= 0xA5;
  if (b0 == 0xE2 && b1 == 0x82) return b2 >= 0xA0;
  if (b0 == 0xE2 && b1 == 0x83) return b2 <= 0x8F && b2 >= 0x80;
  return false;
}

bool www_at(std::string_view s, std::size_t i) {
  if (i + 3 > s.size()) return false;
  for (std::size_t k = i; k < i + 3; ++k)
    if (std::tolower(static_cast<unsigned char>(s[k])) != 'w') return false;
  return true;
}

}  // namespace

bool looks_structured(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (std::isdigit(c) != 0 && c < 0x80) return true;
    if (c == '@' || c == '%' || c == '/' || c == ':') return true;
    if (currency_at(s, i) || www_at(s, i)) return true;
    if (c == '.' && i > 0 && i + 1 < s.size() && ascii_alnum(static_cast<unsigned char>(s[i - 1])) &&
        ascii_alnum(static_cast<unsigned char>(s[i + 1])))
      return true;
  }
  return false;
}

}  // namespace cluetrace::ocr
