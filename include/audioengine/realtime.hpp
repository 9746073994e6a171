#pragma once
// Real-time discipline: which thread is the audio thread, and proof that it neither allocates nor locks.
//
// The engine marks its audio thread (`ae-audio`, or the device callback thread) with ScopedAudioThread. Our own
// executables link a probe that replaces operator new and interposes pthread_mutex_lock; on a marked thread each
// call is counted here. A user's program without the probe reads probe_installed() == false and zero counts.

#include <cstdint>

namespace ae::rt {

// True on a thread currently marked as the audio thread. Thread: any. RT-safe: yes.
bool is_audio_thread() noexcept;

// Marks the calling thread as the audio thread for the object's lifetime (nests). Thread: the audio thread
// itself. RT-safe: yes (a thread_local flag).
class ScopedAudioThread {
 public:
  ScopedAudioThread() noexcept;
  ~ScopedAudioThread();
  ScopedAudioThread(const ScopedAudioThread&) = delete;
  ScopedAudioThread& operator=(const ScopedAudioThread&) = delete;

 private:
  bool previous_;
};

struct ViolationCounts {
  uint64_t allocations = 0;  // operator new / malloc calls made on a marked thread
  uint64_t mutex_locks = 0;  // pthread_mutex_lock / trylock calls made on a marked thread
};

// Thread: any. RT-safe: yes.
ViolationCounts violation_counts() noexcept;
void reset_violation_counts() noexcept;
// True when the counting probe is linked into this process, so zero counts mean something.
bool probe_installed() noexcept;

// Called by the probe only. RT-safe: yes (relaxed atomic increments).
void record_allocation() noexcept;
void record_mutex_lock() noexcept;
void set_probe_installed() noexcept;

// Names the calling thread (visible in top -H, gdb, perf). Names are cut to 15 characters. Thread: any.
// RT-safe: no (a system call); call once when the thread starts.
void set_current_thread_name(const char* name) noexcept;

}  // namespace ae::rt
