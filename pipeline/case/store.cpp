#include "pipeline/case/store.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <fstream>
#include <map>
#include <numeric>
#include <set>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pipeline/case/artefacts.hpp"
#include "pipeline/case/case_outputs.hpp"
#include "pipeline/case/decisions.hpp"
#include "pipeline/case/links.hpp"
#include "pipeline/case/objects.hpp"
#include "pipeline/case/scenes.hpp"
#include "pipeline/fold.hpp"
#include "pipeline/report_store.hpp"

namespace fs = std::filesystem;

namespace cluetrace {
namespace {

using json = nlohmann::json;

constexpr const char* kSchema = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs(run_id TEXT PRIMARY KEY, started_utc TEXT, finished_utc TEXT, status TEXT, tool_version TEXT,
                  config_sha256 TEXT, command_line TEXT, images INTEGER);
CREATE TABLE images(image_id INTEGER PRIMARY KEY, walk_index INTEGER, path TEXT NOT NULL, sha256 TEXT, md5 TEXT,
                    sha1 TEXT, bytes INTEGER, hashes_complete INTEGER, format TEXT, width INTEGER, height INTEGER,
                    status TEXT NOT NULL, run_id TEXT, config_sha256 TEXT, tool_version TEXT, top_country TEXT,
                    top_language TEXT, best_score REAL, best_kind TEXT, best_value TEXT, best_crop TEXT,
                    clue_count INTEGER, errors TEXT, report TEXT NOT NULL);
CREATE TABLE clues(clue_id INTEGER PRIMARY KEY, image_id INTEGER NOT NULL REFERENCES images(image_id),
                   rank INTEGER NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, confidence REAL, score REAL,
                   language TEXT, countries TEXT, box TEXT, stage TEXT, explanation TEXT, digits TEXT,
                   crop TEXT, details TEXT, link_key TEXT);
CREATE TABLE clue_words(clue_id INTEGER NOT NULL REFERENCES clues(clue_id), image_id INTEGER NOT NULL,
                        word TEXT NOT NULL, link_key TEXT NOT NULL);
CREATE TABLE clue_countries(clue_id INTEGER NOT NULL REFERENCES clues(clue_id), code TEXT NOT NULL, weight REAL);
CREATE TABLE image_regions(image_id INTEGER NOT NULL REFERENCES images(image_id), code TEXT NOT NULL,
                           probability REAL);
CREATE TABLE image_languages(image_id INTEGER NOT NULL REFERENCES images(image_id), code TEXT NOT NULL,
                             probability REAL);
CREATE TABLE links(link_id INTEGER PRIMARY KEY, type TEXT NOT NULL, kind TEXT, value TEXT, link_key TEXT,
                   best_score REAL, image_count INTEGER);
CREATE TABLE link_images(link_id INTEGER NOT NULL REFERENCES links(link_id),
                         image_id INTEGER NOT NULL REFERENCES images(image_id), rank INTEGER, inliers INTEGER);
CREATE TABLE scene_pairs(link_id INTEGER NOT NULL REFERENCES links(link_id), a INTEGER NOT NULL, b INTEGER NOT NULL,
                         inliers INTEGER, hash_distance INTEGER);
CREATE VIRTUAL TABLE clue_text USING fts5(value, explanation, content='clues', content_rowid='clue_id',
                                          tokenize='unicode61 remove_diacritics 2');
)sql";

constexpr const char* kIndexes = R"sql(
CREATE INDEX clues_image ON clues(image_id, rank);
CREATE INDEX clues_kind ON clues(kind, score DESC);
CREATE INDEX clue_countries_code ON clue_countries(code, clue_id);
CREATE INDEX images_sha256 ON images(sha256);
CREATE INDEX images_md5 ON images(md5);
CREATE INDEX images_country ON images(top_country, best_score DESC, status);  -- status: the country counts read no rows
CREATE INDEX images_status ON images(status);
CREATE INDEX images_score ON images(best_score DESC, image_id);
)sql";

