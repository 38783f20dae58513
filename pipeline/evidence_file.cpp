#include "pipeline/evidence_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

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

}  // namespace cluetrace
