#pragma once
// Echo cancellation, noise suppression, automatic gain and high-pass filtering of the microphone signal: the
// configuration, the duplex metrics and the echo processor (an AudioProcessor for the capture stage).

#include <audioengine/processor.hpp>
#include <audioengine/result.hpp>

#include <cstdint>
#include <memory>

namespace ae {

enum class EchoImplementation : int32_t {
  // WebRTC audio processing 0.3 components (AEC, NS, AGC) and our high-pass filter. They run at 8 or 16 kHz; at
  // any other engine rate (24 kHz, 44.1, 48...) they run at 16 kHz behind SpeexDSP resamplers: the processed
  // microphone then carries speech up to 8 kHz only, and latency_samples() includes the resamplers' delay.
  kWebRtc = 0,
  // SpeexDSP echo canceller (its filter spans delay and room tail: no delay estimator) and preprocessor
  // (residual echo suppression, noise suppression, AGC), our high-pass filter; any rate 8..48 kHz that is a
  // multiple of 100 Hz. About 20 dB less ERLE than kWebRtc on the same echo, the near end better kept in double
  // talk, 10 ms of latency (the preprocessor's overlap-add). Mappings in src/processing/speex/.
  kSpeex = 1,
};

// How hard the echo canceller's non-linear processor suppresses what the linear filter leaves. Speex: residual
// echo attenuated by 20/40/60 dB (10/15/30 dB while its preprocessor hears near-end speech).
enum class EchoSuppression : int32_t {
  kLow = 0,       // WebRTC "conservative": keeps near-end speech, lets more residual echo through
  kModerate = 1,  // WebRTC "moderate" (APM's default); Speex's defaults
  kHigh = 2,      // WebRTC "aggressive": most echo removed, near-end speech in double talk damaged
  // kHigh once the far end has talked for 0.5 s with no near-end evidence, kLow otherwise (double talk, onsets,
  // convergence). Near-end evidence: the AEC's output keeps more than 1/100 of the microphone power and is above
  // -50 dBFS while the far end is active (after convergence the canceller removes far more echo than that).
  kAdaptive = 3,
};

// WebRTC's four policies; Speex: noise attenuated by at most 0 (kOff), 6, 10, 15 or 20 dB.
enum class NoiseSuppressionLevel : int32_t { kOff = -1, kLow = 0, kModerate = 1, kHigh = 2, kVeryHigh = 3 };

struct EchoCancellerConfig {
  EchoImplementation implementation = EchoImplementation::kWebRtc;
  EchoSuppression suppression = EchoSuppression::kAdaptive;
  NoiseSuppressionLevel noise_suppression = NoiseSuppressionLevel::kModerate;
  bool agc_enabled = true;         // adaptive digital gain
  // Target peak level, dB below full scale, 0..31 (Speex: loudness target 12 dB lower).
  int agc_target_level_dbfs = 3;
  int agc_compression_gain_db = 9; // 0..90 (Speex: the AGC's maximum gain)
  bool agc_limiter = true;         // Speex always limits peaks to -1.4 dBFS
  bool high_pass_filter = true;    // 2nd-order high-pass at 80 Hz before everything else
  bool delay_agnostic = true;      // the AEC estimates the delay itself, the reported delay only a hint (WebRTC)
  // WebRTC: 128 ms linear filter instead of 48 ms, robust delay handling. Speex: 300 ms instead of 150 ms, for
  // echo delays up to about 150 ms plus the room's tail.
  bool extended_filter = true;
  // Render-to-capture delay given to the AEC, ms, 0..500; -1 takes ProcessContext::echo_delay_ms (0 when that is
  // unknown too).
  int stream_delay_ms = -1;
  // A second copy of the capture for the barge-in's own detector (a second VAD of the engine's kind and settings,
  // made only while a copy is written, whose probability feeds only the barge-in's speech runs, which take the
  // higher of it and the VAD's), with the echo suppressed only by
  // `vad_copy_suppression`; the delivered chunks keep `suppression`, noise suppression and gain, the VAD (events,
  // segmenter, endpointer, the chunks' probability) hears them exactly as with the copy off, and the barge-in's
  // echo gate keeps judging them. Why: in double talk the stronger suppressions remove the user's first 50 to
  // 70 ms, and over a loud echo Silero no longer hears the user at all, so the interruption comes late; the echo
  // gate, not the suppressor, keeps the residual echo from interrupting. A second echo canceller (same render
  // reference, same delay) runs unless `suppression` already is `vad_copy_suppression`, in which case the copy is
  // the canceller's own output before noise suppression and gain. WebRTC at 8 and 16 kHz engine rates with blocks
  // of whole 10 ms frames only: elsewhere (Speex, other rates) no copy is made, the setting is ignored and the
  // barge-in hears the VAD. On by default: without it the user's barge-in over the AI's echo misses the 150 ms
  // target with Silero (164.875 to 844.81 ms in docs/conversation.md, at most 134.875 ms with it); it costs a second
  // canceller unless `suppression` is `vad_copy_suppression` and, while the AI plays, a second detector (with
  // Silero the tick from about 124 to 222 us CPU; see docs/conversation.md).
  bool vad_copy = true;
  EchoSuppression vad_copy_suppression = EchoSuppression::kLow;  // kLow, kModerate or kHigh

  // Names the first bad field, its value and the valid range (kInvalidArgument). Thread: any. RT-safe: no.
  Status validate() const;
};

// What the echo canceller measured since prepare() (or reset()). Counted in 10 ms frames.
struct DuplexMetrics {
  // Echo return loss enhancement, dB: microphone power over echo-canceller output power summed over the last
  // window of 100 frames (1 s) in which only the far end was active; 0 before the first window.
  double erle_db = 0.0;
  // The AEC's own estimate of the render-to-capture delay, ms; -1 before it has one. WebRTC: the median over its
  // last report period, about 1 s, in 4 ms steps. Speex: the lag of the adaptive filter's largest tap, read once
  // a second, when it stands out of the rest (the direct path, or a strong early reflection close to it).
  int delay_ms = -1;
  double double_talk_fraction = 0.0;     // of far-end-active frames, those judged double talk
  double far_end_active_fraction = 0.0;  // of all frames, those with far-end signal
  int64_t frames = 0;                    // 10 ms frames processed
};

// An AudioProcessor for the capture stage that also reports duplex metrics.
class EchoProcessor : public AudioProcessor {
 public:
  // A snapshot of the metrics, read from atomics the audio thread publishes once per 10 ms frame (fields may be
  // from neighbouring frames). Thread: any. RT-safe: yes.
  virtual DuplexMetrics duplex_metrics() const noexcept = 0;
  // Whether the double-talk detector judged the last frame double talk. Thread: any. RT-safe: yes.
  virtual bool double_talk() const noexcept = 0;
};

// Creates the echo processor the config names (not prepared yet): name() "webrtc_apm" for kWebRtc, "speex_aec"
// for kSpeex. Errors: kInvalidArgument from validate(). Thread: control. RT-safe: no.
Result<std::unique_ptr<EchoProcessor>> make_echo_processor(const EchoCancellerConfig& config);

}  // namespace ae