constexpr const char* kLinkIndexes = R"sql(
CREATE INDEX link_images_image ON link_images(image_id, link_id);
CREATE INDEX link_images_link ON link_images(link_id, image_id);
CREATE INDEX links_type ON links(type, best_score DESC, image_count DESC);
CREATE INDEX scene_pairs_link ON scene_pairs(link_id, a, b);
)sql";

// A word in text clues that recurs in more than this share of a larger case's pictures is the case's
// everyday vocabulary (a language's function word the lists missed), not a link.
constexpr double kWordShare = 0.25;
constexpr std::size_t kWordShareFrom = 8;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

template <typename... Values>
std::int64_t insert(SQLite::Database& db, SQLite::Statement& statement, const Values&... values) {
  int index = 0;
  auto bind_one = [&](const auto& value) {
    ++index;
    if constexpr (requires { value.has_value(); }) {
      if (value) statement.bind(index, *value); else statement.bind(index);
    } else {
      statement.bind(index, value);
    }
  };
  (bind_one(values), ...);
  statement.exec();
  statement.reset();
  return db.getLastInsertRowid();
}

std::string first_code(const json& list) { return list.empty() ? "" : list[0].value("code", ""); }

// reports.jsonl and runs.jsonl into their tables, one line at a time.
class Ingest {
 public:
  Ingest(SQLite::Database& db, const fs::path& dir)
      : db_(db),
        dir_(dir),
        image_(db, "INSERT INTO images(walk_index, path, sha256, md5, sha1, bytes, hashes_complete, format, width, height, "
                   "status, run_id, config_sha256, tool_version, top_country, top_language, best_score, best_kind, best_value, "
                   "best_crop, clue_count, errors, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        clue_(db, "INSERT INTO clues(image_id, rank, kind, value, confidence, score, language, countries, box, stage, "
                  "explanation, digits, crop, details, link_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        word_(db, "INSERT INTO clue_words VALUES (?, ?, ?, ?)"),
        country_(db, "INSERT INTO clue_countries VALUES (?, ?, ?)"),
        region_(db, "INSERT INTO image_regions VALUES (?, ?, ?)"),
        language_(db, "INSERT INTO image_languages VALUES (?, ?, ?)") {}

  void report(const json& report) {
    const auto& img = report["image"];
    const std::string sha = img.value("sha256", "");
    const auto& clues = report["clues"];
    std::string best_crop;
    std::vector<std::string> crops;
    for (const auto& c : clues) crops.push_back(crop_of(sha, c));
    if (!crops.empty()) best_crop = crops.front();
    const std::optional<std::int64_t> walk =
        report.contains("walk_index") && report["walk_index"].is_number_integer() ? std::optional(report["walk_index"].get<std::int64_t>()) : std::nullopt;
    const std::int64_t image_id = insert(
        db_, image_, walk, img.value("path", ""), sha, img.value("md5", ""), img.value("sha1", ""),
        img.value("bytes", std::int64_t{0}), img.value("hashes_complete", true) ? 1 : 0, img.value("format", ""),
        img.value("width", 0), img.value("height", 0), report.value("status", ""), report.value("run_id", ""),
        report.value("config_sha256", ""), report.contains("tool") && report["tool"].is_object() ? report["tool"].value("version", "") : "",
        first_code(report["regions"]), first_code(report["languages"]), clues.empty() ? 0.0 : clues[0].value("score", 0.0),
        clues.empty() ? "" : clues[0].value("kind", ""), clues.empty() ? "" : clues[0].value("value", ""), best_crop,
        static_cast<int>(clues.size()), dump(report["errors"]), dump(report));
    for (const auto& r : report["regions"]) insert(db_, region_, image_id, r.value("code", ""), r.value("probability", 0.0));
    for (const auto& l : report["languages"]) insert(db_, language_, image_id, l.value("code", ""), l.value("probability", 0.0));
    for (std::size_t i = 0; i < clues.size(); ++i) {
      const auto& c = clues[i];
      const std::string kind = c.value("kind", ""), value = c.value("value", "");
      const std::int64_t clue_id = insert(
          db_, clue_, image_id, c.value("rank", 0), kind, value, c.value("confidence", 0.0), c.value("score", 0.0),
          c.value("language", ""), countries_text(c), c.contains("box") ? dump(c["box"]) : "", c.value("stage", ""),
          c.value("explanation", ""), digits_only(value), crops[i], c.contains("details") ? dump(c["details"]) : "",
          link_key(kind, value));
      if (c.contains("countries")) {
        for (const auto& country : c["countries"]) insert(db_, country_, clue_id, country.value("code", ""), country.value("weight", 0.0));
      }
      // Lines rarely repeat word for word; their rare words do (a shop's name on a bag and on a receipt).
      if (kind == "text" && c.contains("details") && c["details"].contains("rare_words") && c["details"]["rare_words"].is_array()) {
        for (const auto& w : c["details"]["rare_words"]) {
          if (!w.is_string()) continue;
          const auto key = fold_key(w.get<std::string>());
          if (!key.empty()) insert(db_, word_, clue_id, image_id, w.get<std::string>(), key);
        }
      }
    }
    ++images_;
  }

  std::size_t images() const { return images_; }

 private:
  // The crop of a clue as stored beside the reports, when it is there.
  std::string crop_of(const std::string& sha, const json& clue) const {
    if (sha.size() != 64 || !clue.contains("box")) return "";
    const auto relative = crop_path(sha, clue.value("rank", 0));
    std::error_code ec;
    return fs::is_regular_file(dir_ / relative, ec) ? relative.generic_string() : "";
  }

  SQLite::Database& db_;
  fs::path dir_;
  SQLite::Statement image_, clue_, word_, country_, region_, language_;
  std::size_t images_ = 0;
};

void ingest_reports(SQLite::Database& db, const fs::path& dir, Ingest& ingest) {
  std::ifstream in(dir / "reports.jsonl", std::ios::binary);
  std::string line;
  std::size_t skipped = 0;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // the last line had no newline: cut off by a kill, not a report
    if (line.empty()) continue;
    std::string problem;
    if (auto report = parse_report_line(line, problem)) {
      ingest.report(*report);
    } else if (++skipped <= 10) {
      spdlog::warn("{}: a line was left out of the case outputs: {}", (dir / "reports.jsonl").string(), problem);
    }
  }
  (void)db;
}

void ingest_runs(SQLite::Database& db, const fs::path& dir) {
  SQLite::Statement run(db, "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  std::ifstream in(dir / "runs.jsonl", std::ios::binary);
  for (std::string line; std::getline(in, line);) {
    const auto r = json::parse(line, nullptr, false);
    if (r.is_discarded() || !r.is_object() || !r.value("run_id", json()).is_string()) continue;
    auto text = [&](const char* key) { return r.contains(key) && r[key].is_string() ? r[key].get<std::string>() : std::string(); };
    insert(db, run, text("run_id"), text("started_utc"), text("finished_utc"), text("status"),
           r.contains("tool") && r["tool"].is_object() ? r["tool"].value("version", "") : "", text("config_sha256"),
           r.contains("command_line") ? dump(r["command_line"]) : "",
           r.contains("counts") && r["counts"].is_object() && r["counts"].value("images", json()).is_number_integer()
               ? r["counts"]["images"].get<std::int64_t>()
               : 0);
  }
}

// Recurring clues: one ordered pass per kind of key, one group in memory at a time.
class RecurringLinks {
 public:
  RecurringLinks(SQLite::Database& db, std::size_t pictures)
      : db_(db),
        pictures_(pictures),
        link_(db, "INSERT INTO links(type, kind, value, link_key, best_score, image_count) VALUES ('clue', ?, ?, ?, ?, ?)"),
        member_(db, "INSERT INTO link_images VALUES (?, ?, ?, NULL)") {}

  // `rows`: kind, key, image_id, rank, value, score, sha256, ordered by kind, key, image_id, rank.
  void scan(const char* sql) {
    SQLite::Statement rows(db_, sql);
    while (rows.executeStep()) {
      const std::string kind = rows.getColumn(0).getString(), key = rows.getColumn(1).getString();
      if (kind != kind_ || key != key_) flush(kind, key);
      const std::int64_t image = rows.getColumn(2).getInt64();
      if (group_.empty()) value_ = rows.getColumn(4).getString();
      best_ = std::max(best_, rows.getColumn(5).getDouble());
      shas_.insert(rows.getColumn(6).getString());
      if (group_.empty() || group_.back().first != image) group_.emplace_back(image, rows.getColumn(3).getInt());
    }
    flush("", "");
  }

 private:
  void flush(const std::string& next_kind, const std::string& next_key) {
    const std::size_t n = shas_.size();
    const bool everyday = kind_ == "word" && pictures_ >= kWordShareFrom && static_cast<double>(n) > kWordShare * static_cast<double>(pictures_);
    if (n >= 2 && !everyday) {
      const auto id = insert(db_, link_, kind_, value_, key_, best_, static_cast<std::int64_t>(group_.size()));
      for (const auto& [image, rank] : group_) insert(db_, member_, id, image, rank);
    }
    kind_ = next_kind;
    key_ = next_key;
    group_.clear();
    shas_.clear();
    best_ = 0;
  }

  SQLite::Database& db_;
  std::size_t pictures_;
  SQLite::Statement link_, member_;
  std::string kind_, key_, value_;
  std::vector<std::pair<std::int64_t, int>> group_;
  std::set<std::string> shas_;
  double best_ = 0;
};

void identical_links(SQLite::Database& db) {
  SQLite::Statement link(db, "INSERT INTO links(type, kind, value, link_key, best_score, image_count) VALUES ('identical', '', ?, ?, 0, ?)");
  SQLite::Statement member(db, "INSERT INTO link_images VALUES (?, ?, NULL, NULL)");
  SQLite::Statement groups(db,
                           "SELECT sha256, image_id FROM images WHERE status != 'failed' AND length(sha256) = 64 AND sha256 IN "
                           "(SELECT sha256 FROM images WHERE status != 'failed' GROUP BY sha256 HAVING COUNT(*) > 1) "
                           "ORDER BY sha256, image_id");
  std::string sha;
  std::vector<std::int64_t> images;
  auto flush = [&] {
    if (images.size() > 1) {
      const auto id = insert(db, link, sha, sha, static_cast<std::int64_t>(images.size()));
      for (const auto i : images) insert(db, member, id, i);
    }
    images.clear();
  };
  while (groups.executeStep()) {
    if (groups.getColumn(0).getString() != sha) {
      flush();
      sha = groups.getColumn(0).getString();
    }
    images.push_back(groups.getColumn(1).getInt64());
  }
  flush();
}

struct UnionFind {
  std::vector<std::size_t> parent;
  explicit UnionFind(std::size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  std::size_t find(std::size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  }
  void join(std::size_t a, std::size_t b) { parent[find(a)] = find(b); }
};

// Same scenes: the pictures (distinct SHA-256) with a background signature, matched pairwise (scenes.hpp), grouped.
std::size_t scene_links(SQLite::Database& db, const fs::path& dir, const OutputOptions& options) {
  std::vector<std::string> shas;
  {
    SQLite::Statement q(db, "SELECT sha256 FROM images WHERE status != 'failed' AND length(sha256) = 64 GROUP BY sha256 ORDER BY MIN(image_id)");
    while (q.executeStep()) {
      const auto sha = q.getColumn(0).getString();
      std::error_code ec;
      if (fs::is_regular_file(dir / scene_path(sha), ec)) shas.push_back(sha);
    }
  }
  SceneMatchOptions match_options;
  match_options.min_inliers = options.scene_min_inliers;
  match_options.max_hash_distance = options.scene_max_hash_distance;
  match_options.spill_folder = dir;  // the case's own disk, where its signatures are (not a small /tmp)
  const SignatureLoader load = [&](std::size_t i) -> std::optional<SceneSignature> {
    auto signature = decode_signature(read_file(dir / scene_path(shas[i])));
    if (!signature) spdlog::warn("{}: not a scene signature of this cluetrace; left out of scene matching", (dir / scene_path(shas[i])).string());
    return signature;
  };
  const auto matches = match_scenes_from(load, shas.size(), match_options);

  UnionFind groups(shas.size());
  for (const auto& m : matches) groups.join(m.a, m.b);
  std::map<std::size_t, std::vector<const SceneMatch*>> pairs_of;
  for (const auto& m : matches) pairs_of[groups.find(m.a)].push_back(&m);
  std::map<std::size_t, std::vector<std::size_t>> members;
  for (std::size_t s = 0; s < shas.size(); ++s) {
    if (pairs_of.contains(groups.find(s))) members[groups.find(s)].push_back(s);
  }
  SQLite::Statement images_of(db, "SELECT image_id FROM images WHERE sha256 = ? AND status != 'failed' ORDER BY image_id");
  auto ids_of = [&](std::size_t s) {
    std::vector<std::int64_t> ids;
    images_of.bind(1, shas[s]);
    while (images_of.executeStep()) ids.push_back(images_of.getColumn(0).getInt64());
    images_of.reset();
    return ids;
  };
  SQLite::Statement link(db, "INSERT INTO links(type, kind, value, link_key, best_score, image_count) VALUES ('scene', '', '', '', ?, ?)");
  SQLite::Statement member(db, "INSERT INTO link_images VALUES (?, ?, NULL, ?)");
  SQLite::Statement pair(db, "INSERT INTO scene_pairs VALUES (?, ?, ?, ?, ?)");
  for (const auto& [root, group] : members) {
    std::map<std::size_t, int> best;  // signature -> its best pair's inliers
    int best_all = 0;
    for (const auto* p : pairs_of[root]) {
      best[p->a] = std::max(best[p->a], p->inliers);
      best[p->b] = std::max(best[p->b], p->inliers);
      best_all = std::max(best_all, p->inliers);
    }
    std::vector<std::pair<std::int64_t, int>> images;
    for (const auto s : group) {
      for (const auto id : ids_of(s)) images.emplace_back(id, best[s]);
    }
    std::sort(images.begin(), images.end());
    const auto id = insert(db, link, static_cast<double>(best_all), static_cast<std::int64_t>(images.size()));
    for (const auto& [image, inliers] : images) insert(db, member, id, image, inliers);
    // Pairs name pictures by their first report.
    for (const auto* p : pairs_of[root]) insert(db, pair, id, ids_of(p->a).front(), ids_of(p->b).front(), p->inliers, p->hash_distance);
  }
  return shas.size();
}

}  // namespace

std::size_t build_case_store(const fs::path& dir, const OutputOptions& options, const std::vector<fs::path>& decision_sources) {
  if (!fs::exists(dir / "reports.jsonl")) {
    throw OutputError(fmt::format("{}: no reports.jsonl (not a cluetrace output folder)", dir.string()));
  }
  const auto path = dir / "clues.sqlite";
  const auto tmp = dir / fmt::format(".clues.sqlite.tmp.{}", ::getpid());
  std::error_code ignored;
  fs::remove(tmp, ignored);
  std::size_t images = 0;
  try {
    {
      SQLite::Database db(tmp.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
      // A file made again from the reports whenever needed: no journal; bounded page cache; sorts spill to disk.
      db.exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -65536; PRAGMA temp_store = FILE;");
      db.exec(kSchema);
      db.exec("PRAGMA busy_timeout = 10000");  // a review server may be writing a decision into a source
      // The analyst's decisions outlive the store they were made in: the one this replaces, and a merge's shards.
      std::vector<fs::path> sources{path};
      sources.insert(sources.end(), decision_sources.begin(), decision_sources.end());
      const std::size_t carried = carry_decisions(db, sources);
      if (carried) spdlog::info("{}: {} decisions and review marks carried over", path.string(), carried);
      SQLite::Transaction tx(db);
      Ingest ingest(db, dir);
      ingest_reports(db, dir, ingest);
      images = ingest.images();
      ingest_runs(db, dir);
      std::string name = options.case_name;
      if (name.empty()) name = fs::absolute(dir).lexically_normal().filename().string();
      if (name.empty()) name = fs::absolute(dir).lexically_normal().parent_path().filename().string();
      SQLite::Statement meta(db, "INSERT INTO meta VALUES (?, ?)");
      insert(db, meta, std::string("schema_version"), std::to_string(kDatabaseSchemaVersion));
      insert(db, meta, std::string("case"), name);
      insert(db, meta, std::string("images"), std::to_string(images));
      db.exec(kIndexes);
      db.exec("CREATE INDEX clues_link ON clues(kind, link_key, image_id, rank) WHERE link_key != ''");
      db.exec("CREATE INDEX clue_words_link ON clue_words(link_key, image_id)");

      if (options.links) {
        const auto pictures = db.execAndGet("SELECT COUNT(DISTINCT sha256) FROM images WHERE status != 'failed'").getInt64();
        RecurringLinks recurring(db, static_cast<std::size_t>(pictures));
        recurring.scan(
            "SELECT c.kind, c.link_key, c.image_id, c.rank, c.value, c.score, i.sha256 FROM clues c JOIN images i USING (image_id) "
            "WHERE c.link_key != '' AND i.status != 'failed' ORDER BY c.kind, c.link_key, c.image_id, c.rank");
        recurring.scan(
            "SELECT 'word', w.link_key, w.image_id, c.rank, w.word, c.score, i.sha256 FROM clue_words w JOIN clues c USING (clue_id) "
            "JOIN images i ON i.image_id = w.image_id WHERE i.status != 'failed' ORDER BY w.link_key, w.image_id, c.rank");
        identical_links(db);
        const std::size_t signatures = options.scenes ? scene_links(db, dir, options) : 0;
        insert(db, meta, std::string("scene_signatures"), std::to_string(signatures));
      }
      db.exec(kLinkIndexes);
      if (options.objects) {
        // The index for query by example (objects.hpp): one record per picture, in the order pictures first appear.
        std::vector<ObjectPicture> pictures;
        SQLite::Statement q(db, "SELECT MIN(image_id), sha256 FROM images WHERE status != 'failed' AND length(sha256) = 64 "
                                "GROUP BY sha256 ORDER BY 1");
        while (q.executeStep()) pictures.push_back({q.getColumn(0).getInt64(), q.getColumn(1).getString()});
        const auto start = std::chrono::steady_clock::now();
        const std::size_t indexed = build_object_index(dir, pictures);
        insert(db, meta, std::string("object_pictures"), std::to_string(indexed));
        spdlog::info("{}: object index of {} pictures made in {:.1f} s", (dir / "objects.keys").string(), indexed,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
      db.exec("INSERT INTO clue_text(clue_text) VALUES ('rebuild')");
      tx.commit();
      // Decisions a review server saved while this store was being made: copied again just before it replaces the
      // old one (the copy skips rows it already has). The server notices the new file and reopens it.
      carry_decisions(db, sources);
    }
    // Decisions cannot be made again from the reports: the new file is on disk before it replaces the old one.
    sync_to_disk(tmp);
    fs::rename(tmp, path);
    sync_to_disk(dir);
  } catch (const std::exception& e) {
    fs::remove(tmp, ignored);
    throw OutputError(fmt::format("cannot write {}: {}", path.string(), e.what()));
  }
  return images;
}

// ------------------------------------------------------------------------------------------------ queries

CaseStore::CaseStore(const fs::path& database)
    : file_(database), db_(std::make_unique<SQLite::Database>(database.string(), SQLite::OPEN_READONLY)) {
  // The pages of a large case are made one image at a time, each from a few indexed lookups: with SQLite's
  // default 2 MB cache nearly every lookup went back to the file (a read system call per page). Bounded still.
  db_->exec("PRAGMA cache_size = -65536");
}

CaseStore::~CaseStore() = default;

std::string CaseStore::name() const {
  SQLite::Statement q(*db_, "SELECT value FROM meta WHERE key = 'case'");
  return q.executeStep() ? q.getColumn(0).getString() : std::string();
}

std::size_t CaseStore::image_count() const {
  return static_cast<std::size_t>(db_->execAndGet("SELECT COUNT(*) FROM images").getInt64());
}

std::size_t CaseStore::count_status(const std::string& status) const {
  SQLite::Statement q(*db_, "SELECT COUNT(*) FROM images WHERE status = ?");
  q.bind(1, status);
  q.executeStep();
  return static_cast<std::size_t>(q.getColumn(0).getInt64());
}

std::vector<RunRow> CaseStore::runs() const {
  std::vector<RunRow> out;
  SQLite::Statement q(*db_, "SELECT run_id, started_utc, finished_utc, status FROM runs ORDER BY started_utc, run_id");
  while (q.executeStep()) {
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(), q.getColumn(3).getString()});
  }
  return out;
}

void CaseStore::for_each_report(const std::function<void(std::int64_t, const json&)>& fn) const {
  for_each_report(std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(), fn);
}

void CaseStore::for_each_report(std::int64_t first, std::int64_t last, const std::function<void(std::int64_t, const json&)>& fn) const {
  SQLite::Statement q(*db_, "SELECT image_id, report FROM images WHERE image_id >= ? AND image_id < ? ORDER BY image_id");
  q.bind(1, first);
  q.bind(2, last);
  while (q.executeStep()) fn(q.getColumn(0).getInt64(), json::parse(q.getColumn(1).getString()));
}

std::string CaseStore::crop_of(std::int64_t id, int rank) const {
  SQLite::Statement q(*db_, "SELECT crop FROM clues WHERE image_id = ? AND rank = ?");
  q.bind(1, id);
  q.bind(2, rank);
  return q.executeStep() ? q.getColumn(0).getString() : std::string();
}

std::vector<std::pair<std::string, std::size_t>> CaseStore::countries() const {
  std::vector<std::pair<std::string, std::size_t>> out;
  SQLite::Statement q(*db_,
                      "SELECT top_country, COUNT(*) n FROM images WHERE status != 'failed' GROUP BY top_country "
                      "ORDER BY top_country = '', n DESC, top_country");
  while (q.executeStep()) out.emplace_back(q.getColumn(0).getString(), static_cast<std::size_t>(q.getColumn(1).getInt64()));
  return out;
}

namespace {

constexpr const char* kSummaryColumns =
    "image_id, path, sha256, status, best_kind, best_value, best_crop, top_country, best_score, clue_count, errors";

ImageSummary summary_of(SQLite::Statement& q) {
  ImageSummary s;
  s.id = q.getColumn(0).getInt64();
  s.path = q.getColumn(1).getString();
  s.sha256 = q.getColumn(2).getString();
  s.status = q.getColumn(3).getString();
  s.best_kind = q.getColumn(4).getString();
  s.best_value = q.getColumn(5).getString();
  s.best_crop = q.getColumn(6).getString();
  s.top_country = q.getColumn(7).getString();
  s.best_score = q.getColumn(8).getDouble();
  s.clues = q.getColumn(9).getInt();
  s.errors = q.getColumn(10).getString();
  return s;
}

constexpr const char* kCountryImages = "FROM images WHERE status != 'failed' AND top_country = ? ORDER BY best_score DESC, image_id";
constexpr const char* kProblemImages = "FROM images WHERE status != 'ok' ORDER BY image_id";
constexpr const char* kLinksOfType =
    "SELECT link_id, type, kind, value, best_score, image_count FROM links WHERE type = ? "
    "ORDER BY best_score DESC, image_count DESC, link_id";

}  // namespace

std::vector<ImageSummary> CaseStore::images_of_country(const std::string& country, std::size_t offset, std::size_t limit) const {
  SQLite::Statement q(*db_, fmt::format("SELECT {} {} LIMIT ? OFFSET ?", kSummaryColumns, kCountryImages));
  q.bind(1, country);
  q.bind(2, static_cast<std::int64_t>(limit));
  q.bind(3, static_cast<std::int64_t>(offset));
  std::vector<ImageSummary> out;
  while (q.executeStep()) out.push_back(summary_of(q));
  return out;
}

void CaseStore::for_each_image_of_country(const std::string& country, const std::function<void(ImageSummary&&)>& fn) const {
  SQLite::Statement q(*db_, fmt::format("SELECT {} {}", kSummaryColumns, kCountryImages));
  q.bind(1, country);
  while (q.executeStep()) fn(summary_of(q));
}

std::vector<ImageSummary> CaseStore::problem_images(std::size_t offset, std::size_t limit) const {
  SQLite::Statement q(*db_, fmt::format("SELECT {} {} LIMIT ? OFFSET ?", kSummaryColumns, kProblemImages));
  q.bind(1, static_cast<std::int64_t>(limit));
  q.bind(2, static_cast<std::int64_t>(offset));
  std::vector<ImageSummary> out;
  while (q.executeStep()) out.push_back(summary_of(q));
  return out;
}

void CaseStore::for_each_problem_image(const std::function<void(ImageSummary&&)>& fn) const {
  SQLite::Statement q(*db_, fmt::format("SELECT {} {}", kSummaryColumns, kProblemImages));
  while (q.executeStep()) fn(summary_of(q));
}

std::size_t CaseStore::problem_count() const {
  return static_cast<std::size_t>(db_->execAndGet("SELECT COUNT(*) FROM images WHERE status != 'ok'").getInt64());
}

namespace {

void fill_images(SQLite::Database& db, LinkRow& link, std::size_t limit, std::int64_t except) {
  SQLite::Statement q(db,
                      "SELECT li.image_id, i.path FROM link_images li JOIN images i USING (image_id) WHERE li.link_id = ? "
                      "AND li.image_id != ? ORDER BY li.image_id LIMIT ?");
  q.bind(1, link.id);
  q.bind(2, except);
  q.bind(3, static_cast<std::int64_t>(limit));
  while (q.executeStep()) link.images.emplace_back(q.getColumn(0).getInt64(), q.getColumn(1).getString());
}

LinkRow link_of(SQLite::Statement& q) {
  LinkRow l;
  l.id = q.getColumn(0).getInt64();
  l.type = q.getColumn(1).getString();
  l.kind = q.getColumn(2).getString();
  l.value = q.getColumn(3).getString();
  l.best_inliers = static_cast<int>(q.getColumn(4).getDouble());
  l.image_count = static_cast<std::size_t>(q.getColumn(5).getInt64());
  return l;
}

}  // namespace

std::vector<LinkRow> CaseStore::links(const std::string& type, std::size_t offset, std::size_t limit, std::size_t images_per_link) const {
  SQLite::Statement q(*db_, fmt::format("{} LIMIT ? OFFSET ?", kLinksOfType));
  q.bind(1, type);
  q.bind(2, static_cast<std::int64_t>(limit));
  q.bind(3, static_cast<std::int64_t>(offset));
  std::vector<LinkRow> out;
  while (q.executeStep()) out.push_back(link_of(q));
  for (auto& l : out) fill_images(*db_, l, images_per_link, 0);
  return out;
}

void CaseStore::for_each_link(const std::string& type, std::size_t images_per_link, const std::function<void(LinkRow&&)>& fn) const {
  SQLite::Statement q(*db_, kLinksOfType);
  q.bind(1, type);
  while (q.executeStep()) {
    auto link = link_of(q);
    fill_images(*db_, link, images_per_link, 0);
    fn(std::move(link));
  }
}

std::size_t CaseStore::link_count(const std::string& type) const {
  SQLite::Statement q(*db_, "SELECT COUNT(*) FROM links WHERE type = ?");
  q.bind(1, type);
  q.executeStep();
  return static_cast<std::size_t>(q.getColumn(0).getInt64());
}

std::vector<LinkRow> CaseStore::links_of(std::int64_t id, std::size_t others) const {
  SQLite::Statement q(*db_,
                      "SELECT l.link_id, l.type, l.kind, l.value, l.best_score, l.image_count, MIN(li.rank) FROM links l JOIN "
                      "link_images li USING (link_id) WHERE li.image_id = ? GROUP BY l.link_id ORDER BY l.type, l.best_score DESC, l.link_id");
  q.bind(1, id);
  std::vector<LinkRow> out;
  while (q.executeStep()) {
    out.push_back(link_of(q));
    out.back().own_rank = q.getColumn(6).isNull() ? 0 : q.getColumn(6).getInt();
  }
  for (auto& l : out) fill_images(*db_, l, others, id);
  return out;
}

std::size_t CaseStore::signatures() const {
  SQLite::Statement q(*db_, "SELECT value FROM meta WHERE key = 'scene_signatures'");
  return q.executeStep() ? static_cast<std::size_t>(std::stoull(q.getColumn(0).getString())) : 0;
}

}  // namespace cluetrace
