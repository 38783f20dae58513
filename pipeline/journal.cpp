#include "pipeline/journal.hpp"

#include <sys/mman.h>
#include <time.h>

#include <csignal>
#include <cstring>
#include <new>
#include <stdexcept>

#include <fmt/format.h>

namespace cluetrace {
namespace {

using Clock = std::atomic<std::int64_t>;
static_assert(Clock::is_always_lock_free && std::atomic<std::uint64_t>::is_always_lock_free,
              "the journal is shared between processes: its atomics must not hide a lock");

struct Slot {
  std::atomic<std::uint64_t> seq_plus1;  // 0: free
  Clock entered_ns;
  Clock since_ns[kPhaseCount];  // 0: not running
  std::atomic<std::int32_t> last_finished;  // -1: none yet
};

constexpr std::uint64_t kReserved = ~std::uint64_t{0};  // a slot being filled in

constexpr int kCrashSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};

// The crash handler can reach only globals and thread-locals: the journal of this (worker) process, and what
// the calling thread is doing.
void* g_crash_shared = nullptr;
thread_local int t_slot = -1;
thread_local int t_phase = -1;
thread_local int t_loading = -1;  // the StageKind this thread loads, or -1

}  // namespace

struct JournalShared {
  std::uint64_t capacity;
  std::atomic<std::int32_t> crash_signal;
  std::atomic<std::uint64_t> crash_seq_plus1;
  std::atomic<std::int32_t> crash_phase;
  std::atomic<std::int32_t> crash_loading;  // -1: the thread was not loading a stage
  std::atomic<std::int32_t> loading;        // the StageKind loading now, -1: none
  Clock loading_since_ns;

  Slot* slots() { return reinterpret_cast<Slot*>(this + 1); }
  const Slot* slots() const { return reinterpret_cast<const Slot*>(this + 1); }
};

namespace {

extern "C" void on_crash_signal(int sig) {
  if (auto* shared = static_cast<JournalShared*>(g_crash_shared)) {
    shared->crash_phase.store(t_phase);
    shared->crash_loading.store(t_loading);
    if (t_slot >= 0) {
      const auto seq_plus1 = shared->slots()[t_slot].seq_plus1.load();
      if (seq_plus1 != kReserved) shared->crash_seq_plus1.store(seq_plus1);
    }
    shared->crash_signal.store(sig);
  }
  // SA_RESETHAND has restored the default action: the signal, raised again, ends the process as it would have.
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

}  // namespace

std::optional<StageKind> stage_of(Phase phase) {
  const int index = static_cast<int>(phase) - 1;
  if (index < 0 || index >= static_cast<int>(kAllStageKinds.size())) return std::nullopt;
  return kAllStageKinds[static_cast<std::size_t>(index)];
}

std::int64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

Journal::Journal(std::size_t capacity) {
  capacity = std::max<std::size_t>(capacity, 1);
  bytes_ = sizeof(JournalShared) + capacity * sizeof(Slot);
  void* memory = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    throw std::runtime_error(fmt::format("cannot map {} bytes of shared memory for the journal: {}", bytes_, std::strerror(errno)));
  }
  shared_ = new (memory) JournalShared{};
  shared_->capacity = capacity;
  for (std::size_t i = 0; i < capacity; ++i) new (&shared_->slots()[i]) Slot{};
  clear();
}

Journal::~Journal() {
  if (g_crash_shared == shared_) g_crash_shared = nullptr;
  ::munmap(shared_, bytes_);
}

void Journal::clear() {
  shared_->crash_signal.store(0);
  shared_->crash_seq_plus1.store(0);
  shared_->crash_phase.store(-1);
  shared_->crash_loading.store(-1);
  shared_->loading.store(-1);
  shared_->loading_since_ns.store(0);
  for (std::size_t i = 0; i < shared_->capacity; ++i) {
    auto& slot = shared_->slots()[i];
    slot.seq_plus1.store(0);
    slot.entered_ns.store(0);
    for (auto& since : slot.since_ns) since.store(0);
    slot.last_finished.store(-1);
  }
}

std::vector<JournalImage> Journal::in_flight() const {
  std::vector<JournalImage> out;
  for (std::size_t i = 0; i < shared_->capacity; ++i) {
    const auto& slot = shared_->slots()[i];
    const auto seq_plus1 = slot.seq_plus1.load();
    if (seq_plus1 == 0 || seq_plus1 == kReserved) continue;
    JournalImage image;
    image.seq = static_cast<std::size_t>(seq_plus1 - 1);
    image.entered_ns = slot.entered_ns.load();
    for (int p = 0; p < kPhaseCount; ++p) {
      if (const auto since = slot.since_ns[p].load(); since != 0) image.running.emplace_back(static_cast<Phase>(p), since);
    }
    if (const int last = slot.last_finished.load(); last >= 0) image.last_finished = static_cast<Phase>(last);
    out.push_back(std::move(image));
  }
  return out;
}

