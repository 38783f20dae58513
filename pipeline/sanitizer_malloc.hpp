// Whether this build's malloc is glibc's: a sanitizer (ASan, TSan, MSan; scripts/sanitize.sh) brings an allocator
// of its own, which glibc's tunables and mallopt() do not reach and mallinfo2() does not describe.
#pragma once

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CLUETRACE_SANITIZER_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define CLUETRACE_SANITIZER_MALLOC 1
#endif
#endif

namespace cluetrace {

#ifdef CLUETRACE_SANITIZER_MALLOC
inline constexpr bool kGlibcMalloc = false;
#else
inline constexpr bool kGlibcMalloc = true;
#endif

}  // namespace cluetrace
