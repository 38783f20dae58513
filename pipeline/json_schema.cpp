#include "pipeline/json_schema.hpp"

#include <cmath>
#include <fstream>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

namespace cluetrace {
namespace {

const std::set<std::string> kAnnotations{"$schema", "$id",     "title",   "description", "$comment",
                                         "examples", "default", "format", "$defs",       "definitions"};
const std::set<std::string> kAssertions{"type",     "required", "properties", "additionalProperties", "items",
                                        "minItems", "maxItems", "enum",       "const",                "pattern",
                                        "minimum",  "maximum",  "exclusiveMinimum", "exclusiveMaximum", "minLength",
                                        "maxLength", "$ref",    "allOf",      "anyOf",                "oneOf",
                                        "not"};

std::string escape_pointer(const std::string& key) {
  std::string out;
  for (const char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

bool has_type(const nlohmann::json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "boolean") return value.is_boolean();
  if (type == "null") return value.is_null();
  if (type == "number") return value.is_number();
  if (type == "integer") {
    if (value.is_number_integer()) return true;
    if (!value.is_number_float()) return false;
    const double d = value.get<double>();
    return std::isfinite(d) && std::floor(d) == d;  // 3.0 is an integer in JSON Schema
  }
  throw std::invalid_argument("unknown JSON Schema type '" + type + "'");
}

std::size_t utf8_length(const std::string& s) {
  std::size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace

JsonSchema::JsonSchema(nlohmann::json schema) : schema_(std::move(schema)) { check_keywords(schema_, "#"); }

JsonSchema JsonSchema::from_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot open JSON Schema " + file.string());
  try {
    return JsonSchema(nlohmann::json::parse(in));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: not valid JSON: {}", file.string(), e.what()));
  }
}

void JsonSchema::check_keywords(const nlohmann::json& schema, const std::string& at) {
  if (schema.is_boolean()) return;
  if (!schema.is_object()) throw std::invalid_argument(at + ": a schema must be an object or a boolean");
  for (const auto& [key, value] : schema.items()) {
    if (kAnnotations.contains(key)) {
      if ((key == "$defs" || key == "definitions") && value.is_object()) {
        for (const auto& [name, sub] : value.items()) check_keywords(sub, at + "/" + key + "/" + name);
      }
      continue;
    }
    if (!kAssertions.contains(key)) {
      throw std::invalid_argument(fmt::format("{}: JSON Schema keyword '{}' is not supported by this validator", at, key));
    }
    if (key == "properties") {
      for (const auto& [name, sub] : value.items()) check_keywords(sub, at + "/properties/" + name);
    } else if (key == "items" || key == "additionalProperties" || key == "not") {
      check_keywords(value, at + "/" + key);
    } else if (key == "allOf" || key == "anyOf" || key == "oneOf") {
      for (std::size_t i = 0; i < value.size(); ++i) check_keywords(value[i], fmt::format("{}/{}/{}", at, key, i));
    } else if (key == "pattern") {
      patterns_.emplace(value.get<std::string>(), std::regex(value.get<std::string>(), std::regex::ECMAScript));
    } else if (key == "type") {
      for (const auto& t : value.is_array() ? value : nlohmann::json::array({value})) has_type(nullptr, t.get<std::string>());
    }
  }
}

const nlohmann::json& JsonSchema::resolve(const std::string& ref) const {
  if (ref.empty() || ref[0] != '#') throw std::invalid_argument("only local $ref (#/...) is supported: " + ref);
  return schema_.at(nlohmann::json::json_pointer(ref.substr(1)));
}

std::vector<SchemaViolation> JsonSchema::validate(const nlohmann::json& instance) const {
  std::vector<SchemaViolation> out;
  validate_node(schema_, instance, "", out);
  return out;
}

void JsonSchema::validate_node(const nlohmann::json& s, const nlohmann::json& v, const std::string& path,
                               std::vector<SchemaViolation>& out) const {
  const auto fail = [&](std::string message) { out.push_back({path.empty() ? "/" : path, std::move(message)}); };
  if (s.is_boolean()) {
    if (!s.get<bool>()) fail("no value is allowed here");
    return;
  }
  if (s.contains("$ref")) validate_node(resolve(s["$ref"].get<std::string>()), v, path, out);
  if (s.contains("type")) {
    const auto types = s["type"].is_array() ? s["type"] : nlohmann::json::array({s["type"]});
    bool ok = false;
    for (const auto& t : types) ok = ok || has_type(v, t.get<std::string>());
    if (!ok) {
      fail(fmt::format("expected type {}, got {}", types.dump(), v.type_name()));
      return;  // the other keywords would only repeat the type error
    }
  }
  if (s.contains("const") && v != s["const"]) fail("must equal " + s["const"].dump());
  if (s.contains("enum")) {
    bool found = false;
    for (const auto& e : s["enum"]) found = found || e == v;
    if (!found) fail("must be one of " + s["enum"].dump());
  }
  if (v.is_number()) {
    const double d = v.get<double>();
    if (s.contains("minimum") && d < s["minimum"].get<double>()) fail(fmt::format("must be >= {}", s["minimum"].dump()));
    if (s.contains("maximum") && d > s["maximum"].get<double>()) fail(fmt::format("must be <= {}", s["maximum"].dump()));
    if (s.contains("exclusiveMinimum") && d <= s["exclusiveMinimum"].get<double>()) fail("must be > " + s["exclusiveMinimum"].dump());
    if (s.contains("exclusiveMaximum") && d >= s["exclusiveMaximum"].get<double>()) fail("must be < " + s["exclusiveMaximum"].dump());
  }
  if (v.is_string()) {
    const auto& text = v.get_ref<const std::string&>();
    if (s.contains("pattern") && !std::regex_search(text, patterns_.at(s["pattern"].get<std::string>()))) {
      fail("does not match pattern " + s["pattern"].get<std::string>());
    }
    if (s.contains("minLength") && utf8_length(text) < s["minLength"].get<std::size_t>()) fail("too short");
    if (s.contains("maxLength") && utf8_length(text) > s["maxLength"].get<std::size_t>()) fail("too long");
  }
  if (v.is_array()) {
    if (s.contains("minItems") && v.size() < s["minItems"].get<std::size_t>()) fail(fmt::format("needs at least {} items", s["minItems"].dump()));
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<std::size_t>()) fail(fmt::format("allows at most {} items", s["maxItems"].dump()));
    if (s.contains("items")) {
      for (std::size_t i = 0; i < v.size(); ++i) validate_node(s["items"], v[i], fmt::format("{}/{}", path, i), out);
    }
  }
  if (v.is_object()) {
    if (s.contains("required")) {
      for (const auto& name : s["required"]) {
        if (!v.contains(name.get<std::string>())) fail("missing required property '" + name.get<std::string>() + "'");
      }
    }
    const auto properties = s.value("properties", nlohmann::json::object());
    for (const auto& [key, value] : v.items()) {
      const std::string child = path + "/" + escape_pointer(key);
      if (properties.contains(key)) {
        validate_node(properties[key], value, child, out);
      } else if (s.contains("additionalProperties")) {
        validate_node(s["additionalProperties"], value, child, out);
      }
    }
  }
  const auto count_valid = [&](const nlohmann::json& list) {
    std::size_t n = 0;
    for (const auto& sub : list) {
      std::vector<SchemaViolation> ignored;
      validate_node(sub, v, path, ignored);
      n += ignored.empty();
    }
    return n;
  };
  if (s.contains("allOf")) {
    for (const auto& sub : s["allOf"]) validate_node(sub, v, path, out);
  }
  if (s.contains("anyOf") && count_valid(s["anyOf"]) == 0) fail("matches none of anyOf");
  if (s.contains("oneOf") && count_valid(s["oneOf"]) != 1) fail("must match exactly one of oneOf");
  if (s.contains("not") && count_valid(nlohmann::json::array({s["not"]})) == 1) fail("must not match the 'not' schema");
}

}  // namespace cluetrace
