#include "pipeline/decode.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "pipeline/digest.hpp"
#include "pipeline/evidence_file.hpp"
#include "pipeline/animated_webp.hpp"
#include "pipeline/gif_decode.hpp"
#include "pipeline/image_codecs.hpp"
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
  // Read what the file held when it was opened, no more: a file still being written (a copy in progress) would
  // otherwise be read for as long as it grows. That it changed is said in the report.
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const bool keep = size <= keep_limit;
  if (keep) bytes.reserve(size);
  std::vector<unsigned char> chunk(1 << 20);
  std::uint64_t total = 0;
  while (total < size) {
    const auto n = ::read(file.fd(), chunk.data(), static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size - total)));
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
  image.file_bytes = total;
  struct stat after {};
  if (::fstat(file.fd(), &after) == 0 &&
      (after.st_size != st.st_size || after.st_mtim.tv_sec != st.st_mtim.tv_sec || after.st_mtim.tv_nsec != st.st_mtim.tv_nsec)) {
    image.warnings.push_back({std::string(kReadStage),
                              fmt::format("the file grew while it was read (or changed: {} bytes when opened, {} now); the "
                                          "hashes and the analysis cover the {} bytes read",
                                          st.st_size, after.st_size, total)});
  }
  if (total < size) {
    // It shrank while it was read: what was read is all there is to hash, and the hashes say so.
    fail(image, kReadStage, fmt::format("the file shrank while it was read: {} bytes when opened, only {} read", size, total));
    return false;
  }
  image.digests_complete = true;
  return true;
}

void set_format(ImageRecord& image, const std::vector<unsigned char>& bytes) {
  const auto format = sniff_format(std::span(bytes.data(), std::min(bytes.size(), kSniffBytes)));
  image.format = std::string(to_string(format));
}

// Each decoder below returns the picture, or records on `image` why there is none.

// GIF, which OpenCV 4.6 cannot decode: the first frame, with giflib.
std::optional<cv::Mat> decode_gif_first_frame(ImageRecord& image, const std::vector<unsigned char>& bytes, const DecodeOptions& options) {
  std::string error;
  auto gif = decode_gif(bytes, options.max_pixels, error);
  if (!gif) {
    fail(image, kDecodeStage, "gif: " + error);
    return std::nullopt;
  }
  image.frames = gif->frames;
  return std::move(gif->pixels);
}

// Animated WebP, which OpenCV 4.6 refuses: the first frame, with libwebp's animation decoder.
std::optional<cv::Mat> decode_webp_first_frame(ImageRecord& image, const std::vector<unsigned char>& bytes, const DecodeOptions& options) {
  std::string error;
  auto animation = decode_animated_webp(bytes, options.max_pixels, error);
  if (!animation) {
    fail(image, kDecodeStage, error);
    return std::nullopt;
  }
  image.frames = animation->frames;
  return std::move(animation->first_frame);
}

// The decompression-bomb guard: the header's size is read and checked before any pixel buffer exists.
bool header_size_acceptable(ImageRecord& image, ImageFormat format, const std::vector<unsigned char>& bytes,
                            const std::optional<std::string>& damage, const DecodeOptions& options) {
  const auto size = read_pixel_size(format, bytes);
  if (!size) {
    // Without a size nothing is decoded (not even salvaged): the damage, when found, is the better explanation.
    fail(image, kDecodeStage,
         damage ? *damage + "; the pixel size cannot be read from the header, so nothing was decoded"
                : fmt::format("cannot read the pixel size from the {} header; not decoded (decompression-bomb guard)", image.format));
    return false;
  }
  const auto pixels = std::uint64_t{size->width} * size->height;
  if (size->width == 0 || size->height == 0) {
    fail(image, kDecodeStage, fmt::format("the header declares an empty image ({}x{})", size->width, size->height));
    return false;
  }
  if (pixels > static_cast<std::uint64_t>(options.max_pixels)) {
    fail(image, kDecodeStage,
         fmt::format("the header declares {}x{} = {:.1f} megapixels, above decode.max_pixels ({:.1f} megapixels); "
                     "refused before decoding",
                     size->width, size->height, static_cast<double>(pixels) / 1e6, static_cast<double>(options.max_pixels) / 1e6));
    return false;
  }
  return true;
}

