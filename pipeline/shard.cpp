#include "pipeline/shard.hpp"

#include <charconv>

#include <fmt/format.h>

#include "pipeline/digest.hpp"

namespace cluetrace {
namespace {

std::optional<std::size_t> number(std::string_view text) {
  std::size_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<std::size_t> env_number(const std::function<const char*(const char*)>& getenv, const char* name) {
  const char* value = getenv(name);
  return value ? number(value) : std::nullopt;
}

ShardSpec checked(std::size_t index, std::size_t count, const std::string& where) {
  if (count == 0) throw ShardError(fmt::format("{}: the number of shards must be at least 1", where));
  if (index >= count) throw ShardError(fmt::format("{}: shard {} is not one of 0..{}", where, index, count - 1));
  return {index, count};
}

}  // namespace

std::string ShardSpec::to_string() const { return fmt::format("{}/{}", index, count); }

std::size_t shard_of(std::string_view relative_path, std::size_t count) {
  if (count <= 1) return 0;
  const std::string digest = sha256_hex(relative_path);
  const std::uint64_t value = std::stoull(digest.substr(0, 16), nullptr, 16);
  return static_cast<std::size_t>(value % count);
}

ShardSpec parse_shard(const std::string& spec, std::optional<std::size_t> shards,
                      const std::function<const char*(const char*)>& getenv) {
  if (spec != "auto") {
    const auto slash = spec.find('/');
    const auto k = slash == std::string::npos ? std::nullopt : number(std::string_view(spec).substr(0, slash));
    const auto n = slash == std::string::npos ? std::nullopt : number(std::string_view(spec).substr(slash + 1));
    if (!k || !n) throw ShardError(fmt::format("--shard {}: expected K/N (for example 0/4) or auto", spec));
    if (shards && *shards != *n) throw ShardError(fmt::format("--shard {} and --shards {} disagree", spec, *shards));
    return checked(*k, *n, "--shard " + spec);
  }
  if (getenv("SLURM_ARRAY_TASK_ID")) {
    const auto id = env_number(getenv, "SLURM_ARRAY_TASK_ID");
    const auto count = env_number(getenv, "SLURM_ARRAY_TASK_COUNT");
    const auto min = getenv("SLURM_ARRAY_TASK_MIN") ? env_number(getenv, "SLURM_ARRAY_TASK_MIN") : std::optional<std::size_t>(0);
    if (!id || !count || !min || *id < *min) {
      throw ShardError("--shard auto: SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT (and SLURM_ARRAY_TASK_MIN) are not usable numbers");
    }
    // An array with a step (--array=0-8:2) numbers its tasks with gaps: K/N would not cover the case.
    if (const auto max = env_number(getenv, "SLURM_ARRAY_TASK_MAX"); max && *max - *min + 1 != *count) {
      throw ShardError(fmt::format("--shard auto: the Slurm array {}-{} has {} tasks with gaps; submit it as --array=0-{}",
                                   *min, *max, *count, *count - 1));
    }
    if (shards && *shards != *count) throw ShardError(fmt::format("--shards {} but the Slurm array has {} tasks", *shards, *count));
    return checked(*id - *min, *count, "--shard auto (Slurm array)");
  }
  if (getenv("JOB_COMPLETION_INDEX")) {
    const auto index = env_number(getenv, "JOB_COMPLETION_INDEX");
    const auto count = shards ? shards : env_number(getenv, "JOB_COMPLETIONS");
    if (!index) throw ShardError("--shard auto: JOB_COMPLETION_INDEX is not a number");
    if (!count) throw ShardError("--shard auto: a Kubernetes Indexed Job needs --shards N (or JOB_COMPLETIONS set to N)");
    return checked(*index, *count, "--shard auto (Kubernetes Indexed Job)");
  }
  throw ShardError("--shard auto: neither a Slurm array job (SLURM_ARRAY_TASK_ID) nor a Kubernetes Indexed Job "
                   "(JOB_COMPLETION_INDEX) is in the environment; give --shard K/N");
}

}  // namespace cluetrace
