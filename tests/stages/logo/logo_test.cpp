// The logo catalogue and matcher on generated marks: real rsvg-convert, real OpenCV SIFT/FLANN/RANSAC,
// real files. Marks are drawn here (an SVG written by the test, a raster mark drawn with OpenCV), then
// placed in generated scenes scaled, rotated, in perspective and in the opposite polarity.
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <future>
#include <random>

#include <sstream>

#include <gtest/gtest.h>
#include <opencv2/features2d.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "stages/logo/catalogue.hpp"
#include "stages/logo/catalogue_tool.hpp"
#include "stages/logo/kd_trees.hpp"
#include "stages/logo/logo_stage.hpp"
#include "stages/logo/matcher.hpp"
#include "stages/logo/shape.hpp"
#include "stages/logo/text_conflict.hpp"
#include "tests/support/test_support.hpp"

namespace cluetrace::logo {
namespace {

using test::TempDir;
namespace fs = std::filesystem;

// A mark with plenty of corners and curves, in the style of simple-icons (one black path, 24x24 box).
constexpr const char* kStarMark =
    R"(<svg viewBox="0 0 24 24"><path d="M2 2h7l-2 4h5l-3 5h6L8 22l2-8H5l3-5H3z"/>)"
    R"(<path d="M14 2h8v3h-5v2h4v3h-4v5h-3z"/><circle cx="19" cy="19" r="3"/><path d="M12 17h3v5h-3z"/></svg>)";
constexpr const char* kGridMark =
    R"(<svg viewBox="0 0 24 24"><path d="M1 1h10v4H5v2h6v4H1z"/>)"
    R"(<path d="M13 1l10 10h-4l-6-6z"/><path d="M2 14h5l3 9H7l-1-3H4l-1 3H0z"/><path d="M14 14h9v3h-3v6h-3v-6h-3z"/></svg>)";

fs::path write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
  return p;
}

// A busy scene: gradient, blocks, lines and noise; deterministic.
cv::Mat scene(int seed, cv::Size size = {1200, 900}) {
  std::mt19937 rng(static_cast<unsigned>(seed));
  auto r = [&](int a, int b) { return std::uniform_int_distribution<int>(a, b)(rng); };
  // Every draw in a statement of its own: the order a compiler evaluates function arguments in is not fixed
  // (GCC goes right to left, clang left to right), and the scene must be the same whoever builds the test.
  // The draws follow GCC's order, in which the scenes were first made.
  const int c3 = r(60, 200), c2 = r(60, 200), c1 = r(60, 200);
  cv::Mat img(size, CV_8UC3, cv::Scalar(c1, c2, c3));
  for (int i = 0; i < 25; ++i) {
    const int b3 = r(0, 255), b2 = r(0, 255), b1 = r(0, 255);
    const int h = r(20, 300), w = r(20, 300), y = r(0, size.height), x = r(0, size.width);
    cv::rectangle(img, cv::Rect(x, y, w, h), cv::Scalar(b1, b2, b3), cv::FILLED);
  }
  for (int i = 0; i < 30; ++i) {
    const int thickness = r(1, 5);
    const int b3 = r(0, 255), b2 = r(0, 255), b1 = r(0, 255);
    const int x2 = r(0, size.width), y2 = r(0, size.height);
    const int x1 = r(0, size.width), y1 = r(0, size.height);
    cv::line(img, {x1, y1}, {x2, y2}, cv::Scalar(b1, b2, b3), thickness);
  }
  const int tx = r(0, 600), ty = r(50, 850);
  cv::putText(img, "Shampoo 250 ml", {tx, ty}, cv::FONT_HERSHEY_SIMPLEX, 1.4, cv::Scalar(10, 10, 10), 3);
  cv::Mat noise(size, CV_16SC3);
  cv::randn(noise, cv::Scalar::all(0), cv::Scalar::all(6));
  cv::Mat out;
  img.convertTo(out, CV_16SC3);
  out += noise;
  out.convertTo(img, CV_8UC3);
  return img;
}

// Pastes `mark` (BGRA) into `img` through a rotation + perspective warp whose corners are returned.
std::array<cv::Point2f, 4> paste(cv::Mat& img, const cv::Mat& mark_bgra, cv::Point2f centre, double degrees, double tilt) {
  const float w = static_cast<float>(mark_bgra.cols), h = static_cast<float>(mark_bgra.rows);
  std::vector<cv::Point2f> src{{0, 0}, {w, 0}, {w, h}, {0, h}}, dst;
  const double a = degrees * CV_PI / 180;
  for (std::size_t i = 0; i < 4; ++i) {
    cv::Point2f d = src[i] - cv::Point2f(w / 2, h / 2);
    if (i == 1 || i == 2) d.y *= static_cast<float>(1 - tilt);  // the right side further away
    dst.push_back(centre + cv::Point2f(static_cast<float>(d.x * std::cos(a) - d.y * std::sin(a)),
                                       static_cast<float>(d.x * std::sin(a) + d.y * std::cos(a))));
  }
  cv::Mat warped;
  cv::warpPerspective(mark_bgra, warped, cv::getPerspectiveTransform(src, dst), img.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                      cv::Scalar(0, 0, 0, 0));
  for (int y = 0; y < img.rows; ++y)
    for (int x = 0; x < img.cols; ++x) {
      const auto s = warped.at<cv::Vec4b>(y, x);
      if (!s[3]) continue;
      auto& d = img.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c) d[c] = cv::saturate_cast<uchar>((s[c] * s[3] + d[c] * (255 - s[3])) / 255);
    }
  return {dst[0], dst[1], dst[2], dst[3]};
}

cv::Mat recolour(cv::Mat bgra, cv::Scalar ink) {
  for (int y = 0; y < bgra.rows; ++y)
    for (int x = 0; x < bgra.cols; ++x) {
      auto& p = bgra.at<cv::Vec4b>(y, x);
      p = cv::Vec4b(static_cast<uchar>(ink[0]), static_cast<uchar>(ink[1]), static_cast<uchar>(ink[2]), p[3]);
    }
  return bgra;
}

// The matcher's trace, one line per candidate: what a failed expectation prints.
std::string lines(const std::vector<std::string>& trace) {
  std::string out;
  for (const auto& t : trace) out += t + "\n";
  return out;
}

double iou(const cv::Rect2f& a, const cv::Rect2f& b) {
  const double inter = (a & b).area();
  return inter / (a.area() + b.area() - inter);
}
cv::Rect2f bounds(const std::array<cv::Point2f, 4>& q) {
  return cv::boundingRect(std::vector<cv::Point2f>(q.begin(), q.end()));
}

class LogoCatalogue : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file(dir / "refs" / "star.svg", kStarMark);
    write_file(dir / "refs" / "grid.svg", kGridMark);
    cv::imwrite((dir / "photo.png").string(), [] {
      cv::Mat photo(400, 600, CV_8UC3, cv::Scalar(200, 200, 200));
      test::brand_sign().copyTo(photo(cv::Rect(120, 100, 360, 160)));
      return photo;
    }());
    write_file(dir / "catalogue.yaml", R"(version: 1
name: test
brands:
  - id: starmark
    name: Starmark
    category: grocery
    colours: ["#D02020"]
    countries: {HR: 1.0, SI: 0.5}
    source: "made up for the test"
    references: [refs/star.svg]
  - id: gridco
    name: Gridco
    category: telecom
    global: true
    references: [refs/grid.svg]
  - id: konzum
    name: Konzum
    category: grocery
    countries: {HR: 1.0}
    wordmark: false
    references:
      - {file: photo.png, box: [120, 100, 360, 160]}
)");
    catalogue = load_catalogue(dir / "catalogue.yaml");
    index = build_index(catalogue, nullptr, {});
  }

  TempDir tmp;
  fs::path dir = tmp.path() / "cat";
  Catalogue catalogue;
  FeatureIndexFile index;
};

