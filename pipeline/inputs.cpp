#include "pipeline/inputs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <set>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "pipeline/evidence_file.hpp"
#include "pipeline/image_format.hpp"

namespace fs = std::filesystem;

namespace cluetrace {
namespace {

using FileId = std::pair<dev_t, ino_t>;

// Reports are JSON, which must be UTF-8: a byte that is not part of a valid UTF-8 sequence is written
// as \xNN, so a file name from any system still gets its report (and the same name again on resume).
std::string printable_path(const std::string& raw) {
  std::string out;
  out.reserve(raw.size());
  std::size_t i = 0;
  while (i < raw.size()) {
    const auto c = static_cast<unsigned char>(raw[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool valid = len > 0 && i + len <= raw.size() && !(len == 1 && c < 0x20);
    for (std::size_t k = 1; valid && k < len; ++k) valid = (static_cast<unsigned char>(raw[i + k]) & 0xC0) == 0x80;
    if (valid) {
      out.append(raw, i, len);
      i += len;
    } else {
      out += fmt::format("\\x{:02X}", c);
      ++i;
    }
  }
  return out;
}

class Walker {
 public:
  explicit Walker(ShardSpec shard) : shard_(shard) {}
  InputSet result;

  void add_argument(const std::string& arg) {
    if (arg.size() > 1 && arg.front() == '@') {
      add_list_file(arg.substr(1));
      return;
    }
    struct stat st {};
    if (::stat(arg.c_str(), &st) != 0) {
      const int err = errno;
      if (err == ENOENT || err == ENOTDIR) {
        throw InputError(fmt::format("input '{}' does not exist", arg));
      }
      // Exists but cannot be examined (permission, loop): it was asked for, so it gets a report.
      if (mine(fs::path(arg).filename().string())) result.images.push_back({fs::path(arg), printable_path(arg), walk_index_});
      ++walk_index_;
      return;
    }
    if (S_ISDIR(st.st_mode)) {
      walk_directory(fs::path(arg), printable_path(arg), st, fs::path());
    } else {
      add_file(fs::path(arg), printable_path(arg), st, /*explicit_arg=*/true, fs::path(arg).filename());
    }
  }

 private:
  std::set<FileId> seen_files_;
  std::set<FileId> seen_dirs_;
  std::vector<FileId> dir_stack_;  // ancestors of the folder being walked, to tell a loop from a second path
  std::set<std::string> lists_open_;  // @list files being read, to refuse one that includes itself
  ShardSpec shard_;
  std::size_t walk_index_ = 0;

  bool mine(const std::string& relative) const { return shard_.whole() || shard_of(relative, shard_.count) == shard_.index; }

  void keep(const fs::path& path, const std::string& display, std::size_t index) {
    result.images.push_back({path, display, index});
  }

  void add_list_file(const std::string& list_path) {
    std::error_code ec;
    const auto canonical = fs::weakly_canonical(list_path, ec);
    if (!lists_open_.insert(canonical.string()).second) {
      throw InputError(fmt::format("the input list '{}' includes itself", list_path));
    }
    std::ifstream in(list_path);
    if (!in) throw InputError(fmt::format("cannot read the input list '{}'", list_path));
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto first = line.find_first_not_of(" \t");
      if (first == std::string::npos || line[first] == '#') continue;
      add_argument(line);
    }
    lists_open_.erase(canonical.string());
  }

  // `relative`: the file's path relative to the INPUT argument it came from (its name, for a file argument).
  void add_file(const fs::path& path, const std::string& display, const struct stat& st, bool explicit_arg, const fs::path& relative) {
    const std::size_t index = walk_index_++;
    if (!S_ISREG(st.st_mode)) {
      // FIFOs, sockets and devices are never opened: reading a FIFO could block the run forever.
      if (explicit_arg) {
        if (mine(relative.string())) keep(path, display, index);
      } else {
        result.skipped.push_back({display, "not a regular file"});
      }
      return;
    }
    // Repeats are recognised before the shard is chosen, so every shard keeps the same one of them.
    const FileId id{st.st_dev, st.st_ino};
    if (!seen_files_.insert(id).second) {
      result.skipped.push_back({display, "the same file was already listed under another path"});
      return;
    }
    if (!mine(relative.string())) return;  // another shard's (it is examined there)
    if (explicit_arg || st.st_size == 0 || has_image_extension(path.filename().string())) {
      keep(path, display, index);
      return;
    }
    // Decide by content.
    const EvidenceFile file(path);
    if (file.fd() < 0) {
      keep(path, display, index);  // unreadable: might be an image, so it gets a failed report
      return;
    }
    std::array<unsigned char, kSniffBytes> head{};
    const auto n = ::read(file.fd(), head.data(), head.size());
    if (n < 0) {
      keep(path, display, index);
      return;
    }
    const auto format = sniff_format(std::span(head.data(), static_cast<std::size_t>(n)));
    if (format != ImageFormat::unknown) {
      keep(path, display, index);
    } else {
      result.skipped.push_back({display, "not an image (content matches no image format)"});
    }
  }

  void walk_directory(const fs::path& dir, const std::string& display, const struct stat& st, const fs::path& relative) {
    const FileId id{st.st_dev, st.st_ino};
    if (std::find(dir_stack_.begin(), dir_stack_.end(), id) != dir_stack_.end()) {
      result.problems.push_back({display, "symbolic link loop: this folder contains itself; not followed"});
      return;
    }
    if (!seen_dirs_.insert(id).second) {
      result.skipped.push_back({display, "folder already walked under another path"});
      return;
    }
    std::error_code ec;
    fs::directory_iterator it(dir, fs::directory_options::none, ec);
    if (ec) {
      result.problems.push_back({display, "cannot list folder: " + ec.message()});
      return;
    }
    std::vector<fs::path> entries;
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      if (ec) {
        result.problems.push_back({display, "error while listing folder: " + ec.message()});
        break;
      }
      entries.push_back(it->path());
    }
    std::sort(entries.begin(), entries.end());  // reports come out in a stable order
    dir_stack_.push_back(id);
    for (const auto& entry : entries) {
      const std::string entry_display = (fs::path(display) / printable_path(entry.filename().string())).string();
      struct stat est {};
      if (::stat(entry.c_str(), &est) != 0) {
        const int err = errno;
        struct stat lst {};
        if (::lstat(entry.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
          result.problems.push_back({entry_display, err == ELOOP ? "symbolic link loop; not followed"
                                                                 : "dangling symbolic link: " + std::generic_category().message(err)});
        } else {
          result.problems.push_back({entry_display, "cannot examine: " + std::generic_category().message(err)});
        }
        continue;
      }
      const fs::path entry_relative = relative / entry.filename();
      if (S_ISDIR(est.st_mode)) {
        walk_directory(entry, entry_display, est, entry_relative);
      } else {
        add_file(entry, entry_display, est, /*explicit_arg=*/false, entry_relative);
      }
    }
    dir_stack_.pop_back();
  }
};

}  // namespace

InputSet collect_inputs(const std::vector<std::string>& args, const ShardSpec& shard) {
  Walker walker(shard);
  for (const auto& arg : args) walker.add_argument(arg);
  return std::move(walker.result);
}

}  // namespace cluetrace
