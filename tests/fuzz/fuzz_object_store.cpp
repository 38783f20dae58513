// Fuzz target: the readers of query by example's files (pipeline/case/objects.hpp): a picture's feature store,
// the visual vocabulary, and the case's index objects.keys (both as a whole file, and as records behind a valid
// header and footer, so the record parser itself is reached). Any bytes: no crash, no exception other than the
// runtime_error that names a damaged index, and what a decoder accepts holds together.

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "pipeline/case/objects.hpp"
#include "tests/fuzz/scratch_dir.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path& scratch() {
  static const cluetrace::fuzz::ScratchDir dir("cluetrace-fuzz-objects-");
  return dir.path();
}

void write(const fs::path& file, std::string_view bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A query of a few fixed features, enough to score and look for candidates.
const cluetrace::ObjectQuery& query() {
  static const cluetrace::ObjectQuery q = [] {
    cluetrace::ObjectQuery out;
    out.features.width = out.features.height = 100;
    out.features.descriptors = cv::Mat(8, 32, CV_8U);
    for (int r = 0; r < 8; ++r) {
      out.features.points.emplace_back(static_cast<float>(10 * r), static_cast<float>(5 * r));
      for (int c = 0; c < 32; ++c) out.features.descriptors.at<std::uint8_t>(r, c) = static_cast<std::uint8_t>(r * 37 + c * 11);
    }
    out.outline = {{0, 0}, {100, 0}, {100, 100}, {0, 100}};
    return out;
  }();
  return q;
}

void search(const std::string& index) {
  write(scratch() / "objects.keys", index);
  try {
    for (const auto& hit : cluetrace::find_object(scratch(), query(), {})) {
      if (hit.sha256.size() != 64 || hit.inliers <= 0) std::abort();
    }
  } catch (const std::runtime_error&) {
    // A damaged index is named, not read.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  if (const auto f = cluetrace::decode_objects(bytes)) {
    if (f->descriptors.rows != static_cast<int>(f->points.size()) || f->words.size() > f->points.size()) std::abort();
    if (f->width <= 0 || f->height <= 0 || !(f->scale > 0)) std::abort();
  }
  write(scratch() / "store.orb", bytes);
  if (const auto words = cluetrace::read_object_words(scratch() / "store.orb")) {
    if (words->size() > bytes.size() / 4) std::abort();
  }

  if (const auto v = cluetrace::Vocabulary::decode(bytes)) {
    for (const auto w : v->words(query().features.descriptors)) {
      if (w >= v->size()) std::abort();
    }
  }

  // The whole file as given, then the bytes as records between a valid header and footer.
  search(std::string(bytes));
  if (const auto* vocabulary = cluetrace::object_vocabulary()) {
    std::string index("CTOWRD01", 8);
    index.append(bytes);
    const std::uint64_t records_end = index.size();
    index.append(std::string(static_cast<std::size_t>(vocabulary->size()) * 4, '\1'));
    const std::uint32_t words = vocabulary->size();
    const std::uint64_t pictures = 1000;
    index.append(reinterpret_cast<const char*>(&words), 4);
    index.append(reinterpret_cast<const char*>(&pictures), 8);
    index.append(reinterpret_cast<const char*>(&records_end), 8);
    search(index);
  }
  return 0;
}
