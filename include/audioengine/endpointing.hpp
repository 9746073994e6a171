#pragma once
// Endpointing: the end of the user's turn, decided from the VAD segmenter's decisions, exactly in samples.
// An utterance opens at the first confirmed speech onset and may span several VAD segments; it ends when the
// silence since the last segment's end reaches the silence timeout (ENDPOINT, reason silence), when it reaches
// max_utterance_ms (reason max_utterance; if speech goes on, the next utterance opens right there), or on
// force(). Utterances whose speech (first onset to last end) is shorter than min_utterance_ms end without an
// ENDPOINT (coughs, "mm").
//
// Adaptive timeout (EndpointConfig::adaptive): the silence timeout follows the user's own pauses. Every pause
// inside an utterance (a segment's end to the next segment's onset, so at least vad.min_silence_ms) is recorded
// in a history of the last kPauseHistory pauses, kept across utterances. Once kMinPausesForAdaptive pauses are
// known, timeout = clamp(round(adaptive_factor * p90), adaptive_min_timeout_ms, adaptive_max_timeout_ms), where
// p90 is the nearest-rank 90th percentile of the history (the longest pause of a slow speaker sets the pace, not
// the average one); before that, silence_timeout_ms applies. The history is a fixed-size array: update() stays
// RT-safe.

#include <audioengine/config_issue.hpp>
#include <audioengine/events.hpp>
#include <audioengine/result.hpp>
#include <audioengine/vad.hpp>

#include <array>
#include <cstdint>
#include <vector>

namespace ae {

struct EndpointConfig {
  // 800 ms: longer than the pauses inside a sentence and between sentences of one turn (mostly under 500-700 ms),
  // short enough that the agent answers without an awkward gap.
  int silence_timeout_ms = 800;   // [100, 10000]; counted from the last segment's end (first silent sample)
  // 200 ms: shorter speech is a cough, a click or a backchannel, not a turn.
  int min_utterance_ms = 200;     // [0, 10000]
  int max_utterance_ms = 30000;   // [1000, 600000]
  // The engine's live capture path decides endpoints while this is on (and its VAD is on).
  bool enabled = true;
  // Adaptive timeout (see above). Off by default: a fixed timeout is predictable, which is what most agents want.
  bool adaptive = false;
  // 1.5: a pause half again as long as the user's long (p90) pauses is very likely the end of the turn.
  float adaptive_factor = 1.5f;        // [1, 5]
  // 500 ms: even a fast speaker's turn does not end sooner (the segmenter's 300 ms bridge + margin).
  int adaptive_min_timeout_ms = 500;   // [100, 10000]
  // 2000 ms: a slow, hesitant speaker still gets an answer within two seconds of silence.
  int adaptive_max_timeout_ms = 2000;  // [adaptive_min_timeout_ms, 10000]
  bool operator==(const EndpointConfig&) const = default;
};

enum class EndpointState { kIdle, kInUtterance, kTrailingSilence };

// "idle", "in_utterance", "trailing_silence" / "none", "silence", "max_utterance", "forced". Thread: any.
// RT-safe: yes.
const char* to_string(EndpointState state) noexcept;
const char* to_string(EndpointReason reason) noexcept;

// Appends one ConfigIssue per bad field ("endpoint.<member>"). Thread: any. RT-safe: no.
void collect_endpoint_config_issues(const EndpointConfig& config, std::vector<ConfigIssue>& issues);
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
  static constexpr size_t kPauseHistory = 16;
  static constexpr size_t kMinPausesForAdaptive = 3;

  // Takes the config (assumed valid; see validate_endpoint_config) and resets, pause history included.
  // Thread: the owner's. RT-safe: yes (no allocation: the state is fixed-size).
  void configure(const EndpointConfig& config, int sample_rate_hz) noexcept;
  // Idle, no utterance (the pause history stays). Thread: the owner's. RT-safe: yes.
  void reset() noexcept;
  // Changes the silence timeout from now on (an utterance in progress uses the new value); under the adaptive
  // rule it is the timeout until enough pauses are known. `timeout_ms` is clamped to [100, 10000].
  // Thread: the owner's. RT-safe: yes.
  void set_silence_timeout_ms(int timeout_ms) noexcept;
  // Feeds the segmenter's decision for the frame [frame_start_sample, + num_frames). Thread: the owner's.
  // RT-safe: yes.
  EndpointDecision update(const VadDecision& decision, int64_t frame_start_sample, size_t num_frames) noexcept;
  // Ends the utterance in progress at `now_sample` (reason kForced); kNone when idle. `still_speaking`: the VAD
  // is in a segment right now, so the next utterance opens at `now_sample` (otherwise the rest of that segment
  // would belong to no utterance). Thread: the owner's. RT-safe: yes.
  EndpointDecision force(int64_t now_sample, bool still_speaking = false) noexcept;
  EndpointState state() const noexcept { return state_; }
  // The configured (or set_silence_timeout_ms) timeout, in samples.
  int64_t silence_timeout_samples() const noexcept { return timeout_samples_; }
  // The timeout in force: the adaptive one once enough pauses are known, else silence_timeout_samples().
  // Thread: the owner's. RT-safe: yes.
  int64_t effective_timeout_samples() const noexcept;
  // Pauses recorded (at most kPauseHistory). Thread: the owner's. RT-safe: yes.
  size_t num_pauses() const noexcept { return num_pauses_; }

 private:
  void record_pause(int64_t pause_samples) noexcept;

  int sample_rate_hz_ = 16000;
  int64_t timeout_samples_ = 0;
  int64_t min_utterance_samples_ = 0;
  int64_t max_utterance_samples_ = 0;
  bool adaptive_ = false;
  float adaptive_factor_ = 1.5f;
  int64_t adaptive_min_samples_ = 0;
  int64_t adaptive_max_samples_ = 0;
  std::array<int64_t, kPauseHistory> pauses_{};
  size_t num_pauses_ = 0;
  size_t next_pause_ = 0;
  int64_t adaptive_timeout_samples_ = 0;  // from the history, recomputed at each recorded pause
  EndpointState state_ = EndpointState::kIdle;
  int64_t start_ = -1;     // utterance onset
  int64_t last_end_ = -1;  // end of the last closed segment in the utterance
};

}  // namespace ae