// A JPEG or PNG damaged part-way: its intact top rows (pipeline/salvage.hpp), the image then `partial`.
std::optional<cv::Mat> salvage_damaged(ImageRecord& image, ImageFormat format, const std::vector<unsigned char>& bytes,
                                       const std::string& damage) {
  auto salvaged = salvage_rows(format, bytes, damage);
  if (!salvaged) {
    fail(image, kDecodeStage, damage + "; no intact rows could be decoded");
    return std::nullopt;
  }
  image.warnings.push_back({std::string(kDecodeStage), "damaged file, partly analysed: " + salvaged->how});
  image.salvage = ImageRecord::Salvage{salvaged->declared_width, salvaged->declared_height, std::move(salvaged->how)};
  return std::move(salvaged->pixels);
}

std::optional<cv::Mat> decode_with_opencv(ImageRecord& image, const std::vector<unsigned char>& bytes, const DecodeOptions& options) {
  cv::Mat decoded;
  try {
    // OpenCV applies the EXIF orientation: pixels (and so boxes) are as a viewer shows the image.
    decoded = codecs::imdecode(bytes, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    fail(image, kDecodeStage, fmt::format("{} decoder failed: {}", image.format, e.err));
    return std::nullopt;
  }
  if (decoded.empty()) {
    fail(image, kDecodeStage, fmt::format("{} decoder could not decode the file (corrupt or unsupported variant)", image.format));
    return std::nullopt;
  }
  if (static_cast<std::int64_t>(decoded.total()) > options.max_pixels) {
    fail(image, kDecodeStage, fmt::format("decoded to {}x{}, above decode.max_pixels", decoded.cols, decoded.rows));
    return std::nullopt;
  }
  return decoded;
}

}  // namespace

std::optional<std::uint64_t> declared_pixels(const std::string& path) {
  const EvidenceFile file(path);
  struct stat st {};
  if (file.fd() < 0 || ::fstat(file.fd(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  const auto file_bytes = static_cast<std::uint64_t>(st.st_size);
  std::vector<unsigned char> head;
  // JPEG's frame header follows its metadata segments (Exif with a thumbnail, ICC profiles), mostly within
  // the first 64 KB, sometimes further; the other formats' size is in their first bytes.
  for (const std::size_t want : {std::size_t{64} << 10, std::size_t{256} << 10}) {
    const auto from = head.size();
    head.resize(static_cast<std::size_t>(std::min<std::uint64_t>(want, file_bytes)));
    std::size_t got = from;
    while (got < head.size()) {
      const auto n = ::pread(file.fd(), head.data() + got, head.size() - got, static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    head.resize(got);
    const auto format = sniff_format(std::span(head.data(), std::min(head.size(), kSniffBytes)));
    if (const auto size = read_pixel_size(format, head)) return std::uint64_t{size->width} * size->height;
    if (got < want) break;  // the whole file was read, or it could be read no further
  }
  return std::nullopt;
}

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
  const std::string file_name = std::filesystem::path(image.input.path).filename().string();
  if (format == ImageFormat::unknown) {
    fail(image, kDecodeStage,
         has_image_extension(file_name)
             ? fmt::format("not an image: the name says '{}' but the content matches no image format", file_name)
             : "not an image: the content matches no image format");
    return;
  }
  std::optional<cv::Mat> pixels;
  if (format == ImageFormat::gif) {
    pixels = decode_gif_first_frame(image, bytes, options);
  } else if (format == ImageFormat::webp && is_animated_webp(bytes)) {
    pixels = decode_webp_first_frame(image, bytes, options);
  } else if (format == ImageFormat::heif || format == ImageFormat::avif) {
    // OpenCV 4.6 as Debian builds it has no HEIF or AVIF decoder.
    fail(image, kDecodeStage, fmt::format("{} images are recognised but this build cannot decode them", image.format));
  } else {
    const auto damage = find_structural_damage(format, bytes);
    if (header_size_acceptable(image, format, bytes, damage, options)) {
      // Damaged part-way (often: carved from unallocated space): the intact top rows are evidence too.
      pixels = damage ? salvage_damaged(image, format, bytes, *damage) : decode_with_opencv(image, bytes, options);
    }
  }
  if (!pixels) return;
  image.width = pixels->cols;
  image.height = pixels->rows;
  image.pixels = std::move(*pixels);
  image.decoded = true;
  image.file_data = std::make_shared<const std::vector<unsigned char>>(std::move(bytes));
}

}  // namespace cluetrace
