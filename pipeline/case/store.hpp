// The case store: clues.sqlite, built from reports.jsonl one line at a time, holds every report, clue, run and
// link of a case; the HTML, CSV, VICS and links.json are written from it by queries, a page at a time, so no
// step holds all the reports at once whatever the size of the case. Schema in docs/review.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/config.hpp"

namespace SQLite {
class Database;
}

namespace cluetrace {

inline constexpr int kDatabaseSchemaVersion = 3;  // 3: decisions, image_reviews

// Builds <dir>/clues.sqlite from <dir>/reports.jsonl and runs.jsonl (a temporary file renamed over it: readers
// never see half a database), with the links across images (recurring clues, identical files, same scenes).
// The analyst's decisions (decisions.hpp) of the store it replaces and of `decision_sources` (other case
// databases: a merge's shards) are carried into it. Returns the number of reports. Throws OutputError naming the file.
std::size_t build_case_store(const std::filesystem::path& dir, const OutputOptions& options,
                             const std::vector<std::filesystem::path>& decision_sources = {});

// One image as the overview lists it.
struct ImageSummary {
  std::int64_t id = 0;  // 1-based, the report's place in reports.jsonl (its page is pages/NNNNN.html)
  std::string path, sha256, status, best_kind, best_value, best_crop, top_country;
  double best_score = 0;
  int clues = 0;
  std::string errors;  // the report's errors (JSON array), for problem lists
};

struct RunRow {
  std::string run_id, started_utc, finished_utc, status;
};

struct LinkRow {
  std::int64_t id = 0;
  std::string type;  // clue | scene | identical
  std::string kind, value;
  int best_inliers = 0;
  std::vector<std::pair<std::int64_t, std::string>> images;  // (image id, path), at most the limit asked for
  std::size_t image_count = 0;                               // all of them
  int own_rank = 0;  // links_of: the rank of the image's own clue in a clue link
};

// Read-only queries over a built store.
class CaseStore {
 public:
  explicit CaseStore(const std::filesystem::path& database);
  ~CaseStore();
  CaseStore(const CaseStore&) = delete;
  CaseStore& operator=(const CaseStore&) = delete;

  std::string name() const;
  std::size_t image_count() const;
  std::size_t count_status(const std::string& status) const;
  std::vector<RunRow> runs() const;

  // Every report, in reports.jsonl order, one at a time.
  void for_each_report(const std::function<void(std::int64_t id, const nlohmann::json& report)>& fn) const;
  // The reports whose ids lie in [first, last), in order.
  void for_each_report(std::int64_t first, std::int64_t last,
                       const std::function<void(std::int64_t id, const nlohmann::json& report)>& fn) const;
  // Whether clue `rank` of image `id` has a crop on disk (its path under the case folder), or empty.
  std::string crop_of(std::int64_t id, int rank) const;

  // Likeliest countries of the usable images with their image counts, most images first, "" (none) last.
  std::vector<std::pair<std::string, std::size_t>> countries() const;
  // Usable images likeliest in `country` ("" = none), best clue first.
  std::vector<ImageSummary> images_of_country(const std::string& country, std::size_t offset, std::size_t limit) const;
  // Images that are not `ok`, in report order.
  std::vector<ImageSummary> problem_images(std::size_t offset, std::size_t limit) const;
  // The same lists (and links(), below) in full, row by row through one query: the overview's pages of a
  // large case are cut from these (a query with an OFFSET per page read the list again each time).
  void for_each_image_of_country(const std::string& country, const std::function<void(ImageSummary&&)>& fn) const;
  void for_each_problem_image(const std::function<void(ImageSummary&&)>& fn) const;
  std::size_t problem_count() const;

  // Links of one type, most useful first (clue: best score; scene: most images), each with up to
  // `images_per_link` of its images.
  std::vector<LinkRow> links(const std::string& type, std::size_t offset, std::size_t limit, std::size_t images_per_link) const;
  void for_each_link(const std::string& type, std::size_t images_per_link, const std::function<void(LinkRow&&)>& fn) const;
  std::size_t link_count(const std::string& type) const;
  // The links an image takes part in, with up to `others` of the other images of each.
  std::vector<LinkRow> links_of(std::int64_t id, std::size_t others) const;
  std::size_t signatures() const;  // images with a background signature (scene matching)

  SQLite::Database& database() const { return *db_; }
  // The database file, for another connection (one per thread: a connection is used by one thread at a time).
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  std::unique_ptr<SQLite::Database> db_;
};

}  // namespace cluetrace
