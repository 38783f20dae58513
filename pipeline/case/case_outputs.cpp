#include "pipeline/case/case_outputs.hpp"

#include <algorithm>
#include <functional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pipeline/case/artefacts.hpp"
#include "pipeline/case/database.hpp"
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

// A report as the case outputs read it: the fields they use present and of their type. Returns why not, when
// the line cannot be used at all (then it is left out of the case outputs, with a warning).
std::string normalise_report(nlohmann::json& report) {
  if (!report.contains("image") || !report["image"].is_object()) return "no image object";
  auto& img = report["image"];
  if (!img.contains("path") || !img["path"].is_string()) return "no image path";
  for (const char* key : {"sha256", "md5", "sha1"}) {
    if (img.contains(key) && !img[key].is_string()) img.erase(key);
  }
  // Hashes name files (crops, scene signatures): only well-formed ones are used.
  if (img.contains("sha256") && !is_hex(img["sha256"].get<std::string>(), 64)) img.erase("sha256");
  if (!report.contains("status") || !report["status"].is_string()) report["status"] = "failed";
  for (const char* key : {"clues", "regions", "languages", "errors"}) {
    if (!report.contains(key) || !report[key].is_array()) report[key] = nlohmann::json::array();
  }
  auto& clues = report["clues"];
  nlohmann::json kept = nlohmann::json::array();
  for (auto& clue : clues) {
    if (!clue.is_object() || !clue.contains("kind") || !clue["kind"].is_string() ||
        !clue_kind_from_string(clue["kind"].get<std::string>()) || !clue.contains("value") || !clue["value"].is_string()) {
      continue;
    }
    if (clue.contains("box")) {
      const auto& b = clue["box"];
      const bool four_ints = b.is_array() && b.size() == 4 && std::all_of(b.begin(), b.end(), [](const auto& v) { return v.is_number_integer(); });
      if (!four_ints) clue.erase("box");
    }
    kept.push_back(std::move(clue));
  }
  clues = std::move(kept);
  return "";
}

}  // namespace

bool CaseData::has_crop(const std::string& sha256, int rank) const {
  return sha256.size() == 64 && crops.contains(crop_path(sha256, rank).generic_string());
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

CaseData load_case(const std::filesystem::path& dir, const OutputOptions& options) {
  const auto reports = dir / "reports.jsonl";
  if (!std::filesystem::exists(reports)) {
    throw OutputError(fmt::format("{}: no reports.jsonl (not a cluetrace output folder)", dir.string()));
  }
  CaseData data;
  data.dir = dir;
  data.name = options.case_name;
  if (data.name.empty()) data.name = std::filesystem::absolute(dir).lexically_normal().filename().string();
  if (data.name.empty()) data.name = std::filesystem::absolute(dir).lexically_normal().parent_path().filename().string();
  for (auto& report : read_jsonl(reports)) {
    if (const auto problem = normalise_report(report); !problem.empty()) {
      spdlog::warn("{}: a report was left out of the case outputs: {}", reports.string(), problem);
      continue;
    }
    data.reports.push_back(std::move(report));
  }
  if (std::filesystem::exists(dir / "runs.jsonl")) data.runs = read_jsonl(dir / "runs.jsonl");
  if (std::filesystem::is_directory(dir / "crops")) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "crops")) {
      if (e.is_regular_file()) data.crops.insert(e.path().lexically_relative(dir).generic_string());
    }
  }
  return data;
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

CaseOutputs write_case_outputs(const std::filesystem::path& dir, const OutputOptions& options) {
  CaseData data = load_case(dir, options);
  CaseOutputs out;
  out.images = data.reports.size();
  // Each output on its own: one that fails (a broken scene file, a full disk) does not cost the others.
  auto& problems = out.problems;
  auto attempt = [&](const char* name, const std::function<void()>& write) {
    try {
      write();
      out.written.push_back(dir / name);
    } catch (const std::exception& e) {
      problems.push_back(fmt::format("{}: {}", name, e.what()));
      spdlog::error("{}: not written: {}", (dir / name).string(), e.what());
    }
  };
  constexpr auto dump = [](const nlohmann::ordered_json& j) {
    return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  };
  if (options.links) {
    attempt("links.json", [&] {
      data.links = find_links(data, options);
      write_file_atomically(dir / "links.json", dump(links_json(data)));
    });
  }
  if (options.summary_csv) attempt("summary.csv", [&] { write_file_atomically(dir / "summary.csv", summary_csv(data)); });
  if (options.vics) attempt("vics.json", [&] { write_file_atomically(dir / "vics.json", dump(vics_json(data, options))); });
  if (options.database) attempt("clues.sqlite", [&] { write_database(data, dir / "clues.sqlite"); });
  if (options.html) attempt("index.html", [&] { write_html(data, options); });
  return out;
}

}  // namespace cluetrace
