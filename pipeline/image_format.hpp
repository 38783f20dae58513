// Recognises image files by their content and reads their pixel size from the header alone,
// so a decompression bomb is refused before any pixel buffer is allocated.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace cluetrace {

enum class ImageFormat { unknown, jpeg, png, gif, bmp, tiff, webp, jpeg2000, pnm, heif, avif };
std::string_view to_string(ImageFormat format);

// How many leading bytes sniff_format() needs at most.
inline constexpr std::size_t kSniffBytes = 32;

ImageFormat sniff_format(std::span<const unsigned char> head);

// Whether the file name's extension is one analysts would expect to hold an image.
bool has_image_extension(std::string_view file_name);

struct PixelSize {
  std::uint32_t width = 0, height = 0;
};

// The size the header declares; nullopt when the header cannot be read (then the caller decides).
std::optional<PixelSize> read_pixel_size(ImageFormat format, std::span<const unsigned char> bytes);

// Structural check of the whole file: an empty optional when it looks complete, otherwise why not
// (truncated before the end-of-image marker, a chunk running past the end of the file, ...).
// Catches files that decoders would otherwise half-decode with only a warning.
std::optional<std::string> find_structural_damage(ImageFormat format, std::span<const unsigned char> bytes);

}  // namespace cluetrace
