// How many malloc arenas the CLI lets glibc make: one for every 4 cores, at least one (pipeline/main.cpp sets
// it with mallopt; the reason is there). Threads that share an arena take turns at its lock, so work made of
// millions of small allocations (hunspell loading its dictionaries) runs no faster on more threads than there
// are arenas, and slower: two threads loading the 11 dictionaries into one arena took 1.7–1.9 s, one thread
// 1.0–1.2 s (bench/RESULTS.md, issue 16, ninth session).
#pragma once

namespace cluetrace {

int malloc_arena_limit();

}  // namespace cluetrace
