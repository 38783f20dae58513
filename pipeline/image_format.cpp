#include "pipeline/image_format.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include <fmt/format.h>

namespace cluetrace {
namespace {

bool starts_with(std::span<const unsigned char> bytes, std::string_view magic, std::size_t offset = 0) {
  if (bytes.size() < offset + magic.size()) return false;
  return std::memcmp(bytes.data() + offset, magic.data(), magic.size()) == 0;
}

std::uint32_t be16(const unsigned char* p) { return (std::uint32_t{p[0]} << 8) | p[1]; }
std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
std::uint32_t le16(const unsigned char* p) { return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8); }
std::uint32_t le24(const unsigned char* p) { return le16(p) | (std::uint32_t{p[2]} << 16); }
std::uint32_t le32(const unsigned char* p) { return le16(p) | (le16(p + 2) << 16); }

std::optional<PixelSize> jpeg_size(std::span<const unsigned char> b) {
  std::size_t i = 2;
  while (i + 4 <= b.size()) {
    if (b[i] != 0xFF) return std::nullopt;
    const unsigned char marker = b[i + 1];
    if (marker == 0xFF) { ++i; continue; }  // fill byte
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { i += 2; continue; }
    const std::uint32_t len = be16(&b[i + 2]);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      if (i + 9 > b.size()) return std::nullopt;
      return PixelSize{be16(&b[i + 7]), be16(&b[i + 5])};
    }
    if (marker == 0xDA || len < 2) return std::nullopt;  // scan data before a frame header: broken
    i += 2 + len;
  }
  return std::nullopt;
}

std::optional<PixelSize> tiff_size(std::span<const unsigned char> b) {
  if (b.size() < 8) return std::nullopt;
  const bool le = b[0] == 'I';
  auto u16 = [&](std::size_t o) { return le ? le16(&b[o]) : be16(&b[o]); };
  auto u32 = [&](std::size_t o) { return le ? le32(&b[o]) : be32(&b[o]); };
  const std::size_t ifd = u32(4);
  if (ifd + 2 > b.size()) return std::nullopt;
  const std::size_t count = u16(ifd);
  PixelSize size;
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t e = ifd + 2 + k * 12;
    if (e + 12 > b.size()) return std::nullopt;
    const auto tag = u16(e), type = u16(e + 2);
    const std::uint32_t value = type == 3 ? u16(e + 8) : u32(e + 8);
    if (tag == 256) size.width = value;
    if (tag == 257) size.height = value;
  }
  if (size.width == 0 || size.height == 0) return std::nullopt;
  return size;
}

