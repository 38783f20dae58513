#include "stages/clues/clues_stage.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <phonenumbers/phonenumberutil.h>
#include <opencv2/imgproc.hpp>

#include "pipeline/countries.hpp"

namespace cluetrace::clues {
namespace {

// The European regions, then the larger others, as the default order for national numbers.
const std::vector<std::string> kDefaultRegions{"DE", "FR", "GB", "IT", "ES", "NL", "BE", "PL", "CZ", "SE", "DK",
                                               "AT", "CH", "PT", "IE", "LU", "NO", "FI", "SK", "HU", "RO", "GR",
                                               "HR", "SI", "BG", "EE", "LV", "LT", "US"};

// Byte offset where each word starts in the line (the OCR joins words with one space).
std::vector<std::size_t> word_offsets(const Clue& line) {
  std::vector<std::size_t> offsets;
  std::size_t at = 0;
  for (const auto& w : line.words) {
    const auto found = line.value.find(w.text, at);
    if (found == std::string::npos) return {};
    offsets.push_back(found);
    at = found + w.text.size();
  }
  return offsets;
}

// The box and quad of the words a span covers, else the line's.
void place(const Clue& line, const std::vector<std::size_t>& offsets, Span span, Clue& clue) {
  std::vector<cv::Point2f> points;
  for (std::size_t i = 0; i < offsets.size(); ++i) {
    const std::size_t begin = offsets[i], end = begin + line.words[i].text.size();
    if (begin < span.end && span.begin < end) points.insert(points.end(), line.words[i].quad.begin(), line.words[i].quad.end());
  }
  if (points.empty()) {
    clue.box = line.box;
    clue.quad = line.quad;
    return;
  }
  const cv::Rect r = cv::boundingRect(points);
  clue.box = Box{r.x, r.y, r.width, r.height};
  if (points.size() == 4) {
    clue.quad = std::array<cv::Point2f, 4>{points[0], points[1], points[2], points[3]};
  }
}

std::vector<CountryWeight> price_countries(const std::string& currency) {
  if (currency == "kr") {
    return {{"SE", 0.3}, {"DK", 0.3}, {"NO", 0.3}, {"IS", 0.1}};
  }
  return countries::currency_countries(currency);
}

}  // namespace

CluesOptions CluesOptions::read(OptionReader& o) {
  CluesOptions opts;
  opts.phone_regions = o.get_string_list("phone_regions", kDefaultRegions);
  const auto* util = i18n::phonenumbers::PhoneNumberUtil::GetInstance();
  for (const auto& r : opts.phone_regions) {
    if (util->GetCountryCodeForRegion(r) == 0) {
      o.problem("phone_regions", fmt::format("'{}' is not a region libphonenumber knows (ISO 3166-1 alpha-2, upper case)", r));
    }
  }
  auto kinds = o.child("kinds");
  opts.phones = kinds.get_bool("phone", true);
  opts.urls = kinds.get_bool("url", true);
  opts.emails = kinds.get_bool("email", true);
  opts.prices = kinds.get_bool("price", true);
  opts.postcodes = kinds.get_bool("postcode", true);
  opts.dates = kinds.get_bool("date", true);
  kinds.finish();
  o.adopt("kinds", kinds);
  return opts;
}

CluesStage::CluesStage(CluesOptions options)
    : options_(std::move(options)), phones_(std::make_unique<PhoneFinder>(options_.phone_regions)) {}

nlohmann::ordered_json CluesStage::resources() const {
  return {{"libphonenumber_metadata", "libphonenumber 8.12 (Debian 12)"}, {"phone_regions", options_.phone_regions}};
}

void CluesStage::process(ImageRecord& image, StageResult& out) {
  std::vector<Clue> lines;
  for (const auto& clue : image.all_clues()) {
    if (clue.kind == ClueKind::text) lines.push_back(clue);
  }

  // Hints for numbers written without a country code: the image's languages, then what the text itself
  // says for sure (web addresses' ccTLDs, numbers written with their country code).
  std::map<std::string, double> hints;
  for (const auto& lang : image.languages) {
    for (const auto& c : countries::language_countries(lang.code)) hints[c.code] += lang.probability * c.weight;
  }
  struct LineMatches {
    std::vector<WebMatch> emails, urls;
    std::vector<PhoneMatch> phones;
  };
  std::vector<LineMatches> matches(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto& m = matches[i];
    // Found whether or not their kind is reported: they also hint at the country of national phone numbers.
    m.emails = find_emails(lines[i].value);
    m.urls = find_urls(lines[i].value);
    m.phones = phones_->find(lines[i].value);
    for (const auto* list : {&m.emails, &m.urls}) {
      for (const auto& w : *list) {
        if (!w.country.empty()) hints[w.country] += 1.0;
      }
    }
    for (const auto& p : m.phones) {
      if (p.international && p.region.size() == 2) hints[p.region] += 1.0;
    }
  }
  for (auto& m : matches) {
    for (auto& p : m.phones) resolve(p, hints);
  }

  for (std::size_t line_index = 0; line_index < lines.size(); ++line_index) {
    const auto& line = lines[line_index];
    const auto& found = matches[line_index];
    const auto offsets = word_offsets(line);
    auto make = [&](ClueKind kind, std::string value, double factor, Span span, std::string as_read) {
      Clue clue;
      clue.kind = kind;
      clue.value = std::move(value);
      clue.confidence = std::clamp(line.confidence * factor, 0.0, 1.0);
      clue.language = line.language;
      clue.stage = std::string(id());
      place(line, offsets, span, clue);
      clue.details = nlohmann::ordered_json::object();
      clue.details["as_read"] = std::move(as_read);
      clue.details["source"] = line.value;
      return clue;
    };
    // Each stretch of text is one clue: addresses, then prices and dates, then phone numbers, then postcodes.
    std::vector<Span> taken;
    auto overlaps_taken = [&](Span span) {
      return std::any_of(taken.begin(), taken.end(), [&](Span s) { return span.begin < s.end && s.begin < span.end; });
    };
    if (options_.emails) {
      for (const auto& m : found.emails) {
        auto clue = make(ClueKind::email, m.value, 1.0, m.span, m.as_read);
        if (!m.country.empty()) clue.countries = {{m.country, 1.0}};
        clue.details["tld"] = m.tld;
        taken.push_back(m.span);
        out.clues.push_back(std::move(clue));
      }
    }
    if (options_.urls) {
      for (const auto& m : found.urls) {
        if (overlaps_taken(m.span)) continue;
        const bool explicit_web = m.value.starts_with("www.") || m.value.starts_with("http");
        auto clue = make(ClueKind::url, m.value, explicit_web ? 1.0 : 0.85, m.span, m.as_read);
        if (!m.country.empty()) clue.countries = {{m.country, 1.0}};
        clue.details["host"] = m.host;
        clue.details["tld"] = m.tld;
        taken.push_back(m.span);
        out.clues.push_back(std::move(clue));
      }
    }
    if (options_.prices) {
      for (const auto& m : find_prices(line.value)) {
        auto clue = make(ClueKind::price, m.amount + " " + m.currency, 0.9, m.span, m.as_read);
        clue.countries = price_countries(m.currency);
        clue.details["amount"] = m.amount;
        clue.details["currency"] = m.currency;
        if (m.decimal_separator) clue.details["decimal_separator"] = std::string(1, m.decimal_separator);
        taken.push_back(m.span);
        out.clues.push_back(std::move(clue));
      }
    }
    if (options_.dates) {
      for (const auto& m : find_dates(line.value)) {
        if (overlaps_taken(m.span)) continue;
        auto clue = make(ClueKind::date, m.iso, 0.9, m.span, m.as_read);
        clue.details["order"] = m.order;
        taken.push_back(m.span);
        out.clues.push_back(std::move(clue));
      }
    }
    const auto postcodes = find_postcodes(line.value);
    // A postcode in a format only one country uses ("4000-447 Porto") is not a national phone number that
    // some other country's plan happens to accept.
    auto distinctive_postcode = [&](Span span) {
      return std::any_of(postcodes.begin(), postcodes.end(), [&](const PostcodeMatch& p) {
        return p.countries.size() == 1 && span.begin < p.span.end && p.span.begin < span.end;
      });
    };
    if (options_.phones) {
      for (const auto& m : found.phones) {
        if (overlaps_taken(m.span) || (!m.international && distinctive_postcode(m.span))) continue;
        auto clue = make(ClueKind::phone, m.e164, m.international ? 1.0 : (m.alternatives.empty() ? 0.95 : 0.85), m.span, m.as_read);
        clue.countries = m.countries;
        clue.details["region"] = m.region;
        clue.details["written_with_country_code"] = m.international;
        if (!m.alternatives.empty()) clue.details["alternatives"] = m.alternatives;
        taken.push_back(m.span);
        out.clues.push_back(std::move(clue));
      }
    }
    if (options_.postcodes) {
      for (const auto& m : postcodes) {
        if (overlaps_taken(m.span)) continue;
        auto clue = make(ClueKind::postcode, m.value, m.countries.size() == 1 ? 0.9 : 0.6, m.span, m.as_read);
        clue.countries = m.countries;
        clue.details["format"] = m.format;
        out.clues.push_back(std::move(clue));
      }
    }
  }
}

}  // namespace cluetrace::clues
