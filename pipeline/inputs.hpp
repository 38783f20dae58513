// Turns the command line's INPUTs (files, folders walked recursively, @list.txt) into the list of
// images to report on. Walking never stops on a bad entry: it is recorded and the walk goes on.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/shard.hpp"
#include "pipeline/types.hpp"

namespace cluetrace {

struct InputNote {
  std::string path;
  std::string reason;
};

struct InputSet {
  std::vector<InputItem> images;    // each gets exactly one report
  std::vector<InputNote> skipped;   // seen but not images (or the same file again); listed in run.json
  std::vector<InputNote> problems;  // entries that could not be examined (unreadable folder, dangling link, loop)
};

// A top-level INPUT that does not exist or a list file that cannot be read: the run cannot proceed as asked.
class InputError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Inside folders a file counts as an image when its content says so, when its name says so (it then
// gets a `failed` report if the content disagrees), when it is empty, or when it cannot be read:
// nothing that might be an image is dropped silently. Files named explicitly always count. With a shard,
// only that part's images are listed (every folder is still walked, so repeats are told apart the same way).
InputSet collect_inputs(const std::vector<std::string>& args, const ShardSpec& shard = {});

}  // namespace cluetrace
