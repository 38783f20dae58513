// text_detect.ppocr_db: PP-OCRv4's learned DBNet detector through OpenCV DNN, at a coarse global scale plus
// a finer second pass on large photos, so small background text is not lost to downscaling.
// text_detect.mser: the model-free fallback (MSER components grouped into lines).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/dnn.hpp>

#include "pipeline/net_pool.hpp"
#include "pipeline/stage.hpp"

namespace cluetrace::text_detect {

struct DbOptions {
  std::string model;                // ONNX file; empty: models/ppocr-v4-det.onnx of this installation
  std::string if_model_missing = "mser";  // mser: fall back to text_detect.mser | error: refuse to start
  int max_side = 512;               // the global pass: long side scaled down to at most this
  int detail_above = 1600;          // a second, finer pass on images whose long side exceeds this (0: never) ...
  double detail_megapixels = 1.0;   // ... at full resolution or scaled down to this many pixels ...
  int tile = 1024;                  // ... cut into tiles of this side when it is still large ...
  int tile_overlap = 192;           // ... overlapping by this much
  double bin_threshold = 0.3;       // probability map binarisation
  double box_threshold = 0.55;      // mean probability inside a box to keep it
  double unclip_ratio = 1.6;        // how far to grow the shrunk text kernel back out
  int min_box_side = 4;             // in network-input pixels
  static DbOptions read(OptionReader& options);
};

// The geometry shared by both detectors: oriented boxes, merged across passes and tiles.
std::vector<TextRegion> merge_regions(std::vector<TextRegion> regions);
// Orders a rotated rectangle's corners clockwise from the top-left of the text's reading direction.
std::array<cv::Point2f, 4> text_quad(const cv::RotatedRect& box);

// DBNet post-processing of one probability map (values 0..1) into boxes in map pixels.
std::vector<TextRegion> boxes_from_probability(const cv::Mat& prob, const DbOptions& options);

class MserStage final : public Stage {
 public:
  std::string_view id() const override { return "text_detect.mser"; }
  void process(ImageRecord& image, StageResult& out) override;
};

class DbStage final : public Stage {
 public:
  explicit DbStage(DbOptions options) : options_(std::move(options)) {}
  std::string_view id() const override { return fallback_ ? "text_detect.mser" : "text_detect.ppocr_db"; }
  void prepare() override;
  nlohmann::ordered_json resources() const override;
  void process(ImageRecord& image, StageResult& out) override;

 private:
  // OpenCV 4.6 keeps the shapes of the first forward pass: a net fed another input size afterwards
  // returns garbage. So the pool keeps nets by input size, made from the model bytes.
  cv::Mat probability_map(const cv::Mat& blob);
  std::vector<TextRegion> detect(const cv::Mat& bgr, double scale, cv::Point2f offset, cv::Size pad_to = {});

  DbOptions options_;
  std::filesystem::path model_path_;
  std::string model_sha256_;
  bool fallback_ = false;
  std::string fallback_reason_;
  MserStage mser_;
  std::vector<char> model_bytes_;
  // Half the threads at once, one net kept for each: a net holds ~50 MB of buffers for a 512-pixel input, and
  // making one for another size costs 2-3 % more CPU on ICDAR 2003's mixed sizes (4 kept: 155 MiB more
  // peak at 2 threads; bench/RESULTS.md, issue 16).
  NetPool nets_{0.5, 1};
};

}  // namespace cluetrace::text_detect
