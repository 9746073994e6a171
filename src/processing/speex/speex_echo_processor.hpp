#pragma once
// SpeexEchoProcessor: SpeexDSP's echo canceller (multidelay block frequency-domain adaptive filter) with the render
// reference of the same tick, followed by its preprocessor, which suppresses the residual echo the canceller
// reports (SPEEX_PREPROCESS_SET_ECHO_STATE), removes noise and, when enabled, applies its automatic gain; our 80 Hz
// high-pass filter runs first. The DuplexMeter's double-talk detector picks the echo suppression per frame, as in
// the WebRTC processor.
//
// Configuration as Speex sees it:
// - Filter length: Speex has no delay estimator; its filter must span the whole echo path, delay plus
//   reverberation. extended_filter: 300 ms (a device delay up to about 150 ms plus a room tail of 150 ms, the
//   delays the tests cover, 20..120 ms, with their 150 ms tail); otherwise 150 ms (short delays, e.g. a headset
//   or a known-aligned reference). Longer filters converge more slowly and cost more per frame (linear in length).
//   delay_agnostic and stream_delay_ms only tell the double-talk detector where to look for the echo.
// - suppression (dB of residual-echo attenuation, idle / while the preprocessor hears near-end speech):
//   kLow -20/-10, kModerate -40/-15 (Speex's defaults), kHigh -60/-30; kAdaptive switches between kLow and kHigh
//   like the WebRTC processor (kHigh after 0.5 s of far end with no near-end evidence).
// - noise_suppression (maximum attenuation of noise): kOff 0 dB, kLow -6, kModerate -10, kHigh -15 (Speex's
//   default), kVeryHigh -20. kOff keeps the preprocessor's gain stage on with no noise attenuation, since the
//   library applies the residual-echo suppression only through it.
// - AGC (this build of SpeexDSP is floating point, where the preprocessor's AGC exists; prepare() checks the
//   library accepts SPEEX_PREPROCESS_SET_AGC and fails with kUnsupported otherwise): the loudness target is
//   agc_target_level_dbfs + 12 dB below full scale (speech peaks about 12 dB above its loudness, so the peaks land
//   near the WebRTC target), the maximum gain agc_compression_gain_db. The library always limits peaks to
//   28000 (-1.4 dBFS), so agc_limiter has no off switch.

#include <audioengine/echo_canceller.hpp>

#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>

#include <cstdint>
#include <vector>

#include "processing/framed_echo_processor.hpp"
#include "processing/high_pass_filter.hpp"

namespace ae {

class SpeexEchoProcessor final : public FramedEchoProcessor {
 public:
  // `config` must have passed validate(). Thread: control. RT-safe: no.
  explicit SpeexEchoProcessor(const EchoCancellerConfig& config);
  ~SpeexEchoProcessor() override;
  SpeexEchoProcessor(const SpeexEchoProcessor&) = delete;
  SpeexEchoProcessor& operator=(const SpeexEchoProcessor&) = delete;

  // Any rate from 8000 to 48000 Hz that is a multiple of 100 (10 ms frames of whole samples); kInvalidArgument
  // naming the rate otherwise, or naming max_frames (1..16384); kUnsupported when agc_enabled and the library has
  // no AGC. When max_frames is a multiple of 10 ms every block must be one too; otherwise blocks go through a FIFO
  // and the output lags by 10 ms more.
  Status prepare(int sample_rate_hz, size_t max_frames) override;
  void reset() noexcept override;
  const char* name() const noexcept override { return "speex_aec"; }
  // The preprocessor's overlap-add delays its output by one 10 ms frame, plus the FIFO's frame when blocks are not
  // whole frames (the speex_echo_test measures it).
  int latency_samples() const noexcept override;

  // The adaptive filter's length in ms (see the header comment). Thread: any. RT-safe: yes.
  int filter_length_ms() const noexcept { return config_.extended_filter ? 300 : 150; }

 private:
  void release() noexcept;
  void init_components() noexcept;
  bool process_frame(float* near, const float* far, int delay_hint_ms, float* vad_copy) noexcept override;
  void set_echo_suppression(EchoSuppression level) noexcept;
  // Reads the filter's impulse response and publishes the lag of its largest tap as the delay.
  void estimate_delay() noexcept;

  EchoCancellerConfig config_;
  int sample_rate_hz_ = 0;
  SpeexEchoState* echo_ = nullptr;
  SpeexPreprocessState* pre_ = nullptr;
  HighPassFilter hpf_;
  EchoSuppression suppression_in_use_ = EchoSuppression::kAdaptive;  // kAdaptive: none set yet
  int estimated_delay_ms_ = -1;
  float last_mic_power_ = 0.0f;  // the canceller input's mean square, the frame before

  // Work buffers, sized in prepare().
  std::vector<float> near_s16_;
  std::vector<int16_t> near_i16_, far_i16_, out_i16_;
  std::vector<spx_int32_t> impulse_response_;
};

}  // namespace ae
