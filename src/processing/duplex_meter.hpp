#pragma once
// DuplexMeter: the double-talk detector and the duplex metrics (ERLE over far-end-only windows, double-talk and
// far-end-activity fractions, frame count) shared by the echo processors, so that every implementation reports
// the same figures by the same definitions. Fed once per 10 ms frame by the audio thread, read by any thread.

#include <audioengine/echo_canceller.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace ae {

class DuplexMeter {
 public:
  // Far-end frames without near-end evidence before kAdaptive suppression turns hard.
  static constexpr int kHardSuppressionAfterFrames = 50;

  // Forgets everything and publishes zeros (delay -1). Thread: the audio thread, or any while not processing.
  // RT-safe: yes.
  void reset() noexcept {
    far_history_.fill(0.0f);
    far_head_ = 0;
    hangover_frames_ = 0;
    quiet_frames_ = 0;
    double_talk_state_ = false;
    far_active_ = false;
    mic_power_sum_ = out_power_sum_ = 0.0;
    erle_window_frames_ = 0;
    frames_ = far_frames_ = dt_frames_ = 0;
    erle_db_.store(0.0, std::memory_order_relaxed);
    delay_ms_.store(-1, std::memory_order_relaxed);
    frames_pub_.store(0, std::memory_order_relaxed);
    far_frames_pub_.store(0, std::memory_order_relaxed);
    dt_frames_pub_.store(0, std::memory_order_relaxed);
    double_talk_now_.store(false, std::memory_order_relaxed);
  }

  // Accounts one 10 ms frame and publishes the counters. Powers are mean squares in 16-bit scale: `mic_power` of
  // the echo canceller's input, `far_power` of the render frame, `out_power` of the canceller's output (its
  // residual echo suppression included, noise suppression and gain excluded where the library allows).
  // `delay_ms` (>= 0) is where the echo is expected behind the render signal. Thread: the audio thread.
  // RT-safe: yes.
  void update(float mic_power, float far_power, float out_power, int delay_ms) noexcept {
    far_history_[far_head_] = far_power;
    const size_t delay_frames = std::min(static_cast<size_t>(std::max(delay_ms, 0) / 10), kFarHistoryFrames - 1);
    const size_t first = delay_frames >= 2 ? delay_frames - 2 : 0;
    const size_t last = std::min(delay_frames + kEchoTailFrames, kFarHistoryFrames - 1);
    float far_envelope = 0.0f;
    for (size_t lag = first; lag <= last; ++lag)
      far_envelope = std::max(far_envelope, far_history_[(far_head_ + kFarHistoryFrames - lag) % kFarHistoryFrames]);
    far_head_ = (far_head_ + 1) % kFarHistoryFrames;

    far_active_ = far_envelope > kFarActivePower;
    // Once converged the canceller removes far more than kResidualRatio of the echo; a frame whose output keeps
    // more of the microphone signal than that carries something the far end does not explain: near-end speech.
    const bool near_seen = far_active_ && out_power > kNearFloorPower && out_power > kResidualRatio * mic_power;
    if (near_seen) quiet_frames_ = 0; else if (far_active_) ++quiet_frames_;
    if (near_seen) hangover_frames_ = kHangoverFrames;
    else if (hangover_frames_ > 0) --hangover_frames_;
    double_talk_state_ = far_active_ && (near_seen || hangover_frames_ > 0);
    if (far_active_) ++far_frames_;
    if (double_talk_state_) ++dt_frames_;

    if (far_active_ && !double_talk_state_) {
      // Sums over windows of far-end-only frames: an exponential average would let the loud output of the first,
      // unconverged frames dominate for a long time.
      mic_power_sum_ += mic_power;
      out_power_sum_ += out_power;
      if (++erle_window_frames_ == kErleWindowFrames) {
        erle_db_.store(10.0 * std::log10((mic_power_sum_ + 1e-3) / (out_power_sum_ + 1e-3)),
                       std::memory_order_relaxed);
        mic_power_sum_ = out_power_sum_ = 0.0;
        erle_window_frames_ = 0;
      }
    }
    ++frames_;
    frames_pub_.store(frames_, std::memory_order_relaxed);
    far_frames_pub_.store(far_frames_, std::memory_order_relaxed);
    dt_frames_pub_.store(dt_frames_, std::memory_order_relaxed);
    double_talk_now_.store(double_talk_state_, std::memory_order_relaxed);
  }

