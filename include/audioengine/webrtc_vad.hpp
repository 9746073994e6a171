#pragma once
// The WebRTC voice activity detector (Debian's webrtc-audio-processing 0.3): a Gaussian-mixture model over six
// sub-band energies of 10, 20 or 30 ms frames, one speech / not-speech decision per frame. This is the detector
// the audio processing module runs for AudioProcessing::voice_detection(); it is called here directly, without
// that module around it (webrtc_vad.cpp says why).
//
// The detector decides on 10 ms sub-frames at 8000, 16000, 32000 or 48000 Hz. process() takes frames of any size
// up to max_frames: it converts them to 16-bit, cuts them into 10 ms sub-frames in a preallocated buffer (a
// partial sub-frame waits for the next call) and returns the fraction of the sub-frames completed during the call
// that were voiced. When a call completes none (a frame shorter than 10 ms, or the start of one), it returns the
// last decision again (1 voiced, 0 not; 0 before the first sub-frame). With 10 ms frames the value is the
// decision of that frame's 10 ms, 0 or 1; with 30 ms frames it is 0, 1/3, 2/3 or 1.
//
// Other rates (11025, 22050, 24000, 44100, 96000 Hz...) are resampled with the SpeexDSP Resampler to the nearest
// supported rate (a tie goes to the lower rate; above 48000 Hz, 48000). The model itself looks only at 0-4 kHz,
// so the target rate does not change what it hears; the resampler adds its filter delay, resampler_delay_ms().

#include <audioengine/result.hpp>
#include <audioengine/vad.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace ae {

class WebRtcVad final : public VoiceActivityDetector {
 public:
  static constexpr int kSubFrameMs = 10;
  static constexpr int kMinAggressiveness = 0;
  static constexpr int kMaxAggressiveness = 3;

  // A detector with the given mode (VadConfig::webrtc_aggressiveness), not yet prepared.
  // Errors: kInvalidConfig for an aggressiveness outside 0..3 (the message names vad.webrtc_aggressiveness, the
  // value and the valid range). Thread: control. RT-safe: no.
  static Result<std::unique_ptr<WebRtcVad>> create(int aggressiveness);

  // The rate the detector runs at for input at `sample_rate_hz`: the rate itself when it is 8000, 16000, 32000 or
  // 48000, else the nearest of them (ties to the lower). Thread: any. RT-safe: yes.
  static int processing_rate_for(int sample_rate_hz) noexcept;

  ~WebRtcVad() override;
  WebRtcVad(const WebRtcVad&) = delete;
  WebRtcVad& operator=(const WebRtcVad&) = delete;

  // Allocates and initialises the detector, the 10 ms sub-frame buffer and, for a rate the detector does not run
  // at, the resampler (sized for max_frames), then resets. Calling it again re-prepares for the new rate.
  // Errors: kInvalidArgument for a rate outside 8000..192000 Hz or max_frames of 0 or above 1 s of audio (both
  // named with the valid range); kInternal when the library refuses its mode or the resampler cannot be made.
  // Thread: control, not while process() runs. RT-safe: no.
  Status prepare(int sample_rate_hz, size_t max_frames) override;
  // Feeds `num_frames` mono samples in [-1, 1] (clipped to 16 bits) and returns the fraction of the 10 ms
  // sub-frames completed during this call that were voiced, or the last decision when none completed (see the top
  // of this header). 0 frames, a null pointer or a call before prepare() return 0 and change nothing. Frames
  // above max_frames are accepted (they are taken in max_frames pieces). Thread: the audio thread. RT-safe: yes:
  // no allocation, lock, system call or log.
  float process(const float* mono, size_t num_frames) noexcept override;
  // Re-initialises the model (its noise and speech statistics), drops the partial sub-frame and forgets the last
  // decision. The resampler keeps its few milliseconds of filter history (a linear filter, nothing learnt).
  // Thread: the audio thread, or any while not processing. RT-safe: yes.
  void reset() noexcept override;
  VadAlgorithm algorithm() const noexcept override { return VadAlgorithm::kWebRtc; }

  // 0..3. Thread: any. RT-safe: yes.
  int aggressiveness() const noexcept;
  // The rate the detector runs at (processing_rate_for(the prepared rate)); 0 before prepare(). Thread: any
  // while not preparing. RT-safe: yes.
  int processing_rate_hz() const noexcept;
  // Samples in one 10 ms sub-frame at processing_rate_hz(); 0 before prepare(). Thread: any. RT-safe: yes.
  size_t sub_frame_samples() const noexcept;
  // Delay the resampler adds before the detector, in ms (0 when the input rate is a processing rate).
  // Thread: any. RT-safe: yes.
  double resampler_delay_ms() const noexcept;
  // Sub-frames decided since the last reset, and the latest decision (false before the first).
  // Thread: the audio thread, or any while not processing. RT-safe: yes.
  int64_t sub_frames_processed() const noexcept;
  bool last_decision() const noexcept;

 private:
  struct Impl;
  explicit WebRtcVad(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ae
