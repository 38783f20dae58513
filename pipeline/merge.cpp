#include "pipeline/merge.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <map>
#include <set>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/case/case_outputs.hpp"
#include "pipeline/report_store.hpp"

namespace fs = std::filesystem;

namespace cluetrace {
namespace {

using json = nlohmann::json;

struct Shard {
  fs::path dir;
  json run;
  std::size_t index = 0, count = 1;
};

std::string dump(const json& j, int indent = -1) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

Shard read_shard(const fs::path& dir) {
  Shard shard;
  shard.dir = dir;
  const auto run_json = dir / "run.json";
  if (!fs::exists(run_json)) {
    throw MergeError(fmt::format("{}: no run.json: not a cluetrace output folder, or its run never started", dir.string()));
  }
  shard.run = json::parse(read_file(run_json), nullptr, false);
  if (shard.run.is_discarded() || !shard.run.is_object()) throw MergeError(fmt::format("{}: run.json is not readable JSON", dir.string()));
  const auto status = shard.run.value("status", std::string("unknown"));
  if (status != "complete") {
    throw MergeError(fmt::format("{}: its run is {}, not complete: finish it first (cluetrace run --resume with the same "
                                 "--shard, --out and INPUTs)",
                                 dir.string(), status));
  }
  if (!fs::exists(dir / "reports.jsonl")) throw MergeError(fmt::format("{}: no reports.jsonl", dir.string()));
  const auto& spec = shard.run.value("shard", json::object());
  shard.index = spec.value("index", std::size_t{0});
  shard.count = spec.value("count", std::size_t{1});
  return shard;
}

std::string config_of(const Shard& s) { return s.run.value("config", json::object()).value("sha256", std::string()); }
json inputs_of(const Shard& s) { return s.run.value("shard", json::object()).value("inputs", json::array()); }

// Every part once, all made the same way: or a message that names what is wrong.
void check_shards(const std::vector<Shard>& shards) {
  const Shard& first = shards.front();
  std::map<std::size_t, const Shard*> by_index;
  for (const auto& s : shards) {
    if (s.count != first.count) {
      throw MergeError(fmt::format("{} is shard {}/{} but {} is shard {}/{}: they are parts of different splits", s.dir.string(),
                                   s.index, s.count, first.dir.string(), first.index, first.count));
    }
    if (config_of(s) != config_of(first)) {
      throw MergeError(fmt::format("{} was made with config {} but {} with config {}: shards with different configs do not "
                                   "make one case",
                                   s.dir.string(), config_of(s).substr(0, 12), first.dir.string(), config_of(first).substr(0, 12)));
    }
    if (inputs_of(s) != inputs_of(first)) {
      throw MergeError(fmt::format("{} ran over INPUTs {} but {} over {}: shards must be given the same INPUTs", s.dir.string(),
                                   dump(inputs_of(s)), first.dir.string(), dump(inputs_of(first))));
    }
    const auto [it, added] = by_index.emplace(s.index, &s);
    if (!added) {
      throw MergeError(fmt::format("shard {}/{} is given twice: {} and {}", s.index, s.count, it->second->dir.string(), s.dir.string()));
    }
  }
  std::vector<std::string> missing;
  for (std::size_t k = 0; k < first.count; ++k) {
    if (!by_index.contains(k)) missing.push_back(fmt::format("{}/{}", k, first.count));
  }
  if (!missing.empty()) {
    throw MergeError(fmt::format("shard(s) {} missing: {} of {} given", fmt::join(missing, ", "), shards.size(), first.count));
  }
}

// Where each report is: enough to write them in order without holding them (24 bytes a report).
struct ReportRef {
  std::uint64_t walk_index;
  std::uint32_t shard;
  std::uint32_t length;
  std::uint64_t offset;
};

std::vector<ReportRef> index_reports(const std::vector<Shard>& shards) {
  std::vector<ReportRef> refs;
  for (std::uint32_t s = 0; s < shards.size(); ++s) {
    std::ifstream in(shards[s].dir / "reports.jsonl", std::ios::binary);
    std::string line;
    std::uint64_t offset = 0;
    while (std::getline(in, line)) {
      const std::uint64_t start = offset;
      offset += line.size() + 1;
      if (in.eof()) break;  // a torn last line (impossible in a complete run): not a report
      const auto report = json::parse(line, nullptr, false);
      if (report.is_discarded() || !report.is_object()) {
        throw MergeError(fmt::format("{}: reports.jsonl has a line that is not a report at byte {}", shards[s].dir.string(), start));
      }
      if (!report.contains("walk_index") || !report["walk_index"].is_number_unsigned()) {
        throw MergeError(fmt::format("{}: its reports carry no walk_index (made by a cluetrace older than merge): run the shard "
                                     "again with --overwrite",
                                     shards[s].dir.string()));
      }
      refs.push_back({report["walk_index"].get<std::uint64_t>(), s, static_cast<std::uint32_t>(line.size()), start});
    }
  }
  std::sort(refs.begin(), refs.end(), [](const ReportRef& a, const ReportRef& b) {
    return std::tie(a.walk_index, a.shard, a.offset) < std::tie(b.walk_index, b.shard, b.offset);
  });
  for (std::size_t i = 1; i < refs.size(); ++i) {
    if (refs[i].walk_index == refs[i - 1].walk_index) {
      throw MergeError(fmt::format("{} and {} both report the file at walk position {}: were they run over different INPUTs, "
                                   "or is one folder a copy of another?",
                                   shards[refs[i - 1].shard].dir.string(), shards[refs[i].shard].dir.string(), refs[i].walk_index));
    }
  }
  return refs;
}

void write_merged_reports(const std::vector<Shard>& shards, const std::vector<ReportRef>& refs, const fs::path& out) {
  std::vector<int> fds;
  for (const auto& s : shards) fds.push_back(::open((s.dir / "reports.jsonl").c_str(), O_RDONLY | O_CLOEXEC));
  const fs::path tmp = out / ".reports.jsonl.merge.tmp";
  {
    std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
    std::string line;
    for (const auto& r : refs) {
      line.resize(r.length);
      if (::pread(fds[r.shard], line.data(), r.length, static_cast<off_t>(r.offset)) != static_cast<ssize_t>(r.length)) {
        throw MergeError(fmt::format("{}: reports.jsonl changed while it was merged", shards[r.shard].dir.string()));
      }
      o << line << '\n';
    }
    o.flush();
    if (!o) throw OutputError(fmt::format("cannot write {}", tmp.string()));
  }
  for (int fd : fds) ::close(fd);
  fs::rename(tmp, out / "reports.jsonl");
}

// Crops, scene signatures and previews: linked where the file system allows, else copied.
void gather_artefacts(const std::vector<Shard>& shards, const fs::path& out) {
  for (const char* folder : {"crops", "scenes", "objects", "previews"}) {
    for (const auto& s : shards) {
      const auto from = s.dir / folder;
      if (!fs::is_directory(from)) continue;
      for (const auto& e : fs::recursive_directory_iterator(from)) {
        if (!e.is_regular_file()) continue;
        const auto target = out / folder / e.path().lexically_relative(from);
        if (fs::exists(target)) continue;  // the same picture in two shards: the same file name, the same crop
        fs::create_directories(target.parent_path());
        std::error_code ec;
        fs::create_hard_link(e.path(), target, ec);
        if (ec) fs::copy_file(e.path(), target, fs::copy_options::skip_existing);
      }
    }
  }
}

void merge_runs_file(const std::vector<Shard>& shards, const fs::path& out) {
  std::map<std::pair<std::string, std::string>, std::string> runs;  // (start, id) -> line
  for (const auto& s : shards) {
    std::ifstream in(s.dir / "runs.jsonl");
    for (std::string line; std::getline(in, line);) {
      const auto r = json::parse(line, nullptr, false);
      if (r.is_discarded() || !r.is_object()) continue;
      runs.emplace(std::pair{r.value("started_utc", std::string()), r.value("run_id", std::string())}, line);
    }
  }
  std::string text;
  for (const auto& [key, line] : runs) text += line + "\n";
  write_file_atomically(out / "runs.jsonl", text);
}

json merged_record(const std::vector<Shard>& shards, std::size_t reports, const std::vector<std::string>& command_line) {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  json run;
  run["status"] = "complete";
  run["merged_utc"] = fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(now));
  run["command_line"] = command_line;
  run["tool"] = shards.front().run.value("tool", json::object());
  run["config"] = shards.front().run.value("config", json::object());
  run["shard"] = {{"index", 0}, {"count", 1}, {"inputs", inputs_of(shards.front())}};
  json counts = json::object();
  json skipped = json::array(), problems = json::array(), failures = json::array();
  std::set<std::string> seen_skipped, seen_problems;
  auto& from = run["merged_from"] = json::array();
  for (const auto& s : shards) {
    const json shard_counts = s.run.value("counts", json::object());
    for (const auto& [key, value] : shard_counts.items()) {
      if (value.is_number()) counts[key] = counts.value(key, std::int64_t{0}) + value.get<std::int64_t>();
    }
    // Every shard walked every folder: the same skipped file and input problem are listed by each.
    for (const auto& n : s.run.value("skipped", json::array())) {
      if (seen_skipped.insert(dump(n)).second) skipped.push_back(n);
    }
    for (const auto& n : s.run.value("input_problems", json::array())) {
      if (seen_problems.insert(dump(n)).second) problems.push_back(n);
    }
    for (const auto& f : s.run.value("failures", json::array())) failures.push_back(f);
    from.push_back({{"dir", fs::absolute(s.dir).lexically_normal().string()},
                    {"shard", fmt::format("{}/{}", s.index, s.count)},
                    {"run_id", s.run.value("run_id", "")},
                    {"started_utc", s.run.value("started_utc", "")},
                    {"finished_utc", s.run.value("finished_utc", "")},
                    {"tool", s.run.value("tool", json::object())},
                    {"libraries", s.run.value("libraries", json::object())},
                    {"config_sha256", config_of(s)},
                    {"threads", s.run.value("threads", 0)},
                    {"counts", s.run.value("counts", json::object())},
                    {"isolation", s.run.value("isolation", json::object())}});
  }
  counts["skipped"] = skipped.size();
  counts["input_problems"] = problems.size();
  counts["reported"] = reports;
  run["counts"] = counts;
  run["failures"] = failures;
  run["skipped"] = skipped;
  run["input_problems"] = problems;
  // The case can be searched by example when a shard kept object stores (its pictures are found; those of a shard
  // that kept none are not); when every shard says it kept none, find_object says so instead of searching.
  bool said = false, kept = false;
  for (const auto& s : shards) {
    if (!s.run.contains("object_stores")) continue;
    said = true;
    kept = kept || s.run["object_stores"] == true;
  }
  if (said) run["object_stores"] = kept;
  return run;
}

}  // namespace

