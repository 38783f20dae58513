#include "pipeline/evidence_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace cluetrace {

EvidenceFile::EvidenceFile(const std::filesystem::path& path) {
  // O_NOATIME is refused (EPERM) on files we do not own unless privileged: then open without it.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME | O_NONBLOCK);
  if (fd_ < 0 && errno == EPERM) fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  error_ = fd_ < 0 ? errno : 0;
}

EvidenceFile::~EvidenceFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::string read_evidence(const std::filesystem::path& path, std::int64_t max_bytes) {
  EvidenceFile file(path);
  if (file.fd() < 0) throw std::runtime_error(fmt::format("cannot open {}: {}", path.string(), std::strerror(file.error())));
  struct stat st {};
  if (::fstat(file.fd(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw std::runtime_error(fmt::format("{} is not a regular file", path.string()));
  }
  std::string bytes;
  char buffer[1 << 16];
  while (true) {
    const auto n = ::read(file.fd(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
    if (n == 0) break;
    bytes.append(buffer, static_cast<std::size_t>(n));
    if (static_cast<std::int64_t>(bytes.size()) > max_bytes) {
      throw std::runtime_error(fmt::format("{} is larger than {} bytes", path.string(), max_bytes));
    }
  }
  return bytes;
}

}  // namespace cluetrace
