#include "pipeline/decode.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include "pipeline/digest.hpp"
#include "pipeline/evidence_file.hpp"
#include "pipeline/image_format.hpp"
#include "pipeline/salvage.hpp"
#include "pipeline/timing.hpp"

namespace cluetrace {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

void fail(ImageRecord& image, std::string_view stage, std::string message) {
  image.errors.push_back({std::string(stage), std::move(message)});
}

// Reads the whole file and hashes all of it, keeping it in `bytes` when it is at most `keep_limit` bytes
// long, else only its first kSniffBytes (enough to tell the format). Returns false after recording an
// error when the file cannot be read to the end.
bool read_and_hash(ImageRecord& image, std::vector<unsigned char>& bytes, std::uint64_t keep_limit) {
  const EvidenceFile file(image.input.path);
  MultiDigest digest;
  if (file.fd() < 0) {
    image.digests = digest.finish();
    fail(image, kReadStage, "cannot open: " + errno_text(file.error()));
    return false;
  }
  struct stat st {};
  if (::fstat(file.fd(), &st) != 0) {
    const int err = errno;
    image.digests = digest.finish();
    fail(image, kReadStage, "cannot examine: " + errno_text(err));
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    image.digests = digest.finish();
    fail(image, kReadStage, "not a regular file");
    return false;
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const bool keep = size <= keep_limit;
  if (keep) bytes.reserve(size);
  std::vector<unsigned char> chunk(1 << 20);
  std::uint64_t total = 0;
  for (;;) {
    const auto n = ::read(file.fd(), chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      image.digests = digest.finish();
      image.file_bytes = total;
      fail(image, kReadStage, fmt::format("read error after {} bytes: {}", total, errno_text(err)));
      return false;
    }
    if (n == 0) break;
    const std::span<const unsigned char> got(chunk.data(), static_cast<std::size_t>(n));
    digest.update(got);
    if (keep) {
      bytes.insert(bytes.end(), got.begin(), got.end());
    } else if (bytes.size() < kSniffBytes) {
      bytes.insert(bytes.end(), got.begin(), got.begin() + static_cast<std::ptrdiff_t>(std::min(got.size(), kSniffBytes - bytes.size())));
    }
    total += static_cast<std::uint64_t>(n);
  }
  image.digests = digest.finish();
  image.digests_complete = true;
  image.file_bytes = total;
  return true;
}

void set_format(ImageRecord& image, const std::vector<unsigned char>& bytes) {
  const auto format = sniff_format(std::span(bytes.data(), std::min(bytes.size(), kSniffBytes)));
  image.format = std::string(to_string(format));
}

}  // namespace

void read_and_hash_only(ImageRecord& image) {
  std::vector<unsigned char> head;
  read_and_hash(image, head, 0);
  if (image.file_bytes > 0 && !head.empty()) set_format(image, head);
}

void read_and_decode(ImageRecord& image, const DecodeOptions& options) {
  auto start = std::chrono::steady_clock::now();
  std::vector<unsigned char> bytes;
  const auto keep_limit = static_cast<std::uint64_t>(options.max_file_bytes);
  const bool read_ok = read_and_hash(image, bytes, keep_limit);
  image.timings_ms["read"] = ms_since(start);
  if (!read_ok) return;

  start = std::chrono::steady_clock::now();
  struct Timer {
    ImageRecord& image;
    std::chrono::steady_clock::time_point start;
    ~Timer() { image.timings_ms["decode"] = ms_since(start); }
  } timer{image, start};

  if (image.file_bytes == 0) {
    image.format = "unknown";
    fail(image, kDecodeStage, "empty file (0 bytes): nothing to decode");
    return;
  }
  if (image.file_bytes > keep_limit) {
    set_format(image, bytes);
    fail(image, kDecodeStage,
         fmt::format("file is {} bytes, above decode.max_file_bytes ({}); hashed but not decoded", image.file_bytes,
                     options.max_file_bytes));
    return;
  }
  const auto format = sniff_format(std::span(bytes.data(), std::min(bytes.size(), kSniffBytes)));
  image.format = std::string(to_string(format));
  const std::string file_name = image.input.path.filename().string();
  if (format == ImageFormat::unknown) {
    fail(image, kDecodeStage,
         has_image_extension(file_name)
             ? fmt::format("not an image: the name says '{}' but the content matches no image format", file_name)
             : "not an image: the content matches no image format");
    return;
  }
  // OpenCV 4.6 as Debian builds it has no GIF, HEIF or AVIF decoder.
  if (format == ImageFormat::heif || format == ImageFormat::avif || format == ImageFormat::gif) {
    fail(image, kDecodeStage, fmt::format("{} images are recognised but this build cannot decode them", image.format));
    return;
  }
  const auto damage = find_structural_damage(format, bytes);
  const auto size = read_pixel_size(format, bytes);
  if (!size) {
    // Without a size nothing is decoded (not even salvaged): the damage, when found, is the better explanation.
    fail(image, kDecodeStage,
         damage ? *damage + "; the pixel size cannot be read from the header, so nothing was decoded"
                : fmt::format("cannot read the pixel size from the {} header; not decoded (decompression-bomb guard)", image.format));
    return;
  }
  {
    const auto pixels = std::uint64_t{size->width} * size->height;
    if (size->width == 0 || size->height == 0) {
      fail(image, kDecodeStage, fmt::format("the header declares an empty image ({}x{})", size->width, size->height));
      return;
    }
    if (pixels > static_cast<std::uint64_t>(options.max_pixels)) {
      fail(image, kDecodeStage,
           fmt::format("the header declares {}x{} = {:.1f} megapixels, above decode.max_pixels ({:.1f} megapixels); "
                       "refused before decoding",
                       size->width, size->height, static_cast<double>(pixels) / 1e6,
                       static_cast<double>(options.max_pixels) / 1e6));
      return;
    }
  }
  if (damage) {
    // Damaged part-way (often: carved from unallocated space): the intact top rows are evidence too.
    auto salvaged = salvage_rows(format, bytes, *damage);
    if (!salvaged) {
      fail(image, kDecodeStage, *damage + "; no intact rows could be decoded");
      return;
    }
    image.width = salvaged->pixels.cols;
    image.height = salvaged->pixels.rows;
    image.pixels = std::move(salvaged->pixels);
    image.salvage = ImageRecord::Salvage{salvaged->declared_width, salvaged->declared_height, std::move(salvaged->how)};
    image.decoded = true;
    image.file_data = std::make_shared<const std::vector<unsigned char>>(std::move(bytes));
    return;
  }
  cv::Mat decoded;
  try {
    // OpenCV applies the EXIF orientation: pixels (and so boxes) are as a viewer shows the image.
    decoded = cv::imdecode(bytes, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    fail(image, kDecodeStage, fmt::format("{} decoder failed: {}", image.format, e.err));
    return;
  }
  if (decoded.empty()) {
    fail(image, kDecodeStage, fmt::format("{} decoder could not decode the file (corrupt or unsupported variant)", image.format));
    return;
  }
  if (static_cast<std::int64_t>(decoded.total()) > options.max_pixels) {
    fail(image, kDecodeStage, fmt::format("decoded to {}x{}, above decode.max_pixels", decoded.cols, decoded.rows));
    return;
  }
  image.width = decoded.cols;
  image.height = decoded.rows;
  image.pixels = std::move(decoded);
  image.decoded = true;
  image.file_data = std::make_shared<const std::vector<unsigned char>>(std::move(bytes));
}

}  // namespace cluetrace
