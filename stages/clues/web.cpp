// Web and e-mail addresses: a scanner over runs of address characters, kept only when the top-level domain
// exists, so "z.B." or "Preis.Das" are not taken for hosts.
#include <algorithm>
#include <cctype>

#include "pipeline/countries.hpp"
#include "stages/clues/extract.hpp"

namespace cluetrace::clues {
namespace {

bool address_char(unsigned char c) {
  return std::isalnum(c) || c >= 0x80 || c == '.' || c == '-' || c == '_' || c == '@' || c == ':' || c == '/' ||
         c == '%' || c == '?' || c == '=' || c == '&' || c == '#' || c == '~' || c == '+';
}

// Lower case, and the dashes OCR reads for a hyphen (U+2010..U+2015, U+2212) as '-'.
std::string lower(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0xE2 && i + 2 < s.size()) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]), c2 = static_cast<unsigned char>(s[i + 2]);
      if ((c1 == 0x80 && c2 >= 0x90 && c2 <= 0x95) || (c1 == 0x88 && c2 == 0x92)) {
        out += '-';
        i += 2;
        continue;
      }
    }
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

struct Run {
  std::size_t begin, end;
};

std::vector<Run> address_runs(std::string_view text) {
  std::vector<Run> runs;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!address_char(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && address_char(static_cast<unsigned char>(text[j]))) ++j;
    // Trailing sentence punctuation is not part of an address.
    std::size_t end = j;
    while (end > i && std::string_view(".,;:!?-/").find(text[end - 1]) != std::string_view::npos) --end;
    std::size_t begin = i;
    while (begin < end && std::string_view(".,;:-/@").find(text[begin]) != std::string_view::npos) ++begin;
    if (end > begin) runs.push_back({begin, end});
    i = j;
  }
  return runs;
}

bool valid_label(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
  return std::all_of(label.begin(), label.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return std::isalnum(c) || c == '-' || c >= 0x80;
  });
}

// Splits a host into labels and checks them; returns the lower-case TLD, or empty when not a host.
std::string host_tld(std::string_view host) {
  std::vector<std::string_view> labels;
  std::size_t start = 0;
  while (true) {
    const auto dot = host.find('.', start);
    labels.push_back(host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (labels.size() < 2) return {};
  if (!std::all_of(labels.begin(), labels.end(), valid_label)) return {};
  const std::string tld = lower(labels.back());
  if (!std::all_of(tld.begin(), tld.end(), [](char c) { return c >= 'a' && c <= 'z'; })) return {};
  if (!countries::is_known_tld(tld)) return {};
  return tld;
}

bool has_letter(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80; });
}

WebMatch make_match(std::string_view text, Run run, std::string value, std::string host, std::string tld) {
  WebMatch m;
  m.span = {run.begin, run.end};
  m.as_read = std::string(text.substr(run.begin, run.end - run.begin));
  m.value = std::move(value);
  m.host = std::move(host);
  m.country = countries::tld_country(tld).value_or("");
  m.tld = std::move(tld);
  return m;
}

// OCR splits web addresses at their dots ("www. example.de", "www example.de", "www.example. de"). This
// rejoins them; origin[i] is the offset in the original text of text[i].
struct Rejoined {
  std::string text;
  std::vector<std::size_t> origin;
};

Rejoined rejoin_addresses(std::string_view text) {
  Rejoined r;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == ' ' && !r.text.empty()) {
      const auto last_space = r.text.rfind(' ');
      const auto token_start = last_space == std::string::npos ? 0 : last_space + 1;
      const std::string token = lower(std::string_view(r.text).substr(token_start));
      const auto next_end = text.find_first_of(" /", i + 1);
      const std::string next = lower(text.substr(i + 1, next_end == std::string_view::npos ? std::string_view::npos : next_end - i - 1));
      const bool next_is_host = next.find('.') != std::string::npos && next.front() != '.';
      if ((token == "www." || token == "www") && next_is_host) {
        if (token == "www") {
          r.text += '.';
          r.origin.push_back(i);
        }
        continue;  // "www. example.de", "www example.de"
      }
      // "www.example. de": a host-like token ending in a dot, then a top-level domain.
      const bool host_like = token.size() > 1 && token.back() == '.' && token.find('.') < token.size() - 1;
      const bool tld_next = next.size() >= 2 && next.size() <= 6 &&
                            std::all_of(next.begin(), next.end(), [](char c) { return c >= 'a' && c <= 'z'; }) &&
                            countries::is_known_tld(next);
      if (host_like && tld_next) continue;
    }
    r.text += text[i];
    r.origin.push_back(i);
  }
  return r;
}

}  // namespace

std::vector<WebMatch> find_urls(std::string_view original) {
  const auto joined = rejoin_addresses(original);
  const std::string_view text = joined.text;
  std::vector<WebMatch> out;
  for (const auto run : address_runs(text)) {
    std::string_view token = text.substr(run.begin, run.end - run.begin);
    if (token.find('@') != std::string_view::npos) continue;
    const std::string low = lower(token);
    std::string_view rest = low;
    std::string scheme;  // "http" or "https", followed by "://"
    if (const auto colon = rest.find("://"); colon != std::string_view::npos) {
      const auto name = rest.substr(0, colon);
      if (name != "http" && name != "https") continue;
      scheme = std::string(name);
      rest.remove_prefix(colon + 3);
    }
    const auto slash = rest.find_first_of("/?#");
    const std::string_view host = rest.substr(0, slash);
    if (host.find(':') != std::string_view::npos) continue;
    const std::string tld = host_tld(host);
    if (tld.empty()) continue;
    const bool www = host.substr(0, 4) == "www.";
    if (scheme.empty() && !www) {
      // A bare host: the name before the TLD must look like one (letters, at least two characters), and
      // a mixed-case token ("Preis.De", "Str.Nr") is more likely two words run together than an address.
      const auto last_dot = host.rfind('.');
      const std::string_view name = host.substr(0, last_dot);
      const auto second = name.substr(name.rfind('.') == std::string_view::npos ? 0 : name.rfind('.') + 1);
      if (second.size() < 2 || !has_letter(second)) continue;
      const std::string_view original_host = token.substr(0, host.size());
      const bool any_upper = std::any_of(original_host.begin(), original_host.end(), [](char c) { return std::isupper(static_cast<unsigned char>(c)); });
      const bool any_lower = std::any_of(original_host.begin(), original_host.end(), [](char c) { return std::islower(static_cast<unsigned char>(c)); });
      if (any_upper && any_lower) continue;
    }
    const Run in_original{joined.origin[run.begin], joined.origin[run.end - 1] + 1};
    out.push_back(make_match(original, in_original, low, std::string(host), tld));
  }
  return out;
}

std::vector<WebMatch> find_emails(std::string_view text) {
  std::vector<WebMatch> out;
  for (const auto run : address_runs(text)) {
    std::string_view token = text.substr(run.begin, run.end - run.begin);
    const auto at = token.find('@');
    if (at == std::string_view::npos || at == 0 || token.find('@', at + 1) != std::string_view::npos) continue;
    const std::string_view local = token.substr(0, at);
    const bool local_ok = std::all_of(local.begin(), local.end(), [](char ch) {
      const auto c = static_cast<unsigned char>(ch);
      return std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '+' || c == '%';
    });
    if (!local_ok || local.front() == '.' || local.back() == '.') continue;
    const std::string host = lower(token.substr(at + 1));  // dashes normalised
    const std::string tld = host_tld(host);
    if (tld.empty()) continue;
    out.push_back(make_match(text, run, lower(token), host, tld));
  }
  return out;
}

}  // namespace cluetrace::clues
