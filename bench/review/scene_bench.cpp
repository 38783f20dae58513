// Benchmark of scene matching across images (pipeline/case/scenes.hpp) on real photographs.
//
// Each photo A gets a second view B: a random perspective change (turn, scale, tilt, shift), a change of light,
// JPEG re-encoding, and a different pasted "clue" panel in each view (masked out, as the graph masks clue
// regions; the objects the dataset's truth.jsonl boxes, text and logos, are masked too, as the pipeline masks
// the clues it finds). The truth: A and its own B are one scene; any two different photos are not. Every method sees all
// 2N pictures together and reports the pairs it links:
//   - cluetrace, exhaustive: every pair verified (ORB + homography), what cases under 64 images get;
//   - cluetrace, indexed: candidates from the LSH index over all features, then verified (larger cases);
//   - baseline: perceptual hash (OpenCV img_hash PHash) within a Hamming distance (6 and 10 of 64 bits).
//
//   scene_bench [--max N] [--seed S] [--features F] [--min-inliers M] [--exhaustive-max P] FOLDER...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/case/scenes.hpp"

namespace fs = std::filesystem;
using cluetrace::SceneSignature;

namespace {

struct Score {
  std::size_t tp = 0, fp = 0, fn = 0;
  double precision() const { return tp + fp ? static_cast<double>(tp) / static_cast<double>(tp + fp) : 1.0; }
  double recall() const { return tp + fn ? static_cast<double>(tp) / static_cast<double>(tp + fn) : 1.0; }
  double f1() const { return precision() + recall() > 0 ? 2 * precision() * recall() / (precision() + recall()) : 0.0; }
};

Score score(const std::set<std::pair<std::size_t, std::size_t>>& found, std::size_t photos) {
  Score s;
  for (const auto& [a, b] : found) {
    if (a / 2 == b / 2) ++s.tp; else ++s.fp;
  }
  s.fn = photos - s.tp;
  return s;
}

// A panel of dark strokes on a light plate, like a flyer or label: the clue region of the view.
cv::Rect paste_panel(cv::Mat& img, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  const int w = std::max(40, static_cast<int>(img.cols * (0.15 + 0.15 * u(rng))));
  const int h = std::max(20, static_cast<int>(img.rows * (0.08 + 0.1 * u(rng))));
  const cv::Rect r(static_cast<int>(u(rng) * (img.cols - w)), static_cast<int>(u(rng) * (img.rows - h)), w, h);
  img(r).setTo(cv::Scalar(235, 235, 235));
  for (int line = 0; line < 3; ++line) {
    const int y = r.y + (line + 1) * h / 4;
    for (int x = r.x + 6; x < r.x + w - 12; x += 9 + static_cast<int>(u(rng) * 6)) {
      cv::line(img, {x, y - 4}, {x + 5, y + 4}, cv::Scalar(30, 30, 30), 2);
    }
  }
  return r;
}

// The objects the pipeline would find and mask (text and logo boxes of the dataset's truth.jsonl), by file name.
std::map<std::string, std::vector<cv::Rect>> truth_boxes(const fs::path& folder) {
  std::map<std::string, std::vector<cv::Rect>> out;
  std::ifstream in(fs::exists(folder / "truth.jsonl") ? folder / "truth.jsonl" : folder.parent_path() / "truth.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    auto& boxes = out[j.value("image", "")];
    for (const char* key : {"texts", "logos", "barcodes"}) {
      if (!j.contains(key)) continue;
      for (const auto& o : j[key]) {
        if (o.contains("box")) boxes.emplace_back(o["box"][0].get<int>(), o["box"][1].get<int>(), o["box"][2].get<int>(), o["box"][3].get<int>());
      }
    }
  }
  return out;
}

cv::Rect warp_box(const cv::Rect& r, const cv::Mat& h) {
  std::vector<cv::Point2f> corners{{static_cast<float>(r.x), static_cast<float>(r.y)},
                                   {static_cast<float>(r.x + r.width), static_cast<float>(r.y)},
                                   {static_cast<float>(r.x + r.width), static_cast<float>(r.y + r.height)},
                                   {static_cast<float>(r.x), static_cast<float>(r.y + r.height)}};
  cv::perspectiveTransform(corners, corners, h);
  return cv::boundingRect(corners);
}

cv::Mat second_view(const cv::Mat& a, std::mt19937& rng, cv::Mat& homography) {
  std::uniform_real_distribution<double> u(-1, 1);
  const double angle = 8 * u(rng) * CV_PI / 180, scale = 0.95 + 0.15 * u(rng);
  const cv::Point2f c(static_cast<float>(a.cols) / 2, static_cast<float>(a.rows) / 2);
  std::vector<cv::Point2f> from{{0, 0}, {static_cast<float>(a.cols), 0}, {static_cast<float>(a.cols), static_cast<float>(a.rows)}, {0, static_cast<float>(a.rows)}};
  std::vector<cv::Point2f> to;
  for (const auto& p : from) {
    const cv::Point2f d = p - c;
    cv::Point2f q(static_cast<float>(scale * (d.x * std::cos(angle) - d.y * std::sin(angle))),
                  static_cast<float>(scale * (d.x * std::sin(angle) + d.y * std::cos(angle))));
    // Perspective: each corner moves on its own by up to 6 % of the side; the whole view shifts by up to 8 %.
    q += cv::Point2f(static_cast<float>(0.06 * a.cols * u(rng)), static_cast<float>(0.06 * a.rows * u(rng)));
    to.push_back(c + q);
  }
  const cv::Point2f shift(static_cast<float>(0.08 * a.cols * u(rng)), static_cast<float>(0.08 * a.rows * u(rng)));
  for (auto& p : to) p += shift;
  cv::Mat b;
  homography = cv::getPerspectiveTransform(from, to);
  cv::warpPerspective(a, b, homography, a.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
  b.convertTo(b, -1, 1.0 + 0.2 * u(rng), 20 * u(rng));
  std::vector<uchar> jpeg;
  cv::imencode(".jpg", b, jpeg, {cv::IMWRITE_JPEG_QUALITY, 70});
  return cv::imdecode(jpeg, cv::IMREAD_COLOR);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t max_photos = 1000;
  unsigned seed = 2026;
  int features = 600, min_inliers = 20;
  std::size_t exhaustive_max = 300;  // pictures; above this only the indexed path runs (the exhaustive one is quadratic)
  std::vector<fs::path> folders;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--max" && i + 1 < argc) max_photos = std::stoul(argv[++i]);
    else if (arg == "--seed" && i + 1 < argc) seed = static_cast<unsigned>(std::stoul(argv[++i]));
    else if (arg == "--features" && i + 1 < argc) features = std::stoi(argv[++i]);
    else if (arg == "--min-inliers" && i + 1 < argc) min_inliers = std::stoi(argv[++i]);
    else if (arg == "--exhaustive-max" && i + 1 < argc) exhaustive_max = std::stoul(argv[++i]);
    else folders.emplace_back(arg);
  }
  std::vector<fs::path> photos;
  std::map<std::string, std::vector<cv::Rect>> objects;
  for (const auto& folder : folders) {
    objects.merge(truth_boxes(folder));
    for (const auto& e : fs::recursive_directory_iterator(folder)) {
      const auto ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".jpg" || ext == ".JPG" || ext == ".jpeg" || ext == ".png")) photos.push_back(e.path());
    }
  }
  std::sort(photos.begin(), photos.end());
  if (photos.size() > max_photos) photos.resize(max_photos);
  std::mt19937 rng(seed);
  std::vector<SceneSignature> signatures;
  std::vector<double> signature_ms;
  std::vector<fs::path> used;
  std::vector<double> background_share;  // per photo: the share of view A outside its objects and panel
  for (const auto& path : photos) {
    cv::Mat a = cv::imread(path.string(), cv::IMREAD_COLOR);
    if (a.empty() || std::min(a.cols, a.rows) < 200) continue;
    const double f = std::min(1.0, 1600.0 / std::max(a.cols, a.rows));
    if (f < 1) cv::resize(a, a, {}, f, f, cv::INTER_AREA);
    cv::Mat h;
    cv::Mat b = second_view(a, rng, h);
    std::vector<cluetrace::Box> in_a, in_b;
    for (const auto& r : objects[path.filename().string()]) {
      const cv::Rect ra(static_cast<int>(r.x * f), static_cast<int>(r.y * f), static_cast<int>(r.width * f), static_cast<int>(r.height * f));
      const cv::Rect rb = warp_box(ra, h);
      in_a.push_back({ra.x, ra.y, ra.width, ra.height});
      in_b.push_back({rb.x, rb.y, rb.width, rb.height});
    }
    const cv::Rect pa = paste_panel(a, rng), pb = paste_panel(b, rng);
    {
      cv::Mat free(a.size(), CV_8U, cv::Scalar(1));
      for (const auto& box : in_a) free(cv::Rect(box.x, box.y, box.width, box.height) & cv::Rect(0, 0, a.cols, a.rows)).setTo(0);
      free(pa).setTo(0);
      background_share.push_back(static_cast<double>(cv::countNonZero(free)) / static_cast<double>(free.total()));
    }
    in_a.push_back({pa.x, pa.y, pa.width, pa.height});
    in_b.push_back({pb.x, pb.y, pb.width, pb.height});
    for (const auto& [img, masked] : {std::pair{&a, &in_a}, std::pair{&b, &in_b}}) {
      const auto start = std::chrono::steady_clock::now();
      signatures.push_back(cluetrace::scene_signature(*img, *masked, features));
      signature_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    used.push_back(path);
  }
  const std::size_t n = used.size();
  fmt::print("photos: {} (pictures: {}), seed {}, features {}, min inliers {}\n", n, signatures.size(), seed, features, min_inliers);
  fmt::print("signature: median {:.1f} ms per picture\n", median(signature_ms));
  {
    // How much the two views of each photo agree: the distribution the min-inliers threshold cuts.
    std::vector<double> inliers, points;
    for (std::size_t i = 0; i + 1 < signatures.size(); i += 2) {
      inliers.push_back(cluetrace::verify_scene_pair(signatures[i], signatures[i + 1]));
      if (std::getenv("SCENE_BENCH_VERBOSE")) {
        fmt::print("  {:<40} inliers {:4} features {} / {}\n", used[i / 2].filename().string(), inliers.back(),
                   signatures[i].points.size(), signatures[i + 1].points.size());
      }
      points.push_back(static_cast<double>(signatures[i].points.size()));
    }
    std::sort(inliers.begin(), inliers.end());
    auto q = [&](double p) { return inliers.empty() ? 0.0 : inliers[static_cast<std::size_t>(p * static_cast<double>(inliers.size() - 1))]; };
    fmt::print("inliers between the two views of a photo: p10 {} p25 {} median {} p75 {}; background features median {}\n",
               q(0.1), q(0.25), q(0.5), q(0.75), median(points));
  }

  auto report = [&](const std::string& name, const std::set<std::pair<std::size_t, std::size_t>>& found, double seconds) {
    const auto s = score(found, n);
    std::size_t with_background = 0, found_with_background = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (background_share[i] < 0.5) continue;
      ++with_background;
      found_with_background += found.contains({2 * i, 2 * i + 1});
    }
    fmt::print("{:<28} precision {:.3f}  recall {:.3f}  F1 {:.3f}  (tp {}, fp {}, fn {})  recall where half the photo is "
               "background {:.3f} ({} of {})  {:.2f} s\n",
               name, s.precision(), s.recall(), s.f1(), s.tp, s.fp, s.fn,
               with_background ? static_cast<double>(found_with_background) / static_cast<double>(with_background) : 0.0,
               found_with_background, with_background, seconds);
    for (const auto& [a, b] : found) {
      if (a / 2 != b / 2) fmt::print("    false link: {} ~ {}\n", used[a / 2].filename().string(), used[b / 2].filename().string());
    }
  };
  for (const std::size_t exhaustive_below : {std::size_t{1} << 30, std::size_t{0}}) {
    if (exhaustive_below > 0 && signatures.size() > exhaustive_max) continue;
    cluetrace::SceneMatchOptions options;
    options.min_inliers = min_inliers;
    options.exhaustive_below = exhaustive_below;
    const auto start = std::chrono::steady_clock::now();
    std::size_t verified = 0;
    const auto matches = cluetrace::match_scenes(signatures, options, &verified);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print("{} pairs verified\n", verified);
    std::set<std::pair<std::size_t, std::size_t>> found;
    for (const auto& m : matches) found.insert({m.a, m.b});
    report(exhaustive_below ? "cluetrace exhaustive" : "cluetrace indexed (LSH)", found, seconds);
  }
  for (const int threshold : {6, 10}) {
    const auto start = std::chrono::steady_clock::now();
    std::set<std::pair<std::size_t, std::size_t>> found;
    for (std::size_t a = 0; a < signatures.size(); ++a)
      for (std::size_t b = a + 1; b < signatures.size(); ++b)
        if (cluetrace::hash_distance(signatures[a].phash, signatures[b].phash) <= threshold) found.insert({a, b});
    report(fmt::format("baseline pHash <= {}", threshold), found,
           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return 0;
}
