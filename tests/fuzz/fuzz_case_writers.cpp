// Fuzz target: the case writers (HTML pages, summary.csv, vics.json, clues.sqlite, links.json) fed reports
// whose strings (paths, clue values, explanations, errors, codes, run ids) come from the fuzzer. No crash, and
// no string carrying markup reaches an HTML file unescaped.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/case/case_outputs.hpp"
#include "tests/fuzz/scratch_dir.hpp"

namespace {

std::vector<std::string> split(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> parts(1);
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      parts.emplace_back();
    } else {
      parts.back().push_back(static_cast<char>(data[i]));
    }
  }
  parts.resize(std::max<std::size_t>(parts.size(), 12));
  return parts;
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}


// Writes a two-image case whose strings are `s`; returns every HTML file it made, joined.
std::string write_case(const std::filesystem::path& dir, const std::vector<std::string>& s) {
  using json = nlohmann::json;
  auto report = [&](const std::string& path, const std::string& sha_char) {
    json clues = json::array();
    clues.push_back({{"rank", 1}, {"kind", "text"}, {"value", s[1]}, {"confidence", 0.9}, {"score", 0.8},
                     {"box", {1, 2, 30, 40}}, {"explanation", s[7]}, {"language", s[10]}});
    clues.push_back({{"rank", 2}, {"kind", "url"}, {"value", s[2]}, {"confidence", 0.9}, {"score", 0.7}});
    clues.push_back({{"rank", 3}, {"kind", "phone"}, {"value", s[3]}, {"confidence", 0.9}, {"score", 0.6},
                     {"countries", {{{"code", s[4]}, {"weight", 0.5}}}}});
    clues.push_back({{"rank", 4}, {"kind", "logo"}, {"value", s[5]}, {"confidence", 0.9}, {"score", 0.5},
                     {"details", {{"name", s[6]}}}});
    return json{{"schema", "clue-report/1"},
                {"image", {{"path", path}, {"sha256", std::string(64, sha_char[0])}, {"md5", std::string(32, 'b')},
                           {"sha1", std::string(40, 'c')}, {"bytes", 10}, {"format", s[11]}, {"width", 40}, {"height", 50}}},
                {"status", "partial"},
                {"errors", {{{"stage", s[8]}, {"message", s[9]}}}},
                {"clues", clues},
                {"languages", {{{"code", s[10]}, {"probability", 0.7}}}},
                {"regions", {{{"code", s[4]}, {"probability", 0.6}, {"evidence", {1, 3}}}}},
                {"run_id", s[11]},
                {"config_sha256", std::string(64, 'e')}};
  };
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir / "reports.jsonl", std::ios::binary);
    const auto dump = [](const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); };
    out << dump(report(s[0], "a")) << "\n" << dump(report("second/" + s[0] + ".jpg", "f")) << "\n";
  }
  cluetrace::OutputOptions options;
  options.case_name = s[6];
  cluetrace::write_case_outputs(dir, options);
  std::string html;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.path().extension() == ".html") html += read_all(e.path());
  }
  return html;
}


std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Walks the tags of `html` as a browser's tokenizer would (name, then attributes with quoted or bare values) and
// returns the first script-capable element, event-handler attribute or javascript: address, if any.
std::optional<std::string> active_markup(const std::string& html) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '/'; };
  std::size_t i = 0;
  while ((i = html.find('<', i)) != std::string::npos) {
    ++i;
    if (i >= html.size() || !std::isalpha(static_cast<unsigned char>(html[i]))) continue;  // text, comment, end tag
    std::size_t j = i;
    while (j < html.size() && !space(html[j]) && html[j] != '>') ++j;
    const std::string tag = lower(html.substr(i, j - i));
    if (tag == "script" || tag == "iframe" || tag == "object" || tag == "embed") return "<" + tag;
    while (j < html.size() && html[j] != '>') {
      while (j < html.size() && space(html[j])) ++j;
      const std::size_t name_start = j;
      while (j < html.size() && !space(html[j]) && html[j] != '=' && html[j] != '>') ++j;
      const std::string name = lower(html.substr(name_start, j - name_start));
      std::string value;
      if (j < html.size() && html[j] == '=') {
        ++j;
        if (j < html.size() && (html[j] == '"' || html[j] == '\'')) {
          const char quote = html[j++];
          const std::size_t end = std::min(html.find(quote, j), html.size());
          value = html.substr(j, end - j);
          j = end + 1;
        } else {
          const std::size_t start = j;
          while (j < html.size() && !space(html[j]) && html[j] != '>') ++j;
          value = html.substr(start, j - start);
        }
      }
      if (name.size() > 2 && name.rfind("on", 0) == 0) return "<" + tag + " " + name + "=";
      if (lower(value).find("javascript:") != std::string::npos) return "<" + tag + " " + name + "=javascript:";
      if (name.empty() && j < html.size() && html[j] != '>') ++j;  // a stray character: move on
    }
    i = j;
  }
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const cluetrace::fuzz::ScratchDir scratch("cluetrace-fuzz-case-");
  const auto& dir = scratch.path();
  // What the pages hold of their own (tags of the templates): a fuzz string found there proves nothing.
  static const std::string templates = write_case(dir, std::vector<std::string>(12));
  const auto s = split(data, size);
  const std::string html = write_case(dir, s);
  // Markup from an image must arrive in the HTML as text, never as markup. A string holding '&' can be matched
  // by our own tags next to text we escaped ("<td>" then "&lt;"): such strings are judged by the second check.
  // A string our own markup spells (say "clue #3) also in <a href=") is found in the pages of the same case
  // with every '<' of the strings replaced, too: that is not an injection.
  std::optional<std::string> defused_html;
  for (const auto& text : s) {
    if (text.size() < 4 || text.find('<') == std::string::npos || text.find('&') != std::string::npos ||
        templates.find(text) != std::string::npos || html.find(text) == std::string::npos) {
      continue;
    }
    if (!defused_html) {
      auto defused = s;
      for (auto& d : defused) std::replace(d.begin(), d.end(), '<', '_');
      defused_html = write_case(dir, defused);
    }
    if (defused_html->find(text) == std::string::npos) {
      std::fprintf(stderr, "unescaped in a page: %s\n", text.c_str());
      std::abort();
    }
  }
  // Our pages hold no script and no event handler at all (their Content-Security-Policy forbids them too). Text
  // may say " onclick=" (it is text); a tag or attribute may not.
  if (const auto bad = active_markup(html)) {
    std::fprintf(stderr, "active markup in a page: %s\n", bad->c_str());
    std::abort();
  }
  return 0;
}
