#include "pipeline/case/case_outputs.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pipeline/case/database.hpp"
#include "pipeline/case/exchange.hpp"
#include "pipeline/case/html.hpp"
#include "pipeline/case/links.hpp"
#include "pipeline/report_store.hpp"

namespace cluetrace {
namespace {

// The complete JSON lines of a file (a torn last line from a killed run is skipped).
std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  std::size_t start = 0;
  while (start < all.size()) {
    const auto end = all.find('\n', start);
    if (end == std::string::npos) break;
    const auto line = std::string_view(all).substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      spdlog::warn("{}: a line that is not a JSON object was left out of the case outputs", path.string());
      continue;
    }
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

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
  data.reports = read_jsonl(reports);
  if (std::filesystem::exists(dir / "runs.jsonl")) data.runs = read_jsonl(dir / "runs.jsonl");
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
    for (const auto& earlier : read_jsonl(path)) text += earlier.dump() + "\n";
  }
  text += record.dump() + "\n";
  write_file_atomically(path, text);
}

CaseOutputs write_case_outputs(const std::filesystem::path& dir, const OutputOptions& options) {
  CaseData data = load_case(dir, options);
  if (options.links) data.links = find_links(data, options);
  CaseOutputs out;
  out.images = data.reports.size();
  if (options.links) {
    write_file_atomically(dir / "links.json", links_json(data).dump(2) + "\n");
    out.written.push_back(dir / "links.json");
  }
  if (options.summary_csv) {
    write_file_atomically(dir / "summary.csv", summary_csv(data));
    out.written.push_back(dir / "summary.csv");
  }
  if (options.vics) {
    write_file_atomically(dir / "vics.json", vics_json(data, options).dump(2) + "\n");
    out.written.push_back(dir / "vics.json");
  }
  if (options.database) {
    write_database(data, dir / "clues.sqlite");
    out.written.push_back(dir / "clues.sqlite");
  }
  if (options.html) {
    write_html(data, options);
    out.written.push_back(dir / "index.html");
  }
  return out;
}

}  // namespace cluetrace
