// End to end: a generated case of five images goes through `cluetrace run`, and what analysts and their
// tools read comes out beside reports.jsonl:
//  - A and B: the same room photographed twice (shifted, scaled, turned) with the same bakery flyer
//    (a phone number and a rare name); C: another room, another text; D: another room with a QR code whose
//    payload is markup; E: nothing but texture.
//  - links.json links A and B by their background and by the phone number, and links nothing else;
//  - clues.sqlite answers `cluetrace search` across images and by kind and country;
//  - summary.csv and vics.json (against our schema of it) hold every clue and picture;
//  - headless Chromium opens the overview and the image pages: the clue list, crops that load and are not
//    the whole image, no whole image by default (blurred and greyscale when configured), markup escaped.
#include <gtest/gtest.h>

#include <ZXing/BitMatrix.h>
#include <ZXing/MultiFormatWriter.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <fstream>
#include <set>

#include "pipeline/case/html.hpp"
#include "pipeline/json_schema.hpp"
#include "tests/support/test_support.hpp"

namespace cluetrace::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMarkup = "<script>alert(1)</script>";

// A textured "room": gradient walls, furniture-like blocks, shelves and noise, different per seed.
cv::Mat room(unsigned seed, cv::Size size) {
  cv::RNG rng(seed);
  cv::Mat img(size, CV_8UC3);
  for (int y = 0; y < size.height; ++y) {
    img.row(y).setTo(cv::Scalar(90 + 80.0 * y / size.height, 110 + rng.uniform(0, 3), 140 - 60.0 * y / size.height));
  }
  for (int i = 0; i < 140; ++i) {
    const cv::Point p(rng.uniform(0, size.width), rng.uniform(0, size.height));
    const cv::Scalar colour(rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255));
    switch (i % 4) {
      case 0: cv::rectangle(img, cv::Rect(p, cv::Size(rng.uniform(20, 160), rng.uniform(20, 160))), colour, cv::FILLED); break;
      case 1: cv::circle(img, p, rng.uniform(8, 60), colour, cv::FILLED); break;
      case 2: cv::line(img, p, p + cv::Point(rng.uniform(-200, 200), rng.uniform(-40, 40)), colour, rng.uniform(2, 8)); break;
      default: cv::ellipse(img, p, cv::Size(rng.uniform(10, 80), rng.uniform(5, 30)), rng.uniform(0, 180), 0, 360, colour, 3);
    }
  }
  cv::Mat noise(size, CV_8UC3);
  cv::randn(noise, cv::Scalar::all(0), cv::Scalar::all(6));
  img += noise;
  cv::GaussianBlur(img, img, {3, 3}, 0);
  return img;
}