// Both ways: features at full resolution everywhere, and coarse to fine (the default), where a large,
// well-supported mark is placed from the features at 640 pixels and so a little less closely.
TEST_F(LogoCatalogue, FindsEachMarkRotatedTiltedAndInTheOtherPolarity) {
  MatchOptions full_resolution;
  full_resolution.coarse_side = 0;
  for (const auto& [options, min_iou] : {std::pair{full_resolution, 0.7}, std::pair{MatchOptions{}, 0.65}}) {
    SCOPED_TRACE(options.coarse_side ? "coarse to fine" : "full resolution");
    Matcher matcher(index, options);
    struct Case {
      std::string brand;
      cv::Mat mark;
      double degrees, tilt;
    };
    const cv::Mat star = render_reference_bgra(dir / "refs" / "star.svg", std::nullopt, 220);
    const cv::Mat grid = render_reference_bgra(dir / "refs" / "grid.svg", std::nullopt, 180);
    cv::Mat konzum;
    cv::cvtColor(test::brand_sign(), konzum, cv::COLOR_BGR2BGRA);
    cv::resize(konzum, konzum, {}, 0.6, 0.6, cv::INTER_AREA);
    const std::vector<Case> cases{
        {"starmark", recolour(star, {40, 40, 200}), 25, 0.15},       // red mark, rotated and tilted
        {"starmark", recolour(star, {250, 250, 250}), -15, 0.0},     // white on a busy background: opposite polarity
        {"gridco", recolour(grid, {20, 20, 20}), 40, 0.2},
        {"konzum", konzum, -20, 0.1},                                 // raster reference from a photo's box
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
      cv::Mat img = scene(static_cast<int>(i));
      if (i == 1) img(cv::Rect(300, 200, 600, 500)).setTo(cv::Scalar(40, 60, 30));  // a dark panel for the white mark
      const auto truth = paste(img, cases[i].mark, {600, 450}, cases[i].degrees, cases[i].tilt);
      cv::Mat jpeg = cv::imdecode(test::encode(img, ".jpg"), cv::IMREAD_COLOR);
      const auto found = matcher.match(jpeg);
      ASSERT_EQ(found.size(), 1u) << "case " << i << ": " << cases[i].brand;
      EXPECT_EQ(found[0].brand, cases[i].brand) << "case " << i;
      EXPECT_GT(iou(bounds(found[0].quad), bounds(truth)), min_iou) << "case " << i;
      EXPECT_GE(found[0].inliers, MatchOptions{}.min_inliers);
      EXPECT_GT(found[0].confidence, 0.4);
    }
  }
}

// Coarse to fine: the whole scene's features at 640 pixels only propose windows; SIFT at full resolution
// runs there alone. A small mark and a large one in a 12-megapixel-sized scene are found where the
// full-resolution search finds them, from windows that cover a small part of the scene; a scene without a
// catalogue mark stays quiet.
TEST_F(LogoCatalogue, CoarseToFineFindsWhatFullResolutionFindsFromFewWindows) {
  MatchOptions full_options;
  full_options.coarse_side = 0;
  MatchOptions coarse_options;
  coarse_options.coarse_side = 640;
  Matcher full(index, full_options), coarse(index, coarse_options);
  const cv::Mat star = render_reference_bgra(dir / "refs" / "star.svg", std::nullopt, 300);
  const cv::Mat grid = render_reference_bgra(dir / "refs" / "grid.svg", std::nullopt, 520);
  cv::Mat img = scene(3, {2400, 1800});
  // Scaled to 1280 pixels for matching, the star spans about 160 pixels, and 80 in the coarse image.
  const auto small = paste(img, recolour(star, {40, 40, 200}), {700, 1300}, 20, 0.1);
  const auto large = paste(img, recolour(grid, {20, 20, 20}), {1750, 600}, -10, 0.15);
  const cv::Mat jpeg = cv::imdecode(test::encode(img, ".jpg"), cv::IMREAD_COLOR);

  std::vector<std::string> trace, full_trace;
  const auto by_full = full.match(jpeg, &full_trace);
  const auto by_coarse = coarse.match(jpeg, &trace);
  ASSERT_EQ(by_full.size(), 2u) << lines(full_trace);
  ASSERT_EQ(by_coarse.size(), 2u) << lines(trace);
  for (const auto& [brand, truth] : {std::pair{std::string("starmark"), small}, std::pair{std::string("gridco"), large}}) {
    const auto it = std::find_if(by_coarse.begin(), by_coarse.end(), [&](const Detection& d) { return d.brand == brand; });
    ASSERT_NE(it, by_coarse.end()) << brand << "\n" << lines(trace);
    EXPECT_GT(iou(bounds(it->quad), bounds(truth)), 0.8) << brand;
    EXPECT_GE(it->inliers, coarse_options.min_inliers) << brand;
  }
  // The windows' share of the scene, from the trace: "coarse 640x480: ... windows (N % of the scene)".
  const auto coarse_line = std::find_if(trace.begin(), trace.end(), [](const std::string& t) { return t.rfind("coarse ", 0) == 0; });
  ASSERT_NE(coarse_line, trace.end()) << lines(trace);
  const auto open = coarse_line->find(" windows (");
  ASSERT_NE(open, std::string::npos) << *coarse_line;
  EXPECT_LT(std::stod(coarse_line->substr(open + 10)), 30.0) << *coarse_line;

  for (int seed = 20; seed < 23; ++seed) EXPECT_TRUE(coarse.match(scene(seed, {2400, 1800})).empty()) << "seed " << seed;
}

// A scene's SIFT scale space of 400,000 pixels or more (~110 MB at 800 x 600, ~270 MB at 1280 x 960) is held by
// at most half the threads, counting those in the text detector's finer pass (large_working_sets): while that
// bound is reached the extraction waits; a smaller scene's does not.
TEST_F(LogoCatalogue, ALargeScenesFeaturesWaitForTheLargeWorkingSetsGate) {
  Matcher matcher(index, MatchOptions{});
  const cv::Mat grid = render_reference_bgra(dir / "refs" / "grid.svg", std::nullopt, 180);
  cv::Mat large = scene(4, {800, 600}), small = scene(5, {640, 480});
  const auto large_truth = paste(large, recolour(grid, {20, 20, 20}), {420, 300}, 30, 0.15);
  const auto small_truth = paste(small, recolour(grid, {20, 20, 20}), {320, 240}, -20, 0.1);
  std::vector<Detection> in_large, in_small;

  test::LargeWorkingSetsHeld held;
  std::vector<std::string> trace;
  auto small_scene = test::in_two_thread_arena([&] { in_small = matcher.match(small, &trace); });
  ASSERT_EQ(small_scene.wait_for(std::chrono::seconds(120)), std::future_status::ready) << "a small scene waited for the gate";
  small_scene.get();
  ASSERT_EQ(in_small.size(), 1u) << lines(trace);
  EXPECT_GT(iou(bounds(in_small[0].quad), bounds(small_truth)), 0.7);
  auto large_scene = test::in_two_thread_arena([&] { in_large = matcher.match(large); });
  EXPECT_EQ(large_scene.wait_for(std::chrono::seconds(3)), std::future_status::timeout) << "a large scene's features did not wait";
  held.release();
  ASSERT_EQ(large_scene.wait_for(std::chrono::seconds(120)), std::future_status::ready);
  large_scene.get();
  ASSERT_EQ(in_large.size(), 1u);
  EXPECT_GT(iou(bounds(in_large[0].quad), bounds(large_truth)), 0.7);
}

// A scene of more than 700,000 pixels is described in two overlapping halves, one after the other (its whole
// scale space was the largest working set of a run): a mark across the cut is found and placed as well as
// one inside a half, and the strongest max_features of both halves are kept.
TEST_F(LogoCatalogue, ASceneDescribedInHalvesFindsMarksAcrossAndBesideTheCut) {
  MatchOptions options;
  options.coarse_side = 0;      // the whole scene at full resolution
  options.max_features = 1000;  // fewer than the scene has: the strongest of both halves are kept
  Matcher matcher(index, options);
  const cv::Mat grid = render_reference_bgra(dir / "refs" / "grid.svg", std::nullopt, 260);
  const cv::Mat star = render_reference_bgra(dir / "refs" / "star.svg", std::nullopt, 220);
  cv::Mat img = scene(6, {1280, 960});
  const auto across = paste(img, recolour(grid, {20, 20, 20}), {640, 420}, 12, 0.1);  // the cut is at x = 640
  const auto beside = paste(img, recolour(star, {40, 40, 200}), {1020, 700}, -20, 0.1);
  std::vector<std::string> trace;
  const auto found = matcher.match(img, &trace);
  ASSERT_EQ(found.size(), 2u) << lines(trace);
  for (const auto& [brand, truth] : {std::pair{std::string("gridco"), across}, std::pair{std::string("starmark"), beside}}) {
    const auto it = std::find_if(found.begin(), found.end(), [&](const Detection& d) { return d.brand == brand; });
    ASSERT_NE(it, found.end()) << brand << "\n" << lines(trace);
    EXPECT_GT(iou(bounds(it->quad), bounds(truth)), 0.8) << brand;
  }
  // "scene 1280x960: N features"
  const auto line = std::find_if(trace.begin(), trace.end(), [](const std::string& t) { return t.rfind("scene 1280x960: ", 0) == 0; });
  ASSERT_NE(line, trace.end()) << lines(trace);
  EXPECT_EQ(std::stoi(line->substr(16)), options.max_features) << *line;
}

