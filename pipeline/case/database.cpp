#include "pipeline/case/database.hpp"

#include <unistd.h>

#include <algorithm>
#include <optional>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include "pipeline/case/artefacts.hpp"
#include "pipeline/case/case_outputs.hpp"
#include "pipeline/fold.hpp"
#include "pipeline/report_store.hpp"

namespace cluetrace {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs(run_id TEXT PRIMARY KEY, started_utc TEXT, finished_utc TEXT, status TEXT, tool_version TEXT,
                  config_sha256 TEXT, command_line TEXT, images INTEGER);
CREATE TABLE images(image_id INTEGER PRIMARY KEY, path TEXT NOT NULL, sha256 TEXT, md5 TEXT, sha1 TEXT,
                    bytes INTEGER, format TEXT, width INTEGER, height INTEGER, status TEXT NOT NULL,
                    run_id TEXT, config_sha256 TEXT, top_country TEXT, top_language TEXT, best_score REAL,
                    errors TEXT, report TEXT NOT NULL);
CREATE TABLE clues(clue_id INTEGER PRIMARY KEY, image_id INTEGER NOT NULL REFERENCES images(image_id),
                   rank INTEGER NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, confidence REAL, score REAL,
                   language TEXT, countries TEXT, box TEXT, stage TEXT, explanation TEXT, digits TEXT,
                   crop TEXT, details TEXT);
CREATE TABLE clue_countries(clue_id INTEGER NOT NULL REFERENCES clues(clue_id), code TEXT NOT NULL, weight REAL);
CREATE TABLE image_regions(image_id INTEGER NOT NULL REFERENCES images(image_id), code TEXT NOT NULL,
                           probability REAL);
CREATE TABLE image_languages(image_id INTEGER NOT NULL REFERENCES images(image_id), code TEXT NOT NULL,
                             probability REAL);
CREATE TABLE links(link_id INTEGER PRIMARY KEY, type TEXT NOT NULL, kind TEXT, value TEXT);
CREATE TABLE link_images(link_id INTEGER NOT NULL REFERENCES links(link_id),
                         image_id INTEGER NOT NULL REFERENCES images(image_id), rank INTEGER, inliers INTEGER);
CREATE VIRTUAL TABLE clue_text USING fts5(value, explanation, content='clues', content_rowid='clue_id',
                                          tokenize='unicode61 remove_diacritics 2');
)sql";

constexpr const char* kIndexes = R"sql(
CREATE INDEX clues_image ON clues(image_id);
CREATE INDEX clues_kind ON clues(kind);
CREATE INDEX clue_countries_code ON clue_countries(code, clue_id);
CREATE INDEX images_sha256 ON images(sha256);
CREATE INDEX images_md5 ON images(md5);
CREATE INDEX link_images_image ON link_images(image_id);
)sql";

// One row through a prepared INSERT; returns its rowid. std::nullopt values become NULL.
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

std::string first_code(const nlohmann::json& list) { return list.empty() ? "" : list[0].value("code", ""); }

