#include "pipeline/report_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <algorithm>
#include <unordered_set>
#include <unordered_map>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace fs = std::filesystem;

namespace cluetrace {
void sync_to_disk(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

namespace {

void write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    const auto n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw OutputError(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void fsync_dir(const fs::path& dir) { sync_to_disk(dir.empty() ? fs::path(".") : dir); }

}  // namespace

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file_atomically(const fs::path& path, std::string_view content, bool sync) {
  const fs::path tmp = path.parent_path() / fmt::format(".{}.tmp.{}", path.filename().string(), ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw OutputError(fmt::format("cannot create {}: {}", tmp.string(), std::strerror(errno)));
  try {
    write_all(fd, content, tmp);
    if (sync && ::fsync(fd) != 0) throw OutputError(fmt::format("cannot sync {}: {}", tmp.string(), std::strerror(errno)));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw OutputError(fmt::format("cannot rename {} to {}: {}", tmp.string(), path.string(), std::strerror(err)));
  }
  if (sync) fsync_dir(path.parent_path());
}

AtomicFileWriter::AtomicFileWriter(const fs::path& path)
    : path_(path), tmp_(path.parent_path() / fmt::format(".{}.tmp.{}", path.filename().string(), ::getpid())) {
  file_ = std::fopen(tmp_.c_str(), "wb");
  if (!file_) throw OutputError(fmt::format("cannot create {}: {}", tmp_.string(), std::strerror(errno)));
}

AtomicFileWriter::~AtomicFileWriter() {
  if (!file_) return;
  std::fclose(file_);
  ::unlink(tmp_.c_str());
}

void AtomicFileWriter::write(std::string_view text) {
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size()) {
    throw OutputError(fmt::format("cannot write {}: {}", tmp_.string(), std::strerror(errno)));
  }
}

void AtomicFileWriter::commit(bool sync) {
  const bool flushed = std::fflush(file_) == 0 && (!sync || ::fsync(::fileno(file_)) == 0);
  const int err = errno;
  std::fclose(file_);
  file_ = nullptr;
  if (!flushed || ::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int e = flushed ? errno : err;
    ::unlink(tmp_.c_str());
    throw OutputError(fmt::format("cannot write {}: {}", path_.string(), std::strerror(e)));
  }
  if (sync) fsync_dir(path_.parent_path());
}

ReportStore::ReportStore(const fs::path& out_dir, const std::string& config_sha256, OpenMode mode)
    : path_(out_dir / "reports.jsonl") {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) throw OutputError(fmt::format("cannot create output folder {}: {}", out_dir.string(), ec.message()));

  // Two runs appending to one reports.jsonl would interleave and resume each other's work: refuse the second.
  lock_.emplace(out_dir);
  const bool exists = fs::exists(path_) && fs::file_size(path_, ec) > 0;
  if (exists && mode == OpenMode::fresh) {
    throw OutputError(fmt::format("{} already holds reports from an earlier run; use --resume to continue it or "
                                  "--overwrite to replace it",
                                  path_.string()));
  }
  std::string kept_text;
  std::size_t other_config = 0;
  if (exists && mode == OpenMode::resume) {
    auto kept = read_kept_reports(read_file(path_), config_sha256);
    kept_ = std::move(kept.status);
    kept_text = std::move(kept.text);
    dropped_ = kept.dropped;
    other_config = kept.other_config;
    if (other_config > 0) {
      // Resuming continues one run; replacing another configuration's results is a decision, not a side effect.
      throw OutputError(fmt::format("{} holds {} reports made with another config; --resume only continues a run "
                                    "with the same config: use --overwrite to replace them, or another --out",
                                    path_.string(), other_config));
    }
    if (dropped_ > 0) {
      spdlog::info("resume: keeping {} reports, redoing {} cut off by the kill", kept_.size(), dropped_);
    }
  }
  if (mode != OpenMode::resume || dropped_ > 0 || !exists) write_file_atomically(path_, kept_text);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) throw OutputError(fmt::format("cannot open {}: {}", path_.string(), std::strerror(errno)));
}

KeptReports read_kept_reports(std::string_view text, const std::string& config_sha256) {
  KeptReports kept;
  const bool torn = for_each_complete_line(text, [&](std::string_view line) {
    try {
      const auto report = nlohmann::json::parse(line);
      const auto path = report.at("image").at("path").get<std::string>();
      const auto status = report.at("status").get<std::string>();
      if (status != "ok" && status != "partial" && status != "failed") {
        ++kept.dropped;
      } else if (report.value("config_sha256", "") != config_sha256) {
        ++kept.other_config;
      } else if (kept.status.contains(path)) {
        ++kept.dropped;
      } else {
        kept.status.emplace(path, status);
        kept.text.append(line);
        kept.text.push_back('\n');
      }
    } catch (const nlohmann::json::exception&) {
      ++kept.dropped;  // not JSON, not an object, or a field of the wrong type: that image is redone
    }
  });
  if (torn) ++kept.dropped;  // the line the kill cut off: that image is redone
  return kept;
}

FolderLock::FolderLock(const fs::path& dir) {
  const fs::path lock_path = dir / ".cluetrace.lock";
  fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw OutputError(fmt::format("cannot create {}: {}", lock_path.string(), std::strerror(errno)));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    throw OutputError(fmt::format("another cluetrace run is writing to {} (it holds {})", dir.string(), lock_path.string()));
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the lock file releases its flock
}

ReportStore::~ReportStore() {
  if (fd_ >= 0) ::close(fd_);
}

std::string ReportStore::kept_status(const std::string& display_path) const {
  const auto it = kept_.find(display_path);
  return it == kept_.end() ? std::string() : it->second;
}

void ReportStore::append(const nlohmann::ordered_json& report) {
  // One write() per line: a kill leaves at most one torn last line, which resume discards.
  // Text from an image or its metadata may not be valid UTF-8: replaced (U+FFFD), never a reason to lose a report.
  write_all(fd_, report.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n", path_);
}

void ReportStore::append_line(std::string_view line, std::size_t seq) {
  if (last_seq_ && seq < *last_seq_) in_order_ = false;
  last_seq_ = seq;
  std::string text(line);
  text.push_back('\n');
  write_all(fd_, text, path_);
}

void ReportStore::finish(const std::vector<std::string>& order) {
  if (::fsync(fd_) != 0) throw OutputError(fmt::format("cannot sync {}: {}", path_.string(), std::strerror(errno)));
  if (kept_.empty() && in_order_) return;  // appended in input order already
  // After a resume the kept reports come first, and images finish out of order: put the file in input order.
  // Only where each line is and where it goes are held (a few dozen bytes a report), never the reports.
  std::unordered_map<std::string_view, std::size_t> place;
  place.reserve(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) place.emplace(order[i], i);
  struct Line {
    std::size_t place;  // in `order`; reports of other paths after, in file order
    std::uint64_t offset;
    std::uint32_t length;
  };
  std::vector<Line> lines;
  // A path reported twice (a resume's leftovers): its first line counts. Paths of this run by their place (a
  // bit each), others (kept for other inputs, few) by name.
  std::vector<bool> seen_place(order.size(), false);
  std::unordered_set<std::string> seen_other;
  {
    std::ifstream in(path_, std::ios::binary);
    std::string line;
    std::uint64_t offset = 0;
    std::size_t others = 0;
    while (std::getline(in, line)) {
      const auto start = offset;
      offset += line.size() + 1;
      if (in.eof()) break;  // a line without its newline is not a report
      const auto report = nlohmann::json::parse(line, nullptr, false);
      if (report.is_discarded()) continue;
      const auto path = report.at("image").at("path").get<std::string>();
      const auto it = place.find(path);
      if (it != place.end()) {
        if (seen_place[it->second]) continue;
        seen_place[it->second] = true;
        lines.push_back({it->second, start, static_cast<std::uint32_t>(line.size())});
      } else {
        if (!seen_other.insert(path).second) continue;
        lines.push_back({order.size() + others++, start, static_cast<std::uint32_t>(line.size())});
      }
    }
  }
  std::sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) { return a.place < b.place; });
  const int in = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) throw OutputError(fmt::format("cannot read {}: {}", path_.string(), std::strerror(errno)));
  try {
    AtomicFileWriter out(path_);
    std::string text;
    for (const auto& l : lines) {
      text.resize(l.length);
      if (::pread(in, text.data(), l.length, static_cast<off_t>(l.offset)) != static_cast<ssize_t>(l.length)) {
        throw OutputError(fmt::format("cannot read {}: it changed while it was put in order", path_.string()));
      }
      text.push_back('\n');
      out.write(text);
    }
    out.commit(true);
  } catch (...) {
    ::close(in);
    throw;
  }
  ::close(in);
  // The file was replaced: appends (none are expected after finish) would go to the old one.
  ::close(fd_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
}

}  // namespace cluetrace