std::optional<PixelSize> webp_size(std::span<const unsigned char> b) {
  if (b.size() < 30) return std::nullopt;
  if (starts_with(b, "VP8 ", 12)) return PixelSize{le16(&b[26]) & 0x3FFF, le16(&b[28]) & 0x3FFF};
  if (starts_with(b, "VP8L", 12)) {
    const std::uint32_t bits = le32(&b[21]);
    return PixelSize{(bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1};
  }
  if (starts_with(b, "VP8X", 12)) return PixelSize{le24(&b[24]) + 1, le24(&b[27]) + 1};
  return std::nullopt;
}

std::optional<PixelSize> pnm_size(std::span<const unsigned char> b) {
  // "P6 <ws> width <ws> height ..." with '#' comments allowed between tokens.
  std::size_t i = 2;
  std::array<std::uint64_t, 2> numbers{};
  for (auto& n : numbers) {
    while (i < b.size() && (std::isspace(b[i]) || b[i] == '#')) {
      if (b[i] == '#') { while (i < b.size() && b[i] != '\n') ++i; } else { ++i; }
    }
    if (i >= b.size() || !std::isdigit(b[i])) return std::nullopt;
    while (i < b.size() && std::isdigit(b[i]) && n < (1ULL << 32)) n = n * 10 + (b[i++] - '0');
  }
  if (numbers[0] >= (1ULL << 32) || numbers[1] >= (1ULL << 32)) return PixelSize{0xFFFFFFFF, 0xFFFFFFFF};
  return PixelSize{static_cast<std::uint32_t>(numbers[0]), static_cast<std::uint32_t>(numbers[1])};
}

std::optional<PixelSize> jpeg2000_size(std::span<const unsigned char> b) {
  if (starts_with(b, "\xFF\x4F\xFF\x51")) {  // raw codestream: SIZ follows SOC
    if (b.size() < 24) return std::nullopt;
    const std::uint32_t xsiz = be32(&b[8]), ysiz = be32(&b[12]), xo = be32(&b[16]), yo = be32(&b[20]);
    if (xo > xsiz || yo > ysiz) return std::nullopt;
    return PixelSize{xsiz - xo, ysiz - yo};
  }
  // JP2 file: the image header box ('ihdr': height, width) sits early in the jp2h super box.
  const std::size_t limit = std::min<std::size_t>(b.size(), 4096);
  for (std::size_t i = 4; i + 12 <= limit; ++i) {
    if (std::memcmp(&b[i], "ihdr", 4) == 0) return PixelSize{be32(&b[i + 8]), be32(&b[i + 4])};
  }
  return std::nullopt;
}

std::optional<std::string> jpeg_damage(std::span<const unsigned char> b) {
  // Walk the marker segments, then the entropy-coded data, to the end-of-image marker.
  std::size_t i = 2;
  bool in_scan = false;
  while (i < b.size()) {
    if (in_scan) {
      // Inside entropy-coded data a 0xFF is followed by 0x00 (stuffing) or RSTn; anything else is a marker.
      const auto* p = static_cast<const unsigned char*>(std::memchr(&b[i], 0xFF, b.size() - i));
      if (!p) break;
      i = static_cast<std::size_t>(p - b.data());
      if (i + 1 >= b.size()) break;
      const unsigned char next = b[i + 1];
      if (next == 0x00 || next == 0xFF || (next >= 0xD0 && next <= 0xD7)) { i += (next == 0xFF ? 1 : 2); continue; }
      in_scan = false;
      continue;
    }
    if (i + 2 > b.size()) break;
    if (b[i] != 0xFF) return fmt::format("corrupt JPEG: expected a marker at byte {}, found 0x{:02X}", i, b[i]);
    const unsigned char marker = b[i + 1];
    if (marker == 0xFF) { ++i; continue; }
    if (marker == 0xD9) return std::nullopt;  // end of image: complete
    if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { i += 2; continue; }
    if (marker == 0x00 || marker == 0xD8) return fmt::format("corrupt JPEG: invalid marker 0x{:02X} at byte {}", marker, i);
    if (i + 4 > b.size()) break;
    const std::uint32_t len = be16(&b[i + 2]);
    if (len < 2) return fmt::format("corrupt JPEG: segment 0x{:02X} at byte {} declares length {}", marker, i, len);
    if (i + 2 + len > b.size()) break;
    i += 2 + len;
    if (marker == 0xDA) in_scan = true;
  }
  return fmt::format("truncated JPEG: the file ends at byte {} before the end-of-image marker", b.size());
}

std::optional<std::string> png_damage(std::span<const unsigned char> b) {
  std::size_t i = 8;
  bool saw_data = false;
  while (i + 12 <= b.size()) {
    const std::uint64_t len = be32(&b[i]);
    const std::string_view type(reinterpret_cast<const char*>(&b[i + 4]), 4);
    if (i + 12 + len > b.size()) break;
    if (type == "IDAT") saw_data = true;
    if (type == "IEND") return saw_data ? std::nullopt : std::optional<std::string>("corrupt PNG: no image data");
    i += 12 + len;
  }
  return fmt::format("truncated PNG: the file ends at byte {} before the IEND chunk", b.size());
}

}  // namespace

std::string_view to_string(ImageFormat format) {
  switch (format) {
    case ImageFormat::jpeg: return "jpeg";
    case ImageFormat::png: return "png";
    case ImageFormat::gif: return "gif";
    case ImageFormat::bmp: return "bmp";
    case ImageFormat::tiff: return "tiff";
    case ImageFormat::webp: return "webp";
    case ImageFormat::jpeg2000: return "jpeg2000";
    case ImageFormat::pnm: return "pnm";
    case ImageFormat::heif: return "heif";
    case ImageFormat::avif: return "avif";
    case ImageFormat::unknown: break;
  }
  return "unknown";
}

