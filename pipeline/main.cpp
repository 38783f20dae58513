// cluetrace command line: parses arguments and calls the library; no logic of its own.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <oneapi/tbb/info.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "pipeline/batch.hpp"
#include "pipeline/case/case_outputs.hpp"
#include "pipeline/case/database.hpp"
#include "pipeline/case/export_crops.hpp"
#include "pipeline/config.hpp"
#include "pipeline/fold.hpp"
#include "pipeline/graph.hpp"
#include "pipeline/huge_pages.hpp"
#include "pipeline/inputs.hpp"
#include "pipeline/malloc_arenas.hpp"
#include "pipeline/merge.hpp"
#include "pipeline/report_store.hpp"
#include "pipeline/review/review_server.hpp"
#include "pipeline/versions.hpp"
#include "stages/language/langid_tool.hpp"
#include "stages/logo/catalogue_tool.hpp"
#include "stages/ocr/tessdata_archive.hpp"

namespace {

// The one piece of process-wide state: a signal handler can only reach a global.
std::atomic<bool> g_stop_requested{false};

extern "C" void on_stop_signal(int) { g_stop_requested.store(true); }

// glibc hands blocks over 128 KiB back to the kernel when they are freed (and raises that bound only as far as
// the blocks it has seen), so every image's pyramids, float copies and network buffers had their pages faulted
// in again: a fifth of the CPU time of a run on real photos went to page faults. Fixed bounds keep freed blocks
// up to 32 MiB (glibc's largest) in the heap for the next image, and the heap is trimmed only above 256 MiB of
// free space; peak memory is the same (bench/RESULTS.md, issue 16). Forked workers inherit the settings.
//
// Freed memory is reused only by the threads of the arena it came from, and glibc gives each thread an arena
// of its own (up to 8 a core): every worker thread kept the high-water mark of its own SIFT scale spaces and
// network buffers. One arena for every 4 cores lets them share it: 30 photos at 2 threads peaked at 1,214 MiB
// with glibc's arenas and 1,020 MiB with one, in the same time (bench/RESULTS.md, issue 16).
//
// Built with CLUETRACE_ALLOCATOR=tcmalloc, the CLI runs with tcmalloc, which takes mallopt() and ignores it: these
// bounds are for glibc's allocator, the default.
void keep_freed_memory_for_reuse() {
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
  ::mallopt(M_ARENA_MAX, cluetrace::malloc_arena_limit());
}

cluetrace::Config load_config_or_default(const std::string& path) {
  if (path.empty()) return cluetrace::load_config_text(cluetrace::default_config_yaml(), "<built-in default>");
  return cluetrace::load_config_file(path);
}

int command_version() {
  const auto versions = cluetrace::library_versions();
  for (const auto& [name, version] : versions.items()) fmt::print("{:<14} {}\n", name, version.get<std::string>());
  try {
    auto config = load_config_or_default("");
    cluetrace::prepare_stages(config);
    for (const auto& s : config.stages) {
      if (!s.stage) continue;
      const auto resources = s.stage->resources();
      if (!resources.empty()) fmt::print("{:<14} {}\n", s.stage->id(), resources.dump());
    }
  } catch (const std::exception& e) {
    fmt::print("{:<14} {}\n", "stages", std::string("cannot start: ") + e.what());
  }
  return 0;
}

int command_config_check(const std::string& file) {
  try {
    auto config = cluetrace::load_config_file(file);
    cluetrace::prepare_stages(config);
    fmt::print("{}: OK (config sha256 {})\n", file, config.sha256);
    return 0;
  } catch (const cluetrace::ConfigError& e) {
    std::cerr << e.problems().to_string();
    fmt::print(stderr, "{}: {} problem(s)\n", file, e.problems().all().size());
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: {}\n", file, e.what());
  }
  return 1;
}

int command_report(const std::string& dir, const std::string& config_path) {
  try {
    const auto config = load_config_or_default(config_path);
    if (!std::filesystem::exists(std::filesystem::path(dir) / "reports.jsonl")) {
      fmt::print(stderr, "cluetrace report: {} has no reports.jsonl (not a cluetrace output folder); nothing written\n", dir);
      return 1;
    }
    const cluetrace::FolderLock lock(dir);  // not while a run writes there
    const auto outputs = cluetrace::write_case_outputs(dir, config.outputs);
    fmt::print(stderr, "cluetrace: {} reports; wrote {} output(s) in {}\n", outputs.images, outputs.written.size(), dir);
    for (const auto& p : outputs.problems) fmt::print(stderr, "cluetrace report: not written: {}\n", p);
    return outputs.problems.empty() ? 0 : 1;
  } catch (const cluetrace::ConfigError& e) {
    std::cerr << e.problems().to_string();
  } catch (const std::exception& e) {
    fmt::print(stderr, "cluetrace report: {}\n", e.what());
  }
  return 1;
}

int command_merge(const std::string& out, const std::vector<std::string>& shard_dirs, const std::string& config_path,
                  const std::vector<std::string>& command_line) {
  try {
    const auto config = load_config_or_default(config_path);
    const auto summary = cluetrace::merge_shards(out, {shard_dirs.begin(), shard_dirs.end()}, config.outputs, command_line);
    fmt::print(stderr, "cluetrace: merged {} shards, {} reports, into {}\n", summary.shards, summary.reports, out);
    for (const auto& o : summary.outputs) fmt::print(stderr, "cluetrace: wrote {}\n", o.string());
    for (const auto& p : summary.output_problems) fmt::print(stderr, "cluetrace merge: not written: {}\n", p);
    return 0;
  } catch (const cluetrace::MergeError& e) {
    fmt::print(stderr, "cluetrace merge: {}; nothing was written\n", e.what());
  } catch (const cluetrace::ConfigError& e) {
    std::cerr << e.problems().to_string();
  } catch (const std::exception& e) {
    fmt::print(stderr, "cluetrace merge: {}\n", e.what());
  }
  return 1;
}

int command_search(const std::vector<std::string>& args, cluetrace::SearchQuery query, bool json) {
  // DIR... QUERY: the last argument is the query, the others are output folders (or folders holding several).
  std::vector<std::string> dirs(args.begin(), args.end() - 1);
  query.text = args.back();
  std::vector<std::filesystem::path> databases;
  std::size_t total = 0;
  try {
    for (const auto& dir : dirs) {
      const auto found = cluetrace::find_databases(dir);
      if (found.empty()) {
        fmt::print(stderr, "cluetrace search: no clues.sqlite in {}\n", dir);
        return 1;
      }
      for (const auto& db : found) {
        if (std::find(databases.begin(), databases.end(), db) == databases.end()) databases.push_back(db);
      }
    }
    for (const auto& db : databases) {
      for (const auto& h : cluetrace::search_database(db, query)) {
        ++total;
        if (json) {
          const nlohmann::ordered_json j{{"database", h.database}, {"run_id", h.run_id},     {"path", h.path},
                                         {"sha256", h.sha256},     {"rank", h.rank},          {"kind", h.kind},
                                         {"value", h.value},       {"score", h.score},        {"confidence", h.confidence},
                                         {"countries", h.countries}, {"image_country", h.top_country},
                                         {"explanation", h.explanation}, {"decision", h.decision}, {"note", h.note}};
          fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
        } else {
          fmt::print("{:.2f}  {:<8} {}  [{}]  {} #{}  (run {}){}\n", h.score, h.kind, cluetrace::terminal_safe(h.value),
                     h.countries.empty() ? h.top_country : h.countries, cluetrace::terminal_safe(h.path), h.rank,
                     cluetrace::terminal_safe(h.run_id), h.decision.empty() ? "" : "  [" + h.decision + "]");
        }
      }
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "cluetrace search: {}\n", e.what());
    return 1;
  }
  fmt::print(stderr, "cluetrace: {} clue(s) in {} database(s)\n", total, databases.size());
  return 0;
}

int command_review(const std::vector<std::string>& dirs, cluetrace::ServeOptions options) {
  for (const auto& d : dirs) options.review.cases.emplace_back(d);
  if (options.review.analyst.empty()) {
    const char* user = std::getenv("USER");
    options.review.analyst = user && *user ? user : "analyst";
  }
  if (options.review.root.empty()) options.review.root = std::filesystem::current_path();
  options.on_ready = [](const std::string& url) {
    fmt::print("{}\n", url);
    std::fflush(stdout);
    fmt::print(stderr, "cluetrace review: open the address above in a browser on this machine; Ctrl-C stops the server\n");
  };
  try {
    cluetrace::serve_review(options);
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "cluetrace review: {}\n", e.what());
    return 1;
  }
}

