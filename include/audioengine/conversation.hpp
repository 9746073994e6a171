#pragma once
// Turn-taking: who holds the floor (the user, the AI, both, nobody), the metrics of a conversation, and the
// tracker the audio thread drives once per tick.
//
// The state is derived each tick from two inputs:
// - user active: automatic turn-taking, the live VAD's segment is in speech; manual turn-taking (push-to-talk),
//   the talk button is held;
// - AI active: AI audio reached the sink in this period, or it is held by a suspected barge-in (paused or ducked:
//   the AI keeps the floor until the suspicion is decided).
//
//               user starts ─►
//       IDLE ◄──────────────────► USER_SPEAKING
//        ▲ │    ◄─ user stops          ▲ │
//     AI │ │ AI                 AI cut │ │ AI
//  stops │ ▼ starts          or stops  │ ▼ starts
//     AI_SPEAKING ◄──────────────────► OVERLAP
//               user starts ─►
//               ◄─ user stops
// Both inputs may change in one period (a diagonal): a barge-in confirmed in the period of the VAD's onset goes
// AI_SPEAKING → USER_SPEAKING without OVERLAP.
//
// Definitions (counted by ConversationMetrics):
// - user turn: the user input became active (IDLE/AI_SPEAKING → USER_SPEAKING/OVERLAP).
// - AI turn: the AI input became active (IDLE/USER_SPEAKING → AI_SPEAKING/OVERLAP).
// - overlap: the state became OVERLAP.
// - interruption: an INTERRUPT that cut AI audio (reason barge_in or user; a flush is not an interruption).
// - false interruption: a suspected barge-in (speech at or above barge_in.probability_threshold while the AI
//   plays) that ended before barge_in.min_speech_ms confirmed it, i.e. resume_after_ms passed without speech. With
//   barge_in.recovery pause or duck the AI was paused or ducked and resumed; with recovery off it never stopped.
// - response latency: from an ENDPOINT (its t_samples) to the first AI sample that reached the sink after it
//   (the start of the next playback), exact in samples; one measurement per ENDPOINT that a playback start follows.
// - interrupt latency: from the onset of the speech that confirmed a barge-in (the first sample of its run) to the
//   first output sample that is silent because of it (after the fade; with recovery pause, where the pause went
//   silent), exact in samples.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace ae {

enum class ConversationState : int32_t {
  kIdle = 0,
  kUserSpeaking = 1,
  kAiSpeaking = 2,
  kOverlap = 3,
};
// "idle", "user_speaking", "ai_speaking", "overlap" ("unknown" otherwise). Thread: any. RT-safe: yes.
const char* to_string(ConversationState state) noexcept;
// The state with these inputs. Thread: any. RT-safe: yes.
constexpr ConversationState conversation_state_of(bool user_active, bool ai_active) noexcept {
  return user_active ? (ai_active ? ConversationState::kOverlap : ConversationState::kUserSpeaking)
                     : (ai_active ? ConversationState::kAiSpeaking : ConversationState::kIdle);
}
constexpr bool has_user(ConversationState s) noexcept {
  return s == ConversationState::kUserSpeaking || s == ConversationState::kOverlap;
}
constexpr bool has_ai(ConversationState s) noexcept {
  return s == ConversationState::kAiSpeaking || s == ConversationState::kOverlap;
}

enum class TurnTakingMode : int32_t {
  kAutomatic = 0,  // the user's turn follows the live VAD; barge-in from speech while the AI plays
  kManual = 1,     // push-to-talk: the user's turn is the talk button (set_push_to_talk / force_turn_change)
};
// "automatic", "manual" ("unknown" otherwise). Thread: any. RT-safe: yes.
const char* to_string(TurnTakingMode mode) noexcept;

// Statistics of a latency, in samples on the engine timeline and in ms. p50 is over the last kWindow measurements.
struct LatencyStats {
  static constexpr size_t kWindow = 128;
  int64_t count = 0;
  int64_t last_samples = -1;  // -1 before the first measurement
  double last_ms = 0;
  double mean_ms = 0;
  double p50_ms = 0;
  double max_ms = 0;
};