ImageFormat sniff_format(std::span<const unsigned char> h) {
  if (starts_with(h, "\xFF\xD8\xFF")) return ImageFormat::jpeg;
  if (starts_with(h, "\x89PNG\r\n\x1A\n")) return ImageFormat::png;
  if (starts_with(h, "GIF87a") || starts_with(h, "GIF89a")) return ImageFormat::gif;
  if (starts_with(h, "BM") && h.size() >= 26 && le32(&h[14]) >= 12 && le32(&h[14]) <= 124) return ImageFormat::bmp;
  if (starts_with(h, std::string_view("II*\0", 4)) || starts_with(h, std::string_view("MM\0*", 4))) return ImageFormat::tiff;
  if (starts_with(h, "RIFF") && starts_with(h, "WEBP", 8)) return ImageFormat::webp;
  if (starts_with(h, std::string_view("\0\0\0\x0CjP  \r\n\x87\n", 12)) || starts_with(h, "\xFF\x4F\xFF\x51")) {
    return ImageFormat::jpeg2000;
  }
  if (h.size() >= 3 && h[0] == 'P' && h[1] >= '1' && h[1] <= '6' && std::isspace(h[2])) return ImageFormat::pnm;
  if (starts_with(h, "ftyp", 4)) {
    if (starts_with(h, "avif", 8) || starts_with(h, "avis", 8)) return ImageFormat::avif;
    for (std::string_view brand : {"heic", "heix", "hevc", "heim", "heis", "mif1", "msf1"}) {
      if (starts_with(h, brand, 8)) return ImageFormat::heif;
    }
  }
  return ImageFormat::unknown;
}

bool has_image_extension(std::string_view name) {
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return false;
  std::string ext(name.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  for (std::string_view known : {"jpg", "jpeg", "jpe", "jfif", "png", "gif", "bmp", "dib", "tif", "tiff", "webp",
                                 "jp2", "j2k", "jpf", "pbm", "pgm", "ppm", "pnm", "heic", "heif", "avif"}) {
    if (ext == known) return true;
  }
  return false;
}

std::optional<PixelSize> read_pixel_size(ImageFormat format, std::span<const unsigned char> b) {
  switch (format) {
    case ImageFormat::jpeg: return jpeg_size(b);
    case ImageFormat::png:
      if (b.size() >= 24 && starts_with(b, "IHDR", 12)) return PixelSize{be32(&b[16]), be32(&b[20])};
      return std::nullopt;
    case ImageFormat::gif:
      if (b.size() >= 10) return PixelSize{le16(&b[6]), le16(&b[8])};
      return std::nullopt;
    case ImageFormat::bmp: {
      if (b.size() < 26) return std::nullopt;
      if (le32(&b[14]) == 12) return PixelSize{le16(&b[18]), le16(&b[20])};
      const auto w = static_cast<std::int32_t>(le32(&b[18]));
      const auto h = static_cast<std::int32_t>(le32(&b[22]));  // negative: top-down rows
      const auto abs_u32 = [](std::int32_t v) { return static_cast<std::uint32_t>(v < 0 ? -static_cast<std::int64_t>(v) : v); };
      return PixelSize{abs_u32(w), abs_u32(h)};
    }
    case ImageFormat::tiff: return tiff_size(b);
    case ImageFormat::webp: return webp_size(b);
    case ImageFormat::pnm: return pnm_size(b);
    case ImageFormat::jpeg2000: return jpeg2000_size(b);
    default: return std::nullopt;
  }
}

std::optional<std::string> find_structural_damage(ImageFormat format, std::span<const unsigned char> b) {
  switch (format) {
    case ImageFormat::jpeg: return jpeg_damage(b);
    case ImageFormat::png: return png_damage(b);
    default: return std::nullopt;  // the decoder is the judge for the others
  }
}

}  // namespace cluetrace
