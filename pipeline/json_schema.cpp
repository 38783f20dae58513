#include "pipeline/json_schema.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace cluetrace {
namespace {

using nlohmann::json;

std::string escape_pointer(const std::string& key) {
  std::string out;
  for (const char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

// A value for a message: short, and never throwing on invalid UTF-8 (instances built in code may carry it).
std::string brief(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  constexpr std::size_t kMax = 80;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

// JSON Schema counts 3.0 as an integer; nlohmann keeps it as a float, so check the value, not the storage.
bool is_integral(const json& value) {
  if (value.is_number_integer()) return true;
  if (!value.is_number_float()) return false;
  const double d = value.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

bool is_known_type(const std::string& name) {
  static constexpr std::array<std::string_view, 7> kTypes{"object", "array",  "string", "boolean",
                                                          "null",   "number", "integer"};
  return std::find(kTypes.begin(), kTypes.end(), name) != kTypes.end();
}

bool has_type(const json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "boolean") return value.is_boolean();
  if (type == "null") return value.is_null();
  if (type == "number") return value.is_number();
  return type == "integer" && is_integral(value);
}

// Code points, not bytes: the spec measures string length in characters.
std::size_t utf8_length(const std::string& s) {
  std::size_t n = 0;
  for (const char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

[[noreturn]] void refuse(const std::string& keyword_path, const std::string& why) {
  throw std::invalid_argument("JSON Schema #" + keyword_path + ": " + why);
}

// Walks every subschema once at construction and refuses anything validate_node would not enforce, so a schema can
// never let an instance pass by having one of its rules silently ignored. Paths are JSON Pointers into the schema.
class SchemaChecker {
 public:
  std::map<std::string, std::regex> patterns;

  void check(const json& schema, const std::string& at) {
    subschemas_.insert(at);
    if (schema.is_boolean()) return;
    if (!schema.is_object()) refuse(at, "a schema must be an object or a boolean");
    for (const auto& [key, value] : schema.items()) check_keyword(key, value, at + "/" + escape_pointer(key), at);
  }

  // Runs after the whole document is walked: a $ref must land on a subschema that check() has vetted, not on,
  // say, a "properties" map whose keys validate_node would never read as keywords.
  void check_refs() const {
    for (const auto& [where, ref] : refs_) {
      if (ref.empty() || ref[0] != '#') refuse(where, "only local references (\"#/...\") are supported, not " + ref);
      if (ref.find('%') != std::string::npos) refuse(where, "percent-encoded references are not supported: " + ref);
      std::string target;
      try {
        target = json::json_pointer(ref.substr(1)).to_string();
      } catch (const json::exception&) {
        refuse(where, ref + " is not a JSON Pointer fragment");
      }
      if (!subschemas_.contains(target)) refuse(where, ref + " does not point at a subschema of this document");
    }
  }

 private:
  std::set<std::string> subschemas_;
  std::vector<std::pair<std::string, std::string>> refs_;  // (schema path of the $ref, its value)

  void check_keyword(const std::string& key, const json& value, const std::string& here, const std::string& at) {
    if (key == "$schema" || key == "title" || key == "description" || key == "$comment" || key == "examples" ||
        key == "default" || key == "format") {
      return;  // annotations: they never make an instance invalid
    }
    if (key == "$id") {
      // A nested $id would make "#/..." inside it resolve against that subschema; we only resolve from the root.
      if (!at.empty()) refuse(here, "$id is only supported on the root schema");
    } else if (key == "$defs" || key == "definitions" || key == "properties") {
      if (!value.is_object()) refuse(here, key + " must be an object of schemas");
      for (const auto& [name, sub] : value.items()) check(sub, here + "/" + escape_pointer(name));
    } else if (key == "items") {
      if (value.is_array()) refuse(here, "the array form of items is pre-2020-12 (now prefixItems) and not supported");
      check(value, here);
    } else if (key == "additionalProperties" || key == "not") {
      check(value, here);
    } else if (key == "allOf" || key == "anyOf" || key == "oneOf") {
      if (!value.is_array() || value.empty()) refuse(here, key + " must be a non-empty array of schemas");
      for (std::size_t i = 0; i < value.size(); ++i) check(value[i], here + "/" + std::to_string(i));
    } else if (key == "type") {
      const auto names = value.is_array() ? value : json::array({value});
      for (const auto& name : names) {
        if (!name.is_string() || !is_known_type(name.get<std::string>())) refuse(here, "unknown type " + brief(name));
      }
    } else if (key == "required") {
      if (!value.is_array() || !std::all_of(value.begin(), value.end(), [](const json& n) { return n.is_string(); })) {
        refuse(here, "required must be an array of strings");
      }
    } else if (key == "enum") {
      if (!value.is_array()) refuse(here, "enum must be an array");
    } else if (key == "const") {
      // any value is a valid const
    } else if (key == "pattern") {
      if (!value.is_string()) refuse(here, "pattern must be a string");
      try {
        patterns.emplace(value.get<std::string>(), std::regex(value.get<std::string>(), std::regex::ECMAScript));
      } catch (const std::regex_error& e) {
        refuse(here, "pattern " + brief(value) + " is not a valid regex: " + e.what());
      }
    } else if (key == "minimum" || key == "maximum" || key == "exclusiveMinimum" || key == "exclusiveMaximum") {
      // 2020-12 exclusive bounds are numbers; draft-04's booleans would otherwise be misread.
      if (!value.is_number()) refuse(here, key + " must be a number");
    } else if (key == "minItems" || key == "maxItems" || key == "minLength" || key == "maxLength") {
      if (!is_integral(value) || value.get<double>() < 0) refuse(here, key + " must be a non-negative integer");
    } else if (key == "$ref") {
      if (!value.is_string()) refuse(here, "$ref must be a string");
      refs_.emplace_back(here, value.get<std::string>());
    } else {
      refuse(here, "keyword '" + key + "' is not supported by this validator");
    }
  }
};

}  // namespace

JsonSchema::JsonSchema(nlohmann::json schema) : schema_(std::move(schema)) {
  SchemaChecker checker;
  checker.check(schema_, "");
  checker.check_refs();
  patterns_ = std::move(checker.patterns);  // compiled once here, reused by every validate()
}

JsonSchema JsonSchema::from_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot open JSON Schema file " + file.string());
  nlohmann::json schema;
  try {
    schema = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(file.string() + ": not valid JSON: " + e.what());
  }
  try {
    return JsonSchema(std::move(schema));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(file.string() + ": " + e.what());
  }
}

// Only called with references that check_refs() has already resolved at construction.
const nlohmann::json& JsonSchema::resolve(const std::string& ref) const {
  return schema_.at(nlohmann::json::json_pointer(ref.substr(1)));
}

std::vector<SchemaViolation> JsonSchema::validate(const nlohmann::json& instance) const {
  std::vector<SchemaViolation> out;
  validate_node(schema_, instance, "", out);
  return out;
}

// Keywords that only apply to one instance type (minimum, pattern, items, ...) are skipped for other types, as
// the spec says; "type" is what rejects the wrong type. Numbers are compared as doubles, which is exact for every
// value our contracts carry (integers below 2^53). A $ref cycle that never descends into the instance would
// recurse forever; our schemas have none.
void JsonSchema::validate_node(const nlohmann::json& s, const nlohmann::json& v, const std::string& path,
                               std::vector<SchemaViolation>& out) const {
  const auto fail = [&](std::string message) { out.push_back({path, std::move(message)}); };
  const auto keyword = [&](const char* name) -> const nlohmann::json* {
    const auto it = s.find(name);
    return it == s.end() ? nullptr : &*it;
  };
  const auto is_valid = [&](const nlohmann::json& sub) {
    std::vector<SchemaViolation> ignored;
    validate_node(sub, v, path, ignored);
    return ignored.empty();
  };

  if (s.is_boolean()) {
    if (!s.get<bool>()) fail("false schema: no value is allowed here");
    return;
  }
  if (const auto* ref = keyword("$ref")) validate_node(resolve(ref->get<std::string>()), v, path, out);

  if (const auto* type = keyword("type")) {
    const auto names = type->is_array() ? *type : nlohmann::json::array({*type});
    const auto matches = [&](const nlohmann::json& t) { return has_type(v, t.get<std::string>()); };
    if (std::none_of(names.begin(), names.end(), matches)) fail("type: expected " + brief(*type) + ", got " + brief(v));
  }
  if (const auto* c = keyword("const"); c && v != *c) fail("const: expected " + brief(*c) + ", got " + brief(v));
  if (const auto* e = keyword("enum"); e && std::find(e->begin(), e->end(), v) == e->end()) {
    fail("enum: " + brief(v) + " is not one of " + brief(*e));
  }

  if (v.is_number()) {
    const double d = v.get<double>();
    if (const auto* m = keyword("minimum"); m && d < m->get<double>()) {
      fail("minimum: " + brief(v) + " is less than " + brief(*m));
    }
    if (const auto* m = keyword("maximum"); m && d > m->get<double>()) {
      fail("maximum: " + brief(v) + " is greater than " + brief(*m));
    }
    if (const auto* m = keyword("exclusiveMinimum"); m && d <= m->get<double>()) {
      fail("exclusiveMinimum: " + brief(v) + " is not greater than " + brief(*m));
    }
    if (const auto* m = keyword("exclusiveMaximum"); m && d >= m->get<double>()) {
      fail("exclusiveMaximum: " + brief(v) + " is not less than " + brief(*m));
    }
  }

  if (v.is_string()) {
    const auto& text = v.get_ref<const std::string&>();
    // search, not full match: the spec leaves anchoring to the pattern's own ^ and $
    if (const auto* p = keyword("pattern"); p && !std::regex_search(text, patterns_.at(p->get<std::string>()))) {
      fail("pattern: " + brief(v) + " does not match " + p->get<std::string>());
    }
    const auto length = static_cast<double>(utf8_length(text));
    if (const auto* m = keyword("minLength"); m && length < m->get<double>()) {
      fail("minLength: " + brief(v) + " is shorter than " + brief(*m) + " characters");
    }
    if (const auto* m = keyword("maxLength"); m && length > m->get<double>()) {
      fail("maxLength: " + brief(v) + " is longer than " + brief(*m) + " characters");
    }
  }

  if (v.is_array()) {
    const auto size = static_cast<double>(v.size());
    if (const auto* m = keyword("minItems"); m && size < m->get<double>()) {
      fail("minItems: " + std::to_string(v.size()) + " items, at least " + brief(*m) + " required");
    }
    if (const auto* m = keyword("maxItems"); m && size > m->get<double>()) {
      fail("maxItems: " + std::to_string(v.size()) + " items, at most " + brief(*m) + " allowed");
    }
    if (const auto* items = keyword("items")) {
      for (std::size_t i = 0; i < v.size(); ++i) validate_node(*items, v[i], path + "/" + std::to_string(i), out);
    }
  }

  if (v.is_object()) {
    if (const auto* required = keyword("required")) {
      for (const auto& name : *required) {
        if (!v.contains(name.get<std::string>())) fail("required: missing property '" + name.get<std::string>() + "'");
      }
    }
    const auto* properties = keyword("properties");
    const auto* additional = keyword("additionalProperties");
    for (const auto& [key, value] : v.items()) {
      const std::string child = path + "/" + escape_pointer(key);
      if (properties && properties->contains(key)) {
        validate_node(properties->at(key), value, child, out);
      } else if (additional && additional->is_boolean() && !additional->get<bool>()) {
        out.push_back({child, "additionalProperties: property '" + key + "' is not allowed"});
      } else if (additional) {
        validate_node(*additional, value, child, out);
      }
    }
  }

  if (const auto* all = keyword("allOf")) {
    for (const auto& sub : *all) validate_node(sub, v, path, out);
  }
  if (const auto* any = keyword("anyOf"); any && std::none_of(any->begin(), any->end(), is_valid)) {
    fail("anyOf: matches none of the " + std::to_string(any->size()) + " alternatives");
  }
  if (const auto* one = keyword("oneOf")) {
    const auto matches = std::count_if(one->begin(), one->end(), is_valid);
    if (matches != 1) {
      fail("oneOf: matches " + std::to_string(matches) + " of the " + std::to_string(one->size()) +
           " alternatives, exactly one required");
    }
  }
  if (const auto* n = keyword("not"); n && is_valid(*n)) fail("not: matches the schema it must not match");
}

}  // namespace cluetrace
