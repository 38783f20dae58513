// Trains the visual vocabulary of query by example (models/objects/vocabulary.bin) on the ORB features of
// images: a sample of their descriptors is clustered into a two-level tree of binary centroids.
//
//   train_vocabulary --out models/objects/vocabulary.bin [--branching 256] [--sample 150000] DIR...
//
// The shipped file was trained on generated images only (see models/README.md for the exact commands).
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include "pipeline/case/objects.hpp"
#include "pipeline/report_store.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  fs::path out;
  int branching = 256;
  std::size_t sample_size = 150000;
  std::vector<fs::path> dirs;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) out = argv[++i];
    else if (a == "--branching" && i + 1 < argc) branching = std::stoi(argv[++i]);
    else if (a == "--sample" && i + 1 < argc) sample_size = std::stoull(argv[++i]);
    else dirs.emplace_back(a);
  }
  if (out.empty() || dirs.empty()) {
    std::cerr << "usage: train_vocabulary --out FILE [--branching B] [--sample N] DIR...\n";
    return 2;
  }
  std::vector<fs::path> images;
  for (const auto& d : dirs)
    for (const auto& e : fs::recursive_directory_iterator(d)) {
      const auto ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".jpg" || ext == ".png" || ext == ".jpeg")) images.push_back(e.path());
    }
  std::sort(images.begin(), images.end());
  // Reservoir sampling: every descriptor of every image equally likely, whatever the order.
  std::mt19937_64 rng(2026);
  cv::Mat sample(0, 32, CV_8U);
  std::size_t seen = 0;
  for (const auto& path : images) {
    const cv::Mat image = cv::imread(path.string(), cv::IMREAD_GRAYSCALE);
    if (image.empty()) continue;
    const auto f = cluetrace::object_features(image, 1000);
    for (int r = 0; r < f.descriptors.rows; ++r, ++seen) {
      if (sample.rows < static_cast<int>(sample_size)) {
        sample.push_back(f.descriptors.row(r));
      } else if (const std::size_t j = std::uniform_int_distribution<std::size_t>(0, seen)(rng); j < sample_size) {
        f.descriptors.row(r).copyTo(sample.row(static_cast<int>(j)));
      }
    }
  }
  std::cerr << fmt::format("{} images, {} descriptors, {} sampled; training {} x {} words\n", images.size(), seen, sample.rows, branching, branching);
  const auto vocabulary = cluetrace::Vocabulary::train(sample, branching);
  fs::create_directories(out.parent_path().empty() ? fs::path(".") : out.parent_path());
  cluetrace::write_file_atomically(out, cluetrace::encode_vocabulary_file(vocabulary));
  std::cerr << fmt::format("wrote {} ({} words)\n", out.string(), vocabulary.size());
  return 0;
}