void build(SQLite::Database& db, const CaseData& data) {
  db.exec(kSchema);
  SQLite::Transaction tx(db);
  SQLite::Statement meta(db, "INSERT INTO meta VALUES (?, ?)");
  insert(db, meta, std::string("schema_version"), std::to_string(kDatabaseSchemaVersion));
  insert(db, meta, std::string("case"), data.name);
  insert(db, meta, std::string("images"), std::to_string(data.reports.size()));
  SQLite::Statement run(db, "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  for (const auto& r : data.runs) {
    insert(db, run, r.value("run_id", ""), r.value("started_utc", ""), r.value("finished_utc", ""), r.value("status", ""),
           r.contains("tool") ? r["tool"].value("version", "") : "", r.value("config_sha256", ""),
           r.contains("command_line") ? r["command_line"].dump() : "",
           r.contains("counts") ? r["counts"].value("images", 0) : 0);
  }
  SQLite::Statement image(db,
                          "INSERT INTO images(path, sha256, md5, sha1, bytes, format, width, height, status, run_id, "
                          "config_sha256, top_country, top_language, best_score, errors, report) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  SQLite::Statement clue(db,
                         "INSERT INTO clues(image_id, rank, kind, value, confidence, score, language, countries, box, "
                         "stage, explanation, digits, crop, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  SQLite::Statement clue_country(db, "INSERT INTO clue_countries VALUES (?, ?, ?)");
  SQLite::Statement region(db, "INSERT INTO image_regions VALUES (?, ?, ?)");
  SQLite::Statement language(db, "INSERT INTO image_languages VALUES (?, ?, ?)");
  constexpr auto dump = [](const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); };
  std::vector<std::int64_t> image_ids;
  for (const auto& report : data.reports) {
    const auto& img = report["image"];
    const std::string sha = img.value("sha256", "");
    const std::int64_t image_id = insert(
        db, image, img.value("path", ""), sha, img.value("md5", ""), img.value("sha1", ""), img.value("bytes", std::int64_t{0}),
        img.value("format", ""), img.value("width", 0), img.value("height", 0), report.value("status", ""),
        report.value("run_id", ""), report.value("config_sha256", ""), first_code(report["regions"]),
        first_code(report["languages"]), report["clues"].empty() ? 0.0 : report["clues"][0].value("score", 0.0),
        dump(report["errors"]), dump(report));
    image_ids.push_back(image_id);
    for (const auto& r : report["regions"]) insert(db, region, image_id, r.value("code", ""), r.value("probability", 0.0));
    for (const auto& l : report["languages"]) insert(db, language, image_id, l.value("code", ""), l.value("probability", 0.0));
    for (const auto& c : report["clues"]) {
      const int rank = c.value("rank", 0);
      const bool has_crop = c.contains("box") && data.has_crop(sha, rank);
      const std::int64_t clue_id = insert(
          db, clue, image_id, rank, c.value("kind", ""), c.value("value", ""), c.value("confidence", 0.0), c.value("score", 0.0),
          c.value("language", ""), countries_text(c), c.contains("box") ? dump(c["box"]) : "", c.value("stage", ""),
          c.value("explanation", ""), digits_only(c.value("value", "")), has_crop ? crop_path(sha, rank).string() : "",
          c.contains("details") ? dump(c["details"]) : "");
      if (!c.contains("countries")) continue;
      for (const auto& country : c["countries"]) {
        insert(db, clue_country, clue_id, country.value("code", ""), country.value("weight", 0.0));
      }
    }
  }
  // Links across images.
  SQLite::Statement link(db, "INSERT INTO links(type, kind, value) VALUES (?, ?, ?)");
  SQLite::Statement member(db, "INSERT INTO link_images VALUES (?, ?, ?, ?)");
  auto add_member = [&](std::int64_t link_id, std::size_t image_index, int rank, int inliers) {
    insert(db, member, link_id, image_ids.at(image_index), rank > 0 ? std::optional<int>(rank) : std::nullopt,
           inliers > 0 ? std::optional<int>(inliers) : std::nullopt);
  };
  for (const auto& r : data.links.recurring) {
    const auto id = insert(db, link, std::string("clue"), r.kind, r.value);
    for (const auto& s : r.sightings) add_member(id, s.image, s.rank, 0);
  }
  for (const auto& g : data.links.scenes) {
    const auto id = insert(db, link, std::string("scene"), std::string(), std::string());
    for (const auto i : g.images) {
      int best = 0;
      for (const auto& p : g.pairs) {
        if (p.a == i || p.b == i) best = std::max(best, p.inliers);
      }
      add_member(id, i, 0, best);
    }
  }
  for (const auto& group : data.links.identical) {
    const auto id = insert(db, link, std::string("identical"), std::string(), data.reports[group.front()]["image"].value("sha256", ""));
    for (const auto i : group) add_member(id, i, 0, 0);
  }
  db.exec("INSERT INTO clue_text(clue_text) VALUES ('rebuild')");
  db.exec(kIndexes);
  tx.commit();
}

// Each word as an FTS5 string (so punctuation in a word is not syntax); a trailing * stays a prefix search.
std::string fts_query(const std::string& text) {
  std::string out, word;
  auto flush = [&] {
    if (word.empty()) return;
    const bool prefix = word.size() > 1 && word.back() == '*';
    if (prefix) word.pop_back();
    std::string quoted = "\"";
    for (char c : word) {
      if (c == '"') quoted += '"';
      quoted += c;
    }
    out += (out.empty() ? "" : " ") + quoted + "\"" + (prefix ? "*" : "");
    word.clear();
  };
  for (char c : text) {
    if (c == ' ' || c == '\t') flush(); else word += c;
  }
  flush();
  return out;
}

}  // namespace

