#include "core/stage_clock.hpp"

#include <fstream>
#include <mutex>
#include <sstream>
#include <string>

namespace ae::stage_clock {

namespace detail {
std::atomic<bool> g_use_counter{false};
}  // namespace detail

namespace {
std::atomic<double> g_ns_per_unit{1.0};
std::once_flag g_once;

// Whether the kernel reports a counter that ticks at one rate in every power state (flags in /proc/cpuinfo).
bool counter_is_invariant() {
#if defined(__x86_64__)
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line);
    bool constant = false, nonstop = false;
    for (std::string w; words >> w;) {
      constant |= w == "constant_tsc";
      nonstop |= w == "nonstop_tsc";
    }
    return constant && nonstop;
  }
#endif
  return false;
}

void measure() {
#if defined(__x86_64__)
  if (!counter_is_invariant()) return;
  using Steady = std::chrono::steady_clock;
  const auto t0 = Steady::now();
  const uint64_t c0 = __rdtsc();
  auto t1 = t0;
  while (t1 - t0 < std::chrono::milliseconds(2)) t1 = Steady::now();
  const uint64_t c1 = __rdtsc();
  if (c1 <= c0) return;
  g_ns_per_unit.store(std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(c1 - c0),
                      std::memory_order_relaxed);
  detail::g_use_counter.store(true, std::memory_order_relaxed);
#endif
}
}  // namespace

void calibrate() { std::call_once(g_once, measure); }

double ns_per_unit() noexcept { return g_ns_per_unit.load(std::memory_order_relaxed); }

}  // namespace ae::stage_clock
