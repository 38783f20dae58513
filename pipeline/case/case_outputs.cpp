#include "pipeline/case/case_outputs.hpp"

#include <algorithm>
#include <fstream>
#include <functional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pipeline/case/artefacts.hpp"
#include "pipeline/case/store.hpp"
#include "pipeline/case/exchange.hpp"
#include "pipeline/case/html.hpp"
#include "pipeline/case/links.hpp"
#include "pipeline/report_store.hpp"

namespace cluetrace {
namespace {

// The complete JSON objects of a JSONL file (a torn last line from a killed run is skipped).
std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) {
  std::vector<nlohmann::json> out;
  const std::string text = read_file(path);
  for_each_complete_line(text, [&](std::string_view line) {
    if (line.empty()) return;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      spdlog::warn("{}: a line that is not a JSON object was left out of the case outputs", path.string());
      return;
    }
    out.push_back(std::move(j));
  });
  return out;
}

bool is_hex(const std::string& s, std::size_t length) {
  return s.size() == length && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

using Check = bool (*)(const nlohmann::json&);
bool is_string(const nlohmann::json& j) { return j.is_string(); }
bool is_number(const nlohmann::json& j) { return j.is_number(); }
bool is_integer(const nlohmann::json& j) { return j.is_number_integer(); }
bool is_object(const nlohmann::json& j) { return j.is_object(); }
bool is_array(const nlohmann::json& j) { return j.is_array(); }
bool is_quad(const nlohmann::json& j) {
  return j.is_array() && j.size() == 4 && std::all_of(j.begin(), j.end(), [](const auto& p) {
           return p.is_array() && p.size() == 2 && p[0].is_number() && p[1].is_number();
         });
}
bool is_box(const nlohmann::json& j) {
  return j.is_array() && j.size() == 4 && std::all_of(j.begin(), j.end(), [](const auto& v) { return v.is_number_integer(); });
}

// Drops each listed field of `object` whose value is not of its type: a line written by another tool (or
// damaged) must cost its own fields, never the case outputs of every other report.
void keep_typed(nlohmann::json& object, std::initializer_list<std::pair<const char*, Check>> fields) {
  for (const auto& [key, check] : fields) {
    if (object.contains(key) && !check(object[key])) object.erase(key);
  }
}

// Keeps the elements of the array `object[key]` that are objects with the required typed fields (others are
// dropped), after keep_typed on each.
void keep_elements(nlohmann::json& object, const char* key, std::initializer_list<std::pair<const char*, Check>> required,
                   std::initializer_list<std::pair<const char*, Check>> optional = {}) {
  if (!object.contains(key)) return;
  if (!object[key].is_array()) {
    object.erase(key);
    return;
  }
  nlohmann::json kept = nlohmann::json::array();
  for (auto& e : object[key]) {
    if (!e.is_object()) continue;
    keep_typed(e, required);
    keep_typed(e, optional);
    if (std::all_of(required.begin(), required.end(), [&](const auto& f) { return e.contains(f.first); })) kept.push_back(std::move(e));
  }
  object[key] = std::move(kept);
}

// A report as the case outputs read it: every field they use present and of its type. Returns why not, when
// the line cannot be used at all (then it is left out of the case outputs, with a warning).
std::string normalise_report(nlohmann::json& report) {
  if (!report.contains("image") || !report["image"].is_object()) return "no image object";
  auto& img = report["image"];
  if (!img.contains("path") || !img["path"].is_string()) return "no image path";
  keep_typed(img, {{"sha256", is_string}, {"md5", is_string}, {"sha1", is_string}, {"format", is_string},
                   {"width", is_integer}, {"height", is_integer}, {"bytes", is_integer}});
  // Hashes name files (crops, scene signatures): only well-formed ones are used.
  if (img.contains("sha256") && !is_hex(img["sha256"].get<std::string>(), 64)) img.erase("sha256");
  const auto status = report.value("status", nlohmann::json()).is_string() ? report["status"].get<std::string>() : "";
  if (status != "ok" && status != "partial" && status != "failed") report["status"] = "failed";
  for (const char* key : {"clues", "regions", "languages", "errors"}) {
    if (!report.contains(key) || !report[key].is_array()) report[key] = nlohmann::json::array();
  }
  keep_typed(report, {{"run_id", is_string}, {"config_sha256", is_string}, {"tool", is_object}, {"timings_ms", is_object}});
  keep_elements(report, "errors", {{"stage", is_string}, {"message", is_string}});
  keep_elements(report, "languages", {{"code", is_string}, {"probability", is_number}});
  keep_elements(report, "regions", {{"code", is_string}, {"probability", is_number}}, {{"evidence", is_array}});
  for (auto& region : report["regions"]) {
    if (region.contains("evidence")) {
      auto& evidence = region["evidence"];
      nlohmann::json ranks = nlohmann::json::array();
      for (const auto& e : evidence) {
        if (e.is_number_integer()) ranks.push_back(e);
      }
      evidence = std::move(ranks);
    }
  }
  auto& clues = report["clues"];
  nlohmann::json kept = nlohmann::json::array();
  for (auto& clue : clues) {
    if (!clue.is_object() || !clue.contains("kind") || !clue["kind"].is_string() ||
        !clue_kind_from_string(clue["kind"].get<std::string>()) || !clue.contains("value") || !clue["value"].is_string()) {
      continue;
    }
    keep_typed(clue, {{"rank", is_integer}, {"confidence", is_number}, {"score", is_number}, {"box", is_box},
                      {"quad", is_quad}, {"language", is_string}, {"stage", is_string}, {"explanation", is_string},
                      {"details", is_object}, {"words", is_array}});
    // The rank names the clue's crop and its place: a missing or wrong one becomes its position.
    if (!clue.contains("rank") || clue["rank"].get<std::int64_t>() < 1) clue["rank"] = kept.size() + 1;
    if (!clue.contains("confidence")) clue["confidence"] = 0.0;
    if (!clue.contains("score")) clue["score"] = 0.0;
    keep_elements(clue, "countries", {{"code", is_string}, {"weight", is_number}});
    keep_elements(clue, "words", {{"text", is_string}}, {{"confidence", is_number}, {"quad", is_quad}});
    kept.push_back(std::move(clue));
  }
  clues = std::move(kept);
  return "";
}

}  // namespace

