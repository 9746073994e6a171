#pragma once
// Endpointing: the end of the user's turn, decided from the VAD segmenter's decisions, exactly in samples.
// An utterance opens at the first confirmed speech onset and may span several VAD segments; it ends when the
// silence since the last segment's end reaches the silence timeout (ENDPOINT, reason silence), when it reaches
// max_utterance_ms (reason max_utterance; if speech goes on, the next utterance opens right there), or on
// force(). Utterances whose speech (first onset to last end) is shorter than min_utterance_ms end without an
// ENDPOINT (coughs, "mm").

#include <audioengine/result.hpp>
#include <audioengine/vad.hpp>

#include <cstdint>

namespace ae {

struct EndpointConfig {
  // 800 ms: longer than the pauses inside a sentence and between sentences of one turn (mostly under 500-700 ms),
  // short enough that the agent answers without an awkward gap.
  int silence_timeout_ms = 800;   // [100, 10000]; counted from the last segment's end (first silent sample)
  // 200 ms: shorter speech is a cough, a click or a backchannel, not a turn.
  int min_utterance_ms = 200;     // [0, 10000]
  int max_utterance_ms = 30000;   // [1000, 600000]
};

enum class EndpointState { kIdle, kInUtterance, kTrailingSilence };
enum class EndpointReason { kNone, kSilence, kMaxUtterance, kForced };

// "idle", "in_utterance", "trailing_silence" / "none", "silence", "max_utterance", "forced". Thread: any.
// RT-safe: yes.
const char* to_string(EndpointState state) noexcept;
const char* to_string(EndpointReason reason) noexcept;

// Ok, or kInvalidConfig naming every bad field ("endpoint.<member>"), its value and the valid range.
// Thread: any. RT-safe: no.
Status validate_endpoint_config(const EndpointConfig& config);

struct EndpointDecision {
  EndpointReason reason = EndpointReason::kNone;  // kNone: no endpoint at this frame
  int64_t utterance_start_sample = -1;            // first onset of the utterance
  int64_t utterance_end_sample = -1;              // last segment's end (silence), the cut (max / forced)
};

class Endpointer {
 public:
  // Takes the config (assumed valid; see validate_endpoint_config) and resets. Thread: control. RT-safe: no.
  void configure(const EndpointConfig& config, int sample_rate_hz);
  // Idle, no utterance. Thread: the owner's. RT-safe: yes.
  void reset() noexcept;
  // Changes the silence timeout from now on (an utterance in progress uses the new value). `timeout_ms` is
  // clamped to [100, 10000]. Thread: the owner's. RT-safe: yes.
  void set_silence_timeout_ms(int timeout_ms) noexcept;
  // Feeds the segmenter's decision for the frame [frame_start_sample, + num_frames). Thread: the owner's.
  // RT-safe: yes.
  EndpointDecision update(const VadDecision& decision, int64_t frame_start_sample, size_t num_frames) noexcept;
  // Ends the utterance in progress at `now_sample` (reason kForced); kNone when idle. Thread: the owner's.
  // RT-safe: yes.
  EndpointDecision force(int64_t now_sample) noexcept;
  EndpointState state() const noexcept { return state_; }
  int64_t silence_timeout_samples() const noexcept { return timeout_samples_; }

 private:
  int sample_rate_hz_ = 16000;
  int64_t timeout_samples_ = 0;
  int64_t min_utterance_samples_ = 0;
  int64_t max_utterance_samples_ = 0;
  EndpointState state_ = EndpointState::kIdle;
  int64_t start_ = -1;     // utterance onset
  int64_t last_end_ = -1;  // end of the last closed segment in the utterance
};

}  // namespace ae
