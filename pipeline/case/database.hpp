// The search behind `cluetrace search` over clues.sqlite (the case store, pipeline/case/store.hpp: images,
// clues, runs, links and an FTS5 index over the clues' text). Schema in docs/review.md.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>


namespace cluetrace {

struct SearchQuery {
  std::string text;                  // words (all must occur; "word*" is a prefix); empty: every clue
  bool raw_fts = false;              // `text` is FTS5 query syntax, passed as is
  std::vector<std::string> kinds;    // clue kinds; empty: all
  std::vector<std::string> countries;  // ISO codes: the clue points there or it is the image's likeliest country
  std::optional<double> min_score;
  std::vector<std::string> decisions;  // the analyst's: confirm, dismiss, publish, none (undecided); empty: all
  int limit = 100;                   // per database
};

struct SearchHit {
  std::string database;  // the clues.sqlite it came from
  std::string run_id;
  std::string path, sha256;
  int rank = 0;
  std::string kind, value;
  double score = 0, confidence = 0;
  std::string countries;    // "DE:0.90;AT:0.10"
  std::string top_country;  // of the image
  std::string explanation;
  std::string decision, note;  // the analyst's, when there is one
};

// Hits from one database, best score first. Throws std::runtime_error naming the file on a broken
// database or query.
std::vector<SearchHit> search_database(const std::filesystem::path& database, const SearchQuery& query);

// The clues.sqlite files under `dir` (the folder itself, or the output folders below it: a case's runs).
std::vector<std::filesystem::path> find_databases(const std::filesystem::path& dir);

}  // namespace cluetrace
