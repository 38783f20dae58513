// Extractors for the structured clues in one line of OCR'd text: phone numbers, web and e-mail addresses,
// prices, postcodes and dates. Pure functions over UTF-8 text (offsets are byte offsets into it), so each can
// be tested on real formats without images. The stage (clues_stage.hpp) turns matches into clues.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/types.hpp"

namespace cluetrace::clues {

struct Span {
  std::size_t begin = 0, end = 0;  // byte offsets into the line
};

// ---- phone numbers (libphonenumber) ----

struct PhoneReading {
  std::string region;  // ISO 3166-1 alpha-2; "001" for non-geographic numbers
  std::string e164;
};

struct PhoneMatch {
  Span span;
  std::string as_read;
  std::vector<PhoneReading> readings;  // every valid reading (one when a country code was written)
  std::string e164;        // the chosen interpretation
  std::string region;      // its region (ISO 3166-1 alpha-2; "001" for non-geographic)
  bool international = false;  // written with + or an international prefix: the country is certain
  std::vector<CountryWeight> countries;  // every region where the digits form a valid number, weighted
  std::vector<std::string> alternatives;  // E.164 of the other valid interpretations
};

class PhoneFinder {
 public:
  // `regions`: default regions tried, in order, for numbers written without a country code.
  explicit PhoneFinder(std::vector<std::string> regions);
  ~PhoneFinder();
  PhoneFinder(const PhoneFinder&) = delete;
  PhoneFinder& operator=(const PhoneFinder&) = delete;

  // Every number in `text` with all its valid readings, each resolved with `hints` (see resolve()).
  std::vector<PhoneMatch> find(std::string_view text, const std::map<std::string, double>& hints = {}) const;

 private:
  std::vector<std::string> regions_;
};

// Chooses a match's reading: `hints` say how much the rest of the image points to each country (any scale;
// may be empty). A number valid in several regions takes the region with the strongest hint, else the first
// region of the configured list in which it is valid. Sets e164, region, countries and alternatives; can be
// called again when the hints change.
void resolve(PhoneMatch& match, const std::map<std::string, double>& hints);

// Undoes common OCR confusions inside runs of digits: O/o -> 0, l/I/| -> 1 where both neighbours (skipping
// spaces, dots, dashes and slashes) are digits. Same length as the input, so offsets still hold.
std::string repair_digits(std::string_view text);

// ---- web and e-mail addresses ----

struct WebMatch {
  Span span;
  std::string as_read;
  std::string value;   // lower-cased host (+ path for URLs), scheme kept if it was written
  std::string host;    // lower case
  std::string tld;     // lower case, the last label
  std::string country; // from the ccTLD (or a geographic TLD); empty when it says nothing about place
};

// Also rejoins addresses that OCR split at a dot ("www. example.de", "www.example. de"); as_read and span
// are those of the original text.
std::vector<WebMatch> find_urls(std::string_view text);
std::vector<WebMatch> find_emails(std::string_view text);

// ---- prices ----

struct PriceMatch {
  Span span;
  std::string as_read;
  std::string amount;    // normalised decimal with a point: "1299.00"
  std::string currency;  // ISO 4217
  char decimal_separator = 0;  // ',' or '.', 0 when the amount had no decimals
};

std::vector<PriceMatch> find_prices(std::string_view text);

// ---- postcodes ----

struct PostcodeMatch {
  Span span;
  std::string as_read;
  std::string value;  // the code as written, spaces normalised ("10115", "1012 AB", "SW1A 1AA")
  std::vector<CountryWeight> countries;  // every country whose format it fits in this context
  std::string format;  // e.g. "5 digits + place", "NL 4 digits 2 letters", "country prefix"
};

std::vector<PostcodeMatch> find_postcodes(std::string_view text);

// ---- dates ----

struct DateMatch {
  Span span;
  std::string as_read;
  std::string iso;  // YYYY-MM-DD
  std::string order;  // "DMY", "YMD" or "MDY"
};

std::vector<DateMatch> find_dates(std::string_view text);

}  // namespace cluetrace::clues
