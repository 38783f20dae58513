// The analyst's triage decisions, kept in the case database (clues.sqlite) beside what the run found.
//
// A decision belongs to a clue, named by what it is, not by row numbers: the picture's SHA-256, the clue's kind,
// value and box (the box as the report writes it). The same clue found again by a re-run, a `--resume` or a
// `merge` gets the same decision back. Both tables are append-only histories (who, when, what); the current
// state of a clue or an image is its latest row. Schema in docs/review.md.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

namespace SQLite {
class Database;
}

namespace cluetrace {

// The tables and views, created with every case database.
extern const char* const kDecisionSchema;

inline constexpr const char* kDecisionValues[] = {"confirm", "dismiss", "publish"};
bool is_decision(const std::string& value);

// How a clue's box is written in the key: the report's JSON array ("[x,y,w,h]"), "" when it has none.
std::string decision_box_key(const nlohmann::json& clue);

struct ClueKey {
  std::string sha256, kind, value, box;
  auto operator<=>(const ClueKey&) const = default;
};

struct Decision {
  std::string decision;  // confirm | dismiss | publish | "" (cleared: only a note, or nothing)
  std::string note, analyst, at_utc;
};

// Copies the decisions and review marks of other case databases (a store about to be replaced, a merge's shards)
// into `db`, their order kept, each row once. A source without the tables (an older cluetrace) gives nothing;
// one that cannot be read throws std::runtime_error naming it. Returns the rows copied.
std::size_t carry_decisions(SQLite::Database& db, const std::vector<std::filesystem::path>& sources);

// Every current decision of a case, for the writers that go through the reports (summary.csv, VICS).
std::map<ClueKey, Decision> current_decisions(SQLite::Database& db);
// Pictures marked reviewed (their latest mark).
std::map<std::string, Decision> current_reviews(SQLite::Database& db);

// Writes to a case database (the review server). Each call is one transaction.
class DecisionWriter {
 public:
  explicit DecisionWriter(SQLite::Database& db) : db_(db) {}
  // `decision` "" clears it. Throws std::invalid_argument on a value that is not a decision.
  Decision record(const ClueKey& clue, const std::string& decision, const std::string& note, const std::string& analyst);
  Decision mark_reviewed(const std::string& sha256, bool reviewed, const std::string& analyst);

 private:
  SQLite::Database& db_;
};

std::string utc_now_iso();

}  // namespace cluetrace
