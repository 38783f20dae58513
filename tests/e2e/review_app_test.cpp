// End to end: the review workflow of issue 19, on generated cases and the real CLI, SQLite and Chromium.
//  - Decisions made through the review API stay with their clues through `cluetrace report`, `run --resume` and
//    `merge` (keyed by picture, kind, value and box), and reach summary.csv, vics.json, `search --decision` and
//    `export-crops --decision publish`, which refuses the crop beside a face.
//  - `find-object` answers the other views of a generated object placed in several rooms, and nothing else, from
//    a region of one view and from an uploaded crop.
//  - The browser app (tests/browser/review_browser.mjs, playwright-core driving Debian's chromium): keyboard
//    triage, a server restart, the decisions still shown and in summary.csv; the Export publication button;
//    query by example from a drawn box and from an uploaded crop; a request without the token refused; no
//    request leaving 127.0.0.1.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/review/review_api.hpp"
#include "tests/support/test_support.hpp"

namespace cluetrace::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// A board with a portrait (a real photo: tests/data/astronaut.jpg) beside a note, and a sign with a phone number.
void write_face_board(const fs::path& file) {
  cv::Mat board(700, 1000, CV_8UC3, cv::Scalar(200, 210, 215));
  const cv::Mat portrait = cv::imread((source_dir() / "tests" / "data" / "astronaut.jpg").string());
  portrait.copyTo(board(cv::Rect(620, 60, portrait.cols, portrait.rows)));
  const cv::Mat note = text_image({"Zimmer frei", "Tel. 030 2312 5678"}, 420, 1.5);
  note.copyTo(board(cv::Rect(120, 200, note.cols, note.rows)));
  cv::imwrite(file.string(), board);
}

struct Command {
  int status = -1;
  std::string output;
};

Command run_command(const std::string& command) {
  Command c;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return c;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;) c.output.append(buffer, n);
  const int status = ::pclose(pipe);
  c.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return c;
}

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

// A `cluetrace review` server of our own, stopped (SIGTERM) when the object goes.
class ReviewServer {
 public:
  ReviewServer(const std::vector<std::string>& cases, const fs::path& log) {
    std::vector<std::string> args{"review"};
    args.insert(args.end(), cases.begin(), cases.end());
    args.insert(args.end(), {"--analyst", "tester", "--root", source_dir().string()});
    pid_ = spawn_cli(args, log);
    const std::regex address(R"(http://127\.0\.0\.1:\d+/[0-9a-f]{32}/)");
    for (int i = 0; i < 200 && url_.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::ifstream in(log);
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::smatch m;
      if (std::regex_search(text, m, address)) url_ = m.str();
    }
  }
  ~ReviewServer() { stop(); }
  int stop() {
    if (pid_ <= 0) return status_;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return status_;
  }
  const std::string& url() const { return url_; }

 private:
  int pid_ = -1;
  int status_ = -1;
  std::string url_;
};

