// Animated WebP (stickers, banners), which OpenCV 4.6 refuses: the first frame, composed, with libwebp's
// animation decoder.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include <opencv2/core.hpp>

namespace cluetrace {

// Whether a WebP file is an animation (its VP8X header says so).
bool is_animated_webp(std::span<const unsigned char> bytes);

struct WebpAnimation {
  cv::Mat first_frame;  // BGR, 8-bit, on a white background where the frame is transparent
  int frames = 0;
};

// nullopt with `error` set when it cannot be decoded or its canvas is above `max_pixels`.
std::optional<WebpAnimation> decode_animated_webp(std::span<const unsigned char> bytes, std::int64_t max_pixels, std::string& error);

}  // namespace cluetrace
