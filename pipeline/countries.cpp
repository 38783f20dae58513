#include "pipeline/countries.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace cluetrace::countries {
namespace {

// ISO 3166-1 alpha-2, the 249 assigned codes (ISO 3166 Maintenance Agency list), plus XK.
constexpr std::string_view kIsoCodes =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ "
    "CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO "
    "FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE "
    "JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO "
    "MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW "
    "PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM "
    "TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK";

struct Share {
  std::string_view code;
  double people;  // millions: speakers of the language there, or simply 1 for equal shares
};

struct LanguageRow {
  std::string_view language;
  std::vector<Share> shares;
};

// First-language speakers by country, in millions, rounded (CLDR supplemental territory-language data and
// national census figures). Only countries holding a noticeable share are listed.
const std::vector<LanguageRow>& language_table() {
  static const std::vector<LanguageRow> table{
      {"de", {{"DE", 76}, {"AT", 8.5}, {"CH", 5.3}, {"LU", 0.1}, {"LI", 0.04}, {"BE", 0.08}, {"IT", 0.3}}},
      {"fr", {{"FR", 65}, {"BE", 4.5}, {"CH", 1.9}, {"LU", 0.1}, {"MC", 0.03}, {"CA", 7.7}}},
      {"nl", {{"NL", 16.5}, {"BE", 6.5}, {"SR", 0.4}}},
      {"es", {{"ES", 43}, {"MX", 120}, {"CO", 50}, {"AR", 44}, {"PE", 27}, {"VE", 28}, {"CL", 18}, {"EC", 17},
              {"GT", 13}, {"CU", 11}, {"BO", 7}, {"DO", 11}, {"HN", 10}, {"PY", 5}, {"SV", 6}, {"NI", 6},
              {"CR", 5}, {"PA", 3}, {"UY", 3.4}, {"US", 41}}},
      {"it", {{"IT", 57}, {"CH", 0.6}, {"SM", 0.03}, {"VA", 0.001}}},
      {"pt", {{"PT", 10}, {"BR", 205}, {"AO", 12}, {"MZ", 5}}},
      {"pl", {{"PL", 37.5}}},
      {"cs", {{"CZ", 10.3}}},
      {"sk", {{"SK", 4.5}}},
      {"sv", {{"SE", 9.5}, {"FI", 0.29}}},
      {"da", {{"DK", 5.5}, {"GL", 0.01}, {"FO", 0.01}}},
      {"nb", {{"NO", 5}}},
      {"no", {{"NO", 5}}},
      {"fi", {{"FI", 4.8}}},
      {"is", {{"IS", 0.33}}},
      {"en", {{"US", 240}, {"GB", 60}, {"CA", 20}, {"AU", 18}, {"NZ", 4}, {"IE", 4.5}, {"ZA", 5}, {"MT", 0.1}}},
      {"hu", {{"HU", 9.5}, {"RO", 1.2}, {"SK", 0.45}}},
      {"ro", {{"RO", 17}, {"MD", 2.5}}},
      {"el", {{"GR", 10.5}, {"CY", 0.7}}},
      {"hr", {{"HR", 3.8}, {"BA", 0.5}}},
      {"sl", {{"SI", 1.9}}},
      {"bg", {{"BG", 6}}},
      {"et", {{"EE", 0.9}}},
      {"lv", {{"LV", 1.2}}},
      {"lt", {{"LT", 2.5}}},
      {"tr", {{"TR", 67}, {"CY", 0.3}}},
      {"ru", {{"RU", 130}, {"BY", 6}, {"KZ", 3}, {"UA", 8}}},
      {"uk", {{"UA", 30}}},
  };
  return table;
}

struct CurrencyRow {
  std::string_view currency;
  std::vector<Share> shares;
};

// Users of each currency (ISO 4217; the euro area as of 2023 with Croatia, and the states that use the euro
// by agreement or unilaterally). Equal shares: a currency says which countries, not which of them.
const std::vector<CurrencyRow>& currency_table() {
  static const std::vector<CurrencyRow> table{
      {"EUR", {{"AT", 1}, {"BE", 1}, {"HR", 1}, {"CY", 1}, {"EE", 1}, {"FI", 1}, {"FR", 1}, {"DE", 1}, {"GR", 1},
               {"IE", 1}, {"IT", 1}, {"LV", 1}, {"LT", 1}, {"LU", 1}, {"MT", 1}, {"NL", 1}, {"PT", 1}, {"SK", 1},
               {"SI", 1}, {"ES", 1}, {"AD", 1}, {"MC", 1}, {"SM", 1}, {"VA", 1}, {"ME", 1}, {"XK", 1}}},
      {"GBP", {{"GB", 1}, {"IM", 0.05}, {"JE", 0.05}, {"GG", 0.05}, {"GI", 0.05}}},
      {"CHF", {{"CH", 1}, {"LI", 0.1}}},
      {"PLN", {{"PL", 1}}},
      {"CZK", {{"CZ", 1}}},
      {"SEK", {{"SE", 1}}},
      {"DKK", {{"DK", 1}, {"GL", 0.05}, {"FO", 0.05}}},
      {"NOK", {{"NO", 1}, {"SJ", 0.01}}},
      {"ISK", {{"IS", 1}}},
      {"HUF", {{"HU", 1}}},
      {"RON", {{"RO", 1}}},
      {"BGN", {{"BG", 1}}},
      {"RSD", {{"RS", 1}}},
      {"TRY", {{"TR", 1}}},
      {"UAH", {{"UA", 1}}},
      {"RUB", {{"RU", 1}}},
      {"USD", {{"US", 1}, {"EC", 0.1}, {"SV", 0.05}, {"PA", 0.05}, {"PR", 0.05}}},
  };
  return table;
}

// ccTLDs that are marketed and mostly used as generic names.
constexpr std::array<std::string_view, 14> kGenericCcTlds{"io", "co", "tv", "me", "fm", "ai", "ly", "to",
                                                          "cc", "ws", "gg", "am", "nu", "vc"};

// Generic top-level domains common on signs and packaging (IANA root zone).
constexpr std::array<std::string_view, 40> kGenericTlds{
    "com", "org", "net", "info", "biz", "edu", "gov", "int", "eu", "shop", "store", "online", "site", "app",
    "web", "website", "club", "xyz", "top", "art", "blog", "news", "travel", "shopping", "tech", "cloud",
    "digital", "email", "global", "group", "health", "hotel", "live", "media", "mobi", "name", "pro", "tel",
    "world", "company"};

// Geographic generic TLDs (IANA registry entries for cities and regions) and the country they name.
constexpr std::array<std::pair<std::string_view, std::string_view>, 24> kGeoTlds{{
    {"berlin", "DE"}, {"hamburg", "DE"}, {"koeln", "DE"}, {"cologne", "DE"}, {"bayern", "DE"}, {"nrw", "DE"},
    {"saarland", "DE"}, {"ruhr", "DE"}, {"wien", "AT"}, {"tirol", "AT"}, {"paris", "FR"}, {"bzh", "FR"},
    {"alsace", "FR"}, {"corsica", "FR"}, {"amsterdam", "NL"}, {"frl", "NL"}, {"brussels", "BE"},
    {"vlaanderen", "BE"}, {"gent", "BE"}, {"madrid", "ES"}, {"barcelona", "ES"}, {"cat", "ES"},
    {"london", "GB"}, {"swiss", "CH"}}};

std::vector<CountryWeight> normalised(const std::vector<Share>& shares) {
  double total = 0;
  for (const auto& s : shares) total += s.people;
  std::vector<CountryWeight> out;
  for (const auto& s : shares) out.push_back({std::string(s.code), s.people / total});
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.weight > b.weight; });
  return out;
}

}  // namespace

