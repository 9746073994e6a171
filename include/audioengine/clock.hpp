#pragma once
// Clocks: what decides when the engine runs a tick.
//
// One tick processes one period (e.g. 10 or 20 ms): it takes one capture frame and produces one playback frame,
// so echo cancellation always sees render and capture of the same instant. A DeviceClock ticks from a sound
// device's callback; a VirtualClock ticks when the caller says so, or as fast as the CPU allows, or paced to
// wall-clock time. The engine code is the same under both, so every timing behaviour is testable exactly, in
// samples, on the virtual clock.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "audioengine/result.hpp"

namespace ae {

// What a clock drives: the engine.
class TickTarget {
 public:
  virtual ~TickTarget() = default;
  // Runs one period of `num_frames` frames. `capture` is the device's input for the period (mono, engine rate)
  // or nullptr when the engine's own source supplies it; `playback` receives the output or is nullptr when the
  // engine's own sink consumes it.
  // Thread: the audio thread only. RT-safe: must be: no allocation, lock, I/O, logging, sleep or throw; every
  // output sample is written, silence included.
  virtual void run_tick(const float* capture, float* playback, size_t num_frames) noexcept = 0;
};

enum class ClockKind { kVirtual, kDevice };

// How a VirtualClock produces ticks.
enum class VirtualClockMode {
  kInline,    // advance() runs the ticks on the calling thread; no thread of its own
  kStepped,   // advance() hands the ticks to the clock's thread "ae-audio" and waits until they ran
  kFreeRun,   // "ae-audio" runs ticks back to back, as fast as the CPU allows, until stop()
  kRealtime,  // "ae-audio" runs one tick per period of wall-clock time, until stop()
};
const char* to_string(VirtualClockMode mode);

class Clock {
 public:
  virtual ~Clock() = default;
  virtual ClockKind kind() const noexcept = 0;
  // Starts delivering ticks of `period_frames` to `target`. Thread: control. RT-safe: no.
  virtual Status start(TickTarget* target, size_t period_frames, int sample_rate_hz) = 0;
  // Stops ticking; returns once no tick is running, or kTimeout after `timeout_ms`. Idempotent.
  // Thread: control (never from inside a tick). RT-safe: no.
  virtual Status stop(int timeout_ms) = 0;
  virtual bool running() const noexcept = 0;
  // True when ticks arrive on their own (device callback, free-running or paced thread) rather than only when a
  // caller asks: control operations then wait for the next tick instead of acting between ticks.
  virtual bool self_driven() const noexcept = 0;
  // Ticks run since start(). Thread: any. RT-safe: yes.
  int64_t ticks() const noexcept { return ticks_.load(std::memory_order_acquire); }
  // Output of earlier ticks (engine-rate samples) not yet at the DAC when the current tick began: what the
  // device's buffers, the clock's FIFOs and its converter still hold. Those samples play out whatever the tick
  // decides (nothing recalls them), so a cut decided now is heard only after them. 0 on the virtual clock,
  // whose sink is the listener. Meaningful inside a tick; between ticks it is the last tick's figure.
  // Thread: the audio thread (any thread may read it, racing the next tick). RT-safe: yes.
  virtual int64_t output_pending_samples() const noexcept { return 0; }

 protected:
  std::atomic<int64_t> ticks_{0};
};

// Base for device backends: the device callback calls drive() once per period.
class DeviceClock : public Clock {
 public:
  ClockKind kind() const noexcept override { return ClockKind::kDevice; }
  bool self_driven() const noexcept override { return true; }
  int64_t output_pending_samples() const noexcept override {
    return output_pending_samples_.load(std::memory_order_relaxed);
  }

 protected:
  // Set by the backend before each drive(): the figure output_pending_samples() reports to that tick.
  void set_output_pending_samples(int64_t num_samples) noexcept {
    output_pending_samples_.store(num_samples, std::memory_order_relaxed);
  }
  // Runs one tick on the calling (device callback) thread, marked as the audio thread for the duration.
  // Thread: the device callback. RT-safe: yes.
  void drive(const float* capture, float* playback, size_t num_frames) noexcept;
  std::atomic<TickTarget*> target_{nullptr};

 private:
  // Written and read on the audio thread; atomic only so that a reader elsewhere is not a data race.
  std::atomic<int64_t> output_pending_samples_{0};
};

class VirtualClock final : public Clock {
 public:
  explicit VirtualClock(VirtualClockMode mode = VirtualClockMode::kStepped);
  ~VirtualClock() override;

  ClockKind kind() const noexcept override { return ClockKind::kVirtual; }
  VirtualClockMode mode() const noexcept { return mode_; }
  Status start(TickTarget* target, size_t period_frames, int sample_rate_hz) override;
  Status stop(int timeout_ms) override;
  bool running() const noexcept override { return running_.load(std::memory_order_acquire); }
  bool self_driven() const noexcept override {
    return mode_ == VirtualClockMode::kFreeRun || mode_ == VirtualClockMode::kRealtime;
  }

  // Runs the ticks covering `duration_ms` (rounded down to whole periods; the remainder carries over to the next
  // call so that advance(5) twice with a 10 ms period runs one tick). kInline: on this thread; kStepped: on
  // ae-audio, returning when they have run. Error kNotRunning before start(), kInvalidArgument in the
  // self-driven modes or for a negative duration.
  // Thread: one control thread at a time. RT-safe: no.
  Status advance(int64_t duration_ms);
  // Same, in whole ticks.
  Status advance_ticks(int64_t num_ticks);
  // Free-run / realtime: stop by itself after this many ticks (0 = never). Set before start().
  void set_tick_limit(int64_t num_ticks) noexcept { tick_limit_ = num_ticks; }
  // Blocks until the clock's thread has exited (tick limit reached, or stopped), or at once when it has none;
  // false on timeout. Thread: control.
  bool wait_until_finished(int timeout_ms);

 private:
  // The engine runs an inline clock's ticks itself (AudioEngine::advance_ticks): one period stepped at a time is
  // its whole cost per period, without this class's checks repeated and a virtual call into the tick.
  friend class AudioEngine;

  void thread_main();
  void run_one_tick() noexcept;
  void count_tick() noexcept {
    // One writer (whoever runs the ticks): a store, not a read-modify-write.
    ticks_.store(ticks_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  const VirtualClockMode mode_;
  TickTarget* target_ = nullptr;
  size_t period_frames_ = 0;
  int sample_rate_hz_ = 0;
  int64_t tick_limit_ = 0;
  int64_t remainder_us_ = 0;
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> thread_done_{true};
  // kStepped: ticks granted by advance() and not yet run; ae-audio waits on it with atomic wait/notify.
  std::atomic<int64_t> pending_ticks_{0};
  std::atomic<uint32_t> wake_{0};
  std::thread thread_;
};

}  // namespace ae