struct ConversationMetrics {
  int64_t user_turns = 0;
  int64_t ai_turns = 0;
  int64_t overlaps = 0;
  int64_t interruptions = 0;        // barge-ins and interrupt_playback() that cut AI audio
  int64_t barge_ins = 0;            // of which confirmed barge-ins (and push-to-talk presses over the AI)
  int64_t false_interruptions = 0;  // see the definition above
  int64_t turn_changes = 0;         // TURN_CHANGED events
  LatencyStats response_latency;
  LatencyStats interrupt_latency;
};

// Records latencies from one writer (the audio thread) for readers on any thread; no allocation, no lock.
class LatencyRecorder {
 public:
  // Thread: the writer. RT-safe: yes.
  void record(int64_t samples) noexcept;
  // Thread: the writer, or any while it does not run. RT-safe: yes.
  void reset() noexcept;
  // A snapshot at `sample_rate_hz` (a measurement made during the call may be missed or half seen in p50).
  // Thread: any. RT-safe: yes.
  LatencyStats stats(int sample_rate_hz) const noexcept;

 private:
  std::atomic<int64_t> count_{0};
  std::atomic<int64_t> sum_{0};
  std::atomic<int64_t> max_{0};
  std::atomic<int64_t> last_{-1};
  std::array<std::atomic<int64_t>, LatencyStats::kWindow> window_{};
};

// The state machine and the metrics. Driven by the audio thread (one writer); read from any thread.
// Allocation-free: every member is an atomic or plain data.
class ConversationTracker {
 public:
  struct Change {
    ConversationState from;
    ConversationState to;
  };

  // Back to IDLE, metrics zeroed. Thread: the audio thread, or any while no tick runs. RT-safe: yes.
  void reset() noexcept;
  // The inputs as of the end of a tick. Returns true (and `change`) when the state changed; counts turns and
  // overlaps. Thread: the audio thread. RT-safe: yes.
  bool update(bool user_active, bool ai_active, Change& change) noexcept;
  // An ENDPOINT was published at `t_samples`: the next AI start measures the response latency from it.
  // Thread: the audio thread. RT-safe: yes.
  void on_endpoint(int64_t t_samples) noexcept;
  // The first AI sample after the AI was not playing reached the sink at `t_samples`.
  // Thread: the audio thread. RT-safe: yes.
  void on_ai_started(int64_t t_samples) noexcept;
  // An INTERRUPT cut AI audio; `barge_in` when the user caused it. Thread: the audio thread. RT-safe: yes.
  void on_interruption(bool barge_in) noexcept;
  // A barge-in confirmed at onset `onset_sample` silenced the output from `silent_sample` on.
  // Thread: the audio thread. RT-safe: yes.
  void on_interrupt_latency(int64_t onset_sample, int64_t silent_sample) noexcept;
  // A suspected barge-in ended unconfirmed. Thread: the audio thread. RT-safe: yes.
  void on_false_interruption() noexcept;

  // Thread: any. RT-safe: yes.
  ConversationState state() const noexcept { return state_.load(std::memory_order_acquire); }
  ConversationMetrics metrics(int sample_rate_hz) const noexcept;
  LatencyStats interrupt_latency(int sample_rate_hz) const noexcept { return interrupt_latency_.stats(sample_rate_hz); }

 private:
  std::atomic<ConversationState> state_{ConversationState::kIdle};
  std::atomic<int64_t> user_turns_{0};
  std::atomic<int64_t> ai_turns_{0};
  std::atomic<int64_t> overlaps_{0};
  std::atomic<int64_t> interruptions_{0};
  std::atomic<int64_t> barge_ins_{0};
  std::atomic<int64_t> false_interruptions_{0};
  std::atomic<int64_t> turn_changes_{0};
  int64_t pending_endpoint_ = -1;  // writer only
  LatencyRecorder response_latency_;
  LatencyRecorder interrupt_latency_;
};

}  // namespace ae
