#include "pipeline/gif_decode.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <gif_lib.h>

namespace cluetrace {
namespace {

struct MemoryReader {
  const unsigned char* data;
  std::size_t size;
  std::size_t pos = 0;
};

extern "C" int read_memory(GifFileType* gif, GifByteType* out, int n) {
  auto* reader = static_cast<MemoryReader*>(gif->UserData);
  const auto k = std::min<std::size_t>(static_cast<std::size_t>(std::max(n, 0)), reader->size - reader->pos);
  std::memcpy(out, reader->data + reader->pos, k);
  reader->pos += k;
  return static_cast<int>(k);
}

struct GifCloser {
  void operator()(GifFileType* gif) const {
    int error = 0;
    DGifCloseFile(gif, &error);
  }
};

std::string gif_error(int code) {
  const char* text = GifErrorString(code);
  return text ? text : fmt::format("giflib error {}", code);
}

// Paints one frame's rows onto the screen; `transparent` is the colour index left unpainted (-1: none).
bool paint_frame(GifFileType* gif, cv::Mat& screen, int transparent, std::string& error) {
  const GifImageDesc& desc = gif->Image;
  const ColorMapObject* colours = desc.ColorMap ? desc.ColorMap : gif->SColorMap;
  if (!colours) {
    error = "the first frame has no colour table";
    return false;
  }
  const int width = desc.Width, height = desc.Height;
  if (width <= 0 || height <= 0 || static_cast<std::int64_t>(width) * height > static_cast<std::int64_t>(screen.total()) * 4) {
    error = fmt::format("the first frame declares {}x{} pixels", width, height);
    return false;
  }
  std::vector<GifPixelType> line(static_cast<std::size_t>(width));
  // Interlaced frames send every 8th row, then the 4th, then every 4th and every 2nd.
  std::vector<int> rows;
  if (desc.Interlace) {
    for (const auto& [start, step] : {std::pair{0, 8}, {4, 8}, {2, 4}, {1, 2}}) {
      for (int y = start; y < height; y += step) rows.push_back(y);
    }
  } else {
    for (int y = 0; y < height; ++y) rows.push_back(y);
  }
  for (const int y : rows) {
    if (DGifGetLine(gif, line.data(), width) != GIF_OK) {
      error = "the first frame is cut off: " + gif_error(gif->Error);
      return false;
    }
    const int sy = desc.Top + y;
    if (sy < 0 || sy >= screen.rows) continue;
    auto* out = screen.ptr<cv::Vec3b>(sy);
    for (int x = 0; x < width; ++x) {
      const int sx = desc.Left + x;
      if (sx < 0 || sx >= screen.cols || line[static_cast<std::size_t>(x)] == transparent) continue;
      const int index = line[static_cast<std::size_t>(x)];
      if (index >= colours->ColorCount) continue;
      const GifColorType c = colours->Colors[index];
      out[sx] = cv::Vec3b(c.Blue, c.Green, c.Red);
    }
  }
  return true;
}

// Passes over a frame's compressed data without decoding it (frames after the first are only counted).
bool skip_frame(GifFileType* gif) {
  int code_size = 0;
  GifByteType* block = nullptr;
  if (DGifGetCode(gif, &code_size, &block) != GIF_OK) return false;
  while (block) {
    if (DGifGetCodeNext(gif, &block) != GIF_OK) return false;
  }
  return true;
}

}  // namespace

std::optional<GifPicture> decode_gif(std::span<const unsigned char> bytes, std::int64_t max_pixels, std::string& error) {
  MemoryReader reader{bytes.data(), bytes.size()};
  int open_error = 0;
  std::unique_ptr<GifFileType, GifCloser> gif(DGifOpen(&reader, read_memory, &open_error));
  if (!gif) {
    error = "GIF header: " + gif_error(open_error);
    return std::nullopt;
  }
  const int width = gif->SWidth, height = gif->SHeight;
  if (width <= 0 || height <= 0) {
    error = fmt::format("the GIF header declares an empty image ({}x{})", width, height);
    return std::nullopt;
  }
  if (static_cast<std::int64_t>(width) * height > max_pixels) {
    error = fmt::format("the GIF header declares {}x{}, above decode.max_pixels; refused before decoding", width, height);
    return std::nullopt;
  }
  cv::Vec3b background(255, 255, 255);
  if (gif->SColorMap && gif->SBackGroundColor < gif->SColorMap->ColorCount) {
    const auto c = gif->SColorMap->Colors[gif->SBackGroundColor];
    background = cv::Vec3b(c.Blue, c.Green, c.Red);
  }
  GifPicture picture;
  picture.pixels = cv::Mat(height, width, CV_8UC3, cv::Scalar(background[0], background[1], background[2]));
  int transparent = -1;
  for (;;) {
    GifRecordType record = UNDEFINED_RECORD_TYPE;
    if (DGifGetRecordType(gif.get(), &record) != GIF_OK) break;  // a cut-off tail after frames already read
    if (record == TERMINATE_RECORD_TYPE) break;
    if (record == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* block = nullptr;
      if (DGifGetExtension(gif.get(), &code, &block) != GIF_OK) break;
      if (code == GRAPHICS_EXT_FUNC_CODE && block && block[0] >= 4 && picture.frames == 0) {
        transparent = (block[1] & 1) ? block[4] : -1;
      }
      while (block) {
        if (DGifGetExtensionNext(gif.get(), &block) != GIF_OK) break;
      }
      continue;
    }
    if (record != IMAGE_DESC_RECORD_TYPE) continue;
    if (DGifGetImageDesc(gif.get()) != GIF_OK) break;
    if (picture.frames == 0) {
      if (!paint_frame(gif.get(), picture.pixels, transparent, error)) return std::nullopt;
    } else if (!skip_frame(gif.get())) {
      ++picture.frames;
      break;
    }
    ++picture.frames;
  }
  if (picture.frames == 0) {
    error = "the GIF holds no frame";
    return std::nullopt;
  }
  return picture;
}

}  // namespace cluetrace
