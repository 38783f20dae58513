#include "stages/ocr/openmp_serial.hpp"

#include <dlfcn.h>

namespace {

using Body = void (*)(void*);

template <typename Function>
Function libgomp(const char* name) {
  return reinterpret_cast<Function>(::dlsym(RTLD_NEXT, name));
}

// True when libgomp would run a region this thread starts on this thread alone: no level may be active here.
bool regions_run_alone() {
  static const auto max_active_levels = libgomp<int (*)()>("omp_get_max_active_levels");
  return max_active_levels == nullptr || max_active_levels() == 0;
}

// The `parallel sections` region this thread runs alone, if any: the next section to hand out, and how many
// there are. Saved and restored around every region, so that one inside another finds its own.
struct Sections {
  bool alone = false;
  unsigned next = 0;
  unsigned count = 0;
};
thread_local Sections t_sections;

class SectionsScope {
 public:
  explicit SectionsScope(Sections inner) : outer_(t_sections) { t_sections = inner; }
  ~SectionsScope() { t_sections = outer_; }
  SectionsScope(const SectionsScope&) = delete;
  SectionsScope& operator=(const SectionsScope&) = delete;

 private:
  Sections outer_;
};

}  // namespace

namespace cluetrace::ocr {

void hold_openmp_to_this_thread() {
  thread_local bool held = false;
  if (held) return;
  held = true;
  // Looked up, not linked: libgomp comes with libtesseract, and a Tesseract built without OpenMP has no regions.
  static const auto set_max_active_levels = libgomp<void (*)(int)>("omp_set_max_active_levels");
  if (set_max_active_levels) set_max_active_levels(0);
}

}  // namespace cluetrace::ocr

// libgomp's entry points, as GCC calls them (libgomp's parallel.c and sections.c).
extern "C" {

__attribute__((visibility("default"))) void GOMP_parallel(Body body, void* data, unsigned num_threads, unsigned flags) {
  static const auto parallel = libgomp<void (*)(Body, void*, unsigned, unsigned)>("GOMP_parallel");
  const SectionsScope none({});  // not a sections region: its calls, if any, are libgomp's
  if (parallel == nullptr || regions_run_alone()) {
    body(data);
    return;
  }
  parallel(body, data, num_threads, flags);
}

__attribute__((visibility("default"))) void GOMP_parallel_sections(Body body, void* data, unsigned num_threads, unsigned count,
                                                                   unsigned flags) {
  static const auto parallel_sections = libgomp<void (*)(Body, void*, unsigned, unsigned, unsigned)>("GOMP_parallel_sections");
  if (parallel_sections == nullptr || regions_run_alone()) {
    const SectionsScope alone({true, 1, count});
    body(data);
    return;
  }
  const SectionsScope none({});
  parallel_sections(body, data, num_threads, count, flags);
}

// The next section for this thread to run (1-based), 0 when none is left.
__attribute__((visibility("default"))) unsigned GOMP_sections_next() {
  if (t_sections.alone) return t_sections.next <= t_sections.count ? t_sections.next++ : 0;
  static const auto sections_next = libgomp<unsigned (*)()>("GOMP_sections_next");
  return sections_next();
}

__attribute__((visibility("default"))) void GOMP_sections_end_nowait() {
  if (t_sections.alone) return;
  static const auto sections_end_nowait = libgomp<void (*)()>("GOMP_sections_end_nowait");
  sections_end_nowait();
}

}  // extern "C"
