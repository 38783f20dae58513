// Records that do not fit in memory, kept in partition files until each partition is read back whole: the
// large-case scene matcher's LSH keys and votes (scenes.cpp), so a case of a million pictures is matched in
// bounded memory. With one partition and no folder, the records stay in memory.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <vector>

namespace cluetrace {

class SpillPartitions {
 public:
  // `parts` partitions of 64-bit records; in files under `folder` (created, and removed with everything in
  // it when this is destroyed) unless parts == 1 and folder is empty. Throws OutputError naming the folder.
  SpillPartitions(std::filesystem::path folder, std::size_t parts);
  ~SpillPartitions();
  SpillPartitions(const SpillPartitions&) = delete;
  SpillPartitions& operator=(const SpillPartitions&) = delete;

  std::size_t parts() const { return buffers_.size(); }
  void add(std::size_t part, std::uint64_t record);
  // Every record of partition `part` added so far (then it is empty), in no particular order.
  std::vector<std::uint64_t> take(std::size_t part);
  // Replaces partition `part` with `records` (to read them again later).
  void put_back(std::size_t part, std::vector<std::uint64_t>&& records);

 private:
  static constexpr std::size_t kBufferRecords = 8192;  // 64 KiB a partition between writes
  void flush(std::size_t part);
  void restart(std::size_t part);  // an empty file
  std::filesystem::path file(std::size_t part) const;

  std::filesystem::path folder_;
  bool in_memory_ = false;
  std::vector<std::vector<std::uint64_t>> buffers_;
  std::vector<std::FILE*> files_;
};

}  // namespace cluetrace
