#include "pipeline/animated_webp.hpp"

#include <memory>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>
#include <webp/demux.h>

namespace cluetrace {

bool is_animated_webp(std::span<const unsigned char> b) {
  // RIFF....WEBPVP8X, then the flags byte: bit 1 (0x02) is "animation".
  return b.size() >= 21 && std::equal(b.begin() + 12, b.begin() + 16, "VP8X") && (b[20] & 0x02) != 0;
}

std::optional<WebpAnimation> decode_animated_webp(std::span<const unsigned char> bytes, std::int64_t max_pixels, std::string& error) {
  WebPData data{bytes.data(), bytes.size()};
  WebPAnimDecoderOptions options;
  if (!WebPAnimDecoderOptionsInit(&options)) {
    error = "libwebp's animation decoder is not the version this was built with";
    return std::nullopt;
  }
  options.color_mode = MODE_BGRA;
  options.use_threads = 0;
  std::unique_ptr<WebPAnimDecoder, void (*)(WebPAnimDecoder*)> decoder(WebPAnimDecoderNew(&data, &options), WebPAnimDecoderDelete);
  if (!decoder) {
    error = "animated webp: the container cannot be read";
    return std::nullopt;
  }
  WebPAnimInfo info;
  if (!WebPAnimDecoderGetInfo(decoder.get(), &info) || info.canvas_width == 0 || info.canvas_height == 0) {
    error = "animated webp: no canvas size";
    return std::nullopt;
  }
  if (static_cast<std::int64_t>(info.canvas_width) * info.canvas_height > max_pixels) {
    error = fmt::format("animated webp canvas {}x{} is above decode.max_pixels; refused before decoding", info.canvas_width,
                        info.canvas_height);
    return std::nullopt;
  }
  std::uint8_t* pixels = nullptr;
  int timestamp = 0;
  if (!WebPAnimDecoderGetNext(decoder.get(), &pixels, &timestamp) || !pixels) {
    error = "animated webp: the first frame cannot be decoded";
    return std::nullopt;
  }
  const cv::Mat bgra(static_cast<int>(info.canvas_height), static_cast<int>(info.canvas_width), CV_8UC4, pixels);
  // Transparent parts shown on white, as a viewer on a light page shows them.
  WebpAnimation out;
  out.first_frame.create(bgra.rows, bgra.cols, CV_8UC3);
  for (int y = 0; y < bgra.rows; ++y) {
    const auto* in = bgra.ptr<cv::Vec4b>(y);
    auto* o = out.first_frame.ptr<cv::Vec3b>(y);
    for (int x = 0; x < bgra.cols; ++x) {
      const int a = in[x][3];
      for (int c = 0; c < 3; ++c) o[x][c] = static_cast<unsigned char>((in[x][c] * a + 255 * (255 - a)) / 255);
    }
  }
  out.frames = static_cast<int>(info.frame_count);
  return out;
}

}  // namespace cluetrace
