// A case spread over machines: `cluetrace run --shard K/N` processes one deterministic part of the inputs
// (docs/large-cases.md). A file's part is a hash of its path relative to the INPUT argument it came from, so
// neither the order a folder is walked in, nor a resume, nor the machine changes it.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cluetrace {

struct ShardSpec {
  std::size_t index = 0;  // K, from 0
  std::size_t count = 1;  // N; 1: the whole case
  bool whole() const { return count <= 1; }
  std::string to_string() const;  // "K/N"
};

// SHA-256 of the relative path, its first 8 bytes as a number, modulo `count`.
std::size_t shard_of(std::string_view relative_path, std::size_t count);

class ShardError : public std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// `spec` is "K/N" (0 <= K < N) or "auto": from a Slurm array job (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN
// of SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX of `shards`, else of
// JOB_COMPLETIONS). `getenv` is the environment (a parameter, for the tests). Throws ShardError saying what
// is missing or wrong.
ShardSpec parse_shard(const std::string& spec, std::optional<std::size_t> shards,
                      const std::function<const char*(const char*)>& getenv);

}  // namespace cluetrace
