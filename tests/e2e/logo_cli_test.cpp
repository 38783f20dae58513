// Contract: an analyst builds a catalogue from a photo with `cluetrace catalogue add` (only the mark's
// box is kept), and `cluetrace run` with a config naming that catalogue reports the brand as a schema-
// valid `logo` clue with its country, found by its features and by its name read as text.
#include <algorithm>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <yaml-cpp/yaml.h>

#include "pipeline/json_schema.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace cluetrace;
using namespace cluetrace::test;

namespace {

cv::Mat room(cv::Scalar wall) {
  cv::Mat img(800, 1100, CV_8UC3, wall);
  cv::rectangle(img, cv::Rect(0, 600, 1100, 200), cv::Scalar(60, 80, 110), cv::FILLED);
  for (int i = 0; i < 12; ++i) cv::line(img, {i * 90, 600}, {i * 90 + 40, 800}, cv::Scalar(40, 50, 70), 3);
  return img;
}

// A room with the brand sign smaller and turned by 12 degrees at (600, 120), the brand's name written on a
// white board, and a phone number; returns the turned sign's size.
cv::Size write_scene_with_sign_and_name(const fs::path& file) {
  cv::Mat scene = room(cv::Scalar(150, 170, 120));
  cv::Mat small, turned;
  cv::resize(brand_sign(), small, {}, 0.7, 0.7, cv::INTER_AREA);
  cv::Mat canvas(small.rows + 80, small.cols + 80, CV_8UC3, cv::Scalar(150, 170, 120));
  small.copyTo(canvas(cv::Rect(40, 40, small.cols, small.rows)));
  cv::warpAffine(canvas, turned, cv::getRotationMatrix2D(cv::Point2f(static_cast<float>(canvas.cols) / 2, static_cast<float>(canvas.rows) / 2), 12, 1.0), canvas.size(),
                 cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  turned.copyTo(scene(cv::Rect(600, 120, turned.cols, turned.rows)));
  cv::rectangle(scene, cv::Rect(60, 420, 460, 110), cv::Scalar(250, 250, 250), cv::FILLED);
  cv::putText(scene, "KONZUM", {80, 500}, cv::FONT_HERSHEY_SIMPLEX, 2.4, cv::Scalar(20, 20, 20), 6);
  cv::rectangle(scene, cv::Rect(600, 460, 460, 80), cv::Scalar(240, 240, 240), cv::FILLED);
  cv::putText(scene, "Tel. 01 4881 500", {620, 515}, cv::FONT_HERSHEY_SIMPLEX, 1.2, cv::Scalar(20, 20, 20), 3);
  fs::create_directories(file.parent_path());
  write_bytes(file, encode(scene, ".png"));
  return turned.size();
}

// The analyst's catalogue of one brand (DIR/case/logos.yaml), added from DIR/photo.jpg: the sign at a known box
// in a larger picture.
fs::path konzum_catalogue(const fs::path& dir) {
  cv::Mat photo = room(cv::Scalar(200, 210, 215));
  brand_sign().copyTo(photo(cv::Rect(300, 150, 360, 160)));
  write_bytes(dir / "photo.jpg", encode(photo, ".jpg"));
  const fs::path cat = dir / "case" / "logos.yaml";
  const auto r = run_cli({"catalogue", "add", cat.string(), "--id", "konzum", "--name", "Konzum", "--category", "grocery",
                          "--country", "HR", "--country", "BA=0.5", "--source", "test", "--image",
                          (dir / "photo.jpg").string() + ":300,150,360,160"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return cat;
}

// A shipped profile (config/*.yaml) with the analyst's catalogue named in it.
fs::path profile_with_catalogue(const std::string& profile, const fs::path& catalogue, const fs::path& out) {
  YAML::Node config = YAML::LoadFile((source_dir() / "config" / profile).string());
  config["stages"]["logo"]["catalogue"] = catalogue.string();
  config["stages"]["logo"]["if_catalogue_missing"] = "error";
  YAML::Emitter emitter;
  emitter << config;
  write_text(out, emitter.c_str());
  return out;
}

TEST(LogoCli, AddFromAPhotoBoxThenFindTheBrandInAnotherImage) {
  TempDir dir;
  const fs::path cat = konzum_catalogue(dir.path());
  ASSERT_FALSE(::testing::Test::HasFailure());
  // Only the box was kept, as a new file beside the catalogue.
  const cv::Mat kept = cv::imread((dir / "case" / "refs" / "konzum" / "konzum-1.png").string());
  ASSERT_FALSE(kept.empty());
  EXPECT_EQ(kept.size(), cv::Size(360, 160));
  EXPECT_TRUE(fs::exists(cat.string() + ".index"));
  auto r = run_cli({"catalogue", "list", cat.string()});
  EXPECT_NE(r.output.find("konzum\tKonzum\tgrocery\tHR=1,BA=0.5\t1 reference(s)"), std::string::npos) << r.output;

  // A box outside the photo is refused, naming the file, and the catalogue is left as it was.
  r = run_cli({"catalogue", "add", cat.string(), "--id", "other", "--image", (dir / "photo.jpg").string() + ":2000,10,50,50"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("photo.jpg"), std::string::npos) << r.output;
  EXPECT_EQ(run_cli({"catalogue", "list", cat.string()}).output.find("other"), std::string::npos);

  // Another picture: the sign smaller and turned, and the brand's name written elsewhere.
  const cv::Size turned = write_scene_with_sign_and_name(dir / "in" / "scene.png");
  write_text(dir / "config.yaml", "stages:\n  logo:\n    catalogue: " + cat.string() + "\n    if_catalogue_missing: error\n");
  r = run_cli({"run", "--config", (dir / "config.yaml").string(), "--out", (dir / "out").string(), (dir / "in").string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto reports = read_reports(dir / "out");
  ASSERT_EQ(reports.size(), 1u);
  const auto schema = JsonSchema::from_file(source_dir() / "docs" / "clue-report.schema.json");
  EXPECT_TRUE(schema.validate(reports[0]).empty()) << reports[0].dump();
  std::set<std::string> methods;
  for (const auto& c : reports[0]["clues"]) {
    if (c["kind"] != "logo") continue;
    EXPECT_EQ(c["value"], "konzum") << c.dump();
    EXPECT_EQ(c["countries"][0]["code"], "HR");
    methods.insert(c["details"]["method"].get<std::string>());
    if (c["details"]["method"] == "features") {
      const auto& box = c["box"];
      EXPECT_NEAR(box[0].get<int>() + box[2].get<int>() / 2.0, 600 + turned.width / 2.0, 25) << c.dump();
      EXPECT_NEAR(box[1].get<int>() + box[3].get<int>() / 2.0, 120 + turned.height / 2.0, 25) << c.dump();
    }
  }
  EXPECT_TRUE(methods.count("features")) << reports[0].dump();
  EXPECT_TRUE(methods.count("wordmark")) << reports[0].dump();
  // run.json names the catalogue the run used.
  const auto run = read_json(dir / "out" / "run.json");
  EXPECT_NE(run.dump().find("logos.yaml"), std::string::npos);
}

// config/quick.yaml, the first pass over a seizure: the same text clues as the default, the brand's name read
// there still a logo clue, but no mark searched for in the image and no scene or object stores written.
TEST(LogoCli, TheQuickProfileKeepsTheTextAndWordmarksAndDropsMarksAndStores) {
  TempDir dir;
  const auto cat = konzum_catalogue(dir.path());
  write_scene_with_sign_and_name(dir / "in" / "scene.png");
  std::map<std::string, nlohmann::json> reports;
  for (const std::string profile : {"default.yaml", "quick.yaml"}) {
    const auto config = profile_with_catalogue(profile, cat, dir / profile);
    const auto r = run_cli({"run", "--config", config.string(), "--out", (dir / profile).string() + ".out", (dir / "in").string()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto written = read_reports((dir / profile).string() + ".out");
    ASSERT_EQ(written.size(), 1u);
    reports[profile] = written[0];
  }
  const auto schema = JsonSchema::from_file(source_dir() / "docs" / "clue-report.schema.json");
  const auto logo_methods = [](const nlohmann::json& report) {
    std::set<std::string> methods;
    for (const auto& c : report["clues"])
      if (c["kind"] == "logo") methods.insert(c["details"]["method"].get<std::string>());
    return methods;
  };
  const auto other_clues = [](const nlohmann::json& report) {
    std::multiset<std::pair<std::string, std::string>> clues;
    for (const auto& c : report["clues"])
      if (c["kind"] != "logo") clues.emplace(c["kind"].get<std::string>(), c["value"].get<std::string>());
    return clues;
  };
  const auto& full = reports["default.yaml"];
  const auto& quick = reports["quick.yaml"];
  EXPECT_TRUE(schema.validate(quick).empty()) << quick.dump();
  EXPECT_NE(full["config_sha256"], quick["config_sha256"]);
  EXPECT_EQ(logo_methods(full), (std::set<std::string>{"features", "wordmark"})) << full.dump();
  EXPECT_EQ(logo_methods(quick), std::set<std::string>{"wordmark"}) << quick.dump();
  const auto text = other_clues(full);
  EXPECT_EQ(other_clues(quick), text) << quick.dump();
  EXPECT_EQ(std::count_if(text.begin(), text.end(), [](const auto& c) { return c.first == "phone"; }), 1) << full.dump();

  EXPECT_TRUE(fs::is_directory(dir / "default.yaml.out" / "scenes"));
  EXPECT_TRUE(fs::is_directory(dir / "default.yaml.out" / "objects"));
  EXPECT_FALSE(fs::exists(dir / "quick.yaml.out" / "scenes"));
  EXPECT_FALSE(fs::exists(dir / "quick.yaml.out" / "objects"));
  // Query by example on that case says why it cannot be asked, and how to make it possible.
  const auto query = run_cli({"find-object", (dir / "quick.yaml.out").string(), "--image", (dir / "in" / "scene.png").string(),
                              "--box", "60,420,460,110"});
  EXPECT_NE(query.exit_code, 0) << query.output;
  EXPECT_NE(query.output.find("keeps no object stores"), std::string::npos) << query.output;
  EXPECT_NE(query.output.find("outputs.objects: false"), std::string::npos) << query.output;
  ASSERT_EQ(run_cli({"report", (dir / "quick.yaml.out").string()}).exit_code, 0);  // an index of no picture
  const auto again = run_cli({"find-object", (dir / "quick.yaml.out").string(), "--image", (dir / "in" / "scene.png").string(),
                              "--box", "60,420,460,110"});
  EXPECT_NE(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("keeps no object stores"), std::string::npos) << again.output;
  EXPECT_EQ(run_cli({"find-object", (dir / "default.yaml.out").string(), "--image", (dir / "in" / "scene.png").string(),
                     "--box", "60,420,460,110"}).exit_code, 0);
  // Asked of both cases, the one with stores is searched and the other named as not searched.
  const auto both_cases = run_cli({"find-object", (dir / "default.yaml.out").string(), (dir / "quick.yaml.out").string(),
                                   "--image", (dir / "in" / "scene.png").string(), "--box", "60,420,460,110"});
  EXPECT_EQ(both_cases.exit_code, 0) << both_cases.output;
  EXPECT_NE(both_cases.output.find("not searched: " + (dir / "quick.yaml.out").string() + ": this case keeps no object stores"),
            std::string::npos) << both_cases.output;
  const auto run = read_json(dir / "quick.yaml.out" / "run.json");
  EXPECT_EQ(run["object_stores"], false);
  EXPECT_EQ(read_json(dir / "default.yaml.out" / "run.json")["object_stores"], true);
  bool said = false;
  for (const auto& stage : run["stages"])
    if (stage["kind"] == "logo") said = stage["resources"]["marks"] == false;
  EXPECT_TRUE(said) << run["stages"].dump();
}

TEST(LogoCli, AnIdThatIsAPathIsRefusedBeforeAnythingIsWritten) {
  TempDir dir;
  fs::create_directories(dir / "cat");
  const auto photo = dir / "photo.png";
  write_bytes(photo, encode(brand_sign(), ".png"));
  for (const std::string id : {"../../escaped", "a/b", "UPPER", ""}) {
    const auto result = run_cli({"catalogue", "add", (dir / "cat" / "logos.yaml").string(), "--id", id, "--image", photo.string()});
    EXPECT_NE(result.exit_code, 0) << id << ": " << result.output;
    EXPECT_NE(result.output.find("--id"), std::string::npos) << result.output;
  }
  const auto bad_country = run_cli({"catalogue", "add", (dir / "cat" / "logos.yaml").string(), "--id", "konzum", "--country", "hr",
                                    "--image", photo.string()});
  EXPECT_NE(bad_country.exit_code, 0) << bad_country.output;
  // Nothing written anywhere: no catalogue, no reference folder, nothing beside the case folder.
  EXPECT_TRUE(fs::is_empty(dir / "cat"));
  EXPECT_FALSE(fs::exists(dir / "escaped"));
  EXPECT_FALSE(fs::exists(dir.path().parent_path() / "escaped"));
}

TEST(LogoCli, ARunWithANamedButMissingCatalogueCannotProceed) {
  TempDir dir;
  fs::create_directories(dir / "in");
  write_bytes(dir / "in" / "a.png", encode(text_image({"HELLO"}), ".png"));
  write_text(dir / "config.yaml", "stages:\n  logo:\n    catalogue: " + (dir / "nope.yaml").string() + "\n    if_catalogue_missing: error\n");
  const auto r = run_cli({"run", "--config", (dir / "config.yaml").string(), "--out", (dir / "out").string(), (dir / "in").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("nope.yaml"), std::string::npos) << r.output;
}

}  // namespace
