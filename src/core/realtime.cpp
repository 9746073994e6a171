#include "audioengine/realtime.hpp"

#include <pthread.h>

#include <atomic>

#include "core/audio_thread_mark.hpp"

namespace ae::rt {
namespace detail {
// initial-exec: the flag is read on every allocation (by the probe) and at every tick; the default model for a
// shared library goes through __tls_get_addr.
[[gnu::visibility("hidden"), gnu::tls_model("initial-exec")]] thread_local bool t_is_audio_thread = false;
}  // namespace detail
using detail::t_is_audio_thread;

namespace {
std::atomic<uint64_t> g_allocations{0};
std::atomic<uint64_t> g_mutex_locks{0};
std::atomic<bool> g_probe_installed{false};
}  // namespace

bool is_audio_thread() noexcept { return t_is_audio_thread; }

ScopedAudioThread::ScopedAudioThread() noexcept : previous_(t_is_audio_thread) { t_is_audio_thread = true; }
ScopedAudioThread::~ScopedAudioThread() { t_is_audio_thread = previous_; }

ViolationCounts violation_counts() noexcept {
  return {g_allocations.load(std::memory_order_relaxed), g_mutex_locks.load(std::memory_order_relaxed)};
}
void reset_violation_counts() noexcept {
  g_allocations.store(0, std::memory_order_relaxed);
  g_mutex_locks.store(0, std::memory_order_relaxed);
}
bool probe_installed() noexcept { return g_probe_installed.load(std::memory_order_relaxed); }
void record_allocation() noexcept { g_allocations.fetch_add(1, std::memory_order_relaxed); }
void record_mutex_lock() noexcept { g_mutex_locks.fetch_add(1, std::memory_order_relaxed); }
void set_probe_installed() noexcept { g_probe_installed.store(true, std::memory_order_relaxed); }

void set_current_thread_name(const char* name) noexcept {
  char buf[16] = {};
  for (int i = 0; i < 15 && name[i] != '\0'; ++i) buf[i] = name[i];
  pthread_setname_np(pthread_self(), buf);
}

}  // namespace ae::rt
