// <out>/reports.jsonl: one report per line, appended as images finish, resumable after a crash.
#pragma once

#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/types.hpp"

namespace cluetrace {

// The output folder cannot be used (exists with reports and no --resume/--overwrite, not writable, disk full).
class OutputError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Writes `content` to `path` via a temporary file in the same folder, fsync and rename:
// readers see the old file or the new one, never a half-written one. sync=false skips the fsyncs (for files
// that can be made again from the reports, such as crops): still atomic, not necessarily durable.
void write_file_atomically(const std::filesystem::path& path, std::string_view content, bool sync = true);

// A file written in pieces (a large CSV or JSON) that appears whole or not at all: a temporary file beside
// `path`, renamed over it by commit(). Without commit() the temporary file is removed.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(const std::filesystem::path& path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  void write(std::string_view text);  // buffered; throws OutputError when the disk refuses
  void commit(bool sync = false);  // sync: fsync the file and its folder (evidence), not only rename

 private:
  std::filesystem::path path_, tmp_;
  std::FILE* file_ = nullptr;
};

// An exclusive flock on <dir>/.cluetrace.lock for as long as the object lives: one run (or `cluetrace report`)
// per output folder at a time. Throws OutputError when another process holds it.
class FolderLock {
 public:
  explicit FolderLock(const std::filesystem::path& dir);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

// fsync of a file or a folder (a rename in it); errors are ignored: what follows is what readers see.
void sync_to_disk(const std::filesystem::path& path);

// The whole of a file this tool wrote (reports, runs, signatures); empty when it cannot be read.
std::string read_file(const std::filesystem::path& path);

// Calls `line` for each newline-terminated line of a JSONL text (without its newline); returns whether
// the text ends in a line cut off before its newline (a write the kill interrupted).
template <typename Fn>
bool for_each_complete_line(std::string_view text, Fn&& line) {
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    if (end == std::string_view::npos) return true;
    line(text.substr(start, end - start));
    start = end + 1;
  }
  return false;
}

enum class OpenMode { fresh, resume, overwrite };

// What --resume keeps of a reports.jsonl: each path's first complete report made with `config_sha256`.
struct KeptReports {
  std::map<std::string, std::string> status;  // display path -> "ok" | "partial" | "failed"
  std::string text;                           // the kept lines, in file order, newline-terminated
  std::size_t dropped = 0;                    // torn, unreadable or repeated lines (those images are redone)
  std::size_t other_config = 0;               // reports made with another config
};
KeptReports read_kept_reports(std::string_view text, const std::string& config_sha256);

class ReportStore {
 public:
  // fresh: refuses a folder whose reports.jsonl already holds reports.
  // resume: keeps every complete report made with the same config (also those of inputs this run does not
  //         name: a result is never dropped for being out of scope), drops a torn last line from a killed
  //         run, and appends after them; refuses a file holding reports made under another config.
  // overwrite: starts an empty reports.jsonl.
  ReportStore(const std::filesystem::path& out_dir, const std::string& config_sha256, OpenMode mode);
  ~ReportStore();
  ReportStore(const ReportStore&) = delete;
  ReportStore& operator=(const ReportStore&) = delete;

  // Status ("ok" | "partial" | "failed") of a kept report for this input path, or empty.
  std::string kept_status(const std::string& display_path) const;
  std::size_t kept_count() const { return kept_.size(); }
  std::size_t dropped_count() const { return dropped_; }

  void append(const nlohmann::ordered_json& report);  // one line, flushed to the kernel
  // The same for a report already dumped as one line (no newline). `seq` is its place in the run's order:
  // reports appended out of that order are put back in order by finish().
  void append_line(std::string_view line, std::size_t seq);
  // fsync, and after a resume or out-of-order appends rewrite the file (atomically) in `order`, so it reads
  // as one run; kept reports of paths not in `order` follow, in the order they had.
  void finish(const std::vector<std::string>& order);

  std::filesystem::path path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::optional<FolderLock> lock_;  // released when the store goes, also when its constructor throws
  int fd_ = -1;
  std::map<std::string, std::string> kept_;  // display path -> status
  std::size_t dropped_ = 0;
  bool in_order_ = true;  // every line appended after its predecessors in the run's order
  std::optional<std::size_t> last_seq_;
};

}  // namespace cluetrace
