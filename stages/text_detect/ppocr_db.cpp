#include "stages/text_detect/ppocr_db.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>
#include <opencv2/features2d.hpp>
#include <opencv2/imgproc.hpp>
#include <spdlog/spdlog.h>

#include "pipeline/digest.hpp"
#include "pipeline/imaging.hpp"
#include "pipeline/memory_gate.hpp"
#include "pipeline/models.hpp"
#include "pipeline/onnx_net.hpp"

namespace cluetrace::text_detect {
namespace {

constexpr const char* kDefaultModel = "ppocr-v4-det.onnx";
constexpr int kMinSide = 8;  // images narrower or lower than this hold no readable line

double norm(cv::Point2f p) { return std::hypot(p.x, p.y); }

cv::RotatedRect rect_of(const TextRegion& r) {
  return cv::minAreaRect(std::vector<cv::Point2f>(r.quad.begin(), r.quad.end()));
}

double text_height(const cv::RotatedRect& r) { return std::min(r.size.width, r.size.height); }

// Angle of the reading direction in degrees, folded into (-90, 90].
double reading_angle(const std::array<cv::Point2f, 4>& q) {
  const cv::Point2f d = q[1] - q[0];
  return std::atan2(d.y, d.x) * 180.0 / CV_PI;
}

}  // namespace

std::array<cv::Point2f, 4> text_quad(const cv::RotatedRect& box) {
  std::array<cv::Point2f, 4> p;
  box.points(p.data());
  const cv::Point2f e01 = p[1] - p[0], e12 = p[2] - p[1];
  cv::Point2f u = norm(e01) >= norm(e12) ? e01 : e12;  // along the line of text
  const double len = norm(u);
  if (len <= 0) return p;
  u *= static_cast<float>(1.0 / len);
  if (u.x < 0 || (std::abs(u.x) < 1e-6 && u.y < 0)) u = -u;  // read left to right (or top to bottom)
  const cv::Point2f n(-u.y, u.x);                             // points "down" the text
  std::array<cv::Point2f, 4> q{};
  for (const auto& c : p) {
    const cv::Point2f d = c - box.center;
    const bool right = d.dot(u) > 0, below = d.dot(n) > 0;
    q[right ? (below ? 2 : 1) : (below ? 3 : 0)] = c;
  }
  return q;
}

std::vector<TextRegion> boxes_from_probability(const cv::Mat& prob, const DbOptions& o) {
  cv::Mat binary = prob > o.bin_threshold;
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(binary, contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);
  std::vector<TextRegion> out;
  const cv::Rect full(0, 0, prob.cols, prob.rows);
  for (const auto& contour : contours) {
    if (contour.size() < 3) continue;
    const cv::RotatedRect box = cv::minAreaRect(contour);
    if (text_height(box) < o.min_box_side) continue;
    // Mean probability inside the contour: a faint blob is not text.
    const cv::Rect bounds = cv::boundingRect(contour) & full;
    cv::Mat mask = cv::Mat::zeros(bounds.size(), CV_8U);
    std::vector<std::vector<cv::Point>> shifted{contour};
    for (auto& pt : shifted[0]) pt -= bounds.tl();
    cv::fillPoly(mask, shifted, cv::Scalar(255));
    const double score = cv::mean(prob(bounds), mask)[0];
    if (score < o.box_threshold) continue;
    // DB predicts a shrunk kernel of each line; grow it back by area * ratio / perimeter.
    const double w = box.size.width, h = box.size.height;
    const double d = w * h * o.unclip_ratio / (2 * (w + h));
    const cv::RotatedRect grown(box.center, cv::Size2f(static_cast<float>(w + 2 * d), static_cast<float>(h + 2 * d)),
                                box.angle);
    if (text_height(grown) < o.min_box_side + 2) continue;
    out.push_back({text_quad(grown), score});
  }
  return out;
}

std::vector<TextRegion> merge_regions(std::vector<TextRegion> regions) {
  std::sort(regions.begin(), regions.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
  std::vector<TextRegion> kept;
  for (auto& candidate : regions) {
    bool merged = false;
    const auto rc = rect_of(candidate);
    for (auto& k : kept) {
      const auto rk = rect_of(k);
      std::vector<cv::Point2f> overlap;
      if (cv::rotatedRectangleIntersection(rc, rk, overlap) == cv::INTERSECT_NONE || overlap.size() < 3) continue;
      std::vector<cv::Point2f> hull;
      cv::convexHull(overlap, hull);
      const double inter = cv::contourArea(hull);
      const double smaller = std::min(rc.size.area(), rk.size.area());
      if (smaller <= 0 || inter / smaller < 0.5) continue;
      const double hc = text_height(rc), hk = text_height(rk);
      double angle_gap = std::abs(reading_angle(candidate.quad) - reading_angle(k.quad));
      angle_gap = std::min(angle_gap, 360 - angle_gap);
      if (std::max(hc, hk) > 1.6 * std::min(hc, hk) || angle_gap > 12) {
        // Overlapping but not the same line: keep the stronger one only when one nearly contains the other.
        if (inter / smaller > 0.85) merged = true;
        if (merged) break;
        continue;
      }
      // The same line seen twice (two passes, or cut by a tile border): keep the union.
      std::vector<cv::Point2f> points(k.quad.begin(), k.quad.end());
      points.insert(points.end(), candidate.quad.begin(), candidate.quad.end());
      k.quad = text_quad(cv::minAreaRect(points));
      merged = true;
      break;
    }
    if (!merged) kept.push_back(candidate);
  }
  return kept;
}

DbOptions DbOptions::read(OptionReader& o) {
  DbOptions opts;
  opts.model = o.get_string("model", opts.model);
  opts.if_model_missing = o.get_string("if_model_missing", opts.if_model_missing, {"mser", "error"});
  opts.max_side = static_cast<int>(o.get_int("max_side", opts.max_side, 320, 8192));
  opts.tile = static_cast<int>(o.get_int("tile", opts.tile, 256, 4096));
  opts.tile_overlap = static_cast<int>(o.get_int("tile_overlap", opts.tile_overlap, 0, 2048));
  opts.detail_above = static_cast<int>(o.get_int("detail_above", opts.detail_above, 0, 100000));
  opts.detail_megapixels = o.get_double("detail_megapixels", opts.detail_megapixels, 0.1, 1000.0);
  opts.bin_threshold = o.get_double("bin_threshold", opts.bin_threshold, 0.01, 0.99);
  opts.box_threshold = o.get_double("box_threshold", opts.box_threshold, 0.01, 0.99);
  opts.unclip_ratio = o.get_double("unclip_ratio", opts.unclip_ratio, 0.5, 4.0);
  opts.min_box_side = static_cast<int>(o.get_int("min_box_side", opts.min_box_side, 1, 100));
  if (opts.tile_overlap >= opts.tile) o.problem("tile_overlap", "must be smaller than tile");
  return opts;
}

void DbStage::prepare() {
  model_path_ = resolve_model_path(options_.model, kDefaultModel);
  std::string problem;
  if (!std::filesystem::is_regular_file(model_path_)) {
    problem = fmt::format("model file {} is missing (scripts/fetch-models.sh fetches it)", model_path_.string());
  } else {
    // Read once: the bytes checked here are the bytes hashed and the bytes every thread's nets are built from.
    try {
      model_bytes_ = read_model_bytes(model_path_);
      cv::dnn::Net net = read_onnx_net(model_bytes_.data(), model_bytes_.size());
      if (net.empty()) problem = fmt::format("model file {} holds no network", model_path_.string());
      // One small forward pass proves the file is the detector we expect, not just parseable.
      if (problem.empty()) {
        net.setInput(cv::Mat(std::vector<int>{1, 3, 64, 64}, CV_32F, cv::Scalar(0)));
        const cv::Mat out = net.forward();
        if (out.dims != 4 || out.size[1] != 1 || out.size[2] != 64 || out.size[3] != 64) {
          problem = fmt::format("model file {} does not output a 1-channel probability map", model_path_.string());
        }
      }
    } catch (const cv::Exception& e) {
      problem = fmt::format("model file {} cannot be loaded: {}", model_path_.string(), e.err);
    } catch (const std::runtime_error& e) {
      problem = e.what();  // unreadable: named by read_model_bytes
    }
  }
  if (problem.empty()) {
    model_sha256_ = sha256_hex(std::string_view(model_bytes_.data(), model_bytes_.size()));
    return;
  }
  model_bytes_.clear();
  if (options_.if_model_missing == "error") throw std::runtime_error(problem);
  fallback_ = true;
  fallback_reason_ = problem;
  spdlog::warn("text_detect: {}; using the model-free fallback text_detect.mser", problem);
}

nlohmann::ordered_json DbStage::resources() const {
  if (fallback_) return {{"fallback", "text_detect.mser"}, {"reason", fallback_reason_}};
  return {{"model", model_path_.string()}, {"sha256", model_sha256_}};
}

// The network's output for one input blob (1 x 3 x h x w), through a pooled net of that size.
cv::Mat DbStage::probability_map(const cv::Mat& blob) {
  const int h = blob.size[2], w = blob.size[3];
  const NetPool::Key size = (static_cast<NetPool::Key>(w) << 32) | static_cast<NetPool::Key>(h);
  const auto make = [this](NetPool::Key) { return read_onnx_net(model_bytes_.data(), model_bytes_.size()); };
  cv::Mat prob;
  // A net for more than the global pass's pixels (the finer pass of a large photo: ~280 MB of buffers for a
  // 12-megapixel photo's) is dropped once used, not kept idle while the next image is read; one for tiles, all of
  // one size, is kept for the next tile.
  const int tile = (options_.tile + 63) / 64 * 64;
  const bool finer = static_cast<long>(w) * h > static_cast<long>(options_.max_side) * options_.max_side;
  const bool keep = !finer || (w == tile && h == tile);
  const auto pass = [&] {
    nets_.run(size, make, [&](cv::dnn::Net& net) {
      net.setInput(blob);
      const cv::Mat out = net.forward();
      // A copy: the output lives in the net's buffers, which the next user of the net overwrites.
      prob = cv::Mat(out.size[2], out.size[3], CV_32F, const_cast<float*>(out.ptr<float>())).clone();
    }, keep);
  };
  // The finer pass's buffers are as large as a scene's SIFT scale space: the two share one bound.
  if (finer) {
    large_working_sets().run(pass);
  } else {
    pass();
  }
  return prob;
}

std::vector<TextRegion> DbStage::detect(const cv::Mat& bgr, double scale, cv::Point2f offset, cv::Size pad_to) {
  const cv::Mat input = scaled(bgr, scale);
  // Sides padded to multiples of 64 (the network needs 32): fewer distinct input sizes, fewer nets to build.
  const int h = (std::max(input.rows, pad_to.height) + 63) / 64 * 64;
  const int w = (std::max(input.cols, pad_to.width) + 63) / 64 * 64;
  cv::Mat padded;
  cv::copyMakeBorder(input, padded, 0, h - input.rows, 0, w - input.cols, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  // PaddleOCR feeds BGR pixels normalised with ImageNet's mean and std.
  cv::Mat blob = cv::dnn::blobFromImage(padded, 1.0 / 255.0, cv::Size(), cv::Scalar(), false, false, CV_32F);
  const float mean[3] = {0.485f, 0.456f, 0.406f}, stdev[3] = {0.229f, 0.224f, 0.225f};
  for (int c = 0; c < 3; ++c) {
    cv::Mat plane(h, w, CV_32F, blob.ptr<float>(0, c));
    plane = (plane - mean[c]) / stdev[c];
  }
  const cv::Mat prob = probability_map(blob);
  auto regions = boxes_from_probability(prob(cv::Rect(0, 0, input.cols, input.rows)), options_);
  const auto inv = static_cast<float>(1.0 / scale);
  for (auto& r : regions) {
    for (auto& p : r.quad) p = p * inv + offset;
  }
  return regions;
}

void DbStage::process(ImageRecord& image, StageResult& out) {
  if (image.pixels.cols < kMinSide || image.pixels.rows < kMinSide) {
    image.text_regions.clear();  // too small to hold a line of text
    return;
  }
  if (fallback_) {
    mser_.process(image, out);
    return;
  }
  const cv::Mat& bgr = image.pixels;
  const int long_side = std::max(bgr.cols, bgr.rows);
  std::vector<TextRegion> regions = detect(bgr, std::min(1.0, static_cast<double>(options_.max_side) / long_side), {0, 0});

  if (options_.detail_above > 0 && long_side > options_.detail_above) {
    // A second, finer pass for small print, within a pixel budget: full resolution when the image is
    // small enough, otherwise the largest scale whose pixels fit detail_megapixels.
    const double pixels = static_cast<double>(bgr.total());
    const double s = std::min(1.0, std::sqrt(options_.detail_megapixels * 1e6 / pixels));
    cv::Mat detail = bgr;
    if (s < 1.0) {
      const cv::Size size(std::max(1, static_cast<int>(std::lround(bgr.cols * s))),
                          std::max(1, static_cast<int>(std::lround(bgr.rows * s))));
      cv::resize(bgr, detail, size, 0, 0, cv::INTER_AREA);
    }
    const auto to_original = static_cast<float>(1.0 / s);
    if (std::max(detail.cols, detail.rows) <= options_.tile * 3 / 2) {
      for (auto r : detect(detail, 1.0, {0, 0})) {
        for (auto& p : r.quad) p *= to_original;
        regions.push_back(r);
      }
    } else {
      const int step = options_.tile - options_.tile_overlap;
      for (int y = 0; y < detail.rows; y += step) {
        for (int x = 0; x < detail.cols; x += step) {
          const cv::Rect tile = cv::Rect(x, y, options_.tile, options_.tile) & cv::Rect(0, 0, detail.cols, detail.rows);
          // Edge tiles are padded to the full tile size, so every tile shares one net.
          const cv::Point2f origin(static_cast<float>(x), static_cast<float>(y));
          for (auto r : detect(detail(tile), 1.0, origin, cv::Size(options_.tile, options_.tile))) {
            for (auto& p : r.quad) p *= to_original;
            regions.push_back(r);
          }
          if (x + options_.tile >= detail.cols) break;
        }
        if (y + options_.tile >= detail.rows) break;
      }
    }
  }
  image.text_regions = merge_regions(std::move(regions));
}

void MserStage::process(ImageRecord& image, StageResult&) {
  if (image.pixels.cols < kMinSide || image.pixels.rows < kMinSide) {
    image.text_regions.clear();
    return;
  }
  const cv::Mat gray = image.grey();
  const double area = static_cast<double>(gray.total());
  auto mser = cv::MSER::create(5, 20, static_cast<int>(std::min(area * 0.02, 1e6)));
  std::vector<cv::Rect> boxes;
  for (const cv::Mat& g : {gray, cv::Mat(255 - gray)}) {  // dark on light and light on dark
    std::vector<std::vector<cv::Point>> regions;
    std::vector<cv::Rect> found;
    mser->detectRegions(g, regions, found);
    for (const auto& b : found) {
      const double aspect = static_cast<double>(b.width) / b.height;
      if (b.height >= 6 && aspect > 0.1 && aspect < 3.0) boxes.push_back(b);
    }
  }
  // Group character-like boxes into lines: similar height, overlapping vertically, close horizontally.
  std::vector<int> parent(boxes.size());
  std::iota(parent.begin(), parent.end(), 0);
  const std::function<int(int)> find = [&](int i) { return parent[i] == i ? i : parent[i] = find(parent[i]); };
  std::vector<int> order(boxes.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return boxes[a].x < boxes[b].x; });
  for (std::size_t i = 0; i < order.size(); ++i) {
    const auto& a = boxes[order[i]];
    for (std::size_t j = i + 1; j < order.size(); ++j) {
      const auto& b = boxes[order[j]];
      if (b.x > a.x + a.width + a.height) break;
      const int h_min = std::min(a.height, b.height), h_max = std::max(a.height, b.height);
      const int v_overlap = std::min(a.y + a.height, b.y + b.height) - std::max(a.y, b.y);
      if (h_max < 1.6 * h_min && v_overlap > 0.6 * h_min) parent[find(order[i])] = find(order[j]);
    }
  }
  std::map<int, std::pair<cv::Rect, int>> lines;
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    auto& [rect, count] = lines[find(static_cast<int>(i))];
    rect = count == 0 ? boxes[i] : (rect | boxes[i]);
    ++count;
  }
  std::vector<TextRegion> regions;
  for (const auto& [root, line] : lines) {
    const auto& [rect, count] = line;
    if (count < 3 || rect.width < 2 * rect.height) continue;
    const auto pad = static_cast<float>(rect.height) * 0.15f;
    const cv::Rect2f r(static_cast<float>(rect.x) - pad, static_cast<float>(rect.y) - pad,
                       static_cast<float>(rect.width) + 2 * pad, static_cast<float>(rect.height) + 2 * pad);
    regions.push_back({{r.tl(), cv::Point2f(r.x + r.width, r.y), r.br(), cv::Point2f(r.x, r.y + r.height)}, 0.5});
  }
  image.text_regions = merge_regions(std::move(regions));
}

}  // namespace cluetrace::text_detect
