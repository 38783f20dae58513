#include "pipeline/case/decisions.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/chrono.h>
#include <fmt/format.h>

namespace fs = std::filesystem;

namespace cluetrace {

const char* const kDecisionSchema = R"sql(
CREATE TABLE IF NOT EXISTS decisions(decision_id INTEGER PRIMARY KEY, image_sha256 TEXT NOT NULL, clue_kind TEXT NOT NULL,
                                     clue_value TEXT NOT NULL, clue_box TEXT NOT NULL, decision TEXT NOT NULL,
                                     note TEXT NOT NULL, analyst TEXT NOT NULL, at_utc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS decisions_clue ON decisions(image_sha256, clue_kind, clue_value, clue_box);
CREATE TABLE IF NOT EXISTS image_reviews(review_id INTEGER PRIMARY KEY, image_sha256 TEXT NOT NULL,
                                         reviewed INTEGER NOT NULL, analyst TEXT NOT NULL, at_utc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS image_reviews_image ON image_reviews(image_sha256);
CREATE VIEW IF NOT EXISTS current_decisions AS
  SELECT image_sha256, clue_kind, clue_value, clue_box, decision, note, analyst, at_utc FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY image_sha256, clue_kind, clue_value, clue_box
                                 ORDER BY at_utc DESC, decision_id DESC) AS latest FROM decisions) WHERE latest = 1;
CREATE VIEW IF NOT EXISTS current_reviews AS
  SELECT image_sha256, reviewed, analyst, at_utc FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY image_sha256 ORDER BY at_utc DESC, review_id DESC) AS latest
    FROM image_reviews) WHERE latest = 1;
)sql";

bool is_decision(const std::string& value) {
  return std::find(std::begin(kDecisionValues), std::end(kDecisionValues), value) != std::end(kDecisionValues);
}

std::string decision_box_key(const nlohmann::json& clue) {
  if (!clue.contains("box")) return "";
  return clue["box"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string utc_now_iso() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(now)), static_cast<int>(ms));
}

std::size_t carry_decisions(SQLite::Database& db, const std::vector<fs::path>& sources) {
  db.exec(kDecisionSchema);
  std::size_t copied = 0;
  for (const auto& source : sources) {
    std::error_code ec;
    if (!fs::is_regular_file(source, ec)) continue;
    try {
      // Only read: SELECTs below, and the database is detached before this returns.
      SQLite::Statement attach(db, "ATTACH DATABASE ? AS source");
      attach.bind(1, source.string());
      attach.exec();
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("{}: cannot read its decisions: {}", source.string(), e.what()));
    }
    try {
      auto has = [&](const char* table) {
        SQLite::Statement q(db, "SELECT COUNT(*) FROM source.sqlite_master WHERE type = 'table' AND name = ?");
        q.bind(1, table);
        q.executeStep();
        return q.getColumn(0).getInt() > 0;
      };
      if (has("decisions")) {
        copied += static_cast<std::size_t>(db.exec(
            "INSERT INTO decisions(image_sha256, clue_kind, clue_value, clue_box, decision, note, analyst, at_utc) "
            "SELECT s.image_sha256, s.clue_kind, s.clue_value, s.clue_box, s.decision, s.note, s.analyst, s.at_utc "
            "FROM source.decisions s WHERE NOT EXISTS (SELECT 1 FROM main.decisions d WHERE d.image_sha256 = s.image_sha256 "
            "AND d.clue_kind = s.clue_kind AND d.clue_value = s.clue_value AND d.clue_box = s.clue_box "
            "AND d.decision = s.decision AND d.note = s.note AND d.analyst = s.analyst AND d.at_utc = s.at_utc) "
            "ORDER BY s.at_utc, s.decision_id"));
      }
      if (has("image_reviews")) {
        copied += static_cast<std::size_t>(db.exec(
            "INSERT INTO image_reviews(image_sha256, reviewed, analyst, at_utc) "
            "SELECT s.image_sha256, s.reviewed, s.analyst, s.at_utc FROM source.image_reviews s WHERE NOT EXISTS ("
            "SELECT 1 FROM main.image_reviews r WHERE r.image_sha256 = s.image_sha256 AND r.reviewed = s.reviewed "
            "AND r.analyst = s.analyst AND r.at_utc = s.at_utc) ORDER BY s.at_utc, s.review_id"));
      }
    } catch (const std::exception& e) {
      db.exec("DETACH DATABASE source");
      throw std::runtime_error(fmt::format("{}: cannot read its decisions: {}", source.string(), e.what()));
    }
    db.exec("DETACH DATABASE source");
  }
  return copied;
}

std::map<ClueKey, Decision> current_decisions(SQLite::Database& db) {
  std::map<ClueKey, Decision> out;
  if (!db.tableExists("decisions")) return out;
  SQLite::Statement q(db, "SELECT image_sha256, clue_kind, clue_value, clue_box, decision, note, analyst, at_utc FROM current_decisions");
  while (q.executeStep()) {
    out[{q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(), q.getColumn(3).getString()}] =
        {q.getColumn(4).getString(), q.getColumn(5).getString(), q.getColumn(6).getString(), q.getColumn(7).getString()};
  }
  return out;
}

std::map<std::string, Decision> current_reviews(SQLite::Database& db) {
  std::map<std::string, Decision> out;
  if (!db.tableExists("image_reviews")) return out;
  SQLite::Statement q(db, "SELECT image_sha256, analyst, at_utc FROM current_reviews WHERE reviewed = 1");
  while (q.executeStep()) out[q.getColumn(0).getString()] = {"reviewed", "", q.getColumn(1).getString(), q.getColumn(2).getString()};
  return out;
}

Decision DecisionWriter::record(const ClueKey& clue, const std::string& decision, const std::string& note, const std::string& analyst) {
  if (!decision.empty() && !is_decision(decision)) {
    throw std::invalid_argument(fmt::format("'{}' is not a decision (confirm, dismiss, publish, or empty to clear)", decision));
  }
  Decision d{decision, note, analyst, utc_now_iso()};
  SQLite::Statement insert(db_, "INSERT INTO decisions(image_sha256, clue_kind, clue_value, clue_box, decision, note, analyst, at_utc) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  int i = 0;
  for (const std::string* v : std::initializer_list<const std::string*>{&clue.sha256, &clue.kind, &clue.value, &clue.box, &d.decision, &d.note, &d.analyst, &d.at_utc}) insert.bind(++i, *v);
  insert.exec();
  return d;
}

Decision DecisionWriter::mark_reviewed(const std::string& sha256, bool reviewed, const std::string& analyst) {
  Decision d{reviewed ? "reviewed" : "", "", analyst, utc_now_iso()};
  SQLite::Statement insert(db_, "INSERT INTO image_reviews(image_sha256, reviewed, analyst, at_utc) VALUES (?, ?, ?, ?)");
  insert.bind(1, sha256);
  insert.bind(2, reviewed ? 1 : 0);
  insert.bind(3, analyst);
  insert.bind(4, d.at_utc);
  insert.exec();
  return d;
}

}  // namespace cluetrace
