// Generated scenes for measuring query by example ("where else does this object appear?"): objects (made-up
// product packs: coloured panels, words, stripes, marks and grain) are each placed into several different rooms,
// seen from different angles and distances under different light, among clutter that is not any of them. Other
// rooms hold only clutter. truth.json lists every placement with its outline.
//
//   make_object_scenes --out DIR [--objects 12] [--views 3] [--distractors 24] [--seed 7] [--size 1600x1200]
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace fs = std::filesystem;

namespace {

const char* const kWords[] = {"FRESH", "BIO", "Milch", "Kaffee", "Tomates", "PASTA", "Zeep", "Sapone", "Crema", "Chips",
                              "Tee", "Honig", "Riz", "Jus", "Brot", "Soep", "Olio", "Caf\xc3\xa9", "Melk", "Salz"};

struct Rng {
  std::mt19937_64 engine;
  explicit Rng(std::uint64_t seed) : engine(seed) {}
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(engine); }
  double real(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(engine); }
  cv::Scalar colour() { return cv::Scalar(uniform(0, 255), uniform(0, 255), uniform(0, 255)); }
};

// A made-up product pack, about 300 x 400 pixels, different for every seed.
cv::Mat make_object(Rng& rng) {
  const cv::Size size(rng.uniform(240, 360), rng.uniform(300, 440));
  cv::Mat img(size, CV_8UC3, rng.colour());
  for (int i = 0; i < 3; ++i) {  // colour panels
    const int y = rng.uniform(0, size.height - 40);
    cv::rectangle(img, cv::Rect(0, y, size.width, rng.uniform(20, 90)), rng.colour(), cv::FILLED);
  }
  for (int i = 0; i < 12; ++i) {  // stripes, rings and marks
    const cv::Point p(rng.uniform(0, size.width), rng.uniform(0, size.height));
    switch (i % 3) {
      case 0: cv::line(img, p, p + cv::Point(rng.uniform(-120, 120), rng.uniform(-30, 30)), rng.colour(), rng.uniform(2, 7)); break;
      case 1: cv::circle(img, p, rng.uniform(8, 40), rng.colour(), rng.uniform(2, 6)); break;
      default: {
        std::vector<cv::Point> star;
        const int n = rng.uniform(3, 7), r = rng.uniform(12, 36);
        for (int k = 0; k < n; ++k) {
          const double a = 2 * CV_PI * k / n + rng.real(0, 0.5);
          star.emplace_back(p.x + static_cast<int>(r * std::cos(a)), p.y + static_cast<int>(r * std::sin(a)));
        }
        cv::fillConvexPoly(img, star, rng.colour());
      }
    }
  }
  for (int i = 0; i < 4; ++i) {  // words
    const std::string word = kWords[rng.uniform(0, 19)];
    cv::putText(img, word, cv::Point(rng.uniform(5, size.width / 3), rng.uniform(30, size.height - 10)),
                rng.uniform(0, 1) ? cv::FONT_HERSHEY_DUPLEX : cv::FONT_HERSHEY_TRIPLEX, rng.real(0.8, 1.6), rng.colour(), rng.uniform(1, 3));
  }
  cv::Mat grain(size, CV_8UC3);
  cv::randn(grain, cv::Scalar::all(0), cv::Scalar::all(10));
  img += grain;
  cv::rectangle(img, cv::Rect(0, 0, size.width, size.height), cv::Scalar(30, 30, 30), 3);
  return img;
}

// A textured room: graded walls, furniture-like blocks, shelves, noise.
cv::Mat make_room(Rng& rng, cv::Size size) {
  cv::Mat img(size, CV_8UC3);
  const cv::Scalar top = rng.colour(), bottom = rng.colour();
  for (int y = 0; y < size.height; ++y) img.row(y).setTo(top + (bottom - top) * (static_cast<double>(y) / size.height));
  for (int i = 0; i < 90; ++i) {
    const cv::Point p(rng.uniform(0, size.width), rng.uniform(0, size.height));
    switch (i % 4) {
      case 0: cv::rectangle(img, cv::Rect(p, cv::Size(rng.uniform(30, 260), rng.uniform(30, 200))), rng.colour(), cv::FILLED); break;
      case 1: cv::circle(img, p, rng.uniform(10, 80), rng.colour(), cv::FILLED); break;
      case 2: cv::line(img, p, p + cv::Point(rng.uniform(-300, 300), rng.uniform(-40, 40)), rng.colour(), rng.uniform(2, 10)); break;
      default: cv::ellipse(img, p, cv::Size(rng.uniform(10, 90), rng.uniform(5, 40)), rng.uniform(0, 180), 0, 360, rng.colour(), 3);
    }
  }
  cv::Mat noise(size, CV_8UC3);
  cv::randn(noise, cv::Scalar::all(0), cv::Scalar::all(7));
  img += noise;
  cv::GaussianBlur(img, img, {3, 3}, 0);
  return img;
}

