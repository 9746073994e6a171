#pragma once
// The clock of the tick's stage timing: the CPU's time-stamp counter where it runs at a constant rate through
// sleep states (x86-64 with constant_tsc and nonstop_tsc), else steady_clock. A sampled tick reads it five times;
// here a counter read costs 12 ns against steady_clock's 31 ns (`build/bin/engine_bench
// --benchmark_filter=BM_Cost_`), which was most of what stage timing added per period.
//
// Readings are in the clock's own units; durations are recorded in them and turned into nanoseconds only when
// reported, with ns_per_unit(), measured once per process.

#include <atomic>
#include <chrono>
#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace ae::stage_clock {

namespace detail {
// Set once, by calibrate(), before any engine ticks (atomic only so that no reader races the one write).
extern std::atomic<bool> g_use_counter;
}  // namespace detail

// Measures the counter against steady_clock (about 2 ms, once per process; later calls return at once) and
// chooses the source. Thread: any control thread (thread-safe). RT-safe: no.
void calibrate();

// Nanoseconds per unit of now(): 1 for steady_clock. Thread: any, after calibrate(). RT-safe: yes.
double ns_per_unit() noexcept;

// A reading, in the clock's units. Thread: any, after calibrate(). RT-safe: yes (no system call on the counter).
inline uint64_t now() noexcept {
#if defined(__x86_64__)
  if (detail::g_use_counter.load(std::memory_order_relaxed)) return __rdtsc();
#endif
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

}  // namespace ae::stage_clock
