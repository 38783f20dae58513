// Reads one YAML mapping into a plain options struct, collecting every problem with its key path and file.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "pipeline/types.hpp"

namespace cluetrace {

struct ConfigProblem {
  std::string file;
  int line = 0;  // 1-based; 0 when unknown
  std::string key_path;  // e.g. "stages.ocr.languages"
  std::string message;
  std::string to_string() const;
};

class ConfigProblems {
 public:
  void add(ConfigProblem problem) { problems_.push_back(std::move(problem)); }
  bool empty() const { return problems_.empty(); }
  const std::vector<ConfigProblem>& all() const { return problems_; }
  std::string to_string() const;  // one problem per line

 private:
  std::vector<ConfigProblem> problems_;
};

// A view of one YAML mapping. Every get_* records the key as known, the value it settled on
// (default or read) into effective(), and any type or range problem; finish() reports unknown keys.
class OptionReader {
 public:
  OptionReader(YAML::Node node, std::string key_path, std::string file, ConfigProblems& problems);

  bool get_bool(std::string_view key, bool fallback);
  std::int64_t get_int(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max);
  double get_double(std::string_view key, double fallback, double min, double max);
  std::string get_string(std::string_view key, std::string fallback, const std::vector<std::string>& allowed = {});
  std::vector<std::string> get_string_list(std::string_view key, std::vector<std::string> fallback);
  // A nested mapping; absent means empty. Call finish() on it too.
  OptionReader child(std::string_view key);
  // Records a nested reader's effective values under key.
  void adopt(std::string_view key, const OptionReader& child);

  void finish();  // unknown keys become problems
  void problem(std::string_view key, std::string message);

  const nlohmann::ordered_json& effective() const { return effective_; }
  const std::string& key_path() const { return key_path_; }
  const std::string& file() const { return file_; }

 private:
  YAML::Node lookup(std::string_view key);
  std::string path_of(std::string_view key) const;
  int line_of(std::string_view key) const;

  YAML::Node node_;
  std::string key_path_;
  std::string file_;
  ConfigProblems* problems_;
  std::set<std::string, std::less<>> known_;
  nlohmann::ordered_json effective_ = nlohmann::ordered_json::object();
};

// One weight per clue kind, read from the mapping under `key` (e.g. `weights:` of the rank or region
// stage); kinds left out take fallback(kind). Recorded in `options`' effective values like any key.
using ClueWeights = std::array<double, kAllClueKinds.size()>;
ClueWeights read_clue_weights(OptionReader& options, std::string_view key, double (*fallback)(ClueKind), double max);

}  // namespace cluetrace
