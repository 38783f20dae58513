#include "pipeline/case/html.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <unicode/locid.h>
#include <unicode/unistr.h>

#include "pipeline/case/artefacts.hpp"
#include "pipeline/report_store.hpp"

namespace cluetrace {
namespace {

constexpr const char* kStyle = R"css(
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em 2em;color:#1b1b1b;background:#fafafa}
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.4em 0;background:#fff}td,th{border:1px solid #ddd;padding:.3em .5em;vertical-align:top;text-align:left}
th{background:#eee}.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#666}
img.crop{max-width:240px;max-height:160px;border:1px solid #999;background:#fff}
.status-failed{color:#a40000;font-weight:bold}.status-partial{color:#a05a00;font-weight:bold}
.veil img{filter:blur(28px) grayscale(1);max-width:100%;cursor:pointer}
#reveal:checked+label img{filter:none}.veil input{display:none}
code{font-size:.95em;word-break:break-all}nav a{margin-right:1em}
)css";

// No network, no scripts: images only from this folder.
constexpr const char* kPolicy = "default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'";

std::string head(const std::string& title) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n"
      "<meta name=\"referrer\" content=\"no-referrer\">\n<title>{}</title><style>{}</style></head><body>\n",
      kPolicy, html_escape(title), kStyle);
}

std::string fmt_prob(double p) { return fmt::format("{:.2f}", p); }

// "DE" -> "DE (Germany)", from ICU's locale data (offline); the code alone when ICU does not know it.
std::string country_label(const std::string& code) {
  icu::UnicodeString name;
  icu::Locale("", code.c_str()).getDisplayCountry(icu::Locale::getEnglish(), name);
  std::string out;
  name.toUTF8String(out);
  return out.empty() || out == code ? code : code + " (" + out + ")";
}

const nlohmann::json& image_of(const nlohmann::json& report) { return report["image"]; }

std::string best_clue_text(const nlohmann::json& report) {
  if (report["clues"].empty()) return "";
  const auto& c = report["clues"][0];
  return fmt::format("{}: {}", c.value("kind", ""), c.value("value", ""));
}

double best_score(const nlohmann::json& report) {
  return report["clues"].empty() ? 0.0 : report["clues"][0].value("score", 0.0);
}

std::string top_country(const nlohmann::json& report) {
  return report["regions"].empty() ? "" : report["regions"][0].value("code", "");
}

// An <img> of a clue's crop, or a note why there is none. `prefix` leads from the page to the output folder.
std::string crop_cell(const CaseData& data, const nlohmann::json& report, const nlohmann::json& clue, const std::string& prefix) {
  if (!clue.contains("box")) return "<span class=\"muted\">no region (whole image or metadata)</span>";
  const std::string sha = image_of(report).value("sha256", "");
  const int rank = clue.value("rank", 0);
  if (!data.has_crop(sha, rank)) {
    return "<span class=\"muted\">crop not available</span>";
  }
  return fmt::format("<img class=\"crop\" src=\"{}{}\" alt=\"crop of clue {}\" data-rank=\"{}\">", prefix,
                     html_escape(crop_path(sha, rank).generic_string()), rank, rank);
}

std::string status_span(const std::string& status) {
  return fmt::format("<span class=\"status-{}\">{}</span>", html_escape(status), html_escape(status));
}

// The countries a clue points to, strongest first; a long tail (a euro price fits 26) is counted, not listed.
std::string countries_cell(const nlohmann::json& clue) {
  constexpr std::size_t kListed = 5;
  std::string out;
  if (!clue.contains("countries")) return out;
  std::vector<std::pair<double, std::string>> countries;
  for (const auto& c : clue["countries"]) countries.emplace_back(c.value("weight", 0.0), c.value("code", ""));
  std::stable_sort(countries.begin(), countries.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t i = 0; i < countries.size() && i < kListed; ++i) {
    out += fmt::format("{}{} {:.2f}", out.empty() ? "" : ", ", html_escape(countries[i].second), countries[i].first);
  }
  if (countries.size() > kListed) out += fmt::format(" <span class=\"muted\">and {} more</span>", countries.size() - kListed);
  return out;
}

std::string image_page(const CaseData& data, std::size_t index, const OutputOptions& options,
                       const std::map<std::size_t, std::vector<std::string>>& links_of) {
  const auto& report = data.reports[index];
  const auto& img = image_of(report);
  const std::string path = img.value("path", "");
  std::string h = head(fmt::format("{} — {}", path, data.name));
  h += "<nav><a href=\"../index.html\">case overview</a>";
  if (index > 0) h += fmt::format("<a href=\"../{}\">previous image</a>", page_path(index - 1));
  if (index + 1 < data.reports.size()) h += fmt::format("<a href=\"../{}\">next image</a>", page_path(index + 1));
  h += "</nav>\n";
  h += fmt::format("<h1 id=\"image-path\">{}</h1>\n", html_escape(path));
  h += "<table class=\"facts\">";
  h += fmt::format("<tr><th>status</th><td id=\"status\">{}</td></tr>", status_span(report.value("status", "")));
  h += fmt::format("<tr><th>SHA-256</th><td><code>{}</code></td></tr>", html_escape(img.value("sha256", "")));
  h += fmt::format("<tr><th>MD5</th><td><code>{}</code></td></tr>", html_escape(img.value("md5", "")));
  if (img.contains("sha1")) h += fmt::format("<tr><th>SHA-1</th><td><code>{}</code></td></tr>", html_escape(img.value("sha1", "")));
  h += fmt::format("<tr><th>file</th><td>{} bytes, {}{}</td></tr>", img.value("bytes", std::int64_t{0}),
                   html_escape(img.value("format", "unknown format")),
                   img.contains("width") ? fmt::format(", {} × {} px", img.value("width", 0), img.value("height", 0)) : "");
  h += fmt::format("<tr><th>run</th><td><code>{}</code>, config <code>{}</code></td></tr>",
                   html_escape(report.value("run_id", "")), html_escape(report.value("config_sha256", "").substr(0, 16)));
  h += "</table>\n";

  if (!report["errors"].empty()) {
    h += "<h2 id=\"errors\">Problems</h2><ul>";
    for (const auto& e : report["errors"]) {
      h += fmt::format("<li><b>{}</b>: {}</li>", html_escape(e.value("stage", "")), html_escape(e.value("message", "")));
    }
    h += "</ul>\n";
  }

  const std::string sha = img.value("sha256", "");
  if (options.full_image && sha.size() == 64 && std::filesystem::exists(data.dir / preview_path(sha))) {
    h += "<h2>Whole image</h2><div class=\"veil\"><input type=\"checkbox\" id=\"reveal\">"
         "<label for=\"reveal\" title=\"click to show\"><img id=\"full-image\" src=\"../" +
         html_escape(preview_path(sha).generic_string()) +
         "\" alt=\"whole image, blurred until clicked\"></label><p class=\"muted\">Blurred and greyscale: click to "
         "show, click again to hide.</p></div>\n";
  }

  h += fmt::format("<h2>Clues ({})</h2>\n", report["clues"].size());
  if (report["clues"].empty()) {
    h += "<p class=\"muted\">No clues were found in this image.</p>\n";
  } else {
    h += "<table id=\"clues\"><tr><th>rank</th><th>crop</th><th>kind</th><th>value</th><th>score</th><th>confidence</th>"
         "<th>countries</th><th>language</th><th>why</th></tr>\n";
    for (const auto& c : report["clues"]) {
      const int rank = c.value("rank", 0);
      h += fmt::format(
          "<tr id=\"clue-{}\" class=\"clue\"><td class=\"num\">{}</td><td>{}</td><td class=\"kind\">{}</td>"
          "<td class=\"value\">{}</td><td class=\"num score\">{:.2f}</td><td class=\"num\">{:.2f}</td><td>{}</td><td>{}</td>"
          "<td class=\"explanation\">{}</td></tr>\n",
          rank, rank, crop_cell(data, report, c, "../"), html_escape(c.value("kind", "")), html_escape(c.value("value", "")),
          c.value("score", 0.0), c.value("confidence", 0.0), countries_cell(c), html_escape(c.value("language", "")),
          html_escape(c.value("explanation", "")));
    }
    h += "</table>\n";
  }

  h += "<h2>Where: likely countries</h2>\n";
  if (report["regions"].empty()) {
    h += "<p class=\"muted\">Nothing in the image points to a country.</p>\n";
  } else {
    h += "<table id=\"regions\"><tr><th>country</th><th>probability</th><th>evidence (clues)</th></tr>";
    for (const auto& r : report["regions"]) {
      std::string evidence;
      if (r.contains("evidence")) {
        for (const auto& e : r["evidence"]) {
          const int rank = e.get<int>();
          std::string value;
          for (const auto& c : report["clues"])
            if (c.value("rank", 0) == rank) value = c.value("kind", "") + " " + c.value("value", "");
          evidence += fmt::format("{}<a href=\"#clue-{}\">#{} {}</a>", evidence.empty() ? "" : ", ", rank, rank, html_escape(value));
        }
      }
      h += fmt::format("<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>", html_escape(country_label(r.value("code", ""))),
                       fmt_prob(r.value("probability", 0.0)), evidence);
    }
    h += "</table>\n";
  }
  h += "<h2>Language</h2>\n";
  if (report["languages"].empty()) {
    h += "<p class=\"muted\">No text to tell the language by.</p>\n";
  } else {
    h += "<table id=\"languages\"><tr><th>language</th><th>probability</th><th>evidence (text clues)</th></tr>";
    for (const auto& l : report["languages"]) {
      const std::string code = l.value("code", "");
      std::string evidence;
      for (const auto& c : report["clues"]) {
        if (c.value("kind", "") == "text" && c.value("language", "") == code) {
          evidence += fmt::format("{}<a href=\"#clue-{}\">{}</a>", evidence.empty() ? "" : ", ", c.value("rank", 0),
                                  html_escape(c.value("value", "")));
        }
      }
      h += fmt::format("<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>", html_escape(code),
                       fmt_prob(l.value("probability", 0.0)), evidence);
    }
    h += "</table>\n";
  }
  if (const auto it = links_of.find(index); it != links_of.end()) {
    h += "<h2>Links to other images</h2><ul id=\"links\">";
    for (const auto& line : it->second) h += "<li>" + line + "</li>";
    h += "</ul>\n";
  }
  return h + "</body></html>\n";
}

std::string image_link(const CaseData& data, std::size_t i, const std::string& prefix) {
  return fmt::format("<a href=\"{}{}\">{}</a>", prefix, page_path(i), html_escape(image_of(data.reports[i]).value("path", "")));
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string page_path(std::size_t index) { return fmt::format("pages/{:05}.html", index + 1); }

void write_html(const CaseData& data, const OutputOptions& options) {
  std::filesystem::create_directories(data.dir / "pages");
  // Per image, what links it to others (for its page).
  std::map<std::size_t, std::vector<std::string>> links_of;
  for (const auto& r : data.links.recurring) {
    for (const auto& s : r.sightings) {
      std::string others;
      for (const auto& o : r.sightings)
        if (o.image != s.image) others += (others.empty() ? "" : ", ") + image_link(data, o.image, "../");
      links_of[s.image].push_back(fmt::format("{} <b>{}</b> (clue #{}) also in {}", html_escape(r.kind),
                                              html_escape(r.value), s.rank, others));
    }
  }
  for (const auto& g : data.links.scenes) {
    for (const auto i : g.images) {
      std::string others;
      for (const auto o : g.images)
        if (o != i) others += (others.empty() ? "" : ", ") + image_link(data, o, "../");
      links_of[i].push_back("same scene (matching background) as " + others);
    }
  }
  std::set<std::filesystem::path> pages;
  for (std::size_t i = 0; i < data.reports.size(); ++i) {
    write_file_atomically(data.dir / page_path(i), image_page(data, i, options, links_of), false);
    pages.insert(data.dir / page_path(i));
  }
  // Pages of an earlier, larger run in this folder (--overwrite) would show reports that are gone.
  for (const auto& e : std::filesystem::directory_iterator(data.dir / "pages")) {
    if (e.path().extension() == ".html" && !pages.contains(e.path())) std::filesystem::remove(e.path());
  }

  // The overview.
  std::size_t ok = 0, partial = 0, failed = 0;
  for (const auto& r : data.reports) {
    const auto s = r.value("status", "");
    ok += s == "ok";
    partial += s == "partial";
    failed += s == "failed";
  }
  std::string h = head("cluetrace — " + data.name);
  h += fmt::format("<h1>Case {}</h1>\n<p id=\"counts\">{} images: {} ok, {} partial, {} failed.", html_escape(data.name),
                   data.reports.size(), ok, partial, failed);
  if (!data.runs.empty()) {
    const auto& last = data.runs.back();
    h += fmt::format(" {} run(s); the last, <code>{}</code>, {} at {}.", data.runs.size(), html_escape(last.value("run_id", "")),
                     html_escape(last.value("status", "")), html_escape(last.value("finished_utc", "")));
  }
  h += "</p>\n<p class=\"muted\">Pages show only the regions of the clues";
  h += options.full_image ? "; image pages also hold the whole image, blurred until clicked.</p>\n" : ".</p>\n";

  // Images grouped by their likeliest country, each group by its best clue.
  std::map<std::string, std::vector<std::size_t>> by_country;
  for (std::size_t i = 0; i < data.reports.size(); ++i) {
    if (data.reports[i].value("status", "") == "failed") continue;
    by_country[top_country(data.reports[i])].push_back(i);
  }
  std::vector<std::pair<std::string, std::vector<std::size_t>>> groups(by_country.begin(), by_country.end());
  std::stable_sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
    if (a.first.empty() != b.first.empty()) return b.first.empty();  // "no country" last
    return a.second.size() > b.second.size();
  });
  h += "<h2>Images by likely country</h2>\n";
  for (auto& [country, images] : groups) {
    std::stable_sort(images.begin(), images.end(),
                     [&](std::size_t a, std::size_t b) { return best_score(data.reports[a]) > best_score(data.reports[b]); });
    h += fmt::format("<h3 class=\"country\" id=\"country-{}\">{}: {} image(s)</h3>\n", country.empty() ? "none" : html_escape(country),
                     country.empty() ? "No country indicated" : html_escape(country_label(country)), images.size());
    h += "<table class=\"images\"><tr><th>best clue</th><th>crop</th><th>score</th><th>image</th><th>clues</th><th>status</th></tr>\n";
    for (const auto i : images) {
      const auto& report = data.reports[i];
      const std::string crop = report["clues"].empty() ? "" : crop_cell(data, report, report["clues"][0], "");
      h += fmt::format("<tr class=\"image\"><td class=\"best\">{}</td><td>{}</td><td class=\"num\">{:.2f}</td><td>{}</td>"
                       "<td class=\"num\">{}</td><td>{}</td></tr>\n",
                       html_escape(best_clue_text(report)), crop, best_score(report), image_link(data, i, ""),
                       report["clues"].size(), status_span(report.value("status", "")));
    }
    h += "</table>\n";
  }