int command_find_object(const std::vector<std::string>& dirs, int case_index, const std::string& image, const std::string& box,
                        const std::string& crop, const std::string& root, bool json) {
  try {
    cluetrace::ReviewOptions options;
    options.read_only = true;
    for (const auto& d : dirs) options.cases.emplace_back(d);
    options.root = root.empty() ? std::filesystem::current_path() : std::filesystem::path(root);
    if (case_index >= static_cast<int>(dirs.size())) throw std::runtime_error(fmt::format("--case {}: only {} case(s) given", case_index, dirs.size()));
    cluetrace::ReviewApi api(options);
    nlohmann::json answer;
    if (!crop.empty()) {
      answer = api.query_crop(cluetrace::read_file(crop));
    } else {
      if (image.empty() || box.empty()) throw std::runtime_error("give --image and --box, or --crop");
      const auto id = api.find_image(case_index, image);
      if (!id) throw std::runtime_error(fmt::format("{}: no image '{}' in the case", dirs[static_cast<std::size_t>(case_index)], image));
      std::vector<int> b;
      std::stringstream in(box);
      for (std::string part; std::getline(in, part, ',');) b.push_back(std::stoi(part));
      if (b.size() != 4) throw std::runtime_error("--box: x,y,width,height");
      answer = api.query_region({{"case", case_index}, {"id", *id}, {"box", b}});
    }
    if (json) {
      fmt::print("{}\n", answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else {
      for (const auto& r : answer["results"]) {
        fmt::print("{:>4} inliers  case {} image {}  {}\n", r["inliers"].get<int>(), r["case"].get<int>(), r["id"].get<std::int64_t>(),
                   cluetrace::terminal_safe(r["path"].get<std::string>()));
      }
      for (const auto& s : answer["skipped"]) fmt::print(stderr, "cluetrace: not searched: {}\n", s["why"].get<std::string>());
      fmt::print(stderr, "cluetrace: {} picture(s) hold the object; {} pictures scanned, {} verified, {:.0f} ms + {:.0f} ms\n",
                 answer["results"].size(), answer["pictures"].get<std::size_t>(), answer["verified"].get<std::size_t>(),
                 answer["scan_ms"].get<double>(), answer["verify_ms"].get<double>());
    }
    return 0;
  } catch (const cluetrace::ReviewError& e) {
    fmt::print(stderr, "cluetrace find-object: {}\n", e.what());
  } catch (const std::exception& e) {
    fmt::print(stderr, "cluetrace find-object: {}\n", e.what());
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  cluetrace::reexec_with_huge_pages(argv);
  keep_freed_memory_for_reuse();
  spdlog::set_default_logger(spdlog::stderr_color_mt("cluetrace"));
  spdlog::set_pattern("cluetrace: %^%l%$: %v");

  CLI::App app{"cluetrace: finds leads in the background of images, offline, in batch"};
  app.require_subcommand(1);

  auto* run = app.add_subcommand("run", "run the pipeline over images and write one report per image");
  std::string config_path, out_dir, dump_graph, progress_mode = "auto";
  std::vector<std::string> inputs;
  bool resume = false, overwrite = false;
  int threads = -1, max_in_flight = -1;
  double image_timeout = -1;
  std::string shard_spec;
  std::size_t shard_count = 0;
  run->add_option("--config", config_path, "YAML config (default: the built-in config/default.yaml)")
      ->check(CLI::ExistingFile);
  run->add_option("--out", out_dir, "output folder for reports.jsonl and run.json");
  run->add_flag("--resume", resume, "continue a run in --out: keep its complete reports made with the same config");
  run->add_flag("--overwrite", overwrite, "replace the reports already in --out");
  run->add_option("--threads", threads, "worker threads, and the cores the run uses: OpenCV's own loops are held to as many (default: run.threads, 0 = all cores)")->check(CLI::Range(0, 1024));
  run->add_option("--max-in-flight", max_in_flight, "images in memory at once (default: run.max_in_flight)")
      ->check(CLI::Range(0, 1000000));
  run->add_option("--image-timeout", image_timeout,
                  "seconds an image may take before it is failed as timed out (default: run.image_timeout_s, 0 = none)")
      ->check(CLI::Range(0.0, 1e7));
  run->add_option("--shard", shard_spec, "process one part of the inputs: K/N (0 <= K < N), or auto (Slurm array, Kubernetes Indexed Job)");
  run->add_option("--shards", shard_count, "with --shard auto in a Kubernetes Indexed Job: the number of parts N")->check(CLI::Range(1, 1000000));
  run->add_option("--dump-graph", dump_graph, "write the flow graph as Graphviz dot to this file");
  run->add_option("--progress", progress_mode, "progress line on stderr")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  run->add_option("INPUT", inputs, "image files, folders (walked recursively) or @list.txt");

  auto* config_cmd = app.add_subcommand("config", "work with config files");
  config_cmd->require_subcommand(1);
  auto* check = config_cmd->add_subcommand("check", "validate a config and print every problem with its key path");
  std::string check_file;
  check->add_option("FILE", check_file, "config file")->required();

  auto* version = app.add_subcommand("version", "print the tool, library and model versions");

  auto* langid = app.add_subcommand("langid", "identify the language of each input line (prints code and probability)");
  cluetrace::language::LangIdCommand langid_options;
  std::string langid_config, langid_languages;
  langid->add_option("FILE", langid_options.files, "text files, one text per line (default: standard input)");
  langid->add_option("--config", langid_config, "config whose stages.language settings to use (default: built-in)");
  langid->add_option("--languages", langid_languages, "comma-separated ISO 639-1 codes instead of the config's");
  langid->add_flag("--distribution", langid_options.distribution, "print every language's probability");

  auto* tessdata_cmd = app.add_subcommand("tessdata", "prepare Tesseract models for a faster start (scripts/setup.sh runs it)");
  tessdata_cmd->require_subcommand(1);
  auto* tessdata_prepare = tessdata_cmd->add_subcommand(
      "prepare", "re-pack traineddata files as archives of their components, which Tesseract loads with less memory (docs/text.md)");
  std::vector<std::string> tessdata_languages;
  std::string tessdata_from, tessdata_to;
  tessdata_prepare->add_option("LANG", tessdata_languages, "Tesseract language names (Latin, eng ...)")->required();
  tessdata_prepare->add_option("--tessdata", tessdata_from, "folder of the traineddata files (default: the system's)");
  tessdata_prepare->add_option("--out", tessdata_to, "folder for the archives (default: models/tessdata of this installation)");

  auto* catalogue_cmd = app.add_subcommand("catalogue", "build, extend, list and check a logo catalogue");
  catalogue_cmd->require_subcommand(1);
  std::string catalogue_file;
  const std::string catalogue_help = "catalogue YAML (default: models/logos/catalogue.yaml of this installation)";
  auto* cat_build = catalogue_cmd->add_subcommand("build", "compile (or bring up to date) the feature index beside the catalogue");
  cat_build->add_option("CATALOGUE", catalogue_file, catalogue_help);
  auto* cat_list = catalogue_cmd->add_subcommand("list", "one line per brand: id, name, category, countries, references");
  cat_list->add_option("CATALOGUE", catalogue_file, catalogue_help);
  auto* cat_check = catalogue_cmd->add_subcommand("check", "report brands too weak to match or confusable with another");
  cat_check->add_option("CATALOGUE", catalogue_file, catalogue_help);
  auto* cat_add = catalogue_cmd->add_subcommand("add", "add a brand, or references to one, from photos (with a box) or SVG files");
  cluetrace::logo::AddRequest add;
  std::string add_catalogue;
  cat_add->add_option("CATALOGUE", add_catalogue, "catalogue YAML (created when missing)")->required();
  cat_add->add_option("--id", add.id, "brand id (lower case, e.g. albertheijn)")->required();
  cat_add->add_option("--name", add.name, "display name (also read as its wordmark)");
  cat_add->add_option("--category", add.category, "retail, grocery, post, rail, telecom, airline, ...");
  cat_add->add_option("--country", add.countries, "country where the brand is present: DE or DE=0.5 (repeatable)");
  cat_add->add_flag("--global", add.global, "the brand says nothing about place");
  cat_add->add_option("--colour", add.colours, "brand colour #RRGGBB (repeatable)");
  cat_add->add_option("--source", add.source, "where the country facts come from");
  cat_add->add_option("--image", add.images, "photo, or photo:x,y,w,h for the mark's box in it (repeatable; only the crop is kept)");
  cat_add->add_option("--svg", add.svgs, "vector file of the mark (repeatable)");

  auto* report_cmd = app.add_subcommand("report", "write the case outputs (HTML, clues.sqlite, summary.csv, VICS, links) again from an output folder");
  std::string report_dir, report_config;
  report_cmd->add_option("DIR", report_dir, "output folder of a run")->required()->check(CLI::ExistingDirectory);
  report_cmd->add_option("--config", report_config, "config whose `outputs` settings to use (default: built-in)");

  auto* merge_cmd = app.add_subcommand("merge", "make one case from the finished shards of a --shard K/N run");
  std::string merge_out, merge_config;
  std::vector<std::string> merge_shards;
  merge_cmd->add_option("--out", merge_out, "folder for the merged case")->required();
  merge_cmd->add_option("--config", merge_config, "config whose `outputs` settings to use (default: built-in)");
  merge_cmd->add_option("SHARD_DIR", merge_shards, "the shards' output folders, every one of them")->required()->expected(1, -1);

  auto* search_cmd = app.add_subcommand("search", "search the clues of one or more cases: cluetrace search DIR... QUERY");
  std::vector<std::string> search_args;
  cluetrace::SearchQuery search_query;
  bool search_json = false, search_raw = false;
  double search_min_score = -1;
  search_cmd->add_option("ARGS", search_args, "output folders (or folders holding several), then the query (words; \"\" for any)")
      ->required()->expected(2, -1);
  search_cmd->add_option("--kind", search_query.kinds, "only clues of this kind (repeatable)");
  search_cmd->add_option("--country", search_query.countries, "only clues pointing to this ISO code, or in images likeliest there (repeatable)");
  search_cmd->add_option("--min-score", search_min_score, "only clues scoring at least this");
  search_cmd->add_option("--limit", search_query.limit, "at most this many hits per database")->check(CLI::Range(1, 1000000));
  search_cmd->add_option("--decision", search_query.decisions, "only clues the analyst marked so: confirm, dismiss, publish, none (repeatable)")
      ->check(CLI::IsMember({"confirm", "dismiss", "publish", "none"}));
  search_cmd->add_flag("--fts", search_raw, "the query is SQLite FTS5 syntax (OR, NEAR, column filters)");
  search_cmd->add_flag("--json", search_json, "one JSON object per hit");

  auto* export_cmd = app.add_subcommand("export-crops", "write crowdsource-ready crops of selected clues (faces and people refused)");
  cluetrace::ExportRequest export_request;
  std::string export_dir;
  export_cmd->add_option("DIR", export_dir, "output folder of a run")->required()->check(CLI::ExistingDirectory);
  export_cmd->add_option("--out", export_request.out, "folder for the crops and manifest.json")->required();
  export_cmd->add_option("--kind", export_request.kinds, "only clues of this kind (repeatable)");
  export_cmd->add_option("--min-score", export_request.min_score, "only clues scoring at least this");
  export_cmd->add_option("--top", export_request.top, "per image, at most this many clues (best first)");
  export_cmd->add_option("--decision", export_request.decisions, "only clues the analyst marked so (publish: the publication candidates; repeatable)")
      ->check(CLI::IsMember({"confirm", "dismiss", "publish"}));
  export_cmd->add_option("--clue", export_request.clues, "SHA256-PREFIX:RANK of one clue (repeatable; only these)");
  export_cmd->add_option("--margin", export_request.margin, "margin around the clue's box, as a share of its size")->check(CLI::Range(0.0, 3.0));
  export_cmd->add_option("--root", export_request.root, "folder the reports' relative image paths start from (default: here)");

  auto* review_cmd = app.add_subcommand("review", "review cases in the browser: triage, find an object elsewhere, publication (127.0.0.1 only)");
  cluetrace::ServeOptions review_options;
  std::vector<std::string> review_dirs;
  review_cmd->add_option("CASE", review_dirs, "output folders of runs (each with clues.sqlite)")->required()->expected(1, -1)
      ->check(CLI::ExistingDirectory);
  review_cmd->add_option("--port", review_options.port, "port on 127.0.0.1 (default: any free one)")->check(CLI::Range(0, 65535));
  review_cmd->add_option("--root", review_options.review.root, "folder the reports' relative image paths start from (default: here)");
  review_cmd->add_option("--analyst", review_options.review.analyst, "name recorded with each decision (default: $USER)");

  auto* find_cmd = app.add_subcommand("find-object", "find an object (a region of an image, or a crop) in the pictures of cases");
  std::vector<std::string> find_dirs;
  std::string find_image, find_box, find_crop, find_root;
  int find_case = 0;
  bool find_json = false;
  find_cmd->add_option("CASE", find_dirs, "output folders of runs (each with clues.sqlite and objects.keys)")->required()->expected(1, -1)
      ->check(CLI::ExistingDirectory);
  find_cmd->add_option("--image", find_image, "the image the region is in: its number in the case, its path or a SHA-256 prefix");
  find_cmd->add_option("--case", find_case, "which of the CASE folders holds --image (0 = the first)")->check(CLI::NonNegativeNumber);
  find_cmd->add_option("--box", find_box, "the region: x,y,width,height in the image's pixels");
  find_cmd->add_option("--crop", find_crop, "an image file of the object instead of --image/--box")->check(CLI::ExistingFile);
  find_cmd->add_option("--root", find_root, "folder the reports' relative image paths start from (default: here)");
  find_cmd->add_flag("--json", find_json, "the answer as one JSON object");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }

  if (*version) return command_version();
  if (*merge_cmd) return command_merge(merge_out, merge_shards, merge_config, std::vector<std::string>(argv, argv + argc));
  if (*report_cmd) return command_report(report_dir, report_config);
  if (*search_cmd) {
    search_query.raw_fts = search_raw;
    if (search_min_score >= 0) search_query.min_score = search_min_score;
    return command_search(search_args, search_query, search_json);
  }
  if (*review_cmd) return command_review(review_dirs, review_options);
  if (*find_cmd) return command_find_object(find_dirs, find_case, find_image, find_box, find_crop, find_root, find_json);
  if (*export_cmd) {
    try {
      export_request.case_dir = export_dir;
      cluetrace::export_crops(export_request, std::cerr);
      return 0;
    } catch (const std::exception& e) {
      fmt::print(stderr, "cluetrace export-crops: {}\n", e.what());
      return 1;
    }
  }
  if (*check) return command_config_check(check_file);
  if (*langid) {
    try {
      auto config = load_config_or_default(langid_config);
      std::stringstream list(langid_languages);
      for (std::string code; std::getline(list, code, ',');) {
        if (!code.empty()) langid_options.languages.push_back(code);
      }
      auto& slot = config.stages.at(static_cast<std::size_t>(cluetrace::StageKind::language));
      return cluetrace::language::langid_command(slot.stage.get(), langid_options, std::cout, std::cerr);
    } catch (const cluetrace::ConfigError& e) {
      std::cerr << e.problems().to_string();
      return 1;
    }
  }
  if (*tessdata_cmd) return cluetrace::ocr::tessdata_prepare_command(tessdata_languages, tessdata_from, tessdata_to, std::cout, std::cerr);
  if (*catalogue_cmd) {
    const auto file = catalogue_file.empty() ? cluetrace::logo::default_catalogue_path() : std::filesystem::path(catalogue_file);
    if (*cat_build) return cluetrace::logo::catalogue_build(file, std::cout, std::cerr);
    if (*cat_list) return cluetrace::logo::catalogue_list(file, std::cout, std::cerr);
    if (*cat_check) return cluetrace::logo::catalogue_check(file, std::cout, std::cerr);
    add.catalogue = add_catalogue;
    return cluetrace::logo::catalogue_add(add, std::cout, std::cerr);
  }

  // run
  if (resume && overwrite) {
    fmt::print(stderr, "cluetrace: --resume and --overwrite exclude each other\n");
    return 2;
  }
  try {
    auto config = load_config_or_default(config_path);
    if (!dump_graph.empty()) {
      std::ofstream dot(dump_graph);
      dot << cluetrace::graph_dot(config);
      dot.close();
      if (!dot) {
        fmt::print(stderr, "cluetrace: cannot write the graph to {}\n", dump_graph);
        return 1;
      }
      if (inputs.empty()) return 0;
    }
    if (out_dir.empty() || inputs.empty()) {
      fmt::print(stderr, "cluetrace run: needs --out DIR and at least one INPUT (see cluetrace run --help)\n");
      return 2;
    }
    cluetrace::BatchOptions options;
    options.inputs = inputs;
    options.out_dir = out_dir;
    options.mode = resume ? cluetrace::OpenMode::resume
                          : (overwrite ? cluetrace::OpenMode::overwrite : cluetrace::OpenMode::fresh);
    if (threads >= 0) options.threads = threads;
    if (max_in_flight >= 0) options.max_in_flight = max_in_flight;
    if (image_timeout >= 0) options.image_timeout_s = image_timeout;
    if (!shard_spec.empty()) {
      try {
        options.shard = cluetrace::parse_shard(shard_spec, shard_count ? std::optional<std::size_t>(shard_count) : std::nullopt,
                                               [](const char* name) { return std::getenv(name); });
      } catch (const cluetrace::ShardError& e) {
        fmt::print(stderr, "cluetrace run: {}\n", e.what());
        return 2;
      }
    }
    options.progress = progress_mode == "always" || (progress_mode == "auto" && ::isatty(STDERR_FILENO));
    options.stop_requested = &g_stop_requested;
    options.command_line.assign(argv, argv + argc);

    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    const auto summary = cluetrace::run_batch(config, options);
    fmt::print(stderr, "cluetrace: {} images: {} ok, {} partial, {} failed{} in {:.1f} s{}\n", summary.images,
               summary.ok, summary.partial, summary.failed,
               summary.resumed ? fmt::format(" ({} kept from the earlier run)", summary.resumed) : "",
               summary.seconds,
               summary.skipped ? fmt::format("; {} non-image files skipped (listed in run.json)", summary.skipped) : "");
    fmt::print(stderr, "cluetrace: reports: {}\n", summary.reports_path.string());
    for (const auto& output : summary.outputs) fmt::print(stderr, "cluetrace: wrote {}\n", output.string());
    if (!summary.outputs_error.empty()) {
      fmt::print(stderr, "cluetrace: the case outputs were not all written: {}\n"
                         "cluetrace: every report is in reports.jsonl; run `cluetrace report {}` to try again\n",
                 summary.outputs_error, out_dir);
    }
    if (summary.crashed + summary.timed_out > 0) {
      fmt::print(stderr, "cluetrace: {} image(s) crashed and {} timed out in the worker process; each has a failed report "
                         "naming the stage (run.json: failures)\n", summary.crashed, summary.timed_out);
    }
    if (!summary.stopped.empty()) {
      fmt::print(stderr, "cluetrace: {}\n", summary.stopped);
      return 1;
    }
    if (summary.interrupted) {
      fmt::print(stderr, "cluetrace: interrupted; run again with --resume to finish\n");
      return 130;
    }
    return 0;
  } catch (const cluetrace::ConfigError& e) {
    std::cerr << e.problems().to_string();
    fmt::print(stderr, "cluetrace: the config has {} problem(s); nothing was run\n", e.problems().all().size());
  } catch (const cluetrace::InputError& e) {
    fmt::print(stderr, "cluetrace: {}; nothing was run\n", e.what());
  } catch (const cluetrace::OutputError& e) {
    fmt::print(stderr, "cluetrace: output: {}\n", e.what());
  } catch (const std::exception& e) {
    fmt::print(stderr, "cluetrace: {}\n", e.what());
  }
  return 1;
}
