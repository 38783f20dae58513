// Synthetic scenes for the logo benchmark: catalogue marks composited onto busy generated backgrounds
// (or onto real photos given with --backgrounds), scaled, rotated, warped, recoloured, blurred, partly
// occluded and JPEG-compressed, plus scenes with no mark at all. Writes DIR/images/*.jpg and
// DIR/truth.jsonl ({"image", "logos": [{"brand", "box"}]}, the shape of shared/data's truth files).
//
//   make_logo_scenes --catalogue models/logos/catalogue.yaml --out DIR [--count 200] [--seed 1]
//                    [--empty-share 0.3] [--backgrounds FOLDER]
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "stages/logo/catalogue.hpp"

namespace fs = std::filesystem;
using cluetrace::logo::Brand;

namespace {

std::mt19937 rng;
double uni(double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng); }
int pick(int a, int b) { return std::uniform_int_distribution<int>(a, b)(rng); }
cv::Scalar random_colour() { return cv::Scalar(pick(0, 255), pick(0, 255), pick(0, 255)); }

cv::Vec3b hex_colour(const std::string& hex) {
  const unsigned v = static_cast<unsigned>(std::stoul(hex.substr(1), nullptr, 16));
  return cv::Vec3b(static_cast<uchar>(v & 0xFF), static_cast<uchar>((v >> 8) & 0xFF), static_cast<uchar>((v >> 16) & 0xFF));
}

// A cluttered room-like background: gradients, furniture-like blocks, stripes, words, texture.
cv::Mat generated_background(cv::Size size) {
  cv::Mat bg(size, CV_8UC3);
  const cv::Scalar a = random_colour(), b = random_colour();
  for (int y = 0; y < size.height; ++y) {
    const double t = static_cast<double>(y) / size.height;
    bg.row(y).setTo(a * (1 - t) + b * t);
  }
  for (int i = 0, n = pick(6, 20); i < n; ++i) {
    const cv::Point p(pick(0, size.width), pick(0, size.height));
    const cv::Size s(pick(40, size.width / 2), pick(40, size.height / 2));
    if (pick(0, 1)) cv::rectangle(bg, cv::Rect(p, s), random_colour(), cv::FILLED);
    else cv::ellipse(bg, p, s / 2, uni(0, 180), 0, 360, random_colour(), cv::FILLED);
  }
  for (int i = 0, n = pick(5, 30); i < n; ++i)
    cv::line(bg, {pick(0, size.width), pick(0, size.height)}, {pick(0, size.width), pick(0, size.height)}, random_colour(), pick(1, 6));
  static const std::vector<std::string> words{"Kitchen", "SALE", "Milk 1L", "Shampoo", "24.99", "Bio", "Organic", "Tea",
                                              "Express", "Open", "www", "Hotel", "Coffee", "Nord", "Sud", "Cafe"};
  for (int i = 0, n = pick(2, 10); i < n; ++i)
    cv::putText(bg, words[pick(0, static_cast<int>(words.size()) - 1)], {pick(0, size.width - 100), pick(20, size.height)},
                pick(0, 7), uni(0.6, 2.5), random_colour(), pick(1, 4));
  cv::Mat noise(size, CV_8UC3);
  cv::randn(noise, cv::Scalar::all(0), cv::Scalar::all(uni(2, 12)));
  bg += noise;
  return bg;
}

cv::Mat photo_background(const std::vector<fs::path>& photos, cv::Size size) {
  cv::Mat img = cv::imread(photos[pick(0, static_cast<int>(photos.size()) - 1)].string(), cv::IMREAD_COLOR);
  if (img.empty()) return generated_background(size);
  const double s = std::max(static_cast<double>(size.width) / img.cols, static_cast<double>(size.height) / img.rows);
  cv::resize(img, img, cv::Size(), s, s, cv::INTER_AREA);
  return img(cv::Rect((img.cols - size.width) / 2, (img.rows - size.height) / 2, size.width, size.height)).clone();
}

// The mark as a colour patch with alpha: brand colour, white on a brand-colour plate, or recoloured.
double luminance(cv::Vec3b c) { return 0.114 * c[0] + 0.587 * c[1] + 0.299 * c[2]; }

// A mark on a plate (a label, a sign, a bag): the plate colour is the given one.
cv::Mat on_plate(const cv::Mat& bgra, cv::Vec3b plate_colour, int side) {
  const int m = std::max(6, side / 8);
  cv::Mat plate(bgra.rows + 2 * m, bgra.cols + 2 * m, CV_8UC4, cv::Scalar(plate_colour[0], plate_colour[1], plate_colour[2], 255));
  for (int y = 0; y < bgra.rows; ++y)
    for (int x = 0; x < bgra.cols; ++x) {
      const auto s = bgra.at<cv::Vec4b>(y, x);
      auto& d = plate.at<cv::Vec4b>(y + m, x + m);
      const double a = s[3] / 255.0;
      for (int c = 0; c < 3; ++c) d[c] = cv::saturate_cast<uchar>(s[c] * a + d[c] * (1 - a));
    }
  return plate;
}

