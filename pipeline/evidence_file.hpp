// Opening evidence: read-only, never blocking on a FIFO, and without touching the access time where the
// kernel lets us. Every read of an input goes through this.
#pragma once

#include <filesystem>

namespace cluetrace {

class EvidenceFile {
 public:
  explicit EvidenceFile(const std::filesystem::path& path);
  ~EvidenceFile();
  EvidenceFile(const EvidenceFile&) = delete;
  EvidenceFile& operator=(const EvidenceFile&) = delete;
  int fd() const { return fd_; }     // -1 when it could not be opened
  int error() const { return error_; }  // errno of the failed open

 private:
  int fd_ = -1;
  int error_ = 0;
};

}  // namespace cluetrace
