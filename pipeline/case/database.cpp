#include "pipeline/case/database.hpp"

#include <unistd.h>

#include <algorithm>
#include <optional>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include "pipeline/case/decisions.hpp"
#include "pipeline/fold.hpp"
#include "pipeline/report_store.hpp"

namespace cluetrace {
namespace {

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

std::vector<SearchHit> search_database(const std::filesystem::path& database, const SearchQuery& query) {
  std::vector<SearchHit> hits;
  try {
    SQLite::Database db(database.string(), SQLite::OPEN_READONLY);
    std::string sql =
        "SELECT i.run_id, i.path, i.sha256, c.rank, c.kind, c.value, c.score, c.confidence, c.countries, "
        "i.top_country, c.explanation, d.decision, d.note FROM clues c JOIN images i ON i.image_id = c.image_id ";
    // The analyst's decisions: a store written before they existed (schema 2) has none.
    const bool has_decisions = db.tableExists("decisions");
    if (has_decisions) {
      sql += "LEFT JOIN current_decisions d ON d.image_sha256 = i.sha256 AND d.clue_kind = c.kind AND d.clue_value = c.value "
             "AND d.clue_box = c.box ";
    } else {
      sql += "LEFT JOIN (SELECT NULL decision, NULL note) d ON 0 ";
    }
    sql += "WHERE 1";
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
    if (!query.decisions.empty()) {
      std::string any;
      for (const auto& d : query.decisions) {
        if (d != "none" && !is_decision(d)) throw std::runtime_error(fmt::format("'{}' is not a decision (confirm, dismiss, publish, none)", d));
        if (!any.empty()) any += " OR ";
        if (d == "none") {
          any += "COALESCE(d.decision, '') = ''";
        } else {
          any += "d.decision = ?";
          binds.push_back(d);
        }
      }
      sql += " AND (" + any + ")";
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
      h.decision = st.getColumn(11).isNull() ? "" : st.getColumn(11).getString();
      h.note = st.getColumn(12).isNull() ? "" : st.getColumn(12).getString();
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
