// Prints what the logo matcher considered for each image: candidate references, their matches and
// inliers, and why each was accepted or rejected. A tuning aid for bench/logo, not part of a run.
//   inspect_logos CATALOGUE.yaml IMAGE...
#include <iostream>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include "stages/logo/catalogue.hpp"
#include "stages/logo/matcher.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: inspect_logos CATALOGUE.yaml IMAGE...\n";
    return 2;
  }
  const auto cat = cluetrace::logo::load_catalogue(argv[1]);
  cluetrace::logo::Matcher matcher(cluetrace::logo::read_index(cat.index_file()), {});
  for (int i = 2; i < argc; ++i) {
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
