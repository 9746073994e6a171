#pragma once
// WebRtcEchoProcessor: the capture chain of WebRTC audio processing 0.3 in APM's order (high-pass filter, echo
// canceller with the render reference, noise suppressor, adaptive digital gain), driven through the library's C
// functions so that no lock is taken, plus a double-talk detector that picks the echo suppression per frame, and
// on request (EchoCancellerConfig::vad_copy) a copy of each frame for the engine's VAD with a gentler suppression.

#include <audioengine/echo_canceller.hpp>

#include <cstdint>
#include <vector>

#include "processing/framed_echo_processor.hpp"
#include "processing/high_pass_filter.hpp"
#include "processing/webrtc/apm_library.hpp"

namespace ae {

class WebRtcEchoProcessor final : public FramedEchoProcessor {
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
  void reset() noexcept override;
  const char* name() const noexcept override { return "webrtc_apm"; }
  // The FIFO's 10 ms when blocks are not whole frames, plus the library's own lag, measured on white noise (the
  // webrtc_echo_test checks it): the AEC's block buffering delays its output by 112 samples at 8 and 16 kHz and
  // the noise suppressor's analysis overlap by 6 ms more.
  int latency_samples() const noexcept override;

 private:
  void release() noexcept;
  void init_components() noexcept;
  bool process_frame(float* near, const float* far, int delay_hint_ms, float* vad_copy) noexcept override;
  void set_nlp(int mode) noexcept;

  EchoCancellerConfig config_;
  int sample_rate_hz_ = 0;
  void* aec_ = nullptr;
  // The VAD copy's canceller (EchoCancellerConfig::vad_copy) when its suppression differs from aec_'s; with the
  // same suppression the copy is aec_'s own output.
  void* vad_aec_ = nullptr;
  NsHandle* ns_ = nullptr;
  void* agc_ = nullptr;
  HighPassFilter hpf_;

  // Work buffers, float S16 scale (what the library expects), sized in prepare().
  std::vector<float> near_s16_, out_s16_, far_s16_, vad_out_s16_;
  std::vector<int16_t> near_i16_, out_i16_, far_i16_;

  int32_t agc_level_ = 0;
  int nlp_mode_ = -1;
  int delay_in_use_ms_ = 0;
};

}  // namespace ae
