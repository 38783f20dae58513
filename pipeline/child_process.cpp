#include "pipeline/child_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "pipeline/journal.hpp"

namespace cluetrace {
namespace {

void write_all_or_exit(int fd, std::string_view data) {
  while (!data.empty()) {
    const auto n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(121);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  const char* text = ::sigdescr_np(sig);
  if (!abbrev) return fmt::format("signal {}", sig);
  return text ? fmt::format("SIG{} ({})", abbrev, text) : fmt::format("SIG{}", abbrev);
}

ChildExit child_exit_from_status(int wait_status) {
  ChildExit exit;
  if (WIFEXITED(wait_status)) {
    exit.exited = true;
    exit.code = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    exit.signal = WTERMSIG(wait_status);
  }
  return exit;
}

std::string ChildExit::describe() const {
  if (timed_out) return "ran out of time and was killed";
  if (exited) return fmt::format("exited with status {}", code);
  if (signal != 0) return "was killed by " + signal_name(signal);
  return "ended in an unknown way";
}

ChildResult run_in_child(const std::function<std::string()>& body, double timeout_s) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(fmt::format("cannot make a pipe: {}", std::strerror(errno)));
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(fmt::format("cannot start a child process: {}", std::strerror(err)));
  }
  if (pid == 0) {
    ::close(fds[0]);
    std::string out;
    char kind = 'o';
    try {
      out = body();
    } catch (const std::exception& e) {
      kind = 'e';
      out = e.what();
    }
    write_all_or_exit(fds[1], std::string(1, kind) + out);
    ::_exit(kind == 'o' ? 0 : 1);
  }
  ::close(fds[1]);
  ChildResult result;
  std::string received;
  const auto deadline = monotonic_ns() + static_cast<std::int64_t>(timeout_s * 1e9);
  for (;;) {
    int wait_ms = -1;
    if (timeout_s > 0) {
      const auto left = deadline - monotonic_ns();
      if (left <= 0) {
        result.exit.timed_out = true;
        ::kill(pid, SIGKILL);
        break;
      }
      wait_ms = static_cast<int>(std::min<std::int64_t>(left / 1'000'000 + 1, 1000));
    }
    pollfd p{fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, wait_ms);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    char buffer[65536];
    const auto n = ::read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    received.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  const bool timed_out = result.exit.timed_out;
  result.exit = child_exit_from_status(status);
  result.exit.timed_out = timed_out;
  if (!received.empty() && !timed_out) {
    (received[0] == 'o' ? result.output : result.error) = received.substr(1);
  }
  return result;
}

void close_descriptors_except(const std::vector<int>& keep) {
  std::vector<int> open;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    const int own = ::dirfd(dir);
    while (const dirent* e = ::readdir(dir)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      const int fd = std::atoi(e->d_name);
      if (fd > 2 && fd != own) open.push_back(fd);
    }
    ::closedir(dir);
  }
  for (const int fd : open) {
    if (std::find(keep.begin(), keep.end(), fd) == keep.end()) ::close(fd);
  }
}

int thread_count() {
  std::error_code ec;
  int n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    ++n;
  }
  return n;
}

}  // namespace cluetrace
