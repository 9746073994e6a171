#pragma once
// Voice activity detection over audio the application holds (a file, a network stream), on the caller's thread:
// a detector (make_vad) and a VadSegmenter run frame by frame, recording every frame's probability and state,
// the VAD_SPEECH_START / VAD_SPEECH_END events and the speech segments, exactly in samples. The engine's live
// capture path runs the same detector and segmenter inside its tick; this is the offline counterpart (used by
// AudioEngine::process_vad and `audioengine vad FILE`).

#include <audioengine/endpointing.hpp>
#include <audioengine/events.hpp>
#include <audioengine/result.hpp>
#include <audioengine/vad.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace ae {

struct VadFrame {
  int64_t start_sample;  // first sample of the frame on the stream's timeline (0 = first sample processed)
  float probability;     // the detector's value for this frame
  VadState state;        // the segmenter's state after this frame
};

struct VadSegment {
  int64_t start_sample;         // true onset (first sample of the first frame of the confirming run)
  int64_t end_sample;           // first silent sample; -1 while the segment is still open
  int64_t padded_start_sample;  // start_sample - prefix_padding, not below 0: where delivered audio begins
};

class VadStream {
 public:
  // Builds the detector config.algorithm names and prepares it for `frame_samples`-sample frames at
  // `sample_rate_hz`. Errors: kInvalidConfig for a config that does not validate (every bad field named);
  // kInvalidArgument for frame_samples of 0 or above one second; those of make_vad and the detector's prepare
  // (e.g. kIo: the Silero model file is missing). Thread: control. RT-safe: no.
  static Result<std::unique_ptr<VadStream>> create(const VadConfig& config, int sample_rate_hz,
                                                   size_t frame_samples);

  // Appends mono samples in [-1, 1]; every complete frame is analysed, a partial tail waits for the next call.
  // Thread: the owner's. RT-safe: no (it records frames and events).
  void process(std::span<const float> mono);
  // The events decided since the last call, oldest first: kVadSpeechStart (vad.speech_start_sample = onset) and
  // kVadSpeechEnd (vad.speech_end_sample = first silent sample), t_samples = end of the deciding frame.
  // Thread: the owner's. RT-safe: no.
  std::vector<AudioEvent> take_events();
  // Every frame analysed since creation or reset(). Thread: the owner's. RT-safe: no.
  const std::vector<VadFrame>& frames() const noexcept { return frames_; }
  // Closed segments, then the open one (end_sample -1) if speech is ongoing. Thread: the owner's. RT-safe: no.
  std::vector<VadSegment> segments() const;
  VadState state() const noexcept { return segmenter_.state(); }
  // Samples analysed (whole frames only). Thread: the owner's. RT-safe: yes.
  int64_t position_samples() const noexcept { return position_; }
  int sample_rate_hz() const noexcept { return sample_rate_hz_; }
  size_t frame_samples() const noexcept { return frame_samples_; }
  const VoiceActivityDetector& detector() const noexcept { return *detector_; }
  // Back to time 0: detector, segmenter, endpointer, frames, events and segments cleared (the endpointing config
  // stays). Thread: the owner's. RT-safe: no.
  void reset();

  // ---- endpointing ----
  // Turns on ENDPOINT events (kEndpoint, t_samples = end of the deciding frame, vad.speech_start_sample /
  // speech_end_sample = the utterance's bounds; see endpointing.hpp) from the next frame on. Errors:
  // kInvalidConfig naming the field. Thread: the owner's. RT-safe: no.
  Status configure_endpointing(const EndpointConfig& config);
  // Silence timeout from now on, clamped to [100, 10000] ms. Thread: the owner's. RT-safe: no.
  void set_endpoint_timeout_ms(int timeout_ms);
  // kIdle while endpointing is off. Thread: the owner's. RT-safe: yes.
  EndpointState endpoint_state() const noexcept { return endpointer_.state(); }
  // Ends the utterance in progress at position_samples() with an ENDPOINT event; false (no event) when there is
  // none or endpointing is off. Thread: the owner's. RT-safe: no.
  bool force_endpoint();

 private:
  VadStream() = default;
  VadConfig config_;
  int sample_rate_hz_ = 0;
  size_t frame_samples_ = 0;
  std::unique_ptr<VoiceActivityDetector> detector_;
  VadSegmenter segmenter_;
  std::vector<float> pending_;
  int64_t position_ = 0;
  std::vector<VadFrame> frames_;
  std::vector<AudioEvent> events_;
  std::vector<VadSegment> closed_;
  int64_t open_start_ = -1;  // onset of the segment in progress
  bool endpointing_ = false;
  Endpointer endpointer_;
};

}  // namespace ae
