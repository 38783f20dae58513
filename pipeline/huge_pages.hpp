// Transparent huge pages for glibc's heap: the CLI re-executes itself once with glibc's tunable
// `glibc.malloc.hugetlb=1`, so that malloc asks the kernel for 2 MiB pages (madvise) where it can.
//
// Why: a run touches about a gigabyte of fresh memory (Tesseract's and hunspell's models, the nets, the
// SIFT scale spaces), 4 KiB at a time; each first touch is a page fault. On a virtual machine whose faults are
// dear that was most of a one-photo run's system time: 236,000 faults and 4.7 s for one photo, against
// 12,000 faults and 3.1 s with huge pages (bench/RESULTS.md, issue 16, tenth session).
//
// glibc reads its tunables only when a process starts, hence the one re-execution, first thing in main().
// It is skipped when: CLUETRACE_HUGE_PAGES=0; the kernel offers no transparent huge pages ("never"); the
// tunable is set already (by us, or by whoever started the CLI); tcmalloc or a sanitizer's allocator runs; or the executable
// cannot be re-executed (the run then goes on without, as before).
#pragma once

#include <string>

namespace cluetrace {

// Re-executes the running CLI with the tunable added to GLIBC_TUNABLES; returns when it does not (above).
void reexec_with_huge_pages(char** argv);

// Whether glibc's heap was asked for transparent huge pages in this process (the tunable was in force when
// it started).
bool heap_uses_huge_pages();

}  // namespace cluetrace
