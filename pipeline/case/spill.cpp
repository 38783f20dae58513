#include "pipeline/case/spill.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "pipeline/report_store.hpp"

namespace cluetrace {

SpillPartitions::SpillPartitions(std::filesystem::path folder, std::size_t parts)
    : folder_(std::move(folder)), in_memory_(parts <= 1 && folder_.empty()), buffers_(std::max<std::size_t>(parts, 1)) {
  if (in_memory_) return;
  std::error_code ec;
  std::filesystem::create_directories(folder_, ec);
  if (ec) throw OutputError(fmt::format("cannot create {}: {}", folder_.string(), ec.message()));
  files_.assign(buffers_.size(), nullptr);
  for (std::size_t p = 0; p < files_.size(); ++p) {
    files_[p] = std::fopen(file(p).c_str(), "w+b");
    if (files_[p]) continue;
    const std::string error = fmt::format("cannot create {}: {}", file(p).string(), std::strerror(errno));
    // No destructor runs for a constructor that throws: close and remove what was made.
    for (auto* f : files_) {
      if (f) std::fclose(f);
    }
    std::filesystem::remove_all(folder_, ec);
    throw OutputError(error);
  }
}

SpillPartitions::~SpillPartitions() {
  for (auto* f : files_) {
    if (f) std::fclose(f);
  }
  if (!in_memory_) {
    std::error_code ignored;
    std::filesystem::remove_all(folder_, ignored);
  }
}

std::filesystem::path SpillPartitions::file(std::size_t part) const { return folder_ / fmt::format("part-{:05}", part); }

void SpillPartitions::add(std::size_t part, std::uint64_t record) {
  auto& buffer = buffers_[part];
  buffer.push_back(record);
  if (!in_memory_ && buffer.size() >= kBufferRecords) flush(part);
}

void SpillPartitions::flush(std::size_t part) {
  auto& buffer = buffers_[part];
  if (buffer.empty()) return;
  if (std::fwrite(buffer.data(), sizeof(std::uint64_t), buffer.size(), files_[part]) != buffer.size())
    throw OutputError(fmt::format("cannot write {}: {}", file(part).string(), std::strerror(errno)));
  buffer.clear();
}

std::vector<std::uint64_t> SpillPartitions::take(std::size_t part) {
  if (in_memory_) return std::exchange(buffers_[part], {});
  flush(part);
  std::FILE* f = files_[part];
  const long bytes = std::ftell(f);
  if (bytes < 0 || std::fseek(f, 0, SEEK_SET) != 0) throw OutputError(fmt::format("cannot read {}: {}", file(part).string(), std::strerror(errno)));
  std::vector<std::uint64_t> records(static_cast<std::size_t>(bytes) / sizeof(std::uint64_t));
  if (std::fread(records.data(), sizeof(std::uint64_t), records.size(), f) != records.size())
    throw OutputError(fmt::format("cannot read {}: {}", file(part).string(), std::strerror(errno)));
  restart(part);
  return records;
}

void SpillPartitions::restart(std::size_t part) {
  std::fclose(files_[part]);
  files_[part] = std::fopen(file(part).c_str(), "w+b");
  if (!files_[part]) throw OutputError(fmt::format("cannot create {}: {}", file(part).string(), std::strerror(errno)));
}

void SpillPartitions::put_back(std::size_t part, std::vector<std::uint64_t>&& records) {
  if (in_memory_) {
    buffers_[part] = std::move(records);
    return;
  }
  buffers_[part].clear();
  restart(part);
  if (std::fwrite(records.data(), sizeof(std::uint64_t), records.size(), files_[part]) != records.size())
    throw OutputError(fmt::format("cannot write {}: {}", file(part).string(), std::strerror(errno)));
}

}  // namespace cluetrace
