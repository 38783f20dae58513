// Prints what the logo matcher considered for each image: candidate references, their matches and
// inliers, and why each was accepted or rejected. A tuning aid for bench/logo, not part of a run.
//   inspect_logos [--coarse-side N] CATALOGUE.yaml IMAGE...
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include "stages/logo/catalogue.hpp"
#include "stages/logo/matcher.hpp"

int main(int argc, char** argv) {
  cluetrace::logo::MatchOptions options;
  int first = 1;
  if (argc > 2 && std::string(argv[1]) == "--coarse-side") {
    options.coarse_side = std::stoi(argv[2]);
    first = 3;
  }
  if (argc < first + 2) {
    std::cerr << "usage: inspect_logos [--coarse-side N] CATALOGUE.yaml IMAGE...\n";
    return 2;
  }
  const auto cat = cluetrace::logo::load_catalogue(argv[first]);
  cluetrace::logo::Matcher matcher(cluetrace::logo::read_index(cat.index_file()), options);
  for (int i = first + 1; i < argc; ++i) {
    const cv::Mat img = cv::imread(argv[i], cv::IMREAD_COLOR);
    std::vector<std::string> trace;
    const auto found = matcher.match(img, &trace);
    fmt::print("{}\n", argv[i]);
    for (const auto& t : trace) fmt::print("  {}\n", t);
    for (const auto& d : found)
      fmt::print("  => {} ({} inliers, confidence {:.2f}) at ({:.0f},{:.0f}) ({:.0f},{:.0f}) ({:.0f},{:.0f}) ({:.0f},{:.0f})\n", d.brand, d.inliers,
                 d.confidence, d.quad[0].x, d.quad[0].y, d.quad[1].x, d.quad[1].y, d.quad[2].x, d.quad[2].y, d.quad[3].x, d.quad[3].y);
  }
  return 0;
}
