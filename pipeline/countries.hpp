// Country facts several stages share: ISO 3166-1 codes, and which countries a language, a currency or a
// web domain points to. Facts, not tuning: each table names its source in countries.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/types.hpp"

namespace cluetrace::countries {

// True for an assigned ISO 3166-1 alpha-2 code (upper case), plus XK (Kosovo, user-assigned but in common use).
bool is_country_code(std::string_view code);

// Countries where `language` (ISO 639-1) is an official or majority language, weighted by how many of its
// speakers live there (weights sum to 1). English and Spanish spread over many countries, so they localise little.
std::vector<CountryWeight> language_countries(std::string_view language);

// Countries that use an ISO 4217 currency (weights sum to 1; the euro's spread over its 20 members and users).
std::vector<CountryWeight> currency_countries(std::string_view currency);

// The country of a country-code top-level domain ("de" -> DE, "uk" -> GB); nothing for generic domains and for
// ccTLDs mostly sold as generic ones (.io, .co, .tv, .me ...).
std::optional<std::string> tld_country(std::string_view tld);

// True for top-level domains that exist: every ccTLD and the common generic ones (com, org, shop ...).
bool is_known_tld(std::string_view tld);

}  // namespace cluetrace::countries