TEST_F(LogoCatalogue, StaysQuietWithoutACatalogueMark) {
  Matcher matcher(index, MatchOptions{});
  for (int seed = 10; seed < 16; ++seed) {
    cv::Mat img = scene(seed);
    // A mark that is not in the catalogue.
    cv::Mat other(200, 200, CV_8UC4, cv::Scalar(0, 0, 0, 0));
    cv::putText(other, "Q7", {10, 150}, cv::FONT_HERSHEY_COMPLEX, 4.5, cv::Scalar(30, 30, 160, 255), 9);
    paste(img, other, {500, 400}, 10, 0.1);
    EXPECT_TRUE(matcher.match(img).empty()) << "seed " << seed;
  }
}

TEST_F(LogoCatalogue, APhotoCropKeepsOnlyFeaturesOfItsOwnPixels) {
  // The margin drawn around a photo crop repeats its edge pixels: features there describe streaks that
  // no scene holds. The box here cuts through a busy picture, so its edges are full of them.
  cv::imwrite((dir / "busy.png").string(), scene(3, {640, 480}));
  write_file(dir / "busy.yaml", R"(version: 1
name: test
brands:
  - id: busy
    name: Busy
    category: retail
    global: true
    references:
      - {file: busy.png, box: [150, 120, 300, 200]}
)");
  const auto built = build_index(load_catalogue(dir / "busy.yaml"), nullptr, {});
  int photo_views = 0;
  for (const auto& r : built.references) {
    if (r.label != "busy.png") continue;
    ++photo_views;
    int outside = 0;
    for (const auto& k : r.keypoints) outside += !r.mark.contains(cv::Point(k.pt));
    EXPECT_EQ(outside, 0) << r.key;
    EXPECT_GE(r.keypoints.size(), 20u) << r.key;
    EXPECT_EQ(r.descriptors.rows, static_cast<int>(r.keypoints.size()));
  }
  EXPECT_EQ(photo_views, static_cast<int>(kReferenceSides.size()));
}

TEST_F(LogoCatalogue, IndexRoundTripsAndReusesUnchangedReferences) {
  write_index(index, catalogue.index_file());
  const auto back = read_index(catalogue.index_file());
  ASSERT_EQ(back.references.size(), index.references.size());
  for (std::size_t i = 0; i < back.references.size(); ++i) {
    EXPECT_EQ(back.references[i].key, index.references[i].key);
    EXPECT_EQ(back.references[i].keypoints.size(), index.references[i].keypoints.size());
    EXPECT_EQ(cv::norm(back.references[i].descriptors, index.references[i].descriptors, cv::NORM_L1), 0.0);
  }
  std::string log;
  build_index(catalogue, &back, [&](const std::string& m) { log = m; });
  EXPECT_NE(log.find("0 views rendered now"), std::string::npos) << log;
}

// An index is read with its silhouettes left as PNG (most are never used); decoded they are the pixels that were
// written, an index written from one read keeps them byte for byte, and damaged ones are named when decoded.
TEST_F(LogoCatalogue, SilhouettesAreDecodedWhenUsedAndDamagedOnesNamed) {
  write_index(index, catalogue.index_file());
  auto back = read_index(catalogue.index_file());
  ASSERT_EQ(back.references.size(), index.references.size());
  std::size_t with = 0;
  for (std::size_t i = 0; i < back.references.size(); ++i) {
    const auto& made = index.references[i];
    const auto& read = back.references[i];
    EXPECT_TRUE(read.silhouette.empty()) << read.label << ": decoded while the index was read";
    ASSERT_EQ(has_silhouette(read), !made.silhouette.empty()) << read.label;
    if (made.silhouette.empty()) continue;
    ++with;
    const cv::Mat pixels = silhouette_of(read);
    ASSERT_EQ(pixels.size(), made.silhouette.size()) << read.label;
    EXPECT_EQ(cv::countNonZero(pixels != made.silhouette), 0) << read.label;
  }
  ASSERT_GT(with, 0u) << "no reference of the test catalogue has a silhouette";

  TempDir again;
  write_index(back, again / "again.index");
  const auto twice = read_index(again / "again.index");
  for (std::size_t i = 0; i < back.references.size(); ++i)
    EXPECT_EQ(twice.references[i].silhouette_png, back.references[i].silhouette_png) << back.references[i].label;

  // The bytes after the PNG signature damaged: the brand and file are named where the silhouette is needed.
  auto damaged = back;
  auto it = std::find_if(damaged.references.begin(), damaged.references.end(), [](const ReferenceFeatures& r) { return has_silhouette(r); });
  ASSERT_NE(it, damaged.references.end());
  std::fill(it->silhouette_png.begin() + 8, it->silhouette_png.end(), uchar{0x5a});
  try {
    (void)silhouette_of(*it);
    ADD_FAILURE() << "a damaged silhouette was decoded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(it->brand), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(it->label), std::string::npos) << e.what();
  }
  EXPECT_THROW(ShapeMatcher::prepare(damaged), std::runtime_error);

  // Not a PNG at all: the index is refused when it is read.
  it->silhouette_png.assign(40, uchar{0x5a});
  write_index(damaged, again / "damaged.index");
  try {
    (void)read_index(again / "damaged.index");
    ADD_FAILURE() << "an index whose silhouette is not a PNG was read";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("damaged (silhouette)"), std::string::npos) << e.what();
  }
}

TEST(LogoIndex, ADamagedIndexIsRefusedBeforeItsCountsAreTrusted) {
  // A header and then a reference count of four billion: refused at once, not allocated.
  std::string bytes;
  {
    const auto real = test::read_bytes(logo::default_catalogue_path().string() + ".index");
    if (real.size() < 64) GTEST_SKIP() << "no built default logo index";
    bytes.assign(real.begin(), real.begin() + 8);
  }
  const std::string huge_count("\xff\xff\xff\xff", 4);
  std::istringstream in(bytes + huge_count + std::string(64, '\0'));
  EXPECT_THROW(logo::read_index(in, bytes.size() + 68, "damaged.index"), std::runtime_error);
}

// Two models are the same when every number is the same, bit for bit, and so are their masks.
void expect_same_models(const ShapeMatcher& a, const ShapeMatcher& b) {
  ASSERT_EQ(a.models().size(), b.models().size());
  for (std::size_t i = 0; i < a.models().size(); ++i) {
    const auto& x = a.models()[i];
    const auto& y = b.models()[i];
    const std::string name = x.brand + " " + x.label;
    EXPECT_EQ(x.brand, y.brand);
    EXPECT_EQ(x.label, y.label) << name;
    EXPECT_EQ(std::memcmp(&x.centroid, &y.centroid, sizeof x.centroid), 0) << name;
    EXPECT_EQ(std::memcmp(x.whiten.val, y.whiten.val, sizeof x.whiten.val), 0) << name;
    EXPECT_EQ(std::memcmp(&x.ratios, &y.ratios, sizeof x.ratios), 0) << name;
    EXPECT_EQ(x.detail_decides, y.detail_decides) << name;
    EXPECT_EQ(x.signature, y.signature) << name;
    EXPECT_EQ(x.spectrum, y.spectrum) << name;
    ASSERT_EQ(x.silhouette.size(), y.silhouette.size()) << name;  // the reference's own, decoded
    EXPECT_EQ(cv::countNonZero(x.silhouette != y.silhouette), 0) << name;
    ASSERT_EQ(x.detail.size(), y.detail.size()) << name;
    if (!x.detail.empty()) {
      EXPECT_EQ(cv::countNonZero(x.detail != y.detail), 0) << name;
    }
  }
}

