// Contract: the JSON Schema validator accepts reports that follow clue-report/1 and names the exact
// place of every violation; a schema keyword it does not implement is refused, never ignored.
#include <gtest/gtest.h>

#include "pipeline/json_schema.hpp"
#include "tests/support/test_support.hpp"

using namespace cluetrace;
using nlohmann::json;

namespace {

const JsonSchema& report_schema() {
  static const JsonSchema schema = JsonSchema::from_file(test::source_dir() / "docs" / "clue-report.schema.json");
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
     "box": [10, 20, 100, 18], "quad": [[10, 20], [110, 20], [110, 38], [10, 38]], "language": "de",
     "countries": [{"code": "DE", "weight": 1.0}], "stage": "clues.extract", "explanation": "a phone number"},
    {"rank": 2, "kind": "text", "value": "Bäckerei", "confidence": 0.8, "score": 0.2}])");
  r["languages"] = json::parse(R"([{"code": "de", "probability": 0.9}])");
  r["regions"] = json::parse(R"([{"code": "DE", "probability": 0.8, "evidence": [1]}])");
  r["timings_ms"] = {{"ocr", 12.5}, {"total", 40}};
  return r;
}

void expect_violation_at(const json& report, const std::string& pointer) {
  const auto violations = report_schema().validate(report);
  ASSERT_FALSE(violations.empty()) << "accepted: " << report.dump();
  bool found = false;
  for (const auto& v : violations) found = found || v.instance_path == pointer;
  EXPECT_TRUE(found) << "no violation at " << pointer << "; first: " << violations[0].instance_path << " "
                     << violations[0].message;
}

TEST(JsonSchema, AcceptsWellFormedReports) {
  EXPECT_TRUE(report_schema().validate(minimal_report()).empty());
  const auto violations = report_schema().validate(rich_report());
  EXPECT_TRUE(violations.empty()) << violations[0].instance_path << " " << violations[0].message;
}

TEST(JsonSchema, NamesWhereAReportBreaksTheContract) {
  auto r = rich_report();
  r.erase("regions");
  expect_violation_at(r, "/");
  r = rich_report();
  r["schema"] = "clue-report/2";
  expect_violation_at(r, "/schema");
  r = rich_report();
  r["image"]["sha256"] = "ABC";
  expect_violation_at(r, "/image/sha256");
  r = rich_report();
  r["status"] = "done";
  expect_violation_at(r, "/status");
  r = rich_report();
  r["clues"][0]["confidence"] = 1.5;
  expect_violation_at(r, "/clues/0/confidence");
  r = rich_report();
  r["clues"][0]["box"] = {1, 2, 3};
  expect_violation_at(r, "/clues/0/box");
  r = rich_report();
  r["clues"][1]["kind"] = "shoe";
  expect_violation_at(r, "/clues/1/kind");
  r = rich_report();
  r["clues"][0]["rank"] = 1.5;
  expect_violation_at(r, "/clues/0/rank");
  r = rich_report();
  r["regions"][0]["code"] = "de";
  expect_violation_at(r, "/regions/0/code");
  r = rich_report();
  r["timings_ms"]["ocr"] = "slow";
  expect_violation_at(r, "/timings_ms/ocr");
}

TEST(JsonSchema, IntegerAcceptsWholeFloats) {
  auto r = rich_report();
  r["clues"][0]["rank"] = 1.0;
  EXPECT_TRUE(report_schema().validate(r).empty());
}

TEST(JsonSchema, UnknownKeywordsAreRefused) {
  EXPECT_THROW(JsonSchema(json::parse(R"({"type": "object", "propertyNames": {"pattern": "^a"}})")),
               std::invalid_argument);
  EXPECT_THROW(JsonSchema(json::parse(R"({"properties": {"a": {"uniqueItems": true}}})")), std::invalid_argument);
}

TEST(JsonSchema, RefAndCombinators) {
  const JsonSchema schema(json::parse(R"({
    "$defs": {"code": {"type": "string", "pattern": "^[A-Z]{2}$"}},
    "type": "object",
    "properties": {
      "country": {"$ref": "#/$defs/code"},
      "id": {"anyOf": [{"type": "integer"}, {"type": "string", "minLength": 3}]},
      "one": {"oneOf": [{"minimum": 0}, {"maximum": 10}]},
      "no": {"not": {"type": "null"}}
    },
    "additionalProperties": false})"));
  EXPECT_TRUE(schema.validate(json::parse(R"({"country": "DE", "id": 7, "one": 20, "no": 1})")).empty());
  EXPECT_EQ(schema.validate(json::parse(R"({"country": "Germany"})"))[0].instance_path, "/country");
  EXPECT_EQ(schema.validate(json::parse(R"({"id": "ab"})"))[0].instance_path, "/id");
  EXPECT_EQ(schema.validate(json::parse(R"({"one": 5})"))[0].instance_path, "/one");
  EXPECT_EQ(schema.validate(json::parse(R"({"no": null})"))[0].instance_path, "/no");
  EXPECT_EQ(schema.validate(json::parse(R"({"extra": 1})"))[0].instance_path, "/extra");
}

}  // namespace
