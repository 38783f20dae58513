// Salvage, the forensic way: a JPEG or PNG that is truncated or damaged part-way (files carved from
// unallocated space often are) is decoded row by row up to the damage, and those rows are analysed. The top
// of a picture can hold the clue; throwing the file away would lose evidence.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include <opencv2/core.hpp>

#include "pipeline/image_format.hpp"

namespace cluetrace {

struct SalvagedImage {
  cv::Mat pixels;          // BGR, 8-bit: the rows that decoded from intact data, from the top
  int declared_width = 0;  // what the header says
  int declared_height = 0;
  std::string how;         // what was kept and why, for the report
};

// Images with fewer intact rows than this are not worth analysing: the file stays `failed`.
inline constexpr int kMinSalvagedRows = 16;

// Decodes the intact top rows of a damaged JPEG or PNG (`damage` is what the structural check found, quoted in
// `how`). nullopt when nothing usable decodes (fewer than kMinSalvagedRows rows, an interlaced PNG whose rows
// come in passes, a header the decoder refuses). Never throws for bad data. EXIF orientation is not applied.
std::optional<SalvagedImage> salvage_rows(ImageFormat format, std::span<const unsigned char> bytes, const std::string& damage);

}  // namespace cluetrace
