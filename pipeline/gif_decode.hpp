// GIF, which Debian's OpenCV 4.6 cannot decode: the first frame, composed on the logical screen, with giflib.
// Old forum pictures, avatars and banners are GIFs; their text is evidence like any other.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include <opencv2/core.hpp>

namespace cluetrace {

struct GifPicture {
  cv::Mat pixels;  // BGR, 8-bit, the logical screen after the first frame (transparent pixels show the background)
  int frames = 0;  // frames in the file (the first is analysed)
};

// nullopt with `error` set when the file cannot be decoded or its screen is above `max_pixels`.
std::optional<GifPicture> decode_gif(std::span<const unsigned char> bytes, std::int64_t max_pixels, std::string& error);

}  // namespace cluetrace