  // Publishes the implementation's own delay estimate, ms. Thread: the audio thread. RT-safe: yes.
  void publish_delay_ms(int delay_ms) noexcept { delay_ms_.store(delay_ms, std::memory_order_relaxed); }

  // Frames accounted since reset(). Thread: the audio thread. RT-safe: yes.
  int64_t frames() const noexcept { return frames_; }
  // Whether kAdaptive should suppress hard now: the far end has talked for kHardSuppressionAfterFrames frames
  // without near-end evidence. Thread: the audio thread. RT-safe: yes.
  bool suppress_hard() const noexcept { return quiet_frames_ >= kHardSuppressionAfterFrames; }
  // The last frame had far-end signal / was judged double talk. Thread: the audio thread. RT-safe: yes.
  bool far_active() const noexcept { return far_active_; }
  bool double_talk_state() const noexcept { return double_talk_state_; }

  // A snapshot of the published figures (fields may be from neighbouring frames). Thread: any. RT-safe: yes.
  DuplexMetrics metrics() const noexcept {
    DuplexMetrics m;
    m.frames = frames_pub_.load(std::memory_order_relaxed);
    const int64_t far = far_frames_pub_.load(std::memory_order_relaxed);
    const int64_t dt = dt_frames_pub_.load(std::memory_order_relaxed);
    m.erle_db = erle_db_.load(std::memory_order_relaxed);
    m.delay_ms = delay_ms_.load(std::memory_order_relaxed);
    m.far_end_active_fraction = m.frames > 0 ? static_cast<double>(far) / static_cast<double>(m.frames) : 0.0;
    m.double_talk_fraction = far > 0 ? static_cast<double>(dt) / static_cast<double>(far) : 0.0;
    return m;
  }
  // Whether the last frame was judged double talk. Thread: any. RT-safe: yes.
  bool double_talk() const noexcept { return double_talk_now_.load(std::memory_order_relaxed); }

 private:
  // A frame has far-end signal above -55 dBFS (16-bit scale power).
  static constexpr float kFarActivePower = 32768.0f * 32768.0f * 3.2e-6f;
  // Echo reaches the microphone over this many 10 ms frames after the delay (direct path plus reverberation).
  static constexpr size_t kEchoTailFrames = 25;
  // Near-end speech: the echo canceller's output keeps more than this fraction of the microphone power (-20 dB)...
  static constexpr float kResidualRatio = 0.01f;
  // ... and that output is above -50 dBFS (the canceller's comfort noise and the room noise stay below).
  static constexpr float kNearFloorPower = 32768.0f * 32768.0f * 1e-5f;
  // Double talk is held this long after the last frame that showed it, so syllable gaps don't toggle suppression.
  static constexpr int kHangoverFrames = 30;
  // ERLE is published per window of this many far-end-only frames (1 s).
  static constexpr int kErleWindowFrames = 100;
  static constexpr size_t kFarHistoryFrames = 64;

  std::array<float, kFarHistoryFrames> far_history_{};  // far-end frame powers, one per 10 ms frame
  size_t far_head_ = 0;
  int hangover_frames_ = 0;
  int quiet_frames_ = 0;
  bool double_talk_state_ = false;
  bool far_active_ = false;
  double mic_power_sum_ = 0.0, out_power_sum_ = 0.0;
  int erle_window_frames_ = 0;
  int64_t frames_ = 0, far_frames_ = 0, dt_frames_ = 0;

  std::atomic<double> erle_db_{0.0};
  std::atomic<int> delay_ms_{-1};
  std::atomic<int64_t> frames_pub_{0}, far_frames_pub_{0}, dt_frames_pub_{0};
  std::atomic<bool> double_talk_now_{false};
};

}  // namespace ae
