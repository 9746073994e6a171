#pragma once
// WebRtcEchoProcessor: the capture chain of WebRTC audio processing 0.3 in APM's order (high-pass filter, echo
// canceller with the render reference, noise suppressor, adaptive digital gain), driven through the library's C
// functions so that no lock is taken, plus a double-talk detector that picks the echo suppression per frame.

#include <audioengine/echo_canceller.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "processing/webrtc/apm_library.hpp"
#include "processing/webrtc/high_pass_filter.hpp"

namespace ae {

class WebRtcEchoProcessor final : public EchoProcessor {
 public:
  // `config` must have passed validate(). Thread: control. RT-safe: no.
  explicit WebRtcEchoProcessor(const EchoCancellerConfig& config);
  ~WebRtcEchoProcessor() override;
  WebRtcEchoProcessor(const WebRtcEchoProcessor&) = delete;
  WebRtcEchoProcessor& operator=(const WebRtcEchoProcessor&) = delete;

  // 8000 or 16000 Hz (kUnsupported naming other rates: the library's 32/48 kHz paths need its band-splitting
  // filter, which it does not export). When max_frames is a multiple of 10 ms every block must be one too and the
  // processor adds no latency of its own; otherwise blocks go through a FIFO and the output lags by 10 ms more.
  Status prepare(int sample_rate_hz, size_t max_frames) override;
  void process(float* mono, size_t num_frames, const ProcessContext& context) noexcept override;
  void reset() noexcept override;
  const char* name() const noexcept override { return "webrtc_apm"; }
  // The FIFO's 10 ms when blocks are not whole frames, plus the library's own lag, measured on white noise (the
  // webrtc_echo_test checks it): the AEC's block buffering delays its output by 112 samples at 8 and 16 kHz and
  // the noise suppressor's analysis overlap by 6 ms more.
  int latency_samples() const noexcept override;
  DuplexMetrics duplex_metrics() const noexcept override;
  bool double_talk() const noexcept override { return double_talk_now_.load(std::memory_order_relaxed); }

  // Blocks passed through unprocessed: not a multiple of 10 ms in aligned mode, or longer than max_frames.
  int64_t misaligned_blocks() const noexcept { return misaligned_blocks_.load(std::memory_order_relaxed); }

 private:
  void release() noexcept;
  void init_components() noexcept;
  // One 10 ms frame: `near` in place (engine float scale), `far` the render frame (nullptr: silence).
  void process_frame(float* near, const float* far, int delay_hint_ms) noexcept;
  void update_double_talk(float mic_power, float far_power, float out_power) noexcept;
  void set_nlp(int mode) noexcept;

  EchoCancellerConfig config_;
  int sample_rate_hz_ = 0;
  size_t block_frames_ = 0;
  size_t max_frames_ = 0;
  bool fifo_mode_ = false;
  void* aec_ = nullptr;
  NsHandle* ns_ = nullptr;
  void* agc_ = nullptr;
  HighPassFilter hpf_;

  // Work buffers, float S16 scale (what the library expects), sized in prepare().
  std::vector<float> near_s16_, out_s16_, far_s16_, far_scratch_;
  std::vector<int16_t> near_i16_, out_i16_, far_i16_;
  // FIFO mode: capture and render samples waiting for a full frame, and processed output waiting to leave.
  std::vector<float> in_fifo_, render_fifo_, out_fifo_;
  size_t in_fill_ = 0, out_fill_ = 0;

  int32_t agc_level_ = 0;
  int nlp_mode_ = -1;
  // Double-talk detector state: far-end frame powers (ring, one per 10 ms frame), echo-path gain estimate.
  static constexpr size_t kFarHistoryFrames = 64;
  std::array<float, kFarHistoryFrames> far_history_{};
  size_t far_head_ = 0;
  int hangover_frames_ = 0;
  int quiet_frames_ = 0;
  bool double_talk_state_ = false;
  bool far_active_ = false;
  double mic_power_sum_ = 0.0, out_power_sum_ = 0.0;
  int erle_window_frames_ = 0;
  int64_t frames_ = 0, far_frames_ = 0, dt_frames_ = 0;
  int delay_in_use_ms_ = 0;

  std::atomic<double> erle_db_{0.0};
  std::atomic<int> delay_ms_{-1};
  std::atomic<int64_t> frames_pub_{0}, far_frames_pub_{0}, dt_frames_pub_{0};
  std::atomic<bool> double_talk_now_{false};
  std::atomic<int64_t> misaligned_blocks_{0};
};

}  // namespace ae