JournalCrash Journal::crash() const {
  JournalCrash crash;
  crash.signal = shared_->crash_signal.load();
  if (const auto seq_plus1 = shared_->crash_seq_plus1.load(); seq_plus1 != 0) crash.seq = seq_plus1 - 1;
  if (const int phase = shared_->crash_phase.load(); phase >= 0) crash.phase = static_cast<Phase>(phase);
  if (const int stage = shared_->crash_loading.load(); stage >= 0) crash.loading = kAllStageKinds.at(static_cast<std::size_t>(stage));
  return crash;
}

std::optional<JournalLoading> Journal::loading() const {
  const int stage = shared_->loading.load();
  const auto since = shared_->loading_since_ns.load();
  if (stage < 0 || since == 0) return std::nullopt;
  return JournalLoading{kAllStageKinds.at(static_cast<std::size_t>(stage)), since};
}

void Journal::begin_loading(StageKind stage) {
  shared_->loading_since_ns.store(0);
  shared_->loading.store(static_cast<int>(stage));
  shared_->loading_since_ns.store(monotonic_ns());
}

void Journal::end_loading() {
  shared_->loading_since_ns.store(0);
  shared_->loading.store(-1);
}

int Journal::enter_image(std::size_t seq) {
  const auto capacity = shared_->capacity;
  for (std::size_t probe = 0; probe < capacity; ++probe) {
    const auto index = (seq + probe) % capacity;
    auto& slot = shared_->slots()[index];
    std::uint64_t expected = 0;
    // Reserved first, published last: a reader never sees the image with the previous one's times.
    if (slot.seq_plus1.compare_exchange_strong(expected, kReserved)) {
      for (auto& since : slot.since_ns) since.store(0);
      slot.last_finished.store(-1);
      slot.entered_ns.store(monotonic_ns());
      slot.seq_plus1.store(seq + 1);
      return static_cast<int>(index);
    }
  }
  return -1;  // more images in flight than the journal was made for: this one is not watched
}

void Journal::leave_image(int slot) {
  if (slot < 0) return;
  shared_->slots()[slot].seq_plus1.store(0);
}

void Journal::begin_phase(int slot, Phase phase) {
  if (slot < 0) return;
  shared_->slots()[slot].since_ns[static_cast<int>(phase)].store(monotonic_ns());
}

void Journal::end_phase(int slot, Phase phase) {
  if (slot < 0) return;
  auto& s = shared_->slots()[slot];
  s.since_ns[static_cast<int>(phase)].store(0);
  s.last_finished.store(static_cast<int>(phase));
}

void Journal::install_crash_handler() {
  g_crash_shared = shared_;
  struct sigaction action {};
  action.sa_handler = on_crash_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND | SA_ONSTACK;
  for (const int sig : kCrashSignals) ::sigaction(sig, &action, nullptr);
}

namespace {

// A stack overflow can only be reported from a stack of its own; each thread gets one the first time it marks.
void ensure_alternate_stack() {
  thread_local bool has_alternate_stack = false;
  if (has_alternate_stack) return;
  has_alternate_stack = true;
  constexpr std::size_t kSize = 64 * 1024;
  void* stack = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (stack != MAP_FAILED) {
    stack_t ss{};
    ss.ss_sp = stack;
    ss.ss_size = kSize;
    ::sigaltstack(&ss, nullptr);
  }
}

}  // namespace

PhaseMark::PhaseMark(Journal* journal, int slot, Phase phase)
    : journal_(journal), slot_(slot), phase_(phase), saved_slot_(t_slot), saved_phase_(t_phase) {
  if (!journal_) return;
  ensure_alternate_stack();
  t_slot = slot;
  t_phase = static_cast<int>(phase);
  journal_->begin_phase(slot, phase);
}

PhaseMark::~PhaseMark() {
  if (!journal_) return;
  journal_->end_phase(slot_, phase_);
  t_slot = saved_slot_;
  t_phase = saved_phase_;
}

LoadMark::LoadMark(Journal* journal, StageKind stage) : journal_(journal) {
  if (!journal_) return;
  ensure_alternate_stack();
  t_loading = static_cast<int>(stage);
  journal_->begin_loading(stage);
}

LoadMark::~LoadMark() {
  if (!journal_) return;
  journal_->end_loading();
  t_loading = -1;
}

}  // namespace cluetrace
