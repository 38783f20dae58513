// Developer tool: runs a config's text detector and OCR on one image and writes each rectified line as
// a PNG with what was read, to see why a line is missed.
//
//   inspect_text_lines CONFIG IMAGE OUTDIR
#include <filesystem>
#include <iostream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/config.hpp"
#include "pipeline/decode.hpp"
#include "stages/ocr/tesseract_line.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: inspect_text_lines CONFIG IMAGE OUTDIR\n";
    return 2;
  }
  using namespace cluetrace;
  auto config = load_config_file(argv[1]);
  for (auto& s : config.stages) {
    if (s.stage) s.stage->prepare();
  }
  ImageRecord image;
  image.input = {argv[2], argv[2]};
  image.stage_results.resize(kAllStageKinds.size());
  read_and_decode(image, config.decode);
  if (!image.decoded) {
    std::cerr << image.errors.at(0).message << "\n";
    return 1;
  }
  auto& detect = *config.stages[static_cast<std::size_t>(StageKind::text_detect)].stage;
  detect.process(image, image.stage_results[0]);
  std::filesystem::create_directories(argv[3]);
  cv::Mat gray;
  cv::cvtColor(image.pixels, gray, cv::COLOR_BGR2GRAY);
  auto& ocr = *config.stages[static_cast<std::size_t>(StageKind::ocr)].stage;
  int i = 0;
  for (const auto& region : image.text_regions) {
    const cv::Mat line = ocr::normalise_polarity(ocr::rectify_line(gray, region.quad, 40));
    const std::string name = std::string(argv[3]) + "/line" + std::to_string(i++) + ".png";
    cv::imwrite(name, line);
    ImageRecord one = image;
    one.text_regions = {region};
    StageResult out;
    ocr.process(one, out);
    std::cout << name << " score " << region.score << " -> "
              << (out.clues.empty() ? std::string("(nothing kept)") : out.clues[0].value + " conf " + std::to_string(out.clues[0].confidence))
              << "\n";
  }
  return 0;
}