  h += "<h2>Links across images</h2>\n";
  if (data.links.recurring.empty() && data.links.scenes.empty()) {
    h += "<p class=\"muted\">No clue recurs in two pictures, and no two backgrounds match.</p>\n";
  }
  if (!data.links.recurring.empty()) {
    h += "<table id=\"recurring\"><tr><th>kind</th><th>value</th><th>images</th></tr>\n";
    for (const auto& r : data.links.recurring) {
      std::string images;
      for (const auto& s : r.sightings) images += (images.empty() ? "" : ", ") + image_link(data, s.image, "");
      h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n", html_escape(r.kind), html_escape(r.value), images);
    }
    h += "</table>\n";
  }
  if (!data.links.scenes.empty()) {
    h += "<h3>Same scene (matching backgrounds)</h3><ul id=\"scenes\">\n";
    for (const auto& g : data.links.scenes) {
      std::string images;
      for (const auto i : g.images) images += (images.empty() ? "" : ", ") + image_link(data, i, "");
      int best = 0;
      for (const auto& p : g.pairs) best = std::max(best, p.inliers);
      h += fmt::format("<li>{} <span class=\"muted\">(up to {} matching background features)</span></li>\n", images, best);
    }
    h += "</ul>\n";
  }

  h += "<h2 id=\"failures\">Failures</h2>\n";
  if (failed + partial == 0) {
    h += "<p class=\"muted\">Every image was processed in full.</p>\n";
  } else {
    h += "<table id=\"failed\"><tr><th>image</th><th>status</th><th>problem</th></tr>\n";
    for (std::size_t i = 0; i < data.reports.size(); ++i) {
      const auto& report = data.reports[i];
      if (report.value("status", "") == "ok") continue;
      std::string problems;
      for (const auto& e : report["errors"]) {
        problems += fmt::format("{}<b>{}</b>: {}", problems.empty() ? "" : "<br>", html_escape(e.value("stage", "")),
                                html_escape(e.value("message", "")));
      }
      h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n", image_link(data, i, ""),
                       status_span(report.value("status", "")), problems);
    }
    h += "</table>\n";
  }
  h += "</body></html>\n";
  write_file_atomically(data.dir / "index.html", h);
}

}  // namespace cluetrace
