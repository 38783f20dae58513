// Opening evidence: read-only, never blocking on a FIFO, and without touching the access time where the
// kernel lets us. Every read of an input goes through this.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

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

// The whole file, read through EvidenceFile. Throws std::runtime_error naming the file when it cannot be
// opened or read, or is larger than `max_bytes`.
std::string read_evidence(const std::filesystem::path& path, std::int64_t max_bytes);

}  // namespace cluetrace
