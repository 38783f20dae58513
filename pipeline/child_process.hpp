// Small helpers for running work in a forked child process, so that a crash or a hang in third-party code
// costs the child only. Fork only from a single-threaded process (the supervisor is one).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace cluetrace {

// How a child ended.
struct ChildExit {
  bool exited = false;  // by exit(): code is valid
  int code = 0;
  int signal = 0;       // killed by this signal
  bool timed_out = false;  // we killed it after its time
  bool ok() const { return exited && code == 0 && !timed_out; }
  std::string describe() const;  // "exited with status 3", "was killed by SIGSEGV (segmentation fault)"
};
ChildExit child_exit_from_status(int wait_status);

// "SIGSEGV (Segmentation fault)".
std::string signal_name(int sig);

struct ChildResult {
  ChildExit exit;
  std::string output;  // what the body returned (empty unless it returned normally)
  std::string error;   // the message of an exception the body threw
};

// Forks; the child runs `body` and sends back the string it returns. The parent waits at most `timeout_s`
// seconds (0: no limit), then kills it.
ChildResult run_in_child(const std::function<std::string()>& body, double timeout_s);

// In a freshly forked child: closes every descriptor above 2 except `keep`.
void close_descriptors_except(const std::vector<int>& keep);

// Threads of this process now (from /proc/self/task); forking is safe only at 1.
int thread_count();

}  // namespace cluetrace
