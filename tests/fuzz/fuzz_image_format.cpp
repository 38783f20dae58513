// Fuzz target: header sniffing, the structural JPEG/PNG walk, the header size readers, the salvage decoder and
// the GIF and animated-WebP first-frame decoders, on any bytes. Must never crash, hang or read out of bounds; salvaged rows never exceed the header.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "pipeline/animated_webp.hpp"
#include "pipeline/gif_decode.hpp"
#include "pipeline/image_format.hpp"
#include "pipeline/salvage.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const unsigned char> bytes(data, size);
  const auto format = cluetrace::sniff_format(bytes.first(std::min(size, cluetrace::kSniffBytes)));
  const auto damage = cluetrace::find_structural_damage(format, bytes);
  const auto pixel_size = cluetrace::read_pixel_size(format, bytes);
  // Salvage runs only where decode would run it: a damaged file whose header declares a sane size.
  if (damage && pixel_size && pixel_size->width > 0 && pixel_size->height > 0 &&
      std::uint64_t{pixel_size->width} * pixel_size->height <= 4'000'000) {
    if (const auto salvaged = cluetrace::salvage_rows(format, bytes, *damage)) {
      if (salvaged->pixels.rows > salvaged->declared_height || salvaged->pixels.cols != salvaged->declared_width ||
          salvaged->pixels.type() != CV_8UC3 || salvaged->pixels.rows < cluetrace::kMinSalvagedRows) {
        std::abort();
      }
    }
  }
  std::string error;
  if (format == cluetrace::ImageFormat::gif) {
    const auto gif = cluetrace::decode_gif(bytes, 4'000'000, error);
    if (gif && (gif->pixels.empty() || gif->frames < 1 || gif->pixels.type() != CV_8UC3)) std::abort();
  }
  if (format == cluetrace::ImageFormat::webp && cluetrace::is_animated_webp(bytes)) {
    const auto webp = cluetrace::decode_animated_webp(bytes, 4'000'000, error);
    if (webp && (webp->first_frame.empty() || webp->first_frame.type() != CV_8UC3)) std::abort();
  }
  return 0;
}