// The silhouettes' models `catalogue build` keeps in the index are the ones the stage would make at its start,
// and bytes of another version, or damaged, are not trusted: those models are made again.
TEST(LogoIndex, PreparedShapeModelsAreTheModelsMadeFromTheSilhouettes) {
  const auto file = logo::default_catalogue_path().string() + ".index";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << "no built default logo index";
  auto made = read_index(file);
  for (auto& r : made.references) r.shape_model.clear();
  auto prepared = made;
  ShapeMatcher::prepare(prepared);
  const ShapeOptions options;
  const ShapeMatcher from_silhouettes(made, options), from_index(prepared, options);
  EXPECT_EQ(from_silhouettes.prepared_count(), 0u);
  EXPECT_GT(from_index.prepared_count(), 100u);
  EXPECT_GT(from_index.model_count(), 100u);
  expect_same_models(from_silhouettes, from_index);

  // Written and read back, the bytes are the same.
  test::TempDir dir;
  write_index(prepared, dir / "prepared.index");
  const auto back = read_index(dir / "prepared.index");
  ASSERT_EQ(back.references.size(), prepared.references.size());
  for (std::size_t i = 0; i < back.references.size(); ++i) {
    EXPECT_EQ(back.references[i].shape_model, prepared.references[i].shape_model);
  }

  // Another format version in one, and one cut short: both made again, the others still taken from the index.
  auto tampered = prepared;
  std::vector<std::size_t> with_bytes;
  for (std::size_t i = 0; i < tampered.references.size(); ++i)
    if (tampered.references[i].shape_model.size() > 2) with_bytes.push_back(i);
  ASSERT_GE(with_bytes.size(), 2u);
  tampered.references[with_bytes[0]].shape_model[0] = static_cast<char>(0x7f);
  tampered.references[with_bytes[1]].shape_model.pop_back();
  const ShapeMatcher partly(tampered, options);
  EXPECT_EQ(partly.prepared_count(), from_index.prepared_count() - 2);
  expect_same_models(from_silhouettes, partly);
}

// The KD-trees `catalogue build` keeps in the index answer every search as the trees built at the start would:
// the same neighbours at the same distances, on queries near the catalogue's own descriptors. Bytes kept for
// other rows, of another OpenCV, damaged or cut short are not trusted (the stage then builds the trees).
TEST(LogoIndex, KdTreesKeptInTheIndexFindWhatTreesBuiltAtTheStartFind) {
  const auto file = logo::default_catalogue_path().string() + ".index";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << "no built default logo index";
  const auto index = read_index(file);
  ASSERT_FALSE(index.kd_trees.empty()) << "catalogue build did not keep the trees";
  const cv::Mat rows = descriptor_matrix(index);
  ASSERT_GT(rows.rows, 10000);
  const auto built = build_kd_trees(rows);
  const auto kept = load_kd_trees(index.kd_trees, rows);
  ASSERT_TRUE(kept) << "the index's trees were refused";

  cv::Mat queries;
  for (int i = 0; i < rows.rows; i += 47) queries.push_back(rows.row(i));
  cv::Mat noise(queries.size(), CV_32F);
  cv::RNG rng(16);
  rng.fill(noise, cv::RNG::NORMAL, 0.0, 0.02);
  queries += noise;
  cv::Mat built_idx, built_dist, kept_idx, kept_dist;
  built->knnSearch(queries, built_idx, built_dist, 8, cv::flann::SearchParams(64));
  kept->knn(rows, queries, 8, 64, kept_idx, kept_dist);
  EXPECT_EQ(cv::countNonZero(built_idx != kept_idx), 0);
  EXPECT_EQ(cv::norm(built_dist, kept_dist, cv::NORM_INF), 0.0);
  // Not a search that ignores the trees: with 64 leaves checked, some neighbours differ from the exact ones.
  cv::Mat exact_idx, exact_dist;
  cv::flann::Index(rows, cv::flann::LinearIndexParams(), cvflann::FLANN_DIST_L2)
      .knnSearch(queries, exact_idx, exact_dist, 8, cv::flann::SearchParams());
  EXPECT_GT(cv::countNonZero(exact_idx != kept_idx), 0);

  // Saved for other rows (one reference fewer), another OpenCV version, one byte changed, cut short.
  auto fewer = index;
  fewer.references.pop_back();
  while (fewer.references.back().descriptors.empty()) fewer.references.pop_back();
  EXPECT_FALSE(load_kd_trees(index.kd_trees, descriptor_matrix(fewer)));
  std::string other_version = index.kd_trees;
  const auto at = other_version.find(CV_VERSION);
  ASSERT_NE(at, std::string::npos);
  other_version[at] = '9';
  EXPECT_FALSE(load_kd_trees(other_version, rows));
  std::string flipped = index.kd_trees;
  flipped[flipped.size() / 2] ^= 0x10;
  EXPECT_FALSE(load_kd_trees(flipped, rows));
  EXPECT_FALSE(load_kd_trees(std::string_view(index.kd_trees).substr(0, index.kd_trees.size() - 100), rows));
  EXPECT_FALSE(load_kd_trees("", rows));

  // Written and read back, the bytes are the same; a matcher takes them, and one without them builds its own.
  test::TempDir dir;
  write_index(index, dir / "again.index");
  EXPECT_EQ(read_index(dir / "again.index").kd_trees, index.kd_trees);
  EXPECT_TRUE(Matcher(index, {}).trees_from_index());
  auto without = index;
  without.kd_trees.clear();
  EXPECT_FALSE(Matcher(without, {}).trees_from_index());
}

// An index written before the shape models were kept (format 3) is still read: its models are made at the start.
TEST(LogoIndex, AnIndexWithoutShapeModelsIsStillRead) {
  std::string bytes("CTLOGO3\n", 8);
  const auto u32 = [&](std::uint32_t v) { bytes.append(reinterpret_cast<const char*>(&v), 4); };
  const auto str = [&](const std::string& v) {
    u32(static_cast<std::uint32_t>(v.size()));
    bytes += v;
  };
  u32(1);
  str("acme");
  str("0123:v6:f400:s256");
  str("acme.svg");
  for (int v : {256, 128, 0, 0, 256, 128}) u32(static_cast<std::uint32_t>(v));
  u32(0);  // no keypoints
  u32(0);  // no silhouette
  std::istringstream in(bytes);
  const auto index = read_index(in, bytes.size(), "old.index");
  ASSERT_EQ(index.references.size(), 1u);
  EXPECT_EQ(index.references[0].brand, "acme");
  EXPECT_EQ(index.references[0].mark, cv::Rect(0, 0, 256, 128));
  EXPECT_TRUE(index.references[0].shape_model.empty());
}

// An index written before the KD-trees were kept (format 4) is still read: its trees are built at the start.
TEST_F(LogoCatalogue, AnIndexWithoutKdTreesIsStillReadAndFindsTheSameMarks) {
  index.kd_trees = save_kd_trees(*build_kd_trees(descriptor_matrix(index)), descriptor_matrix(index));
  ASSERT_FALSE(index.kd_trees.empty());
  write_index(index, dir / "new.index");
  const auto raw = test::read_bytes(dir / "new.index");
  std::string bytes(raw.begin(), raw.end());
  // Format 4 is format 5 without the trees' size and bytes at the end.
  ASSERT_EQ(bytes.substr(0, 8), std::string("CTLOGO5\n"));
  bytes[6] = '4';
  bytes.resize(bytes.size() - 8 - index.kd_trees.size());
  std::istringstream in(bytes);
  const auto old = read_index(in, bytes.size(), "format4.index");
  EXPECT_TRUE(old.kd_trees.empty());
  ASSERT_EQ(old.references.size(), index.references.size());
  const Matcher with_trees(read_index(dir / "new.index"), {}), building(old, {});
  EXPECT_TRUE(with_trees.trees_from_index());
  EXPECT_FALSE(building.trees_from_index());
  cv::Mat img = scene(3);
  paste(img, render_reference_bgra(dir / "refs" / "star.svg", std::nullopt, 200), {400, 400}, 10, 0.1);
  paste(img, render_reference_bgra(dir / "refs" / "grid.svg", std::nullopt, 220), {900, 500}, -15, 0.0);
  const auto a = with_trees.match(img), b = building.match(img);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_GE(a.size(), 2u);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].brand, b[i].brand);
    EXPECT_EQ(a[i].inliers, b[i].inliers);
    EXPECT_EQ(std::memcmp(a[i].quad.data(), b[i].quad.data(), sizeof a[i].quad), 0);
  }
}

