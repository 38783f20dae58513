// Prices: an amount with a currency sign or code before or after it. Decimal comma and decimal point are
// both read ("1.299,00 €", "£1,299.00"); a bare number is never a price.
#include <cctype>
#include <regex>

#include "stages/clues/extract.hpp"

namespace cluetrace::clues {
namespace {

struct Currency {
  std::string_view written;  // as on the label (matched case-sensitively except codes)
  std::string_view code;     // ISO 4217, or "kr" for the Nordic crowns when the label does not say which
};

// Longest spellings first, so "SFr." wins over "Fr." and "US$" over "$".
constexpr Currency kCurrencies[] = {
    {"EUR", "EUR"}, {"Euro", "EUR"}, {"EURO", "EUR"}, {"\xE2\x82\xAC", "EUR"},  // €
    {"GBP", "GBP"}, {"\xC2\xA3", "GBP"},                                        // £
    {"PLN", "PLN"}, {"z\xC5\x82", "PLN"}, {"Z\xC5\x81", "PLN"}, {"zl", "PLN"}, {"ZL", "PLN"},  // zł ZŁ
    {"zt", "PLN"},  // ł read as t, a common OCR confusion
    {"CZK", "CZK"}, {"K\xC4\x8D", "CZK"}, {"K\xC4\x8C", "CZK"}, {"Kc", "CZK"}, {"KC", "CZK"},  // Kč KČ
    {"SEK", "SEK"}, {"DKK", "DKK"}, {"NOK", "NOK"}, {"ISK", "ISK"}, {"kr.", "kr"}, {"kr", "kr"}, {"Kr.", "kr"},
    {"CHF", "CHF"}, {"SFr.", "CHF"}, {"Fr.", "CHF"},
    {"HUF", "HUF"}, {"Ft", "HUF"},
    {"RON", "RON"}, {"lei", "RON"},
    {"BGN", "BGN"}, {"\xD0\xBB\xD0\xB2", "BGN"},  // лв
    {"US$", "USD"}, {"USD", "USD"}, {"$", "USD"},
};

std::string currency_alternation() {
  std::string alt;
  for (const auto& c : kCurrencies) {
    if (!alt.empty()) alt += '|';
    for (const char ch : c.written) {
      if (std::string_view(".$^*+?()[]{}|\\").find(ch) != std::string_view::npos) alt += '\\';
      alt += ch;
    }
  }
  return alt;
}

const std::regex& price_regex() {
  // amount: thousands groups or plain digits, then an optional decimal part (two digits or a dash: "12,-").
  static const std::string amount = R"((\d{1,3}(?:[.,'](?:\d{3}))+|\d+)(?:([.,])(\d{2}|--?|–)(?!\d))?)";
  std::string pattern;
  const std::string currency = currency_alternation();
  pattern.append("(").append(currency).append(")\\s?").append(amount).append("|");
  pattern.append(amount).append("\\s?(").append(currency).append(")");
  static const std::regex re(pattern, std::regex::ECMAScript | std::regex::optimize);
  return re;
}

std::string_view currency_code(std::string_view written) {
  for (const auto& c : kCurrencies) {
    if (c.written == written) return c.code;
  }
  return {};
}

bool is_letter_byte(char c) { return std::isalpha(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80; }

}  // namespace

std::vector<PriceMatch> find_prices(std::string_view text) {
  std::vector<PriceMatch> out;
  const std::string s(text);
  for (std::sregex_iterator it(s.begin(), s.end(), price_regex()), end; it != end; ++it) {
    const auto& m = *it;
    const bool sign_first = m[1].matched;
    const std::string written = sign_first ? m[1].str() : m[8].str();
    const std::string whole = sign_first ? m[2].str() : m[5].str();
    const std::string sep = sign_first ? m[3].str() : m[6].str();
    const std::string decimals = sign_first ? m[4].str() : m[7].str();
    const auto begin = static_cast<std::size_t>(m.position(0));
    const auto end_pos = begin + static_cast<std::size_t>(m.length(0));
    // Alphabetic currency words must stand alone ("Ft" in "Luft", "lei" in "Kleid" are not currencies).
    if (is_letter_byte(written.front())) {
      const std::size_t w_begin = sign_first ? begin : end_pos - written.size();
      const std::size_t w_end = w_begin + written.size();
      if (w_begin > 0 && std::isalpha(static_cast<unsigned char>(s[w_begin - 1]))) continue;
      if (w_end < s.size() && is_letter_byte(s[w_end]) && written.back() != '.') continue;
    }
    // Digits glued to the amount on its open side: part of a longer number, not a price.
    if (!sign_first && begin > 0 && std::isdigit(static_cast<unsigned char>(s[begin - 1]))) continue;
    PriceMatch p;
    p.span = {begin, end_pos};
    p.as_read = m.str(0);
    p.currency = std::string(currency_code(written));
    std::string digits;
    for (const char c : whole) {
      if (std::isdigit(static_cast<unsigned char>(c))) digits += c;
    }
    std::string cents = "00";
    if (!sep.empty()) {  // "1.299 €" has a thousands separator and no decimals: whole already holds it
      p.decimal_separator = sep[0];
      if (std::isdigit(static_cast<unsigned char>(decimals[0]))) cents = decimals;
    }
    // Leading zeros trimmed, one kept before the point.
    const auto nz = digits.find_first_not_of('0');
    digits = nz == std::string::npos ? "0" : digits.substr(nz);
    p.amount = digits + "." + cents;
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace cluetrace::clues