// Pastes `object` into `room` seen at an angle; returns its outline in the room.
std::vector<cv::Point2f> place(cv::Mat& room, const cv::Mat& object, Rng& rng, double scale_lo, double scale_hi) {
  const double scale = rng.real(scale_lo, scale_hi);
  const float w = static_cast<float>(object.cols * scale), h = static_cast<float>(object.rows * scale);
  const float x = static_cast<float>(rng.real(40, room.cols - static_cast<double>(w) - 40));
  const float y = static_cast<float>(rng.real(40, room.rows - static_cast<double>(h) - 40));
  const float jitter = 0.12f * std::min(w, h);
  auto j = [&] { return static_cast<float>(rng.real(-jitter, jitter)); };
  const std::vector<cv::Point2f> from{{0, 0}, {static_cast<float>(object.cols), 0},
                                      {static_cast<float>(object.cols), static_cast<float>(object.rows)}, {0, static_cast<float>(object.rows)}};
  std::vector<cv::Point2f> to{{x + j(), y + j()}, {x + w + j(), y + j()}, {x + w + j(), y + h + j()}, {x + j(), y + h + j()}};
  // Turned a little about its centre.
  const cv::Point2f centre(x + w / 2, y + h / 2);
  const double angle = rng.real(-0.35, 0.35);
  for (auto& p : to) {
    const cv::Point2f d = p - centre;
    p = centre + cv::Point2f(static_cast<float>(d.x * std::cos(angle) - d.y * std::sin(angle)), static_cast<float>(d.x * std::sin(angle) + d.y * std::cos(angle)));
  }
  const cv::Mat m = cv::getPerspectiveTransform(from, to);
  cv::Mat lit;
  object.convertTo(lit, -1, rng.real(0.75, 1.2), rng.real(-25, 25));  // other light
  cv::Mat warped, mask;
  cv::warpPerspective(lit, warped, m, room.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT);
  cv::warpPerspective(cv::Mat(object.size(), CV_8U, cv::Scalar(255)), mask, m, room.size(), cv::INTER_NEAREST);
  warped.copyTo(room, mask);
  return to;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path out;
  int objects = 12, views = 3, distractors = 24;
  std::uint64_t seed = 7;
  cv::Size size(1600, 1200);
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--out") out = value;
    else if (key == "--objects") objects = std::stoi(value);
    else if (key == "--views") views = std::stoi(value);
    else if (key == "--distractors") distractors = std::stoi(value);
    else if (key == "--seed") seed = std::stoull(value);
    else if (key == "--size") size = cv::Size(std::stoi(value.substr(0, value.find('x'))), std::stoi(value.substr(value.find('x') + 1)));
    else {
      std::cerr << "unknown option " << key << "\n";
      return 2;
    }
  }
  if (out.empty()) {
    std::cerr << "usage: make_object_scenes --out DIR [--objects N] [--views V] [--distractors D] [--seed S] [--size WxH]\n";
    return 2;
  }
  fs::create_directories(out);
  Rng rng(seed);
  std::vector<cv::Mat> packs;
  for (int o = 0; o < objects; ++o) packs.push_back(make_object(rng));
  nlohmann::json truth{{"objects", nlohmann::json::array()}, {"distractors", nlohmann::json::array()}};
  int scene = 0;
  auto clutter = [&](cv::Mat& room) {
    for (int k = 0; k < 2; ++k) place(room, make_object(rng), rng, 0.5, 0.9);  // packs that are none of the objects
  };
  auto save = [&](const cv::Mat& room) {
    const std::string name = fmt::format("scene-{:03}.jpg", scene++);
    cv::Mat seen = room;
    cv::GaussianBlur(room, seen, {3, 3}, rng.real(0.3, 1.0));
    cv::imwrite((out / name).string(), seen, {cv::IMWRITE_JPEG_QUALITY, rng.uniform(80, 95)});
    return name;
  };
  std::vector<nlohmann::json> placements(static_cast<std::size_t>(objects), nlohmann::json::array());
  for (int v = 0; v < views; ++v) {
    for (int o = 0; o < objects; ++o) {
      cv::Mat room = make_room(rng, size);
      clutter(room);
      const auto outline = place(room, packs[static_cast<std::size_t>(o)], rng, 0.6, 1.3);
      const cv::Rect box = cv::boundingRect(outline);
      nlohmann::json polygon = nlohmann::json::array();
      for (const auto& p : outline) polygon.push_back({std::lround(p.x), std::lround(p.y)});
      placements[static_cast<std::size_t>(o)].push_back({{"file", save(room)}, {"box", {box.x, box.y, box.width, box.height}}, {"polygon", polygon}});
    }
  }
  for (int o = 0; o < objects; ++o) truth["objects"].push_back({{"name", fmt::format("object-{:02}", o)}, {"placements", placements[static_cast<std::size_t>(o)]}});
  for (int d = 0; d < distractors; ++d) {
    cv::Mat room = make_room(rng, size);
    clutter(room);
    truth["distractors"].push_back(save(room));
  }
  std::ofstream(out / "truth.json") << truth.dump(2) << "\n";
  std::cerr << fmt::format("wrote {} scenes ({} objects x {} views, {} with clutter only) to {}\n", scene, objects, views, distractors, out.string());
  return 0;
}