TEST_F(LogoCatalogue, CatalogueMistakesNameFileLineAndKey) {
  auto bad = [&](const std::string& body) {
    write_file(dir / "bad.yaml", "version: 1\nbrands:\n" + body);
    try {
      load_catalogue(dir / "bad.yaml");
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(bad("  - id: x1\n    countries: {de: 1.0}\n    references: [a.svg]\n").find("bad.yaml:4: brands[0].countries"),
            std::string::npos);
  EXPECT_NE(bad("  - id: x1\n    references: [a.svg]\n  - id: x1\n    references: [b.svg]\n").find("appears twice"), std::string::npos);
  EXPECT_NE(bad("  - id: x1\n").find("brands[0].references: at least one reference"), std::string::npos);
  EXPECT_NE(bad("  - id: x1\n    global: true\n    countries: {DE: 1}\n    references: [a.svg]\n").find("a global brand lists no countries"),
            std::string::npos);
  EXPECT_NE(bad("  - id: x1\n    colour: red\n    references: [a.svg]\n").find("brands[0].colour: unknown key"), std::string::npos);
}

TEST_F(LogoCatalogue, CheckNamesAPlainShapeAsWeak) {
  write_file(dir / "refs" / "disc.svg", R"(<svg viewBox="0 0 24 24"><circle cx="12" cy="12" r="10"/></svg>)");
  auto with_disc = catalogue;
  with_disc.brands.push_back({"discco", "Discco", "other", {}, true, {}, "", true, {}, {{"refs/disc.svg", std::nullopt}}});
  const Matcher matcher(build_index(with_disc, &index, {}), MatchOptions{});
  const auto findings = check_catalogue(with_disc, matcher);
  bool disc_weak = false;
  for (const auto& f : findings) {
    if (f.brand == "discco" && f.severity == "weak") disc_weak = true;
    EXPECT_NE(f.brand, "starmark") << f.message;
  }
  EXPECT_TRUE(disc_weak);
}

TEST(LogoShapes, APlainMarkWithFewFeaturesIsFoundByItsSilhouette) {
  TempDir tmp;
  // Three slanted bars: a flat mark with too few keypoints for the feature matcher.
  write_file(tmp / "bars.svg", R"(<svg viewBox="0 0 24 24">)"
                               R"(<path d="M1 20l5-14h3L4 20z"/><path d="M8 20l5-14h3l-5 14z"/><path d="M15 20l5-14h3l-5 14z"/></svg>)");
  write_file(tmp / "cat.yaml", "version: 1\nbrands:\n  - id: bars\n    countries: {PL: 1.0}\n    references: [bars.svg]\n");
  const auto cat = load_catalogue(tmp / "cat.yaml");
  const auto index = build_index(cat, nullptr, {});
  ASSERT_LT(index.references[0].keypoints.size(), 60u);
  const Matcher matcher(index, MatchOptions{});
  const cv::Mat bars = recolour(render_reference_bgra(tmp / "bars.svg", std::nullopt, 260), {30, 30, 170});
  for (int seed = 0; seed < 3; ++seed) {
    cv::Mat img(800, 1100, CV_8UC3, cv::Scalar(215, 225, 230));
    cv::rectangle(img, cv::Rect(0, 650, 1100, 150), cv::Scalar(90, 110, 140), cv::FILLED);
    cv::putText(img, "Milk 1 L", {700, 720}, cv::FONT_HERSHEY_SIMPLEX, 1.5, cv::Scalar(20, 20, 20), 3);
    const auto truth = paste(img, bars, {400.0f + 60.0f * static_cast<float>(seed), 330.0f}, -20 + 20 * seed, 0.05 * seed);
    std::vector<std::string> trace;
    const auto found = matcher.match(img, &trace);
    const std::string why = lines(trace);
    ASSERT_EQ(found.size(), 1u) << "seed " << seed << "\n" << why;
    EXPECT_EQ(found[0].brand, "bars");
    EXPECT_GT(iou(bounds(found[0].quad), bounds(truth)), 0.6) << "seed " << seed;
    // The silhouette matcher on its own finds it too (the feature matcher may get there first).
    cv::Mat grey;
    cv::cvtColor(img, grey, cv::COLOR_BGR2GRAY);
    const auto shaped = ShapeMatcher(index, ShapeOptions{}).match(grey);
    ASSERT_EQ(shaped.size(), 1u) << "seed " << seed << "\n" << why;
    EXPECT_EQ(shaped[0].brand, "bars");
    EXPECT_GE(shaped[0].iou, ShapeOptions{}.min_iou);
    EXPECT_GT(iou(bounds(shaped[0].quad), bounds(truth)), 0.7) << "seed " << seed;
  }
  // Four upright bars of another layout, a disc and a rounded box: not the brand.
  cv::Mat other(800, 1100, CV_8UC3, cv::Scalar(215, 225, 230));
  for (int i = 0; i < 4; ++i) cv::rectangle(other, cv::Rect(300 + i * 50, 200, 25, 200), cv::Scalar(30, 30, 170), cv::FILLED);
  cv::circle(other, {800, 300}, 90, cv::Scalar(30, 30, 170), cv::FILLED);
  cv::rectangle(other, cv::Rect(600, 500, 300, 120), cv::Scalar(30, 30, 170), cv::FILLED);
  EXPECT_TRUE(matcher.match(other).empty());
  cv::Mat other_grey;
  cv::cvtColor(other, other_grey, cv::COLOR_BGR2GRAY);
  EXPECT_TRUE(ShapeMatcher(index, ShapeOptions{}).match(other_grey).empty());
}

TEST(LogoShapes, TheLeastMarkSizeIsTheSameInThePhotoAtAnySearchSize) {
  TempDir tmp;
  write_file(tmp / "bars.svg", R"(<svg viewBox="0 0 24 24">)"
                               R"(<path d="M1 20l5-14h3L4 20z"/><path d="M8 20l5-14h3l-5 14z"/><path d="M15 20l5-14h3l-5 14z"/></svg>)");
  write_file(tmp / "cat.yaml", "version: 1\nbrands:\n  - id: bars\n    countries: {PL: 1.0}\n    references: [bars.svg]\n");
  const auto index = build_index(load_catalogue(tmp / "cat.yaml"), nullptr, {});
  // A photo 1000 pixels long: a search at 1000 sees it whole, one at 800 at 0.8. A mark spanning 60 pixels
  // each way is above the least size (48 at 1000) in both, though it spans 48 x 0.8 = 38 pixels at 800; one
  // of 36 pixels is below it in both.
  const auto found_at = [&](int side, int max_side) {
    const cv::Mat bars = recolour(render_reference_bgra(tmp / "bars.svg", std::nullopt, side), {30, 30, 170});
    cv::Mat img(750, 1000, CV_8UC3, cv::Scalar(215, 225, 230));
    paste(img, bars, {480.0f, 330.0f}, 0, 0);
    cv::Mat grey;
    cv::cvtColor(img, grey, cv::COLOR_BGR2GRAY);
    ShapeOptions options;
    options.max_side = max_side;
    return ShapeMatcher(index, options).match(grey).size();
  };
  EXPECT_EQ(found_at(76, 1000), 1u);
  EXPECT_EQ(found_at(76, 800), 1u);
  EXPECT_EQ(found_at(40, 1000), 0u);
  EXPECT_EQ(found_at(40, 800), 0u);
}

TEST(LogoShapes, APlainOutlineIsToldFromADiscAndALetterOByItsHole) {
  TempDir tmp;
  // A disc with an off-centre triangular hole: its outline is any disc's; only the hole tells it apart.
  write_file(tmp / "holed.svg", R"(<svg viewBox="0 0 24 24"><path fill-rule="evenodd" )"
                                R"(d="M12 1a11 11 0 1 1-.01 0zM7 6l11 3-7 9z"/></svg>)");
  write_file(tmp / "cat.yaml", "version: 1\nbrands:\n  - id: holed\n    countries: {NL: 1.0}\n    references: [holed.svg]\n");
  const auto cat = load_catalogue(tmp / "cat.yaml");
  const auto index = build_index(cat, nullptr, {});
  ASSERT_LT(index.references[0].keypoints.size(), 60u);
  const ShapeMatcher shapes(index, ShapeOptions{});
  ASSERT_GE(shapes.model_count(), 1u);  // admitted for its hole, though its outline is a plain disc
  const cv::Mat holed = recolour(render_reference_bgra(tmp / "holed.svg", std::nullopt, 220), {40, 40, 200});
  for (int seed = 0; seed < 3; ++seed) {
    cv::Mat img(800, 1000, CV_8UC3, cv::Scalar(200, 215, 225));
    const auto truth = paste(img, holed, {350.0f + 80.0f * static_cast<float>(seed), 380.0f}, -30 + 30 * seed, 0.04 * seed);
    cv::Mat grey;
    cv::cvtColor(img, grey, cv::COLOR_BGR2GRAY);
    std::vector<std::string> trace;
    const auto found = shapes.match(grey, &trace);
    const std::string why = lines(trace);
    ASSERT_EQ(found.size(), 1u) << "seed " << seed << "\n" << why;
    EXPECT_EQ(found[0].brand, "holed");
    EXPECT_GT(iou(bounds(found[0].quad), bounds(truth)), 0.7) << "seed " << seed;
  }
  // The same ink in shapes with the same outline and other holes, or none: a disc, a ring, a letter o,
  // a disc with a round hole off centre; and the mark itself too small to show its hole.
  cv::Mat other(800, 1000, CV_8UC3, cv::Scalar(200, 215, 225));
  const cv::Scalar ink(40, 40, 200), paper(200, 215, 225);
  cv::circle(other, {180, 200}, 110, ink, cv::FILLED);
  cv::circle(other, {480, 200}, 90, ink, 40);
  cv::putText(other, "o", {680, 320}, cv::FONT_HERSHEY_SIMPLEX, 9, ink, 28);
  cv::circle(other, {250, 560}, 110, ink, cv::FILLED);
  cv::circle(other, {280, 520}, 40, paper, cv::FILLED);
  cv::Mat small;
  cv::resize(holed, small, {40, 40}, 0, 0, cv::INTER_AREA);
  paste(other, small, {700.0f, 600.0f}, 10, 0);
  cv::Mat other_grey;
  cv::cvtColor(other, other_grey, cv::COLOR_BGR2GRAY);
  std::vector<std::string> trace;
  const auto none = shapes.match(other_grey, &trace);
  const std::string why = lines(trace);
  EXPECT_TRUE(none.empty()) << why;
}

// The one-pass features (the scale space built once, keypoints of 180 degrees or more turned afterwards)
// against the way they were first made: keypoints detected, turned, then described in a second pass. The
// same keypoints, and descriptors that differ by at most float rounding.
TEST(LogoFeatures, OnePassDescriptorsEqualThoseOfDescribingTurnedKeypoints) {
  const cv::Mat photo = cv::imread((test::source_dir() / "tests" / "data" / "astronaut.jpg").string(), cv::IMREAD_GRAYSCALE);
  ASSERT_FALSE(photo.empty());
  std::vector<cv::KeyPoint> keypoints;
  cv::Mat descriptors;
  extract_features(photo, 2000, keypoints, descriptors, 0.02);
  ASSERT_GT(keypoints.size(), 500u);

  auto sift = cv::SIFT::create(2000, 3, 0.02, 10, 1.6);
  std::vector<cv::KeyPoint> two_pass;
  sift->detect(photo, two_pass);
  for (auto& k : two_pass) k.angle = std::fmod(k.angle, 180.0f);
  cv::Mat raw;
  sift->compute(photo, two_pass, raw);
  ASSERT_EQ(two_pass.size(), keypoints.size());
  int turned = 0, off_by_more = 0;
  for (int r = 0; r < raw.rows; ++r) {
    const auto& a = keypoints[static_cast<std::size_t>(r)];
    const auto& b = two_pass[static_cast<std::size_t>(r)];
    ASSERT_EQ(a.pt, b.pt);
    ASSERT_NEAR(a.angle, b.angle, 1e-3);
    ASSERT_LT(a.angle, 180.0f);
    for (int cell = 0; cell < 16; ++cell)
      for (int o = 0; o < 4; ++o) {
        const int folded = cv::saturate_cast<uchar>(raw.at<float>(r, cell * 8 + o) + raw.at<float>(r, cell * 8 + o + 4));
        if (std::abs(folded - descriptors.at<uchar>(r, cell * 4 + o)) > 1) ++off_by_more;
      }
  }
  // About half the keypoints point the other way before the turn: the check covers the reversal.
  std::vector<cv::KeyPoint> plain;
  sift->detect(photo, plain);
  for (const auto& k : plain) turned += k.angle >= 180.0f;
  EXPECT_GT(turned, static_cast<int>(plain.size()) / 4);
  EXPECT_EQ(off_by_more, 0);
}

Clue read_line(std::vector<std::pair<std::string, cv::Rect2f>> words, double confidence = 0.95, bool dictionary = true) {
  Clue line;
  line.kind = ClueKind::text;
  for (const auto& [text, r] : words) {
    line.value += (line.value.empty() ? "" : " ") + text;
    line.words.push_back(
        {text, confidence, {cv::Point2f(r.x, r.y), {r.x + r.width, r.y}, {r.x + r.width, r.y + r.height}, {r.x, r.y + r.height}}, dictionary});
  }
  return line;
}

// A wordmark placed on part of a long word OCR read as something else is contradicted; the brand's own
// name read there (whole, in part or inside a longer word), weak or short reads, and words that barely
// touch the mark are not.
TEST(LogoTextConflict, WordsReadAsSomethingElseContradictAMarkAndItsOwnNameDoesNot) {
  const cv::Rect2f mark(100, 100, 100, 30);
  const std::vector<std::string> cora{"cora"};
  const auto on = [&](const std::vector<Clue>& lines, double confidence = 0.6, double coverage = 0.3) {
    return text_conflict(mark, cora, lines, confidence, coverage);
  };
  const auto hit = on({read_line({{"Bahnhofstrasse", {40, 98, 260, 34}}})});
  EXPECT_TRUE(hit.contradicts);
  EXPECT_EQ(hit.read, "Bahnhofstrasse");
  EXPECT_NEAR(hit.coverage, 1.0, 0.01);
  EXPECT_FALSE(on({read_line({{"CORA", {105, 102, 90, 26}}})}).contradicts);
  EXPECT_FALSE(text_conflict(mark, {"theguardian"}, {read_line({{"Guardian", {105, 102, 90, 26}}})}, 0.6, 0.3).contradicts);  // in part
  EXPECT_FALSE(on({read_line({{"cora.fr", {105, 102, 90, 26}}})}).contradicts);       // a web address of the brand
  EXPECT_TRUE(on({read_line({{"Coração", {60, 100, 200, 30}}})}).contradicts);        // a word that holds the name
  EXPECT_TRUE(text_conflict(mark, {"intel"}, {read_line({{"Hotel", {100, 100, 90, 30}}})}, 0.6, 0.3).contradicts);  // as close as another word
  EXPECT_FALSE(text_conflict(mark, {"zabka"}, {read_line({{"tabka", {100, 100, 90, 30}}})}, 0.6, 0.3).contradicts);  // a letter misread
  EXPECT_FALSE(text_conflict(mark, {"vestel"}, {read_line({{"VESI", {100, 100, 90, 30}}})}, 0.6, 0.3).contradicts);  // in part, misread
  EXPECT_FALSE(text_conflict(mark, {"allegro"}, {read_line({{"Meg", {100, 100, 90, 30}}})}, 0.6, 0.3).contradicts);  // a short word inside
  EXPECT_FALSE(text_conflict(mark, {"albertheijn"}, {read_line({{"Albert", {105, 102, 40, 26}}, {"Heijn", {150, 102, 40, 26}}})}, 0.6, 0.3)
                   .contradicts);  // a name of two words
  EXPECT_TRUE(text_conflict(mark, {"albertheijn"}, {read_line({{"Alpen", {105, 102, 40, 26}}, {"Heide", {150, 102, 40, 26}}})}, 0.6, 0.3)
                  .contradicts);
  EXPECT_FALSE(on({read_line({{"Bahnhofstrasse", {40, 98, 260, 34}}}, 0.3)}).contradicts);  // a weak read
  EXPECT_FALSE(on({read_line({{"ab", {105, 102, 90, 26}}})}).contradicts);             // too short to be a word
  EXPECT_FALSE(on({read_line({{"Milch", {190, 100, 80, 30}}})}).contradicts);          // covers a tenth of it
  EXPECT_FALSE(on({}).contradicts);
  // A misreading of the mark itself (no dictionary word, inside the mark) says nothing; the same letters
  // running far beyond the mark are part of ordinary text.
  EXPECT_FALSE(on({read_line({{"Cxrq", {102, 101, 96, 28}}}, 0.95, false)}).contradicts);
  EXPECT_TRUE(on({read_line({{"Cxrqwvzt", {20, 101, 260, 28}}}, 0.95, false)}).contradicts);
  Clue phone = read_line({{"Bahnhofstrasse", {40, 98, 260, 34}}});
  phone.kind = ClueKind::phone;  // only text clues are read
  EXPECT_FALSE(on({phone}).contradicts);
}

TEST(LogoNames, FoldingMatchesWordmarksAcrossCaseAndDiacritics) {
  EXPECT_EQ(fold_name("Albert Heijn"), "albertheijn");
  EXPECT_EQ(fold_name("Citroën"), "citroen");
  EXPECT_EQ(fold_name("Żabka"), "zabka");
  EXPECT_EQ(fold_name("Škoda"), "skoda");
  EXPECT_EQ(fold_name("Migros-Genossenschafts-Bund"), "migrosgenossenschaftsbund");
  EXPECT_EQ(fold_name("Straße"), "strasse");
}

TEST(LogoStage, AMissingCatalogueIsSkippedOrRefusedAsConfigured) {
  TempDir tmp;
  auto skip = test::options_from_yaml<LogoOptions>("catalogue: " + (tmp.path() / "none.yaml").string() + "\n");
  LogoStage quiet(skip);
  EXPECT_NO_THROW(quiet.prepare());
  EXPECT_NE(quiet.resources().dump().find("missing"), std::string::npos);
  auto strict = test::options_from_yaml<LogoOptions>("catalogue: " + (tmp.path() / "none.yaml").string() + "\nif_catalogue_missing: error\n");
  LogoStage loud(strict);
  try {
    loud.prepare();
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("none.yaml"), std::string::npos);
  }
}

TEST_F(LogoCatalogue, AStaleIndexIsRefusedWithTheCommandThatFixesIt) {
  write_index(index, catalogue.index_file());
  write_file(dir / "refs" / "star.svg", std::string(kStarMark).replace(std::string(kStarMark).find("r=\"3\""), 5, "r=\"2\""));
  LogoStage stage(test::options_from_yaml<LogoOptions>("catalogue: " + (dir / "catalogue.yaml").string() + "\n"));
  try {
    stage.prepare();
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cluetrace catalogue build"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("starmark"), std::string::npos) << e.what();
  }
}

TEST_F(LogoCatalogue, TheStageReportsBrandCountriesAndAWordmarkFromOcrText) {
  write_index(index, catalogue.index_file());
  LogoStage stage(test::options_from_yaml<LogoOptions>("catalogue: " + (dir / "catalogue.yaml").string() + "\n"));
  stage.prepare();
  cv::Mat img = scene(3);
  // Dark blue ink: this scene's background at that place has the luminance of red ink (isoluminant
  // colours vanish in grey; see docs/logos.md, Limits).
  paste(img, recolour(render_reference_bgra(dir / "refs" / "star.svg", std::nullopt, 200), {120, 20, 10}), {400, 400}, 10, 0.1);
  auto record = test::decoded_record(img);
  // What the OCR stage read: the name of a global brand, and a line with no brand.
  auto& ocr = record.stage_results[static_cast<std::size_t>(StageKind::ocr)].clues;
  Clue line;
  line.kind = ClueKind::text;
  line.value = "GRIDCO shop Konzum";
  line.confidence = 0.9;
  // An exact spelling of a catalogue name counts though OCR was unsure of it (0.45); garbage rarely
  // spells a name, but below the configured confidence (0.4 by default) it is not taken.
  line.words = {{"GRIDCO", 0.45, {cv::Point2f(800, 700), {950, 700}, {950, 740}, {800, 740}}},
                {"shop", 0.9, {cv::Point2f(960, 700), {1030, 700}, {1030, 740}, {960, 740}}},
                {"Konzum", 0.95, {cv::Point2f(1040, 700), {1150, 700}, {1150, 740}, {1040, 740}}}};  // wordmark: false
  ocr.push_back(line);
  Clue unsure;
  unsure.kind = ClueKind::text;
  unsure.value = "Gridco";
  unsure.confidence = 0.3;
  unsure.words = {{"Gridco", 0.3, {cv::Point2f(100, 100), {250, 100}, {250, 140}, {100, 140}}}};
  ocr.push_back(unsure);
  StageResult out;
  stage.process(record, out);
  ASSERT_EQ(out.clues.size(), 2u) << (out.clues.empty() ? std::string("none") : out.clues[0].value + " " + out.clues[0].explanation);
  const Clue& mark = out.clues[0];
  EXPECT_EQ(mark.value, "starmark");
  EXPECT_EQ(mark.kind, ClueKind::logo);
  ASSERT_EQ(mark.countries.size(), 2u);
  EXPECT_EQ(mark.countries[0].code, "HR");
  EXPECT_EQ(mark.details["method"], "features");
  ASSERT_TRUE(mark.box.has_value());
  EXPECT_NEAR(mark.box->x + mark.box->width / 2.0, 400, 30) << mark.box->x << "," << mark.box->y << " " << mark.box->width << "x" << mark.box->height << " " << mark.explanation;
  const Clue& word = out.clues[1];
  EXPECT_EQ(word.value, "gridco");
  EXPECT_EQ(word.details["method"], "wordmark");
  EXPECT_TRUE(word.countries.empty());  // a global brand says nothing about place
  ASSERT_TRUE(word.box.has_value());
  EXPECT_EQ(word.box->x, 800);
  EXPECT_LT(word.box->width, 160);
}

// `marks: false` (config/quick.yaml): the image is not searched, the index is not even read (none is written
// here), and a brand name OCR read is still a sighting. The same scene with marks on finds the mark too.
TEST_F(LogoCatalogue, WithoutMarksOnlyTheNamesOcrReadAreSightings) {
  const auto options = "catalogue: " + (dir / "catalogue.yaml").string() + "\nmarks: false\n";
  LogoStage stage(test::options_from_yaml<LogoOptions>(options));
  ASSERT_FALSE(fs::exists(catalogue.index_file()));
  stage.prepare();
  EXPECT_EQ(stage.resources()["marks"], false);
  cv::Mat img = scene(3);
  paste(img, recolour(render_reference_bgra(dir / "refs" / "star.svg", std::nullopt, 200), {120, 20, 10}), {400, 400}, 10, 0.1);
  auto record = test::decoded_record(img);
  Clue line;
  line.kind = ClueKind::text;
  line.value = "GRIDCO shop";
  line.confidence = 0.9;
  line.words = {{"GRIDCO", 0.9, {cv::Point2f(800, 700), {950, 700}, {950, 740}, {800, 740}}},
                {"shop", 0.9, {cv::Point2f(960, 700), {1030, 700}, {1030, 740}, {960, 740}}}};
  record.stage_results[static_cast<std::size_t>(StageKind::ocr)].clues.push_back(line);
  StageResult out;
  stage.process(record, out);
  ASSERT_EQ(out.clues.size(), 1u) << (out.clues.empty() ? std::string("none") : out.clues[0].value + ", " + out.clues[1].value);
  EXPECT_EQ(out.clues[0].value, "gridco");
  EXPECT_EQ(out.clues[0].details["method"], "wordmark");

  write_index(index, catalogue.index_file());
  LogoStage with_marks(test::options_from_yaml<LogoOptions>("catalogue: " + (dir / "catalogue.yaml").string() + "\n"));
  with_marks.prepare();
  EXPECT_EQ(with_marks.resources()["marks"], true);
  StageResult both;
  with_marks.process(record, both);
  ASSERT_EQ(both.clues.size(), 2u);
  EXPECT_EQ(both.clues[0].value, "starmark");
  EXPECT_EQ(both.clues[1].value, "gridco");
}

// The graph runs the matching beside OCR (before_ocr) and the rest after it (after_ocr). The matching must not
// read the OCR's clues, and the two parts must give what process() gives: the check against printed words
// (here a mark covered by words read as another name, with every feature match open to the check) and the
// wordmarks, merged with a mark of the same brand, are done after OCR.
TEST_F(LogoCatalogue, TheMatchingBeforeOcrNeedsNoOcrAndBothPartsGiveWhatProcessGives) {
  write_index(index, catalogue.index_file());
  LogoStage stage(test::options_from_yaml<LogoOptions>("catalogue: " + (dir / "catalogue.yaml").string() +
                                                       "\ntext_check_keep_inliers: 100000\n"));
  stage.prepare();
  ASSERT_TRUE(stage.splits_around_ocr());
  cv::Mat img = scene(3);
  paste(img, recolour(render_reference_bgra(dir / "refs" / "star.svg", std::nullopt, 200), {120, 20, 10}), {400, 400}, 10, 0.1);
  paste(img, recolour(render_reference_bgra(dir / "refs" / "star.svg", std::nullopt, 200), {120, 20, 10}), {1000, 400}, 0, 0.0);
  auto word = [](const std::string& text, double confidence, float x0, float y0, float x1, float y1) {
    return Word{text, confidence, {cv::Point2f(x0, y0), {x1, y0}, {x1, y1}, {x0, y1}}, /*dictionary=*/true};
  };
  Clue line;  // the mark's own name beside the first mark; words read as another name over the second
  line.kind = ClueKind::text;
  line.value = "KONZUM Starmark";
  line.confidence = 0.9;
  line.words = {word("Starmark", 0.9, 300, 500, 500, 540), word("KONZUM", 0.9, 890, 290, 1110, 510)};
  const auto same = [](const std::vector<Clue>& a, const std::vector<Clue>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (a[i].value != b[i].value || a[i].box.has_value() != b[i].box.has_value() ||
          (a[i].box && (a[i].box->x != b[i].box->x || a[i].box->y != b[i].box->y ||
                        a[i].box->width != b[i].box->width || a[i].box->height != b[i].box->height)) ||
          a[i].confidence != b[i].confidence ||
          a[i].details != b[i].details)
        return false;
    return true;
  };
  const auto describe = [](const std::vector<Clue>& clues) {
    std::string out;
    for (const auto& c : clues) out += c.value + " " + (c.box ? std::to_string(c.box->x) + "," + std::to_string(c.box->y) : "-") + " " + c.details.dump() + "\n";
    return out;
  };

  auto whole = test::decoded_record(img);
  whole.stage_results[static_cast<std::size_t>(StageKind::ocr)].clues = {line};
  StageResult whole_out;
  stage.process(whole, whole_out);

  auto parts = test::decoded_record(img);  // no OCR yet: the matching cannot have read it
  StageResult parts_out;
  stage.before_ocr(parts, parts_out);
  const auto matched = parts_out.clues;
  parts.stage_results[static_cast<std::size_t>(StageKind::ocr)].clues = {line};
  stage.after_ocr(parts, parts_out);

  // Before OCR: both marks (the turned one by its silhouette, the other by its features). After: the one
  // covered by other words dropped, the other merged with its name read beside it.
  ASSERT_EQ(matched.size(), 2u) << describe(matched);
  ASSERT_EQ(parts_out.clues.size(), 1u) << describe(parts_out.clues);
  EXPECT_EQ(parts_out.clues[0].value, "starmark");
  EXPECT_EQ(parts_out.clues[0].details["method"], "shape+wordmark") << describe(parts_out.clues);
  EXPECT_LT(parts_out.clues[0].box->x, 700);
  EXPECT_TRUE(same(whole_out.clues, parts_out.clues)) << "process():\n" << describe(whole_out.clues)
                                                      << "parts:\n" << describe(parts_out.clues);
}

// A real photo (FlickrLogos-27, from ../shared when present): a Vodafone shop front whose mark, a grey
// ring with a speech-mark hole on a red fascia, has a plain round outline. Dozens of catalogue marks
// have one; the shape matcher must rank them by their holes and notches to propose the right one.
TEST(LogoShapes, APlainRoundMarkInARealPhotoIsProposedByItsHole) {
  const fs::path photo = test::shared_dir() / "data" / "flickrlogos27" / "images" / "2656406197.jpg";
  const fs::path catalogue = test::source_dir() / "models" / "logos" / "catalogue.yaml";
  if (!fs::is_regular_file(photo)) GTEST_SKIP() << photo << " is absent (../shared/data is not here)";
  if (!fs::is_regular_file(catalogue.string() + ".index")) GTEST_SKIP() << "the default catalogue is not built (./test.sh builds it)";
  const auto cat = load_catalogue(catalogue);
  const Matcher matcher(read_index(cat.index_file()), MatchOptions{});
  std::vector<std::string> trace;
  const auto found = matcher.match(cv::imread(photo.string(), cv::IMREAD_COLOR), &trace);
  const auto it = std::find_if(found.begin(), found.end(), [](const Detection& d) { return d.brand == "vodafone"; });
  ASSERT_NE(it, found.end()) << lines(trace);
  EXPECT_EQ(it->method, "shape");
  EXPECT_GT(iou(bounds(it->quad), cv::Rect2f(111, 9, 74, 71)), 0.6);  // the dataset's box of the mark
  for (const auto& d : found) EXPECT_EQ(d.brand, "vodafone") << "a second brand in a photo of one";
}


// A fine green mesh in a real street photo drew 55 chance matches to the Bentley wings, 8 of which fit
// one similarity (the fallback placement for a wordmark's matches along one line). A similarity must
// explain a share of the matches that a true wordmark's do (all of them on FlickrLogos-27): the mesh is
// no mark, and the same holds for the same Bentley reference on a FlickrLogos-27 photo of the NBC mark.
TEST(LogoFeatures, AFewMatchesOfARepetitiveTextureFittingASimilarityAreNoMark) {
  const fs::path catalogue = test::source_dir() / "models" / "logos" / "catalogue.yaml";
  const std::vector<fs::path> photos{test::shared_dir() / "data" / "icdar2003-scene" / "images" / "ryoungt_13.08.2002_fPICT0001.JPG",
                                     test::shared_dir() / "data" / "flickrlogos27" / "images" / "3728967967.jpg"};
  for (const auto& photo : photos)
    if (!fs::is_regular_file(photo)) GTEST_SKIP() << photo << " is absent (../shared/data is not here)";
  if (!fs::is_regular_file(catalogue.string() + ".index")) GTEST_SKIP() << "the default catalogue is not built (./test.sh builds it)";
  const auto cat = load_catalogue(catalogue);
  const Matcher matcher(read_index(cat.index_file()), MatchOptions{});
  for (const auto& photo : photos) {
    std::vector<std::string> trace;
    const auto found = matcher.match(cv::imread(photo.string(), cv::IMREAD_COLOR), &trace);
    // The candidate is still looked at (the test would pass vacuously if the matches were gone) ...
    EXPECT_TRUE(std::any_of(trace.begin(), trace.end(), [](const std::string& t) { return t.rfind("bentley bentley.svg", 0) == 0; }))
        << photo << "\n" << lines(trace);
    // ... and refused.
    for (const auto& d : found) EXPECT_NE(d.brand, "bentley") << photo << "\n" << lines(trace);
  }
}

}  // namespace
}  // namespace cluetrace::logo
