// Reads one input read-only, hashes every byte, and decodes it within explicit limits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pipeline/config.hpp"
#include "pipeline/types.hpp"

namespace cluetrace {

inline constexpr std::string_view kReadStage = "read";
inline constexpr std::string_view kDecodeStage = "decode";

// Fills digests, size, format and pixels of `image`. Never throws for a bad file: problems become
// errors on the image ({stage: "read" | "decode", message}) and `decoded` stays false.
void read_and_decode(ImageRecord& image, const DecodeOptions& options);

// The pixel count the file's header declares, from its first bytes only (opened read-only, as every read;
// nothing is hashed or decoded): nullopt when it is not a regular file that can be opened, or its first bytes
// do not say. For bounding work before an image is decoded, not for its report.
std::optional<std::uint64_t> declared_pixels(const std::string& path);

// Reads and hashes the whole file and tells its format from its first bytes, without decoding: what a report
// needs about a file whose processing crashed (the supervisor runs it in a child process).
void read_and_hash_only(ImageRecord& image);

}  // namespace cluetrace
