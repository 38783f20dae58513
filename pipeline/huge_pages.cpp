#include "pipeline/huge_pages.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string_view>

#include "pipeline/sanitizer_malloc.hpp"
#include "pipeline/versions.hpp"

namespace cluetrace {
namespace {

constexpr std::string_view kTunable = "glibc.malloc.hugetlb";
constexpr const char* kAgainMark = "CLUETRACE_HUGE_PAGES_RESTARTED";

// "always" or "madvise" in the kernel's setting: glibc's madvise() is then honoured.
bool kernel_offers_huge_pages() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  if (!std::getline(in, line)) return false;
  return line.find("[always]") != std::string::npos || line.find("[madvise]") != std::string::npos;
}

std::string_view tunables() {
  const char* t = std::getenv("GLIBC_TUNABLES");
  return t ? t : "";
}

}  // namespace

bool heap_uses_huge_pages() {
  const auto t = tunables();
  const auto at = t.find(std::string(kTunable) + "=");
  return kGlibcMalloc && at != std::string_view::npos && t.substr(at + kTunable.size() + 1, 1) != "0" &&
         allocator_version().rfind("glibc", 0) == 0;
}

void reexec_with_huge_pages(char** argv) {
  // Started again by the call below: never a second time, even where the loader dropped the tunable (a
  // set-user-ID executable's start does); and the mark is not passed on to programs this one starts.
  if (std::getenv(kAgainMark) != nullptr) {
    ::unsetenv(kAgainMark);
    return;
  }
  if (const char* opt = std::getenv("CLUETRACE_HUGE_PAGES"); opt && std::string_view(opt) == "0") return;
  if (tunables().find(kTunable) != std::string_view::npos) return;  // decided already
  if (!kGlibcMalloc || allocator_version().rfind("glibc", 0) != 0) return;
  if (!kernel_offers_huge_pages()) return;
  const std::string before(tunables());
  const bool had = std::getenv("GLIBC_TUNABLES") != nullptr;
  const std::string value = before + (before.empty() ? "" : ":") + std::string(kTunable) + "=1";
  if (::setenv("GLIBC_TUNABLES", value.c_str(), 1) == 0 && ::setenv(kAgainMark, "1", 1) == 0) ::execv("/proc/self/exe", argv);
  // Not re-executed (no /proc, say): go on as before, the environment as it was.
  ::unsetenv(kAgainMark);
  if (had) ::setenv("GLIBC_TUNABLES", before.c_str(), 1);
  else ::unsetenv("GLIBC_TUNABLES");
}

}  // namespace cluetrace
