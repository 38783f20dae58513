// `cluetrace merge --out DIR SHARD_DIR...`: one case from the finished shards of a `--shard K/N` run
// (docs/large-cases.md). Every shard must be there once, complete, made with the same config and INPUTs;
// otherwise the merge names what is wrong and writes nothing. Running it again gives the same case.
#pragma once

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipeline/config.hpp"

namespace cluetrace {

// A shard missing, given twice, incomplete, or not matching the others.
class MergeError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct MergeSummary {
  std::size_t shards = 0;
  std::size_t reports = 0;
  std::vector<std::filesystem::path> outputs;  // case outputs written
  std::vector<std::string> output_problems;
};

// Throws MergeError (the shards do not make one case) or OutputError (the output folder cannot be used).
MergeSummary merge_shards(const std::filesystem::path& out, const std::vector<std::filesystem::path>& shards,
                          const OutputOptions& outputs, const std::vector<std::string>& command_line);

}  // namespace cluetrace
