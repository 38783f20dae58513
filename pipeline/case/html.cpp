#include "pipeline/case/html.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include <fmt/format.h>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/parallel_for.h>
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

// An <img> of a clue's crop (its path under the case folder, or empty), or a note why there is none. `prefix`
// leads from the page to the output folder.
std::string crop_cell(bool has_box, const std::string& crop, int rank, const std::string& prefix) {
  if (!has_box) return "<span class=\"muted\">no region (whole image or metadata)</span>";
  if (crop.empty()) return "<span class=\"muted\">crop not available</span>";
  return fmt::format("<img class=\"crop\" src=\"{}{}\" alt=\"crop of clue {}\" data-rank=\"{}\">", prefix, html_escape(crop), rank, rank);
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

std::string image_link(std::int64_t id, const std::string& path, const std::string& prefix) {
  return fmt::format("<a href=\"{}{}\">{}</a>", prefix, page_path(static_cast<std::size_t>(id - 1)), html_escape(path));
}

// What links this image to others, one line each; at most kOthers other images are named per link.
constexpr std::size_t kOthers = 20;
std::vector<std::string> link_lines(const CaseStore& store, std::int64_t id) {
  std::vector<std::string> lines;
  for (const auto& link : store.links_of(id, kOthers)) {
    std::string others;
    for (const auto& [other, path] : link.images) others += (others.empty() ? "" : ", ") + image_link(other, path, "../");
    if (link.image_count > link.images.size() + 1) others += fmt::format(" and {} more", link.image_count - link.images.size() - 1);
    if (link.type == "clue") {
      lines.push_back(fmt::format("{} <b>{}</b> (clue #{}) also in {}", html_escape(link.kind), html_escape(link.value),
                                  link.own_rank, others));
    } else if (link.type == "scene") {
      lines.push_back("same scene (matching background) as " + others);
    } else if (link.type == "identical") {
      lines.push_back("the same file (same SHA-256) as " + others);
    }
  }
  return lines;
}

std::string image_page(const CaseStore& store, std::int64_t id, std::size_t total, const nlohmann::json& report,
                       const std::string& case_name, const std::filesystem::path& dir, const OutputOptions& options) {
  const auto& img = report["image"];
  const std::string path = img.value("path", "");
  const auto index = static_cast<std::size_t>(id - 1);
  std::string h = head(fmt::format("{} — {}", path, case_name));
  h += "<nav><a href=\"../index.html\">case overview</a>";
  if (index > 0) h += fmt::format("<a href=\"../{}\">previous image</a>", page_path(index - 1));
  if (index + 1 < total) h += fmt::format("<a href=\"../{}\">next image</a>", page_path(index + 1));
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
  if (options.full_image && sha.size() == 64 && std::filesystem::exists(dir / preview_path(sha))) {
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
          rank, rank, crop_cell(c.contains("box"), c.contains("box") ? store.crop_of(id, rank) : "", rank, "../"),
          html_escape(c.value("kind", "")), html_escape(c.value("value", "")), c.value("score", 0.0), c.value("confidence", 0.0),
          countries_cell(c), html_escape(c.value("language", "")), html_escape(c.value("explanation", "")));
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
  if (const auto lines = link_lines(store, id); !lines.empty()) {
    h += "<h2>Links to other images</h2><ul id=\"links\">";
    for (const auto& line : lines) h += "<li>" + line + "</li>";
    h += "</ul>\n";
  }
  return h + "</body></html>\n";
}

std::string images_table(const std::vector<ImageSummary>& images, const std::string& prefix) {
  std::string h = "<table class=\"images\"><tr><th>best clue</th><th>crop</th><th>score</th><th>image</th><th>clues</th><th>status</th></tr>\n";
  for (const auto& i : images) {
    const std::string best = i.best_kind.empty() ? "" : i.best_kind + ": " + i.best_value;
    const std::string crop = i.clues == 0 ? "" : (i.best_crop.empty() ? "" : crop_cell(true, i.best_crop, 1, prefix));
    h += fmt::format("<tr class=\"image\"><td class=\"best\">{}</td><td>{}</td><td class=\"num\">{:.2f}</td><td>{}</td>"
                     "<td class=\"num\">{}</td><td>{}</td></tr>\n",
                     html_escape(best), crop, i.best_score, image_link(i.id, i.path, prefix), i.clues, status_span(i.status));
  }
  return h + "</table>\n";
}

std::string problems_table(const std::vector<ImageSummary>& images, const std::string& prefix) {
  std::string h = "<table id=\"failed\"><tr><th>image</th><th>status</th><th>problem</th></tr>\n";
  for (const auto& i : images) {
    std::string problems;
    const auto errors = nlohmann::json::parse(i.errors, nullptr, false);
    if (errors.is_array()) {
      for (const auto& e : errors) {
        problems += fmt::format("{}<b>{}</b>: {}", problems.empty() ? "" : "<br>", html_escape(e.value("stage", "")),
                                html_escape(e.value("message", "")));
      }
    }
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n", image_link(i.id, i.path, prefix), status_span(i.status), problems);
  }
  return h + "</table>\n";
}

std::string recurring_table(const std::vector<LinkRow>& links, const std::string& prefix) {
  std::string h = "<table id=\"recurring\"><tr><th>kind</th><th>value</th><th>images</th></tr>\n";
  for (const auto& r : links) {
    std::string images;
    for (const auto& [id, path] : r.images) images += (images.empty() ? "" : ", ") + image_link(id, path, prefix);
    if (r.image_count > r.images.size()) images += fmt::format(" and {} more", r.image_count - r.images.size());
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n", html_escape(r.kind), html_escape(r.value), images);
  }
  return h + "</table>\n";
}

std::string scenes_list(const std::vector<LinkRow>& groups, const std::string& prefix) {
  std::string h = "<ul id=\"scenes\">\n";
  for (const auto& g : groups) {
    std::string images;
    for (const auto& [id, path] : g.images) images += (images.empty() ? "" : ", ") + image_link(id, path, prefix);
    if (g.image_count > g.images.size()) images += fmt::format(" and {} more", g.image_count - g.images.size());
    h += fmt::format("<li>{} <span class=\"muted\">(up to {} matching background features)</span></li>\n", images, g.best_inliers);
  }
  return h + "</ul>\n";
}

// A long list is split over overview/NAME-N.html (kOverviewPage rows each), cut from one pass over it
// (`stream` calls its argument with every row in order); returns the links to its pages.
template <typename Row, typename Stream, typename Render>
std::string paged(const std::filesystem::path& dir, const std::string& name, const std::string& title, std::size_t total,
                  const Stream& stream, const Render& render, std::set<std::filesystem::path>& written) {
  const std::size_t pages = (total + kOverviewPage - 1) / kOverviewPage;
  std::string nav;
  for (std::size_t p = 0; p < pages; ++p) nav += fmt::format("{}<a href=\"overview/{}-{}.html\">{}</a>", nav.empty() ? "" : " ", name, p + 1, p + 1);
  std::vector<Row> rows;
  std::size_t page = 0;
  const auto write_page = [&] {
    const std::string file = fmt::format("overview/{}-{}.html", name, page + 1);
    std::string h = head(title + fmt::format(" (page {} of {})", page + 1, pages));
    h += fmt::format("<nav><a href=\"../index.html\">case overview</a></nav>\n<h1>{}</h1>\n<p>Page {} of {}.</p>\n",
                     html_escape(title), page + 1, pages);
    h += render(rows, "../") + "</body></html>\n";
    write_file_atomically(dir / file, h, false);
    written.insert(dir / file);
    rows.clear();
    ++page;
  };
  stream([&](Row&& row) {
    if (page >= pages) return;  // rows added since the count: the count's pages are what the overview links
    rows.push_back(std::move(row));
    if (rows.size() == kOverviewPage) write_page();
  });
  while (page < pages) write_page();
  return nav;
}

// Files of an earlier, larger case in this folder would show reports that are gone.
void remove_stale(const std::filesystem::path& folder, const std::function<bool(const std::filesystem::path&)>& keep) {
  if (!std::filesystem::is_directory(folder)) return;
  for (const auto& e : std::filesystem::directory_iterator(folder)) {
    if (e.path().extension() == ".html" && !keep(e.path())) std::filesystem::remove(e.path());
  }
}

// Whether `file` is the page of one of reports 1..total (as page_path names it): decided from its name, so
// a case of a million pages keeps no list of them.
bool is_page_of(const std::filesystem::path& file, std::size_t total) {
  const std::string stem = file.stem().string();
  if (stem.empty() || stem.size() > 18 || !std::all_of(stem.begin(), stem.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  const std::size_t id = std::stoull(stem);
  return id >= 1 && id <= total && file.filename() == std::filesystem::path(page_path(id - 1)).filename();
}

// One page per report, in parallel within the calling arena: each thread reads the store through its own
// connection (a SQLite connection serves one thread at a time), a block of reports at a time.
void write_image_pages(const CaseStore& store, const std::filesystem::path& dir, std::size_t total, const std::string& case_name,
                       const OutputOptions& options) {
  constexpr std::int64_t kPagesPerTask = 256;
  oneapi::tbb::enumerable_thread_specific<std::unique_ptr<CaseStore>> readers;
  oneapi::tbb::parallel_for(
      oneapi::tbb::blocked_range<std::int64_t>(1, static_cast<std::int64_t>(total) + 1, kPagesPerTask), [&](const auto& block) {
        auto& reader = readers.local();
        if (!reader) reader = std::make_unique<CaseStore>(store.file());
        reader->for_each_report(block.begin(), block.end(), [&](std::int64_t id, const nlohmann::json& report) {
          write_file_atomically(dir / page_path(static_cast<std::size_t>(id - 1)),
                                image_page(*reader, id, total, report, case_name, dir, options), false);
        });
      });
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

void write_html(const CaseStore& store, const std::filesystem::path& dir, const OutputOptions& options) {
  const std::string case_name = store.name();
  const std::size_t total = store.image_count();
  std::filesystem::create_directories(dir / "pages");
  std::filesystem::create_directories(dir / "overview");
  write_image_pages(store, dir, total, case_name, options);
  remove_stale(dir / "pages", [&](const std::filesystem::path& file) { return is_page_of(file, total); });
  std::set<std::filesystem::path> overview;

  // The overview: everything for a small case; for a large one the first rows of each list and its pages.
  constexpr std::size_t kFirstRows = 100;
  const std::size_t ok = store.count_status("ok"), partial = store.count_status("partial"), failed = store.count_status("failed");
  std::string h = head("cluetrace — " + case_name);
  h += fmt::format("<h1>Case {}</h1>\n<p id=\"counts\">{} images: {} ok, {} partial, {} failed.", html_escape(case_name), total,
                   ok, partial, failed);
  if (const auto runs = store.runs(); !runs.empty()) {
    const auto& last = runs.back();
    h += fmt::format(" {} run(s); the last, <code>{}</code>, {} at {}.", runs.size(), html_escape(last.run_id), html_escape(last.status),
                     html_escape(last.finished_utc));
  }
  h += "</p>\n<p class=\"muted\">Pages show only the regions of the clues";
  h += options.full_image ? "; image pages also hold the whole image, blurred until clicked.</p>\n" : ".</p>\n";

  h += "<h2>Images by likely country</h2>\n";
  for (const auto& [country, count] : store.countries()) {
    const std::string label = country.empty() ? "No country indicated" : country_label(country);
    h += fmt::format("<h3 class=\"country\" id=\"country-{}\">{}: {} image(s)</h3>\n", country.empty() ? "none" : html_escape(country),
                     html_escape(label), count);
    h += images_table(store.images_of_country(country, 0, kFirstRows), "");
    if (count > kFirstRows) {
      const auto nav = paged<ImageSummary>(
          dir, "country-" + (country.empty() ? std::string("none") : country), label, count,
          [&, c = country](const auto& fn) { store.for_each_image_of_country(c, fn); }, images_table, overview);
      h += fmt::format("<p class=\"more\">All {} images of {}, best clue first: pages {}</p>\n", count, html_escape(label), nav);
    }
  }

  h += "<h2>Links across images</h2>\n";
  const std::size_t recurring = store.link_count("clue"), scenes = store.link_count("scene");
  if (recurring == 0 && scenes == 0) h += "<p class=\"muted\">No clue recurs in two pictures, and no two backgrounds match.</p>\n";
  if (recurring > 0) {
    h += recurring_table(store.links("clue", 0, kFirstRows, kOthers), "");
    if (recurring > kFirstRows) {
      h += fmt::format("<p class=\"more\">All {} recurring clues: pages {}</p>\n", recurring,
                       paged<LinkRow>(dir, "recurring", "Clues that recur across images", recurring,
                                     [&](const auto& fn) { store.for_each_link("clue", kOthers, fn); }, recurring_table, overview));
    }
  }
  if (scenes > 0) {
    h += "<h3>Same scene (matching backgrounds)</h3>\n";
    h += scenes_list(store.links("scene", 0, kFirstRows, kOthers), "");
    if (scenes > kFirstRows) {
      h += fmt::format("<p class=\"more\">All {} groups of the same scene: pages {}</p>\n", scenes,
                       paged<LinkRow>(dir, "scenes", "Same scene (matching backgrounds)", scenes,
                                     [&](const auto& fn) { store.for_each_link("scene", kOthers, fn); }, scenes_list, overview));
    }
  }

  h += "<h2 id=\"failures\">Failures</h2>\n";
  const std::size_t problems = store.problem_count();
  if (problems == 0) {
    h += "<p class=\"muted\">Every image was processed in full.</p>\n";
  } else {
    h += problems_table(store.problem_images(0, kFirstRows), "");
    if (problems > kFirstRows) {
      h += fmt::format("<p class=\"more\">All {} images with problems: pages {}</p>\n", problems,
                       paged<ImageSummary>(dir, "problems", "Images with problems", problems,
                                          [&](const auto& fn) { store.for_each_problem_image(fn); }, problems_table, overview));
    }
  }
  h += "</body></html>\n";
  remove_stale(dir / "overview", [&](const std::filesystem::path& file) { return overview.contains(file); });
  write_file_atomically(dir / "index.html", h);
}

}  // namespace cluetrace