std::optional<nlohmann::json> parse_report_line(std::string_view line, std::string& problem) {
  auto report = nlohmann::json::parse(line, nullptr, false);
  if (report.is_discarded() || !report.is_object()) {
    problem = "not a JSON object";
    return std::nullopt;
  }
  problem = normalise_report(report);
  if (!problem.empty()) return std::nullopt;
  return report;
}

std::string countries_text(const nlohmann::json& clue) {
  std::string out;
  if (!clue.contains("countries")) return out;
  for (const auto& c : clue["countries"]) {
    if (!out.empty()) out += ';';
    out += fmt::format("{}:{:.2f}", c.value("code", ""), c.value("weight", 0.0));
  }
  return out;
}

void for_each_report_line(const std::filesystem::path& dir, const std::function<void(const nlohmann::json&)>& fn) {
  const auto reports = dir / "reports.jsonl";
  if (!std::filesystem::exists(reports)) {
    throw OutputError(fmt::format("{}: no reports.jsonl (not a cluetrace output folder)", dir.string()));
  }
  std::ifstream in(reports, std::ios::binary);
  for (std::string line; std::getline(in, line);) {
    if (in.eof()) break;  // no newline: a line a kill cut off
    if (line.empty()) continue;
    std::string problem;
    if (auto report = parse_report_line(line, problem)) fn(*report);
  }
}

void record_run(const std::filesystem::path& dir, const nlohmann::ordered_json& run) {
  nlohmann::ordered_json record;
  for (const char* key : {"run_id", "started_utc", "finished_utc", "status", "seconds", "tool", "command_line", "counts"}) {
    if (run.contains(key)) record[key] = run[key];
  }
  if (run.contains("config")) record["config_sha256"] = run["config"].value("sha256", "");
  std::string text;
  const auto path = dir / "runs.jsonl";
  if (std::filesystem::exists(path)) {
    for (const auto& earlier : read_jsonl(path)) text += earlier.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  // A command line may hold file names that are not UTF-8: replaced (U+FFFD), never a reason to lose the record.
  text += record.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  write_file_atomically(path, text);
}

CaseOutputs write_case_outputs(const std::filesystem::path& dir, const OutputOptions& options,
                               const std::vector<std::filesystem::path>& decision_sources) {
  CaseOutputs out;
  // The store first: every other output is made from it. Without it nothing else can be written.
  out.images = build_case_store(dir, options, decision_sources);
  out.written.push_back(dir / "clues.sqlite");
  const CaseStore store(dir / "clues.sqlite");
  // Each output on its own: one that fails (a full disk) does not cost the others.
  auto attempt = [&](const char* name, const std::function<void()>& write) {
    try {
      write();
      out.written.push_back(dir / name);
    } catch (const std::exception& e) {
      out.problems.push_back(fmt::format("{}: {}", name, e.what()));
    }
  };
  if (options.links) attempt("links.json", [&] { write_links_json(store, dir / "links.json"); });
  if (options.summary_csv) attempt("summary.csv", [&] { write_summary_csv(store, dir / "summary.csv"); });
  if (options.vics) attempt("vics.json", [&] { write_vics(store, dir, options); });
  if (options.html) attempt("index.html", [&] { write_html(store, dir, options); });
  if (!options.database) {
    std::error_code ignored;
    std::filesystem::remove(dir / "clues.sqlite", ignored);
    std::erase(out.written, dir / "clues.sqlite");
  }
  return out;
}

}  // namespace cluetrace
