#include "audioengine/clock.hpp"

#include <pthread.h>

#include <chrono>

#include "audioengine/realtime.hpp"

namespace ae {

const char* to_string(VirtualClockMode mode) {
  switch (mode) {
    case VirtualClockMode::kInline: return "inline";
    case VirtualClockMode::kStepped: return "stepped";
    case VirtualClockMode::kFreeRun: return "free_run";
    case VirtualClockMode::kRealtime: return "realtime";
  }
  return "unknown";
}

void DeviceClock::drive(const float* capture, float* playback, size_t num_frames) noexcept {
  rt::ScopedAudioThread audio_thread;
  TickTarget* target = target_.load(std::memory_order_acquire);
  if (target != nullptr) target->run_tick(capture, playback, num_frames);
  ticks_.fetch_add(1, std::memory_order_acq_rel);
}

VirtualClock::VirtualClock(VirtualClockMode mode) : mode_(mode) {}

VirtualClock::~VirtualClock() { (void)stop(5000); }

Status VirtualClock::start(TickTarget* target, size_t period_frames, int sample_rate_hz) {
  if (running()) return Status(Error::kAlreadyRunning, "virtual clock: already running");
  if (target == nullptr || period_frames == 0 || sample_rate_hz <= 0) {
    return Status(Error::kInvalidArgument, "virtual clock: needs a target, period_frames > 0 and sample_rate_hz > 0");
  }
  target_ = target;
  period_frames_ = period_frames;
  sample_rate_hz_ = sample_rate_hz;
  remainder_us_ = 0;
  ticks_.store(0, std::memory_order_release);
  pending_ticks_.store(0, std::memory_order_release);
  stop_requested_.store(false, std::memory_order_release);
  running_.store(true, std::memory_order_release);
  if (mode_ != VirtualClockMode::kInline) {
    thread_done_.store(false, std::memory_order_release);
    thread_ = std::thread([this] { thread_main(); });
    // Named here as well as inside: the name is visible as soon as start() returns.
    pthread_setname_np(thread_.native_handle(), "ae-audio");
  }
  return ok_status();
}

Status VirtualClock::stop(int timeout_ms) {
  if (!running() && !thread_.joinable()) return ok_status();
  stop_requested_.store(true, std::memory_order_release);
  wake_.fetch_add(1, std::memory_order_acq_rel);
  wake_.notify_all();
  if (thread_.joinable()) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!thread_done_.load(std::memory_order_acquire)) {
      if (std::chrono::steady_clock::now() > deadline) {
        // The thread is stuck inside a tick (a target that blocks, against the rules): leave it detached rather
        // than hang the caller. It exits by itself when the tick returns.
        thread_.detach();
        running_.store(false, std::memory_order_release);
        return Status(Error::kTimeout, "virtual clock: ae-audio did not finish its tick within " +
                                           std::to_string(timeout_ms) + " ms; detached");
      }
      wake_.fetch_add(1, std::memory_order_acq_rel);
      wake_.notify_all();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    thread_.join();
  }
  running_.store(false, std::memory_order_release);
  return ok_status();
}

void VirtualClock::run_one_tick() noexcept {
  target_->run_tick(nullptr, nullptr, period_frames_);
  count_tick();
}

Status VirtualClock::advance(int64_t duration_ms) {
  if (duration_ms < 0) {
    return Status(Error::kInvalidArgument,
                  "advance: duration_ms = " + std::to_string(duration_ms) + "; valid: >= 0");
  }
  const int64_t period_us = static_cast<int64_t>(period_frames_) * 1000000 / (sample_rate_hz_ > 0 ? sample_rate_hz_ : 1);
  if (period_us <= 0) return Status(Error::kNotRunning, "advance: the virtual clock is not started");
  remainder_us_ += duration_ms * 1000;
  const int64_t n = remainder_us_ / period_us;
  remainder_us_ -= n * period_us;
  return advance_ticks(n);
}

Status VirtualClock::advance_ticks(int64_t num_ticks) {
  if (!running()) return Status(Error::kNotRunning, "advance: the virtual clock is not started");
  if (self_driven()) {
    return Status(Error::kInvalidArgument,
                  std::string("advance: clock mode is ") + to_string(mode_) + "; valid only in inline or stepped mode");
  }
  if (num_ticks < 0) return Status(Error::kInvalidArgument, "advance: num_ticks must be >= 0");
  if (mode_ == VirtualClockMode::kInline) {
    rt::ScopedAudioThread audio_thread;
    for (int64_t i = 0; i < num_ticks; ++i) run_one_tick();
    return ok_status();
  }
  const int64_t target_ticks = ticks() + pending_ticks_.load(std::memory_order_acquire) + num_ticks;
  pending_ticks_.fetch_add(num_ticks, std::memory_order_acq_rel);
  wake_.fetch_add(1, std::memory_order_acq_rel);
  wake_.notify_all();
  // Wait for ae-audio to run them. The ticks counter is the handshake.
  int64_t seen = ticks();
  while (seen < target_ticks) {
    if (thread_done_.load(std::memory_order_acquire)) {
      return Status(Error::kShutdown, "advance: the virtual clock stopped");
    }
    ticks_.wait(seen, std::memory_order_acquire);
    seen = ticks();
  }
  return ok_status();
}

bool VirtualClock::wait_until_finished(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!thread_done_.load(std::memory_order_acquire)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

void VirtualClock::thread_main() {
  rt::set_current_thread_name("ae-audio");
  const auto period = std::chrono::nanoseconds(static_cast<int64_t>(period_frames_) * 1000000000LL / sample_rate_hz_);
  auto next_deadline = std::chrono::steady_clock::now() + period;
  while (!stop_requested_.load(std::memory_order_acquire)) {
    if (mode_ == VirtualClockMode::kStepped) {
      const uint32_t wake = wake_.load(std::memory_order_acquire);
      if (pending_ticks_.load(std::memory_order_acquire) == 0) {
        // Waiting between ticks is the clock's business, like a device waiting for its next interrupt; the
        // tick itself (below, marked as audio thread) never waits. advance() and stop() bump wake_.
        if (!stop_requested_.load(std::memory_order_acquire)) wake_.wait(wake, std::memory_order_acquire);
        continue;
      }
      {
        rt::ScopedAudioThread audio_thread;
        target_->run_tick(nullptr, nullptr, period_frames_);
      }
      pending_ticks_.fetch_sub(1, std::memory_order_acq_rel);
      ticks_.fetch_add(1, std::memory_order_acq_rel);
      ticks_.notify_all();
      continue;
    }
    {
      rt::ScopedAudioThread audio_thread;
      target_->run_tick(nullptr, nullptr, period_frames_);
    }
    const int64_t t = ticks_.fetch_add(1, std::memory_order_acq_rel) + 1;
    ticks_.notify_all();
    if (tick_limit_ > 0 && t >= tick_limit_) break;
    if (mode_ == VirtualClockMode::kRealtime) {
      std::this_thread::sleep_until(next_deadline);
      next_deadline += period;
    }
  }
  thread_done_.store(true, std::memory_order_release);
  ticks_.notify_all();
}

}  // namespace ae