MergeSummary merge_shards(const fs::path& out, const std::vector<fs::path>& shard_dirs, const OutputOptions& outputs,
                          const std::vector<std::string>& command_line) {
  if (shard_dirs.empty()) throw MergeError("give the shards' output folders");
  std::vector<Shard> shards;
  for (const auto& d : shard_dirs) {
    std::error_code ec;
    if (fs::exists(out) && fs::equivalent(d, out, ec)) {
      throw MergeError(fmt::format("{} is a shard: merge into a folder of its own", d.string()));
    }
    shards.push_back(read_shard(d));
  }
  std::sort(shards.begin(), shards.end(), [](const Shard& a, const Shard& b) { return a.index < b.index; });
  check_shards(shards);
  const auto refs = index_reports(shards);

  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) throw OutputError(fmt::format("cannot create {}: {}", out.string(), ec.message()));
  const FolderLock lock(out);
  if (fs::exists(out / "run.json") && !json::parse(read_file(out / "run.json"), nullptr, false).contains("merged_from")) {
    throw OutputError(fmt::format("{} holds the reports of a run, not of a merge: merge into another folder", out.string()));
  }
  write_merged_reports(shards, refs, out);
  gather_artefacts(shards, out);
  merge_runs_file(shards, out);
  write_file_atomically(out / "run.json", dump(merged_record(shards, refs.size(), command_line), 2) + "\n");

  MergeSummary summary;
  summary.shards = shards.size();
  summary.reports = refs.size();
  // Decisions an analyst made on a shard's own case carry into the merged one.
  std::vector<fs::path> decision_sources;
  for (const auto& s : shards) decision_sources.push_back(s.dir / "clues.sqlite");
  const auto written = write_case_outputs(out, outputs, decision_sources);
  summary.outputs = written.written;
  summary.output_problems = written.problems;
  return summary;
}

}  // namespace cluetrace
