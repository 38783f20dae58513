// Contract: the JSON Schema validator accepts reports that follow clue-report/1 (docs/clue-report.schema.json),
// names the exact instance path and keyword of every violation, and refuses schemas it cannot fully enforce.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "pipeline/json_schema.hpp"

#ifndef CLUETRACE_SOURCE_DIR
#error "CLUETRACE_SOURCE_DIR must name the project root as a string literal"
#endif

using namespace cluetrace;
using nlohmann::json;

namespace {

const JsonSchema& report_schema() {
  static const JsonSchema schema =
      JsonSchema::from_file(std::filesystem::path(CLUETRACE_SOURCE_DIR) / "docs" / "clue-report.schema.json");
  return schema;
}

json minimal_report() {
  return json::parse(R"({
    "schema": "clue-report/1",
    "image": {"path": "a.jpg", "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    "status": "ok", "clues": [], "languages": [], "regions": []})");
}

json rich_report() {
  auto r = minimal_report();
  r["image"]["md5"] = "900150983cd24fb0d6963f7d28e17f72";
  r["image"]["width"] = 640;
  r["image"]["height"] = 480;
  r["errors"] = json::array({{{"stage", "logo.features"}, {"message", "catalogue entry unreadable"}}});
  r["status"] = "partial";
  r["clues"] = json::parse(R"([
    {"rank": 1, "kind": "phone", "value": "+493012345678", "confidence": 0.9, "score": 0.85,
     "box": [10, 20, 100, 18], "quad": [[10, 20], [110, 20.5], [110, 38], [10, 38]], "language": "de",
     "countries": [{"code": "DE", "weight": 1.0}], "stage": "clues.extract", "explanation": "a phone number"},
    {"rank": 2, "kind": "text", "value": "Bäckerei", "confidence": 0.8, "score": 0.2}])");
  r["languages"] = json::parse(R"([{"code": "de", "probability": 0.9}])");
  r["regions"] = json::parse(R"([{"code": "DE", "probability": 0.8, "evidence": [1]}])");
  r["timings_ms"] = {{"ocr", 12.5}, {"total", 40}};
  return r;
}

std::string describe(const std::vector<SchemaViolation>& violations) {
  std::string text;
  for (const auto& v : violations) text += "\n  '" + v.instance_path + "' " + v.message;
  return text;
}

// Exactly one violation, at `pointer`, reported by `keyword`: a wrong path or a second, spurious error both fail.
void expect_only_violation(const JsonSchema& schema, const json& instance, const std::string& pointer,
                           const std::string& keyword) {
  const auto violations = schema.validate(instance);
  ASSERT_EQ(violations.size(), 1u) << instance.dump() << describe(violations);
  EXPECT_EQ(violations[0].instance_path, pointer) << describe(violations);
  EXPECT_EQ(violations[0].message.rfind(keyword + ":", 0), 0u) << describe(violations);
}

// The what() of the std::invalid_argument the constructor throws, or "" when it accepts the schema.
std::string construction_error(const char* schema_text) {
  try {
    JsonSchema schema(json::parse(schema_text));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(JsonSchema, AcceptsWellFormedReports) {
  for (const auto& report : {minimal_report(), rich_report()}) {
    const auto violations = report_schema().validate(report);
    EXPECT_TRUE(violations.empty()) << describe(violations);
  }
}

TEST(JsonSchema, NamesWhereAReportBreaksTheContract) {
  const auto& schema = report_schema();
  auto r = rich_report();
  r.erase("regions");
  expect_only_violation(schema, r, "", "required");  // "" is the JSON Pointer of the report itself

  r = rich_report();
  r["schema"] = "clue-report/2";
  expect_only_violation(schema, r, "/schema", "const");

  r = rich_report();
  r["image"]["sha256"] = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
  expect_only_violation(schema, r, "/image/sha256", "pattern");

  r = rich_report();
  r["image"]["sha256"] = r["image"]["sha256"].get<std::string>() + "0";  // 65 digits: the pattern is anchored
  expect_only_violation(schema, r, "/image/sha256", "pattern");

  r = rich_report();
  r["status"] = "done";
  expect_only_violation(schema, r, "/status", "enum");

  r = rich_report();
  r["clues"][0]["confidence"] = 1.5;
  expect_only_violation(schema, r, "/clues/0/confidence", "maximum");

  r = rich_report();
  r["clues"][0]["box"] = {1, 2, 3};
  expect_only_violation(schema, r, "/clues/0/box", "minItems");

  r = rich_report();
  r["clues"][0]["quad"][1] = {110, 20, 5};
  expect_only_violation(schema, r, "/clues/0/quad/1", "maxItems");

  r = rich_report();
  r["clues"][1]["kind"] = "shoe";
  expect_only_violation(schema, r, "/clues/1/kind", "enum");

  r = rich_report();
  r["clues"][0]["rank"] = 1.5;
  expect_only_violation(schema, r, "/clues/0/rank", "type");

  r = rich_report();
  r["image"]["width"] = 640.5;
  expect_only_violation(schema, r, "/image/width", "type");

  r = rich_report();
  r["regions"][0]["code"] = "de";
  expect_only_violation(schema, r, "/regions/0/code", "pattern");

  r = rich_report();
  r["timings_ms"]["ocr"] = "slow";
  expect_only_violation(schema, r, "/timings_ms/ocr", "type");
}

TEST(JsonSchema, CollectsEveryViolation) {
  auto r = rich_report();
  r["status"] = "done";
  r["clues"][0]["score"] = -0.1;
  r["clues"][1].erase("value");
  const auto violations = report_schema().validate(r);
  ASSERT_EQ(violations.size(), 3u) << describe(violations);
  EXPECT_EQ(violations[0].instance_path, "/clues/0/score");
  EXPECT_EQ(violations[1].instance_path, "/clues/1");
  EXPECT_EQ(violations[2].instance_path, "/status");
}

TEST(JsonSchema, IntegerAcceptsWholeFloats) {
  auto r = rich_report();
  r["clues"][0]["rank"] = 1.0;
  r["clues"][0]["box"][0] = 10.0;
  EXPECT_TRUE(report_schema().validate(r).empty()) << describe(report_schema().validate(r));
}

TEST(JsonSchema, UnknownKeywordsAreRefusedWithTheirSchemaPath) {
  const auto nested = construction_error(R"({"properties": {"a": {"uniqueItems": true}}})");
  EXPECT_NE(nested.find("uniqueItems"), std::string::npos) << nested;
  EXPECT_NE(nested.find("#/properties/a/uniqueItems"), std::string::npos) << nested;

  const auto in_defs = construction_error(R"({"$defs": {"x": {"anyOf": [{"propertyNames": {}}]}}})");
  EXPECT_NE(in_defs.find("#/$defs/x/anyOf/0/propertyNames"), std::string::npos) << in_defs;
}

TEST(JsonSchema, SchemasItCannotEnforceAreRefused) {
  EXPECT_NE(construction_error(R"({"$ref": "#/$defs/missing"})"), "");
  EXPECT_NE(construction_error(R"({"$ref": "other.json#/x"})"), "");
  EXPECT_NE(construction_error(R"({"properties": {"a": {}}, "$ref": "#/properties"})"), "");  // not a subschema
  EXPECT_NE(construction_error(R"({"pattern": "(unclosed"})"), "");
  EXPECT_NE(construction_error(R"({"items": [{"type": "string"}]})"), "");  // draft-07 tuple form
  EXPECT_NE(construction_error(R"({"exclusiveMinimum": true})"), "");     // draft-04 boolean form
  EXPECT_NE(construction_error(R"({"type": "int"})"), "");
  EXPECT_NE(construction_error(R"({"minItems": -1})"), "");
  EXPECT_NE(construction_error(R"({"properties": {"a": {"$id": "a"}}})"), "");
  EXPECT_NE(construction_error(R"({"required": "a"})"), "");
}

TEST(JsonSchema, AnnotationsAreAccepted) {
  EXPECT_EQ(construction_error(R"({
    "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "x/1", "title": "t", "description": "d",
    "$comment": "c", "examples": [1], "default": 1, "format": "email", "$defs": {}, "definitions": {}})"),
            "");
}

TEST(JsonSchema, RefAndCombinators) {
  const JsonSchema schema(json::parse(R"({
    "$defs": {"code": {"type": "string", "pattern": "^[A-Z]{2}$"}},
    "definitions": {"small": {"type": "integer", "maximum": 9}},
    "type": "object",
    "properties": {
      "country": {"$ref": "#/$defs/code"},
      "digit": {"$ref": "#/definitions/small"},
      "id": {"anyOf": [{"type": "integer"}, {"type": "string", "minLength": 3}]},
      "one": {"oneOf": [{"minimum": 0}, {"maximum": 10}]},
      "both": {"allOf": [{"minimum": 0}, {"maximum": 10}]},
      "no": {"not": {"type": "null"}}
    },
    "additionalProperties": false})"));
  EXPECT_TRUE(schema.validate(json::parse(R"({"country": "DE", "digit": 3, "id": 7, "one": 20, "both": 5, "no": 1})"))
                  .empty());
  EXPECT_TRUE(schema.validate(json::parse(R"({"id": "abc"})")).empty());
  expect_only_violation(schema, json::parse(R"({"country": "Germany"})"), "/country", "pattern");
  expect_only_violation(schema, json::parse(R"({"digit": 12})"), "/digit", "maximum");
  expect_only_violation(schema, json::parse(R"({"id": "ab"})"), "/id", "anyOf");
  expect_only_violation(schema, json::parse(R"({"id": 1.5})"), "/id", "anyOf");
  expect_only_violation(schema, json::parse(R"({"one": 5})"), "/one", "oneOf");
  expect_only_violation(schema, json::parse(R"({"both": 11})"), "/both", "maximum");
  expect_only_violation(schema, json::parse(R"({"no": null})"), "/no", "not");
  expect_only_violation(schema, json::parse(R"({"a/b~": 1})"), "/a~1b~0", "additionalProperties");
}

TEST(JsonSchema, RecursiveRefFollowsTheInstanceDown) {
  const JsonSchema tree(json::parse(R"({"type": "object", "required": ["name"],
                                        "properties": {"name": {"type": "string"}, "child": {"$ref": "#"}}})"));
  EXPECT_TRUE(tree.validate(json::parse(R"({"name": "a", "child": {"name": "b"}})")).empty());
  expect_only_violation(tree, json::parse(R"({"name": "a", "child": {"name": "b", "child": {"name": 1}}})"),
                        "/child/child/name", "type");
  expect_only_violation(tree, json::parse(R"({"name": "a", "child": {}})"), "/child", "required");
}

TEST(JsonSchema, StringsFollowTheSpec) {
  const JsonSchema schema(json::parse(R"({"pattern": "b", "minLength": 2, "maxLength": 3})"));
  EXPECT_TRUE(schema.validate("abc").empty());  // pattern is a search, not a full match
  EXPECT_TRUE(schema.validate("äbö").empty());  // lengths count characters, not UTF-8 bytes (6 here)
  expect_only_violation(schema, "xyz", "", "pattern");
  expect_only_violation(schema, "b", "", "minLength");
}

TEST(JsonSchema, FromFileNamesTheFile) {
  const auto dir = std::filesystem::path(::testing::TempDir());
  const auto missing = dir / "cluetrace-no-such-schema.json";
  try {
    (void)JsonSchema::from_file(missing);
    ADD_FAILURE() << "a missing file was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(missing.string()), std::string::npos) << e.what();
  }
  const auto broken = dir / "cluetrace-broken-schema.json";
  std::ofstream(broken) << "{\"type\": ";
  try {
    (void)JsonSchema::from_file(broken);
    ADD_FAILURE() << "a truncated file was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(broken.string()), std::string::npos) << e.what();
  }
  std::filesystem::remove(broken);
}

}  // namespace
