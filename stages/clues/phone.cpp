// Phone numbers with libphonenumber: its matcher finds candidates in running text and validates them against
// each region's numbering plan; numbers written without a country code are tried in every configured region.
#include <algorithm>
#include <cctype>
#include <set>

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumbermatch.h>
#include <phonenumbers/phonenumbermatcher.h>
#include <phonenumbers/phonenumberutil.h>

#include "stages/clues/extract.hpp"

namespace cluetrace::clues {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberMatch;
using i18n::phonenumbers::PhoneNumberMatcher;
using i18n::phonenumbers::PhoneNumberUtil;

// Fewest digits a number written without its country code needs to count.
constexpr long kMinNationalDigits = 6;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_joiner(char c) { return c == ' ' || c == '.' || c == '-' || c == '/'; }

// The nearest non-joiner character before/after i is a digit.
bool digit_before(std::string_view s, std::size_t i) {
  while (i > 0) {
    --i;
    if (is_digit(s[i])) return true;
    if (!is_joiner(s[i])) return false;
  }
  return false;
}
bool digit_after(std::string_view s, std::size_t i) {
  for (++i; i < s.size(); ++i) {
    if (is_digit(s[i])) return true;
    if (!is_joiner(s[i])) return false;
  }
  return false;
}

std::string e164(const PhoneNumber& number) {
  std::string out;
  PhoneNumberUtil::GetInstance()->Format(number, PhoneNumberUtil::E164, &out);
  return out;
}

bool written_international(const PhoneNumber& number, std::string_view raw) {
  if (number.has_country_code_source()) {
    return number.country_code_source() != PhoneNumber::FROM_DEFAULT_COUNTRY;
  }
  const auto first = raw.find_first_not_of(" (");
  return first != std::string_view::npos && (raw[first] == '+' || raw.substr(first, 2) == "00");
}

}  // namespace

std::string repair_digits(std::string_view text) {
  std::string out(text);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    if (c != 'O' && c != 'o' && c != 'l' && c != 'I' && c != '|') continue;
    // Only inside a run of digits, never at the edge of a word ("Tel", "Info").
    const bool letter_left = i > 0 && std::isalpha(static_cast<unsigned char>(out[i - 1]));
    const bool letter_right = i + 1 < out.size() && std::isalpha(static_cast<unsigned char>(out[i + 1]));
    if (letter_left || letter_right) continue;
    if (!digit_before(out, i) || !digit_after(out, i)) continue;
    out[i] = (c == 'O' || c == 'o') ? '0' : '1';
  }
  return out;
}

PhoneFinder::PhoneFinder(std::vector<std::string> regions) : regions_(std::move(regions)) {
  if (regions_.empty()) regions_.push_back("ZZ");
}

PhoneFinder::~PhoneFinder() = default;

std::vector<PhoneMatch> PhoneFinder::find(std::string_view text, const std::map<std::string, double>& hints) const {
  const auto* util = PhoneNumberUtil::GetInstance();
  const std::string repaired = repair_digits(text);

  // Span (begin, end) -> every reading found for it, in the order of the regions tried.
  struct Found {
    bool international = false;
    std::vector<PhoneReading> readings;
  };
  std::map<std::pair<std::size_t, std::size_t>, Found> found;

  for (const auto& region : regions_) {
    PhoneNumberMatcher matcher(*util, repaired, region, PhoneNumberMatcher::VALID, 64);
    while (matcher.HasNext()) {
      PhoneNumberMatch match;
      if (!matcher.Next(&match)) break;
      const std::string& raw = match.raw_string();
      auto begin = repaired.find(raw, static_cast<std::size_t>(std::max(0, match.start())));
      if (begin == std::string::npos) begin = repaired.find(raw);
      if (begin == std::string::npos) continue;
      auto& entry = found[{begin, begin + raw.size()}];
      std::string number_region;
      util->GetRegionCodeForNumber(match.number(), &number_region);
      entry.international = entry.international || written_international(match.number(), raw);
      const PhoneReading reading{number_region.empty() ? region : number_region, e164(match.number())};
      const bool known = std::any_of(entry.readings.begin(), entry.readings.end(),
                                     [&](const PhoneReading& r) { return r.e164 == reading.e164; });
      if (!known) entry.readings.push_back(reading);
    }
  }

  // Matches inside a longer match (a region read only part of the digits) give way to it.
  std::vector<PhoneMatch> out;
  for (auto& found_entry : found) {
    const auto& span = found_entry.first;  // named, not bound: the lambda captures it (clang 14)
    auto& entry = found_entry.second;
    const bool inside_longer = std::any_of(found.begin(), found.end(), [&](const auto& other) {
      return other.first != span && other.first.first <= span.first && other.first.second >= span.second;
    });
    if (inside_longer || entry.readings.empty()) continue;
    // Without a country code, short numbers are more often postcodes, house numbers or prices than the
    // short subscriber numbers a few plans allow ("5020 Salzburg" is valid in Luxembourg's plan).
    const auto raw = std::string_view(repaired).substr(span.first, span.second - span.first);
    const auto digits = std::count_if(raw.begin(), raw.end(), [](char c) { return is_digit(c); });
    if (!entry.international && digits < kMinNationalDigits) continue;
    // A country code was written: keep the reading that honours it (every region parses it the same way).
    if (entry.international) entry.readings.resize(1);
    PhoneMatch m;
    m.span = {span.first, span.second};
    m.as_read = std::string(text.substr(span.first, span.second - span.first));
    m.international = entry.international;
    m.readings = std::move(entry.readings);
    resolve(m, hints);
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.span.begin < b.span.begin; });
  return out;
}

void resolve(PhoneMatch& m, const std::map<std::string, double>& hints) {
  auto hint = [&](const std::string& region) {
    const auto it = hints.find(region);
    return it == hints.end() ? 0.0 : it->second;
  };
  // Prefer the region the rest of the image points to; else the configured order (the readings' order).
  std::size_t best = 0;
  double best_hint = -1;
  for (std::size_t i = 0; i < m.readings.size(); ++i) {
    if (hint(m.readings[i].region) > best_hint + 1e-12) {
      best_hint = hint(m.readings[i].region);
      best = i;
    }
  }
  m.e164 = m.readings[best].e164;
  m.region = m.readings[best].region;
  // Country weights: the chosen reading first; the others share what the hints give them.
  double total = 0;
  m.countries.clear();
  m.alternatives.clear();
  for (std::size_t i = 0; i < m.readings.size(); ++i) {
    const auto& r = m.readings[i];
    if (r.region.size() != 2) continue;  // "001": non-geographic (satellite, UIFN)
    const double w = (i == best ? 1.0 : 0.5) * (1.0 + hint(r.region));
    m.countries.push_back({r.region, w});
    total += w;
    if (i != best) m.alternatives.push_back(r.e164);
  }
  for (auto& w : m.countries) w.weight /= total;
  std::stable_sort(m.countries.begin(), m.countries.end(), [](const auto& a, const auto& b) { return a.weight > b.weight; });
}

}  // namespace cluetrace::clues