void write_database(const CaseData& data, const std::filesystem::path& path) {
  const auto tmp = path.parent_path() / fmt::format(".{}.tmp.{}", path.filename().string(), ::getpid());
  std::filesystem::remove(tmp);
  try {
    {
      SQLite::Database db(tmp.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
      build(db, data);
    }
    std::filesystem::rename(tmp, path);
  } catch (const std::exception& e) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw OutputError(fmt::format("cannot write {}: {}", path.string(), e.what()));
  }
}

std::vector<SearchHit> search_database(const std::filesystem::path& database, const SearchQuery& query) {
  std::vector<SearchHit> hits;
  try {
    SQLite::Database db(database.string(), SQLite::OPEN_READONLY);
    std::string sql =
        "SELECT i.run_id, i.path, i.sha256, c.rank, c.kind, c.value, c.score, c.confidence, c.countries, "
        "i.top_country, c.explanation FROM clues c JOIN images i ON i.image_id = c.image_id WHERE 1";
    std::vector<std::string> binds;
    const std::string digits = digits_only(query.text);
    bool has_letter = false;
    for (unsigned char ch : query.text) has_letter = has_letter || std::isalpha(ch) || ch >= 0x80;
    if (!query.text.empty()) {
      const std::string match = query.raw_fts ? query.text : fts_query(query.text);
      if (!has_letter && digits.size() >= 5) {
        // Numbers are written in many ways (030 123, +49 30 123): also match the digits anywhere in a clue's digits.
        sql += " AND (c.clue_id IN (SELECT rowid FROM clue_text WHERE clue_text MATCH ?) OR c.digits LIKE ?)";
        binds.push_back(match);
        // Without the trunk or international prefix ("030 …", "0049 …"), which the stored E.164 form lacks.
        binds.push_back("%" + digits.substr(std::min(digits.find_first_not_of('0'), digits.size() - 1)) + "%");
      } else {
        sql += " AND c.clue_id IN (SELECT rowid FROM clue_text WHERE clue_text MATCH ?)";
        binds.push_back(match);
      }
    }
    if (!query.kinds.empty()) {
      sql += " AND c.kind IN (";
      for (std::size_t i = 0; i < query.kinds.size(); ++i) {
        sql += i ? ", ?" : "?";
        binds.push_back(query.kinds[i]);
      }
      sql += ")";
    }
    if (!query.countries.empty()) {
      std::string list;
      for (std::size_t i = 0; i < query.countries.size(); ++i) list += i ? ", ?" : "?";
      sql += " AND (i.top_country IN (" + list + ") OR c.clue_id IN (SELECT clue_id FROM clue_countries WHERE code IN (" + list + ")))";
      for (int pass = 0; pass < 2; ++pass)
        for (const auto& c : query.countries) binds.push_back(c);
    }
    if (query.min_score) sql += " AND c.score >= ?";
    sql += fmt::format(" ORDER BY c.score DESC, i.path, c.rank LIMIT {}", std::max(1, query.limit));
    SQLite::Statement st(db, sql);
    for (std::size_t i = 0; i < binds.size(); ++i) st.bind(static_cast<int>(i + 1), binds[i]);
    if (query.min_score) st.bind(static_cast<int>(binds.size() + 1), *query.min_score);
    while (st.executeStep()) {
      SearchHit h;
      h.database = database.string();
      h.run_id = st.getColumn(0).getString();
      h.path = st.getColumn(1).getString();
      h.sha256 = st.getColumn(2).getString();
      h.rank = st.getColumn(3).getInt();
      h.kind = st.getColumn(4).getString();
      h.value = st.getColumn(5).getString();
      h.score = st.getColumn(6).getDouble();
      h.confidence = st.getColumn(7).getDouble();
      h.countries = st.getColumn(8).getString();
      h.top_country = st.getColumn(9).getString();
      h.explanation = st.getColumn(10).getString();
      hits.push_back(std::move(h));
    }
  } catch (const SQLite::Exception& e) {
    throw std::runtime_error(fmt::format("{}: {}", database.string(), e.what()));
  }
  return hits;
}

std::vector<std::filesystem::path> find_databases(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  if (std::filesystem::is_regular_file(dir)) return {dir};
  if (std::filesystem::exists(dir / "clues.sqlite")) out.push_back(dir / "clues.sqlite");
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, std::filesystem::directory_options::skip_permission_denied, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it.depth() > 3) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && it->path().filename() == "clues.sqlite" && it->path().parent_path() != dir) out.push_back(it->path());
  }
  // The same file named two ways ("out" and "out/", a folder and its parent) is searched once.
  for (auto& path : out) path = std::filesystem::weakly_canonical(path);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace cluetrace