bool is_country_code(std::string_view code) {
  if (code.size() != 2) return false;
  for (std::size_t i = 0; i + 2 <= kIsoCodes.size(); i += 3) {
    if (kIsoCodes.substr(i, 2) == code) return true;
  }
  return false;
}

std::vector<CountryWeight> language_countries(std::string_view language) {
  for (const auto& row : language_table()) {
    if (row.language == language) return normalised(row.shares);
  }
  return {};
}

std::vector<CountryWeight> currency_countries(std::string_view currency) {
  for (const auto& row : currency_table()) {
    if (row.currency == currency) return normalised(row.shares);
  }
  return {};
}

std::optional<std::string> tld_country(std::string_view tld) {
  for (const auto& [name, code] : kGeoTlds) {
    if (name == tld) return std::string(code);
  }
  if (tld.size() != 2) return std::nullopt;
  if (std::find(kGenericCcTlds.begin(), kGenericCcTlds.end(), tld) != kGenericCcTlds.end()) return std::nullopt;
  if (tld == "uk") return "GB";
  if (tld == "eu" || tld == "su") return std::nullopt;
  if (tld[0] < 'a' || tld[0] > 'z' || tld[1] < 'a' || tld[1] > 'z') return std::nullopt;
  const std::string code{static_cast<char>(tld[0] - 'a' + 'A'), static_cast<char>(tld[1] - 'a' + 'A')};
  if (code == "GB") return std::nullopt;  // .gb is reserved, not in use
  return is_country_code(code) ? std::optional<std::string>(code) : std::nullopt;
}

bool is_known_tld(std::string_view tld) {
  if (tld_country(tld) || tld == "eu" || tld == "uk") return true;
  if (std::find(kGenericCcTlds.begin(), kGenericCcTlds.end(), tld) != kGenericCcTlds.end()) return true;
  if (std::find(kGenericTlds.begin(), kGenericTlds.end(), tld) != kGenericTlds.end()) return true;
  return std::any_of(kGeoTlds.begin(), kGeoTlds.end(), [&](const auto& g) { return g.first == tld; });
}

}  // namespace cluetrace::countries
