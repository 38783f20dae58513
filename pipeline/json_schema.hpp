// A JSON Schema (draft 2020-12) validator for the keywords our contracts use. A schema with a keyword it
// does not implement is refused at construction, so validation can never pass by ignoring a rule.
#pragma once

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cluetrace {

struct SchemaViolation {
  std::string instance_path;  // JSON Pointer into the instance, e.g. "/clues/0/rank"
  std::string message;
};

class JsonSchema {
 public:
  explicit JsonSchema(nlohmann::json schema);  // throws std::invalid_argument naming an unsupported keyword
  static JsonSchema from_file(const std::filesystem::path& file);  // throws std::runtime_error naming the file

  std::vector<SchemaViolation> validate(const nlohmann::json& instance) const;

 private:
  void check_keywords(const nlohmann::json& schema, const std::string& schema_path);
  void validate_node(const nlohmann::json& schema, const nlohmann::json& instance, const std::string& path,
                     std::vector<SchemaViolation>& out) const;
  const nlohmann::json& resolve(const std::string& ref) const;

  nlohmann::json schema_;
  std::map<std::string, std::regex> patterns_;
};

}  // namespace cluetrace