std::string read_all(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The first clue of an image whose value holds `text`, as the review API lists it.
json clue_holding(ReviewApi& api, long long id, const std::string& text) {
  const json image = api.image([&](const std::string& name) { return name == "id" ? std::to_string(id) : std::string(); });
  for (const auto& c : image["clues"]) {
    if (c["value"].get<std::string>().find(text) != std::string::npos) return c;
  }
  return nullptr;
}

TEST(ReviewApp, DecisionsSurviveReportResumeAndMergeAndReachEveryOutput) {
  TempDir dir;
  const fs::path in = dir / "in";
  fs::create_directories(in);
  write_face_board(in / "board.png");
  write_bytes(in / "bakery.png", encode(text_image({"Baeckerei Wiedemann", "Tel. 030 9876 5432"}, 900, 1.6), ".png"));
  write_bytes(in / "shop.png", encode(text_image({"Fahrradladen Kettenblatt", "www.kettenblatt-rad.de"}, 900, 1.6), ".png"));
  const fs::path out = dir / "out";
  ASSERT_EQ(run_cli({"run", "--out", out.string(), in.string()}).exit_code, 0);

  ReviewOptions options{{out}, fs::current_path(), "tester"};
  long long board = 0, bakery = 0;
  {
    ReviewApi api(options);
    board = api.find_image(0, (in / "board.png").string()).value_or(0);
    bakery = api.find_image(0, (in / "bakery.png").string()).value_or(0);
    ASSERT_GT(board, 0);
    ASSERT_GT(bakery, 0);
    const json phone = clue_holding(api, bakery, "9876");
    const json note = clue_holding(api, board, "Zimmer");
    ASSERT_FALSE(phone.is_null()) << api.image([&](const std::string& n) { return n == "id" ? std::to_string(bakery) : ""; }).dump(1);
    ASSERT_FALSE(note.is_null());
    api.decide({{"id", bakery}, {"rank", phone["rank"]}, {"decision", "confirm"}, {"note", "same flyer as case 12"}});
    // The note on the board is beside the portrait: a publication candidate the export must refuse.
    api.decide({{"id", board}, {"rank", note["rank"]}, {"decision", "publish"}});
    api.mark_reviewed({{"id", bakery}, {"reviewed", true}});
    EXPECT_THROW(api.decide({{"id", bakery}, {"rank", phone["rank"]}, {"decision", "maybe"}}), ReviewError);
  }
  auto check_decisions = [&](const fs::path& case_dir, const std::string& when) {
    ReviewApi api({{case_dir}, fs::current_path(), "tester"});
    const auto id = api.find_image(0, (in / "bakery.png").string());
    ASSERT_TRUE(id) << when;
    const json phone = clue_holding(api, *id, "9876");
    EXPECT_EQ(phone["decision"], "confirm") << when;
    EXPECT_EQ(phone["note"], "same flyer as case 12") << when;
    EXPECT_EQ(phone["decided_by"], "tester") << when;
    const json image = api.image([&](const std::string& n) { return n == "id" ? std::to_string(*id) : std::string(); });
    EXPECT_TRUE(image["image"]["reviewed"].get<bool>()) << when;
  };

  // The case outputs made again, and the run resumed: the decisions stay. A review still open while the store is
  // made again writes its next decision into the new store, not into the replaced one.
  ReviewApi open_review(options);
  ASSERT_EQ(run_cli({"report", out.string()}).exit_code, 0);
  check_decisions(out, "after report");
  const long long shop = open_review.find_image(0, (in / "shop.png").string()).value_or(0);
  const json shop_url = clue_holding(open_review, shop, "kettenblatt");
  ASSERT_FALSE(shop_url.is_null());
  open_review.decide({{"id", shop}, {"rank", shop_url["rank"]}, {"decision", "dismiss"}});
  {
    ReviewApi fresh(options);
    EXPECT_EQ(clue_holding(fresh, shop, "kettenblatt")["decision"], "dismiss") << "a decision made after the store was replaced was lost";
  }
  ASSERT_EQ(run_cli({"run", "--resume", "--out", out.string(), in.string()}).exit_code, 0);
  check_decisions(out, "after run --resume");

  const std::string csv = read_all(out / "summary.csv");
  EXPECT_NE(csv.find("decision,note,decided_by,decided_utc"), std::string::npos);
  EXPECT_NE(csv.find("confirm,same flyer as case 12,tester,"), std::string::npos) << csv;
  EXPECT_NE(read_all(out / "vics.json").find("analyst-confirm:phone:"), std::string::npos);
  const auto search = run_cli({"search", out.string(), "", "--decision", "confirm"});
  EXPECT_EQ(search.exit_code, 0);
  EXPECT_NE(search.output.find("9876"), std::string::npos) << search.output;
  EXPECT_NE(search.output.find("1 clue(s)"), std::string::npos) << search.output;
  EXPECT_NE(run_cli({"search", out.string(), "", "--decision", "publish"}).output.find("Zimmer"), std::string::npos);

  // The publication: only the "publish" clue, refused because its crop (a margin of three box sizes) reaches the
  // portrait's face.
  const auto exported = run_cli({"export-crops", out.string(), "--out", (dir / "pub").string(), "--decision", "publish", "--margin", "3"});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  const json manifest = read_json(dir / "pub" / "manifest.json");
  ASSERT_EQ(manifest.size(), 1u) << manifest.dump(1);
  EXPECT_TRUE(manifest[0].contains("refused")) << manifest.dump(1);
  EXPECT_NE(manifest[0].value("refused", "").find("face"), std::string::npos) << manifest.dump(1);
  EXPECT_EQ(manifest[0]["sha256"].get<std::string>().size(), 64u);
  EXPECT_TRUE(manifest[0].contains("md5") && manifest[0].contains("box") && manifest[0].contains("decision"));

  // Shards: a decision made on each shard's own case is in the merged case.
  const fs::path s0 = dir / "s0", s1 = dir / "s1", merged = dir / "merged";
  ASSERT_EQ(run_cli({"run", "--shard", "0/2", "--out", s0.string(), in.string()}).exit_code, 0);
  ASSERT_EQ(run_cli({"run", "--shard", "1/2", "--out", s1.string(), in.string()}).exit_code, 0);
  std::set<std::string> decided;
  for (const auto& shard : {s0, s1}) {
    ReviewApi api({{shard}, fs::current_path(), "tester"});
    const json first = api.images([](const std::string&) { return std::string(); });
    for (const auto& image : first["images"]) {
      if (image["clues"].get<int>() == 0) continue;
      api.decide({{"id", image["id"]}, {"rank", 1}, {"decision", "dismiss"}});
      decided.insert(image["sha256"].get<std::string>());
      break;
    }
  }
  ASSERT_EQ(decided.size(), 2u);
  ASSERT_EQ(run_cli({"merge", "--out", merged.string(), s0.string(), s1.string()}).exit_code, 0);
  ReviewApi api({{merged}, fs::current_path(), "tester"});
  const json dismissed = api.images([](const std::string& name) { return name == "decision" ? std::string("dismiss") : std::string(); });
  std::set<std::string> found;
  for (const auto& image : dismissed["images"]) found.insert(image["sha256"].get<std::string>());
  EXPECT_EQ(found, decided) << dismissed.dump(1);
}

// Generated rooms with objects in several of them (bench/objects/make_object_scenes).
struct ObjectScenes {
  fs::path scenes, out;
  json truth;
};

ObjectScenes make_object_case(const fs::path& dir, int objects, int views, int distractors) {
  ObjectScenes s{dir / "scenes", dir / "objects-out", {}};
  const std::string make = fmt::format("{} --out {} --objects {} --views {} --distractors {} --seed 5 --size 1280x960", quoted(CLUETRACE_MAKE_OBJECT_SCENES),
                                       quoted(s.scenes), objects, views, distractors);
  EXPECT_EQ(run_command(make).status, 0) << make;
  s.truth = read_json(s.scenes / "truth.json");
  // Only what query by example needs: no stage runs, the review step still keeps every picture's features.
  write_text(dir / "objects.yaml", "stages:\n  text_detect: {enabled: false}\n  ocr: {enabled: false}\n  logo: {enabled: false}\n"
                                   "  barcode: {enabled: false}\n  metadata: {enabled: false}\n  clues: {enabled: false}\n  language: {enabled: false}\n");
  EXPECT_EQ(run_cli({"run", "--config", (dir / "objects.yaml").string(), "--out", s.out.string(), s.scenes.string()}).exit_code, 0);
  return s;
}

TEST(ReviewApp, FindObjectAnswersTheOtherViewsOfAnObjectAndNothingElse) {
  TempDir dir;
  const auto s = make_object_case(dir.path(), 4, 3, 6);
  std::size_t expected = 0, found = 0;
  for (const auto& object : s.truth["objects"]) {
    const auto& views = object["placements"];
    const auto& q = views[0];
    const auto& box = q["box"];
    const auto result = run_cli({"find-object", s.out.string(), "--image", (s.scenes / q["file"].get<std::string>()).string(), "--box",
                                 fmt::format("{},{},{},{}", box[0].get<int>(), box[1].get<int>(), box[2].get<int>(), box[3].get<int>()), "--json"});
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const json answer = json::parse(result.output.substr(0, result.output.find('\n')));
    std::set<std::string> want;
    for (std::size_t v = 1; v < views.size(); ++v) want.insert(views[v]["file"].get<std::string>());
    expected += want.size();
    for (const auto& r : answer["results"]) {
      const std::string name = fs::path(r["path"].get<std::string>()).filename().string();
      EXPECT_TRUE(want.count(name)) << object["name"] << " answered " << name << ", which does not show it";
      found += want.count(name);
      // The outline is where the object is.
      for (const auto& v : views) {
        if (v["file"] != name) continue;
        const cv::Rect truth(v["box"][0].get<int>(), v["box"][1].get<int>(), v["box"][2].get<int>(), v["box"][3].get<int>());
        std::vector<cv::Point> polygon;
        for (const auto& p : r["polygon"]) polygon.emplace_back(p[0].get<int>(), p[1].get<int>());
        const cv::Rect got = cv::boundingRect(polygon);
        EXPECT_GT((got & truth).area(), truth.area() / 3) << name;
      }
    }
  }
  EXPECT_GE(found * 4, expected * 3) << "found " << found << " of " << expected << " other views";

  // An uploaded crop of one view finds the object's views, the one it was cut from among them.
  const auto& view = s.truth["objects"][0]["placements"][1];
  const cv::Mat scene = cv::imread((s.scenes / view["file"].get<std::string>()).string());
  const cv::Rect box(view["box"][0].get<int>(), view["box"][1].get<int>(), view["box"][2].get<int>(), view["box"][3].get<int>());
  cv::imwrite((dir / "crop.png").string(), scene(box & cv::Rect(0, 0, scene.cols, scene.rows)));
  const auto result = run_cli({"find-object", s.out.string(), "--crop", (dir / "crop.png").string(), "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const json answer = json::parse(result.output.substr(0, result.output.find('\n')));
  std::set<std::string> names;
  for (const auto& r : answer["results"]) names.insert(fs::path(r["path"].get<std::string>()).filename().string());
  EXPECT_TRUE(names.count(view["file"].get<std::string>())) << answer.dump(1);
  for (const auto& n : names) {
    bool of_object = false;
    for (const auto& v : s.truth["objects"][0]["placements"]) of_object = of_object || v["file"] == n;
    EXPECT_TRUE(of_object) << n;
  }
}

TEST(ReviewApp, BrowserTriageSurvivesARestartAndQueryByExampleFindsTheObject) {
  const fs::path driver = source_dir() / "tests" / "browser" / "review_browser.mjs";
  ASSERT_EQ(run_command("command -v node >/dev/null && command -v chromium >/dev/null").status, 0)
      << "node and chromium are needed (./test.sh installs them)";
  ASSERT_TRUE(fs::exists(source_dir() / "tests" / "browser" / "node_modules" / "playwright-core"))
      << "playwright-core is not installed in tests/browser (./test.sh runs npm ci there)";
  TempDir dir;
  // One case: an object in three rooms among rooms without it, and the shipped sample photos (rich in clues).
  const auto s = make_object_case(dir.path(), 1, 3, 2);
  const fs::path out = dir / "case";
  ASSERT_EQ(run_cli({"run", "--out", out.string(), s.scenes.string(), (source_dir() / "data" / "samples").string()}).exit_code, 0);
  const fs::path screens = dir / "screens";
  fs::create_directories(screens);
  auto node = [&](const std::string& url, const std::string& phase, const fs::path& expect, const fs::path& answer) {
    const std::string command = fmt::format("node {} --url {} --phase {} --out {}{} > {}", quoted(driver), url, phase, quoted(screens),
                                            expect.empty() ? "" : " --expect " + quoted(expect), quoted(answer));
    const auto c = run_command(command);
    EXPECT_EQ(c.status, 0) << command << "\n" << c.output << read_all(answer);
    return read_json(answer);
  };
  json triage;
  {
    ReviewServer server({out.string()}, dir / "server1.log");
    ASSERT_FALSE(server.url().empty()) << read_all(dir / "server1.log");
    triage = node(server.url(), "triage", {}, dir / "triage.json");
    EXPECT_EQ(server.stop(), 0) << read_all(dir / "server1.log");
  }
  ASSERT_TRUE(triage.contains("decisions")) << triage.dump(1);
  ReviewServer server({out.string()}, dir / "server2.log");
  ASSERT_FALSE(server.url().empty());
  const json verified = node(server.url(), "verify", dir / "triage.json", dir / "verify.json");
  // The Export publication button wrote the publication folder with its manifest.
  ASSERT_FALSE(verified["exported"].is_null()) << "triage marked no clue for publication: " << triage.dump(1);
  {
    const json manifest = read_json(out / "publication" / "manifest.json");
    EXPECT_GE(manifest.size(), 1u);
    EXPECT_EQ(manifest.size(), verified["exported"]["written"].get<std::size_t>() + verified["exported"]["refused"].get<std::size_t>());
  }

  // Query by example: a box drawn on the first view; the other two views, nothing else.
  ReviewApi api({{out}, source_dir(), "tester"});
  const auto& views = s.truth["objects"][0]["placements"];
  json want = json::array();
  for (std::size_t v = 1; v < views.size(); ++v) want.push_back(*api.find_image(0, (s.scenes / views[v]["file"].get<std::string>()).string()));
  // The same view also cut out and uploaded as a crop.
  const cv::Mat first = cv::imread((s.scenes / views[0]["file"].get<std::string>()).string());
  const cv::Rect first_box(views[0]["box"][0].get<int>(), views[0]["box"][1].get<int>(), views[0]["box"][2].get<int>(), views[0]["box"][3].get<int>());
  cv::imwrite((dir / "object-crop.png").string(), first(first_box & cv::Rect(0, 0, first.cols, first.rows)));
  const json query{{"case", 0}, {"id", *api.find_image(0, (s.scenes / views[0]["file"].get<std::string>()).string())}, {"box", views[0]["box"]},
                   {"want_ids", want}, {"crop", (dir / "object-crop.png").string()}};
  write_text(dir / "query.json", query.dump());
  const json answered = node(server.url(), "query", dir / "query.json", dir / "query-answer.json");
  EXPECT_TRUE(answered["uploaded"].is_array() && !answered["uploaded"].empty()) << answered.dump(1);
  write_text(dir / "screens-expect.json", json{{"image", triage["image"]}, {"query", query}}.dump());
  node(server.url(), "screens", dir / "screens-expect.json", dir / "screens.json");
  EXPECT_EQ(server.stop(), 0);
  if (const char* keep = std::getenv("CLUETRACE_SCREENSHOTS")) {
    fs::create_directories(keep);
    for (const auto& e : fs::directory_iterator(screens)) fs::copy_file(e.path(), fs::path(keep) / e.path().filename(), fs::copy_options::overwrite_existing);
  }

  // The decisions made in the browser are in the case outputs made again.
  ASSERT_EQ(run_cli({"report", out.string()}).exit_code, 0);
  const std::string csv = read_all(out / "summary.csv");
  EXPECT_NE(csv.find("confirm,seen in case 12,"), std::string::npos);
  EXPECT_NE(csv.find(",dismiss,"), std::string::npos);
  const auto search = run_cli({"search", out.string(), "", "--decision", "confirm", "--json"});
  EXPECT_NE(search.output.find(triage["decisions"][0]["sha256"].get<std::string>()), std::string::npos) << search.output;
}

}  // namespace
}  // namespace cluetrace::test