// The same room seen again: moved, scaled and turned a little.
cv::Mat view_again(const cv::Mat& scene, double angle, double scale, cv::Point2f shift) {
  cv::Mat turn = cv::getRotationMatrix2D(cv::Point2f(static_cast<float>(scene.cols) / 2, static_cast<float>(scene.rows) / 2), angle, scale);
  turn.at<double>(0, 2) += shift.x;
  turn.at<double>(1, 2) += shift.y;
  cv::Mat out;
  cv::warpAffine(scene, out, turn, scene.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
  return out;
}

void paste(cv::Mat& onto, const cv::Mat& what, cv::Point at) { what.copyTo(onto(cv::Rect(at, what.size()))); }

cv::Mat qr_code(const std::string& content) {
  const auto matrix = ZXing::MultiFormatWriter(ZXing::BarcodeFormat::QRCode).setMargin(4).encode(content, 0, 0);
  cv::Mat code(matrix.height(), matrix.width(), CV_8UC3);
  for (int y = 0; y < matrix.height(); ++y)
    for (int x = 0; x < matrix.width(); ++x)
      code.at<cv::Vec3b>(y, x) = matrix.get(x, y) ? cv::Vec3b(15, 15, 15) : cv::Vec3b(245, 245, 245);
  cv::resize(code, code, {code.cols * 6, code.rows * 6}, 0, 0, cv::INTER_NEAREST);
  return code;
}

// Headless Chromium loads `page` in a frame of a probe page and reports what a reader would see there:
// the images (loaded? how large?), the clue rows, the scripts, the whole image and its CSS filter.
nlohmann::json browse(const fs::path& page, const TempDir& scratch) {
  const auto probe = scratch / "probe.html";
  write_text(probe, R"(<!DOCTYPE html><html><body><pre id="result">pending</pre>
<iframe id="f" width="1200" height="900" src="file://)" + fs::absolute(page).string() + R"("></iframe>
<script>
document.getElementById('f').addEventListener('load', () => { setTimeout(() => {
  let out = {};
  try {
    const d = document.getElementById('f').contentDocument;
    out.title = d.title;
    out.text = d.body.innerText;
    out.scripts = d.scripts.length;
    out.images = Array.from(d.images).map(i => ({src: i.getAttribute('src'), id: i.id, loaded: i.complete && i.naturalWidth > 0,
                                                 width: i.naturalWidth, height: i.naturalHeight,
                                                 filter: getComputedStyle(i).filter}));
    out.clues = Array.from(d.querySelectorAll('tr.clue')).map(r => ({rank: r.cells[0].innerText, kind: r.querySelector('.kind').innerText,
                                                                     value: r.querySelector('.value').innerText}));
    out.rows = Array.from(d.querySelectorAll('tr.image')).map(r => r.innerText);
    out.countries = Array.from(d.querySelectorAll('h3.country')).map(h => h.innerText);
    out.value_html = Array.from(d.querySelectorAll('td.value')).map(c => c.innerHTML);
  } catch (e) { out.error = String(e); }
  document.getElementById('result').textContent = JSON.stringify(out);
}, 300); });
</script></body></html>)");
  const auto dump = scratch / "dom.html";
  // Its own profile folder: tests run in parallel, and a browser profile is not shared between instances.
  const std::string command = "chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --allow-file-access-from-files "
                              "--no-first-run --user-data-dir='" + (scratch / "profile").string() + "' "
                              "--virtual-time-budget=10000 --dump-dom 'file://" +
                              fs::absolute(probe).string() + "' > '" + dump.string() + "' 2>/dev/null";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(dump);
  const std::string dom((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto start = dom.find("<pre id=\"result\">");
  const auto end = dom.find("</pre>", start);
  if (start == std::string::npos || end == std::string::npos) return {{"error", "no result in " + dom.substr(0, 400)}};
  std::string text = dom.substr(start + 17, end - start - 17);
  // The DOM dump escapes the result's text: undo the four entities it uses.
  for (const auto& [entity, ch] : std::vector<std::pair<std::string, std::string>>{{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&amp;", "&"}}) {
    for (auto p = text.find(entity); p != std::string::npos; p = text.find(entity, p + ch.size())) text.replace(p, entity.size(), ch);
  }
  return nlohmann::json::parse(text, nullptr, false);
}

bool have_chromium() { return std::system("command -v chromium > /dev/null 2>&1") == 0; }

class ReviewCase : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const cv::Size size(1100, 800);
    const cv::Mat flyer = text_image({"Baeckerei Wiedemann", "Tel. 030 2312 5678"}, 700, 1.8);
    const cv::Mat room_a = room(11, size);
    cv::Mat a = room_a.clone();
    paste(a, flyer, {60, 80});
    cv::Mat b = view_again(room_a, 4.0, 0.92, {50, -30});
    paste(b, flyer, {400, 520});
    cv::Mat c = room(23, size);
    paste(c, text_image({"Hotel Seeblick", "Zimmer frei"}, 520, 1.5), {500, 90});
    cv::Mat d = room(37, size);
    paste(d, qr_code(kMarkup), {700, 300});
    const cv::Mat e = room(53, size);
    fs::create_directories(*dir_ / "case");
    for (const auto& [name, img] : std::vector<std::pair<std::string, cv::Mat>>{{"a.jpg", a}, {"b.jpg", b}, {"c.jpg", c}, {"d.png", d}, {"e.jpg", e}}) {
      write_bytes(*dir_ / "case" / name, encode(img, name.ends_with(".png") ? ".png" : ".jpg"));
    }
    run_ = new CliResult(run_cli({"run", "--out", (*dir_ / "out").string(), (*dir_ / "case").string()}));
  }
  static void TearDownTestSuite() {
    delete run_;
    delete dir_;
  }
  void SetUp() override { ASSERT_EQ(run_->exit_code, 0) << run_->output; }

  static fs::path out() { return *dir_ / "out"; }
  static std::vector<nlohmann::json> reports() { return read_reports(out()); }
  static std::size_t index_of(const std::string& name) {
    const auto all = reports();
    for (std::size_t i = 0; i < all.size(); ++i)
      if (all[i]["image"]["path"].get<std::string>().ends_with(name)) return i;
    ADD_FAILURE() << name << " has no report";
    return 0;
  }
  static std::set<std::string> names(const nlohmann::json& images) {
    std::set<std::string> out;
    for (const auto& i : images) out.insert(fs::path(i["path"].get<std::string>()).filename().string());
    return out;
  }

  static TempDir* dir_;
  static CliResult* run_;
};
TempDir* ReviewCase::dir_ = nullptr;
CliResult* ReviewCase::run_ = nullptr;

TEST_F(ReviewCase, EveryOutputIsBesideTheReportsAndEveryReportIsValidAndRanked) {
  for (const char* name : {"reports.jsonl", "index.html", "clues.sqlite", "summary.csv", "vics.json", "links.json", "runs.jsonl"}) {
    EXPECT_TRUE(fs::exists(out() / name)) << name;
  }
  const auto schema = JsonSchema::from_file(source_dir() / "docs" / "clue-report.schema.json");
  const auto all = reports();
  ASSERT_EQ(all.size(), 5u);
  for (const auto& report : all) {
    const auto violations = schema.validate(report);
    EXPECT_TRUE(violations.empty()) << violations.front().instance_path << " " << violations.front().message;
    const auto& clues = report["clues"];
    for (std::size_t i = 0; i < clues.size(); ++i) {
      EXPECT_EQ(clues[i]["rank"], static_cast<int>(i) + 1);
      if (i > 0) {
        EXPECT_LE(clues[i]["score"].get<double>(), clues[i - 1]["score"].get<double>());
      }
      EXPECT_FALSE(clues[i].value("explanation", "").empty()) << clues[i].dump();
    }
  }
  // The phone number leads on the flyer's images.
  const auto a = all[index_of("a.jpg")];
  ASSERT_FALSE(a["clues"].empty());
  EXPECT_EQ(a["clues"][0]["kind"], "phone") << a.dump();
}

TEST_F(ReviewCase, LinksTheTwoViewsOfOneRoomByBackgroundAndPhoneAndNothingElse) {
  const auto links = read_json(out() / "links.json");
  ASSERT_EQ(links["scenes"].size(), 1u) << links.dump(2);
  EXPECT_EQ(names(links["scenes"][0]["images"]), (std::set<std::string>{"a.jpg", "b.jpg"})) << links.dump(2);
  EXPECT_GE(links["scenes"][0]["pairs"][0]["inliers"].get<int>(), 20);
  bool phone = false;
  for (const auto& r : links["recurring"]) {
    EXPECT_EQ(names(r["images"]), (std::set<std::string>{"a.jpg", "b.jpg"})) << r.dump();
    phone = phone || (r["kind"] == "phone" && r["value"] == "+493023125678");
  }
  std::string phones;
  for (const auto& report : reports())
    for (const auto& c : report["clues"])
      if (c["kind"] == "phone") phones += report["image"]["path"].get<std::string>() + " " + c["value"].get<std::string>() + "\n";
  EXPECT_TRUE(phone) << "phone clues:\n" << phones;
}

TEST_F(ReviewCase, SearchFindsCluesAcrossImagesByWordNumberKindAndCountry) {
  auto hits = [&](const std::vector<std::string>& args) {
    std::vector<std::string> full{"search", out().string()};
    full.insert(full.end(), args.begin(), args.end());
    full.push_back("--json");
    const auto r = run_cli(full);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::set<std::string> found;
    std::istringstream lines(r.output);
    for (std::string line; std::getline(lines, line);) {
      if (line.empty() || line.front() != '{') continue;
      const auto j = nlohmann::json::parse(line);
      found.insert(fs::path(j["path"].get<std::string>()).filename().string() + ":" + j["kind"].get<std::string>());
    }
    return found;
  };
  EXPECT_TRUE(hits({"wiedemann"}).contains("a.jpg:text"));
  EXPECT_TRUE(hits({"Seeblick"}).contains("c.jpg:text"));
  const auto phone = hits({"030 2312 5678"});
  EXPECT_TRUE(phone.contains("a.jpg:phone") && phone.contains("b.jpg:phone")) << ::testing::PrintToString(phone);
  EXPECT_EQ(hits({"", "--kind", "phone", "--country", "DE"}), (std::set<std::string>{"a.jpg:phone", "b.jpg:phone"}));
  EXPECT_TRUE(hits({"", "--kind", "phone", "--country", "FR"}).empty());
  EXPECT_TRUE(hits({"Zanzibar"}).empty());
}

TEST_F(ReviewCase, SummaryCsvAndVicsHoldEveryClueAndPicture) {
  const auto all = reports();
  std::size_t rows_expected = 1;  // the header
  for (const auto& r : all) rows_expected += std::max<std::size_t>(1, r["clues"].size());  // clue-less images: one row
  std::ifstream csv(out() / "summary.csv");
  std::size_t rows = 0;
  for (std::string line; std::getline(csv, line);) ++rows;  // no value in this case holds a line break
  EXPECT_EQ(rows, rows_expected);

  const auto vics = read_json(out() / "vics.json");
  const auto schema = JsonSchema::from_file(source_dir() / "docs" / "vics-export.schema.json");
  const auto violations = schema.validate(vics);
  EXPECT_TRUE(violations.empty()) << violations.front().instance_path << " " << violations.front().message;
  std::set<std::string> md5s;
  for (const auto& m : vics["value"][0]["Media"]) md5s.insert(m["MD5"].get<std::string>());
  std::set<std::string> expected;
  for (const auto& r : all) {
    std::string md5 = r["image"]["md5"];
    std::transform(md5.begin(), md5.end(), md5.begin(), [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
    expected.insert(md5);
  }
  EXPECT_EQ(md5s, expected);
  const auto& a = vics["value"][0]["Media"][index_of("a.jpg")];
  EXPECT_NE(a["Tags"].get<std::string>().find("phone:+493023125678"), std::string::npos) << a.dump();
}

TEST_F(ReviewCase, TheBrowserShowsRankedCluesWithCropsAndNeverTheWholeImageByDefault) {
  if (!have_chromium()) GTEST_SKIP() << "chromium is not installed (./test.sh installs it)";
  TempDir scratch;
  const auto overview = browse(out() / "index.html", scratch);
  ASSERT_FALSE(overview.contains("error")) << overview.dump();
  EXPECT_EQ(overview["scripts"], 0);
  EXPECT_EQ(overview["rows"].size(), 5u) << overview.dump(2);
  const std::string text = overview["text"];
  EXPECT_NE(text.find("+493023125678"), std::string::npos);
  EXPECT_NE(text.find("Same scene"), std::string::npos);

  const auto a_index = index_of("a.jpg");
  const auto page = browse(out() / page_path(a_index), scratch);
  ASSERT_FALSE(page.contains("error")) << page.dump();
  const auto report = reports()[a_index];
  ASSERT_EQ(page["clues"].size(), report["clues"].size()) << page.dump(2);
  for (std::size_t i = 0; i < report["clues"].size(); ++i) {
    EXPECT_EQ(page["clues"][i]["value"], report["clues"][i]["value"]);
    EXPECT_EQ(page["clues"][i]["kind"], report["clues"][i]["kind"]);
  }
  ASSERT_FALSE(page["images"].empty());
  for (const auto& img : page["images"]) {
    EXPECT_TRUE(img["loaded"].get<bool>()) << img.dump();
    EXPECT_TRUE(img["src"].get<std::string>().starts_with("../crops/")) << img.dump();
    EXPECT_LT(img["width"].get<int>() * img["height"].get<int>(), 1100 * 800 / 4) << "a crop, not the image: " << img.dump();
    EXPECT_NE(img["id"], "full-image");
  }

  // Markup read from an image is shown as text, never run.
  const auto d_page = browse(out() / page_path(index_of("d.png")), scratch);
  EXPECT_EQ(d_page["scripts"], 0);
  bool shown = false;
  for (const auto& c : d_page["clues"]) shown = shown || c["value"] == kMarkup;
  EXPECT_TRUE(shown) << d_page.dump(2);
  for (const auto& html : d_page["value_html"]) EXPECT_EQ(html.get<std::string>().find("<script"), std::string::npos);
}

TEST_F(ReviewCase, TheWholeImageIsShownOnlyWhenConfiguredAndThenBlurred) {
  if (!have_chromium()) GTEST_SKIP() << "chromium is not installed (./test.sh installs it)";
  TempDir scratch;
  write_text(scratch / "full.yaml", "outputs:\n  full_image: true\n");
  const auto r = run_cli({"run", "--config", (scratch / "full.yaml").string(), "--out", (scratch / "out").string(),
                          (*dir_ / "case" / "c.jpg").string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto page = browse(scratch / "out" / "pages" / "00001.html", scratch);
  bool full = false;
  for (const auto& img : page["images"]) {
    if (img["id"] != "full-image") continue;
    full = true;
    EXPECT_TRUE(img["loaded"].get<bool>());
    EXPECT_NE(img["filter"].get<std::string>().find("blur"), std::string::npos) << img.dump();
    EXPECT_NE(img["filter"].get<std::string>().find("grayscale"), std::string::npos) << img.dump();
  }
  EXPECT_TRUE(full) << page.dump(2);
}

}  // namespace
}  // namespace cluetrace::test
