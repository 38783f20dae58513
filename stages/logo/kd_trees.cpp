#include "stages/logo/kd_trees.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <opencv2/core/version.hpp>

#include "pipeline/case/binary_io.hpp"
#include "pipeline/digest.hpp"
#include "stages/logo/matcher.hpp"

namespace cluetrace::logo {
namespace {

constexpr std::uint32_t kFormat = 1;
constexpr int kTrees = 4;
constexpr unsigned kSeed = 20261124u;

// cv::flann::Index writes only named files: an anonymous memory file stands in for one, named by its
// /proc/self/fd path. Nothing touches the disk.
class MemoryFile {
 public:
  MemoryFile() : fd_(::memfd_create("cluetrace-kd-trees", MFD_CLOEXEC)) {}
  ~MemoryFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  bool ok() const { return fd_ >= 0; }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }
  std::string read_all() const {
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || st.st_size <= 0) return {};
    std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::pread(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
      if (n <= 0) return {};
      done += static_cast<std::size_t>(n);
    }
    return bytes;
  }

 private:
  int fd_;
};

std::string_view matrix_bytes(const cv::Mat& m) {
  CV_Assert(m.empty() || m.isContinuous());
  return {reinterpret_cast<const char*>(m.data), m.total() * m.elemSize()};
}

void put_text(std::string& out, std::string_view text) {
  binary_io::put(out, static_cast<std::uint32_t>(text.size()));
  out.append(text);
}

bool take_text(std::string_view& in, std::string& text) {
  std::uint32_t n = 0;
  if (!binary_io::take(in, n) || n > in.size()) return false;
  text.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

}  // namespace

cv::Mat descriptor_matrix(const FeatureIndexFile& index) {
  std::vector<cv::Mat> parts;
  for (const auto& r : index.references)
    if (!r.descriptors.empty()) parts.push_back(root_sift(r.descriptors));
  cv::Mat all;
  if (!parts.empty()) cv::vconcat(parts, all);
  return all;
}

std::unique_ptr<cv::flann::Index> build_kd_trees(const cv::Mat& descriptors) {
  cvflann::seed_random(kSeed);
  return std::make_unique<cv::flann::Index>(descriptors, cv::flann::KDTreeIndexParams(kTrees), cvflann::FLANN_DIST_L2);
}

namespace {

// The bytes cv::flann::Index::save writes for `trees`; empty when it could not.
std::string flann_bytes(const cv::flann::Index& trees) {
  const MemoryFile file;
  if (!file.ok()) return {};
  try {
    trees.save(file.path());
  } catch (const cv::Exception&) {
    return {};
  }
  return file.read_all();
}

}  // namespace

std::string save_kd_trees(const cv::flann::Index& trees, const cv::Mat& descriptors) {
  const std::string flann = flann_bytes(trees);
  if (flann.empty()) return {};
  std::string out;
  binary_io::put(out, kFormat);
  put_text(out, CV_VERSION);
  binary_io::put(out, static_cast<std::uint32_t>(kTrees));
  binary_io::put(out, static_cast<std::uint32_t>(kSeed));
  binary_io::put(out, static_cast<std::uint64_t>(descriptors.rows));
  binary_io::put(out, static_cast<std::uint32_t>(descriptors.cols));
  put_text(out, sha256_hex(matrix_bytes(descriptors)));
  put_text(out, sha256_hex(flann));
  out += flann;
  return out;
}

std::optional<KdForest> load_kd_trees(std::string_view in, const cv::Mat& descriptors) {
  std::uint32_t format = 0, trees = 0, seed = 0, cols = 0;
  std::uint64_t rows = 0;
  std::string version, rows_sha256, flann_sha256;
  if (!binary_io::take(in, format) || format != kFormat || !take_text(in, version) || version != CV_VERSION ||
      !binary_io::take(in, trees) || trees != kTrees || !binary_io::take(in, seed) || seed != kSeed ||
      !binary_io::take(in, rows) || rows != static_cast<std::uint64_t>(descriptors.rows) || !binary_io::take(in, cols) ||
      cols != static_cast<std::uint32_t>(descriptors.cols) || descriptors.type() != CV_32F || !take_text(in, rows_sha256) ||
      !take_text(in, flann_sha256) || in.empty())
    return std::nullopt;
  if (flann_sha256 != sha256_hex(in) || rows_sha256 != sha256_hex(matrix_bytes(descriptors))) return std::nullopt;
  return KdForest::read_flann(in, descriptors.rows, descriptors.cols);
}

KdForest build_kd_forest(const cv::Mat& descriptors) {
  auto forest = KdForest::read_flann(flann_bytes(*build_kd_trees(descriptors)), descriptors.rows, descriptors.cols);
  if (!forest)
    throw std::runtime_error(fmt::format("logo: the KD-trees built over {} descriptors could not be read back from OpenCV "
                                         "(no anonymous memory file, or a FLANN that writes another layout)",
                                         descriptors.rows));
  return std::move(*forest);
}

}  // namespace cluetrace::logo