// Marks printed straight onto a surface keep a readable contrast with it (as designers make sure); where
// the ink would vanish into the background, the mark gets a plate, as on a label or a sign.
cv::Mat styled_mark(const cluetrace::logo::Catalogue& cat, const Brand& brand, int side, std::string& style,
                    double background_luminance) {
  const auto& ref = brand.references[pick(0, static_cast<int>(brand.references.size()) - 1)];
  cv::Mat bgra = cluetrace::logo::render_reference_bgra(cat.resolve(ref.file), ref.box, side);
  const bool opaque = cv::countNonZero(bgra.reshape(4).reshape(1).col(3) < 255) == 0;
  if (opaque) {
    style = "photo";
    return bgra;
  }
  const cv::Vec3b brand_colour = brand.colours.empty() ? cv::Vec3b(30, 30, 30) : hex_colour(brand.colours[0]);
  const double r = uni(0, 1);
  cv::Vec3b ink = brand_colour;
  style = "brand-colour";
  if (r > 0.75) {
    const cv::Scalar c = random_colour();
    ink = cv::Vec3b(static_cast<uchar>(c[0]), static_cast<uchar>(c[1]), static_cast<uchar>(c[2]));
    style = "recoloured";
  }
  for (int y = 0; y < bgra.rows; ++y)
    for (int x = 0; x < bgra.cols; ++x) {
      auto& p = bgra.at<cv::Vec4b>(y, x);
      p = cv::Vec4b(ink[0], ink[1], ink[2], p[3]);
    }
  if (r > 0.5 && r <= 0.75) {
    // White mark on a plate of the brand colour (a sign, a bag, a label).
    for (int y = 0; y < bgra.rows; ++y)
      for (int x = 0; x < bgra.cols; ++x) {
        auto& p = bgra.at<cv::Vec4b>(y, x);
        p = cv::Vec4b(255, 255, 255, p[3]);
      }
    style = "white-on-plate";
    return on_plate(bgra, brand_colour, side);
  }
  if (std::abs(luminance(ink) - background_luminance) < 50) {
    style += "+plate";
    return on_plate(bgra, luminance(ink) < 128 ? cv::Vec3b(245, 245, 240) : cv::Vec3b(40, 35, 35), side);
  }
  return bgra;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"synthetic scenes with catalogue marks, for bench/logo"};
  std::string catalogue_file, out_dir, backgrounds;
  int count = 200;
  unsigned seed = 1;
  double empty_share = 0.3;
  app.add_option("--catalogue", catalogue_file)->required();
  app.add_option("--out", out_dir)->required();
  app.add_option("--count", count);
  app.add_option("--seed", seed);
  app.add_option("--empty-share", empty_share);
  app.add_option("--backgrounds", backgrounds, "folder of photos to use as backgrounds (default: generated)");
  CLI11_PARSE(app, argc, argv);
  rng.seed(seed);

  const auto cat = cluetrace::logo::load_catalogue(catalogue_file);
  std::vector<fs::path> photos;
  if (!backgrounds.empty())
    for (const auto& e : fs::recursive_directory_iterator(backgrounds))
      if (e.is_regular_file() && (e.path().extension() == ".jpg" || e.path().extension() == ".JPG" || e.path().extension() == ".png"))
        photos.push_back(e.path());
  std::sort(photos.begin(), photos.end());
  fs::create_directories(fs::path(out_dir) / "images");
  std::ofstream truth(fs::path(out_dir) / "truth.jsonl");
  for (int n = 0; n < count; ++n) {
    const int w = pick(1024, 1600);
    const cv::Size size(w, static_cast<int>(w * uni(0.6, 0.8)));
    cv::Mat scene = photos.empty() ? generated_background(size) : photo_background(photos, size);
    nlohmann::ordered_json logos = nlohmann::ordered_json::array();
    const int marks = uni(0, 1) < empty_share ? 0 : pick(1, 3);
    std::vector<cv::Rect> placed;
    for (int m = 0; m < marks; ++m) {
      const Brand& brand = cat.brands[pick(0, static_cast<int>(cat.brands.size()) - 1)];
      std::string style;
      const int side = pick(90, 360);
      // The place first (a square of the mark's side, apart from the marks already there): the surface
      // under it decides the ink contrast. The warped mark is then centred on it.
      const int pad = side * 3 / 4;
      if (size.width < side + 2 * pad || size.height < side + 2 * pad) continue;
      cv::Rect probe;
      bool ok = false;
      for (int attempt = 0; attempt < 30 && !ok; ++attempt) {
        probe = cv::Rect(pick(pad, size.width - side - pad), pick(pad, size.height - side - pad), side, side);
        const cv::Rect grown(probe.x - pad / 2, probe.y - pad / 2, side + pad, side + pad);
        ok = true;
        for (const auto& p : placed)
          if ((p & grown).area() > 0) ok = false;
      }
      if (!ok) continue;
      const cv::Scalar bg_mean = cv::mean(scene(probe));
      cv::Mat mark = styled_mark(cat, brand, side, style, 0.114 * bg_mean[0] + 0.587 * bg_mean[1] + 0.299 * bg_mean[2]);
      // Rotation, scale and perspective: the four corners moved, then one warp into the scene.
      const double angle = uni(-30, 30) * CV_PI / 180, jitter = uni(0, 0.12);
      const cv::Point2f c(static_cast<float>(mark.cols) / 2, static_cast<float>(mark.rows) / 2);
      std::vector<cv::Point2f> src{{0, 0}, {float(mark.cols), 0}, {float(mark.cols), float(mark.rows)}, {0, float(mark.rows)}}, dst;
      for (const auto& p : src) {
        const cv::Point2f d = p - c;
        cv::Point2f q(static_cast<float>(d.x * std::cos(angle) - d.y * std::sin(angle)),
                      static_cast<float>(d.x * std::sin(angle) + d.y * std::cos(angle)));
        q += cv::Point2f(static_cast<float>(uni(-jitter, jitter) * mark.cols), static_cast<float>(uni(-jitter, jitter) * mark.rows));
        dst.push_back(q);
      }
      const cv::Rect bb = cv::boundingRect(dst);
      const cv::Point centre(probe.x + side / 2, probe.y + side / 2);
      const cv::Rect where = cv::Rect(centre.x - bb.width / 2, centre.y - bb.height / 2, bb.width, bb.height) &
                             cv::Rect(0, 0, size.width, size.height);
      if (where.width != bb.width || where.height != bb.height) continue;  // would leave the picture
      for (auto& p : dst) p += cv::Point2f(static_cast<float>(where.x - bb.x), static_cast<float>(where.y - bb.y));
      const cv::Mat h = cv::getPerspectiveTransform(src, dst);
      cv::Mat warped;
      cv::warpPerspective(mark, warped, h, size, cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0, 0));
      // Partial occlusion by something in front of the mark.
      if (uni(0, 1) < 0.3) {
        const int ow = static_cast<int>(where.width * uni(0.15, 0.35)), oh = static_cast<int>(where.height * uni(0.3, 0.6));
        const cv::Rect occ(where.x + (pick(0, 1) ? 0 : where.width - ow), where.y + (pick(0, 1) ? 0 : where.height - oh), ow, oh);
        warped(occ & cv::Rect(0, 0, size.width, size.height)).setTo(cv::Scalar(0, 0, 0, 0));
        cv::rectangle(scene, occ, random_colour(), cv::FILLED);
      }
      for (int y = where.y; y < where.y + where.height; ++y)
        for (int x = where.x; x < where.x + where.width; ++x) {
          const auto s = warped.at<cv::Vec4b>(y, x);
          if (!s[3]) continue;
          auto& d = scene.at<cv::Vec3b>(y, x);
          const double a = s[3] / 255.0;
          for (int ch = 0; ch < 3; ++ch) d[ch] = cv::saturate_cast<uchar>(s[ch] * a + d[ch] * (1 - a));
        }
      placed.push_back(where);
      logos.push_back({{"brand", brand.id}, {"box", {where.x, where.y, where.width, where.height}}, {"style", style}});
    }
    const double sigma = uni(0, 1.4);
    if (sigma > 0.3) cv::GaussianBlur(scene, scene, cv::Size(), sigma);
    cv::Mat noise(size, CV_8UC3);
    cv::randn(noise, cv::Scalar::all(0), cv::Scalar::all(uni(0, 6)));
    scene += noise;
    const std::string name = fmt::format("logo_{:04d}.jpg", n);
    cv::imwrite((fs::path(out_dir) / "images" / name).string(), scene, {cv::IMWRITE_JPEG_QUALITY, pick(60, 92)});
    truth << nlohmann::ordered_json{{"image", name}, {"logos", logos}}.dump() << "\n";
  }
  std::cerr << fmt::format("{} scenes in {}\n", count, out_dir);
  return 0;
}
