// A JSON Schema (draft 2020-12) validator for the keywords our contracts use. A schema with a keyword it
// does not implement is refused at construction, so validation can never pass by ignoring a rule.
#pragma once

#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cluetrace {

struct SchemaViolation {
  std::string instance_path;  // JSON Pointer into the instance, e.g. "/clues/0/rank"; "" is the root itself
  std::string message;        // starts with the failing keyword, e.g. "maximum: 1.5 is greater than 1"
};

// Implements type, required, properties, additionalProperties, items, minItems, maxItems, enum, const, pattern,
// minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength, local $ref, allOf, anyOf, oneOf, not
// and boolean schemas. Accepts and ignores $schema, $id, title, description, $comment, examples, default, format,
// $defs and definitions.
class JsonSchema {
 public:
  // Throws std::invalid_argument naming the keyword and its schema path (e.g. "#/properties/a/uniqueItems") for an
  // unsupported keyword, a malformed keyword value, a bad regex or a $ref that does not land on a subschema.
  explicit JsonSchema(nlohmann::json schema);
  // Throws std::runtime_error naming the file if it cannot be read or is not JSON; std::invalid_argument as above.
  static JsonSchema from_file(const std::filesystem::path& file);

  // Empty = valid. Collects every violation instead of stopping at the first.
  std::vector<SchemaViolation> validate(const nlohmann::json& instance) const;

 private:
  void validate_node(const nlohmann::json& schema, const nlohmann::json& instance, const std::string& path,
                     std::vector<SchemaViolation>& out) const;
  const nlohmann::json& resolve(const std::string& ref) const;

  nlohmann::json schema_;
  // Keyed by the pattern text rather than by node address, so copies of a JsonSchema stay valid.
  std::map<std::string, std::regex> patterns_;
};

}  // namespace cluetrace
