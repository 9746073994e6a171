#pragma once
// Audio events: the small fixed-size records the engine publishes (VAD onsets, interruptions, playback progress,
// buffer trouble, state changes, errors, the orchestrator's own events) and the callback types that receive them.
//
// An AudioEvent is plain old data: the audio thread fills one on its stack and copies it into a preallocated
// ring, so it must never own memory. Every event carries its position on the engine timeline in samples (exact,
// no clock drift between events) plus the rate of that timeline, so t_ms() is derived, never stored.

#include <audioengine/result.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <type_traits>

namespace ae {

enum class AudioEventType : uint16_t {
  kVadSpeechStart,    // vad: the VAD confirmed speech; speech_start_sample is the true onset
  kVadSpeechEnd,      // vad: speech stopped; speech_end_sample is the first silent sample
  kEndpoint,          // vad: the end of the user's turn (longer silence than kVadSpeechEnd)
  kInterrupt,         // interrupt: playback was cut (barge-in, interrupt_playback(), flush)
  kPlaybackStarted,   // playback: the first sample of an item reached the sink
  kPlaybackComplete,  // playback: the last sample of an item reached the sink (playback.played_out_at_samples:
                      // where it leaves the speaker)
  kQueueDrained,      // playback: the playback queue ran empty
  kBufferOverflow,    // buffer: a ring had no room; `samples` were dropped
  kBufferUnderflow,   // buffer: a ring ran dry; `samples` of silence were inserted
  kBufferReady,       // buffer: a buffer (e.g. a capture chunk) is ready
  kStateChanged,      // state: the engine (or a component) changed state
  kError,             // error: a failure noticed off the control path
  kCustom,            // custom: emitted by the orchestrator through emit_event
  kModeChanged,       // state: the processing routing changed; state.from / state.to are ProcessingMode values
  kTurnChanged,       // state: the conversation state changed; state.from / state.to are ConversationState values
  kPlaybackPaused,    // playback: a suspected barge-in paused or ducked the AI (barge_in.recovery), or a kInterject
                      // item holds it (PlaybackPriority)
  kPlaybackResumed,   // playback: the suspicion ended unconfirmed, or the interjection ended; the AI goes on where
                      // it paused
  kCount              // number of types; not a type
};

// Stable upper-case name, the same as the Python enum member: "VAD_SPEECH_START", "VAD_SPEECH_END", "ENDPOINT",
// "INTERRUPT", "PLAYBACK_STARTED", "PLAYBACK_COMPLETE", "QUEUE_DRAINED", "BUFFER_OVERFLOW", "BUFFER_UNDERFLOW",
// "BUFFER_READY", "STATE_CHANGED", "ERROR", "CUSTOM", "MODE_CHANGED", "TURN_CHANGED",
// "PLAYBACK_PAUSED", "PLAYBACK_RESUMED"; "UNKNOWN" for kCount or an out-of-range value.
// Thread: any. RT-safe: yes.
const char* to_string(AudioEventType type) noexcept;

// Inverse of to_string, ASCII case-insensitive ("vad_speech_start" is accepted). Returns nullopt for any other
// text, including "UNKNOWN". Thread: any. RT-safe: yes.
std::optional<AudioEventType> parse_event_type(std::string_view name) noexcept;

enum class InterruptReason : uint8_t {
  kBargeIn,  // the user started speaking over playback
  kUser,     // interrupt_playback() was called
  kFlush,    // the queue was flushed without an interruption (e.g. shutdown, new turn)
};

// "barge_in", "user", "flush" ("unknown" otherwise). Thread: any. RT-safe: yes.
const char* to_string(InterruptReason reason) noexcept;

// Why an utterance ended (ENDPOINT events; see endpointing.hpp, which also declares its to_string).
enum class EndpointReason : uint8_t {
  kNone,          // no endpoint (any event other than kEndpoint)
  kSilence,       // the silence after the last speech reached the timeout
  kMaxUtterance,  // the utterance reached max_utterance_ms
  kForced,        // force_endpoint() was called
};

// ---- payloads ------------------------------------------------------------------------------------------------
// kVadSpeechStart / kVadSpeechEnd: the segment. kEndpoint: the utterance (first onset .. last segment's end, or
// the cut for max_utterance / forced), with endpoint_reason.
struct VadEventData {
  float probability;              // speech probability of the frame that triggered the event, [0, 1]
  EndpointReason endpoint_reason; // kEndpoint: why the utterance ended; kNone for the other types
  int64_t speech_start_sample;    // engine timeline; first sample of the speech segment (-1 when unknown)
  int64_t speech_end_sample;      // engine timeline; first silent sample after it (-1 while speech goes on)
  // Where the audio delivered with this speech begins: speech_start_sample - vad.prefix_padding_ms, not below 0
  // (and, in speech-only capture delivery, not before audio already delivered). -1 when not applicable.
  int64_t padded_start_sample;
};

// The fields of InterruptResult (engine.hpp) that the event carries; in_device_samples is played_samples -
// heard_at_decision_samples.
struct InterruptEventData {
  int64_t flushed_samples;  // queued audio discarded, in samples at the engine rate
  int64_t played_samples;   // samples of the interrupted item delivered to the sink (on a device: all play out)
  uint64_t item_id;         // playback item that was playing (0 when none)
  int64_t heard_at_decision_samples;  // of played_samples, those past the DAC when the engine cut
  int64_t output_silent_at_samples;   // engine timeline position where the speaker goes silent
  InterruptReason reason;
  // kBargeIn: samples from the first sample of the speech run that confirmed it, as the barge-in's detector heard
  // it, to t_samples (with the echo canceller's copy that detector is not the VAD, whose segment for the same
  // speech may start later); -1 for other reasons. In the record's padding, hence 32 bits.
  int32_t speech_run_samples;
};

struct PlaybackEventData {
  uint64_t item_id;  // playback item concerned (0 when none)
  // kPlaybackComplete, kPlaybackPaused, kPlaybackResumed: samples of the item played so far (exact, at the sink);
  // kPlaybackStarted: samples of the item played before this start (0 for a new item); kQueueDrained: all samples
  // played since the engine started.
  int64_t samples;
  // Engine timeline position where the output reaches the listener: t_samples plus the output of earlier ticks
  // still ahead of the DAC when the event was decided (Clock::output_pending_samples(); 0 on the virtual clock,
  // where it equals t_samples). For kPlaybackComplete it is where the item's last sample leaves the speaker: the
  // moment the user has heard the whole item (start a listening timer here, not at t_samples, which is where the
  // sink took the sample). The device's figure is an estimate from its own timestamps.
  int64_t played_out_at_samples;
};

struct BufferEventData {
  uint32_t buffer_id;  // which buffer (component-defined)
  int64_t samples;     // samples dropped, inserted or ready
};

struct ErrorEventData {
  Error code;
  int32_t detail;  // component-defined detail (e.g. an errno or a backend code)
};

struct StateEventData {
  int32_t from;  // component-defined state values
  int32_t to;
};

inline constexpr size_t kCustomEventTextBytes = 32;
struct CustomEventData {
  int64_t code;
  double value;
  char text[kCustomEventTextBytes];  // NUL-terminated, at most 31 characters
};

// One event. Trivially copyable and 72 bytes; written by the audio thread into a preallocated ring.
struct AudioEvent {
  AudioEventType type;
  uint16_t reserved;       // zero; keeps the layout explicit
  int32_t sample_rate_hz;  // rate of the timeline t_samples counts on
  uint64_t sequence;       // assigned by the event bus at publish/emit; strictly increasing across all sources
  int64_t t_samples;       // position on the engine timeline when it happened
  union {
    VadEventData vad;
    InterruptEventData interrupt;
    PlaybackEventData playback;
    BufferEventData buffer;
    ErrorEventData error;
    CustomEventData custom;
    StateEventData state;
  };

  // t_samples in milliseconds (0 when sample_rate_hz is not positive). Thread: any. RT-safe: yes.
  double t_ms() const noexcept {
    return sample_rate_hz > 0 ? static_cast<double>(t_samples) * 1000.0 / sample_rate_hz : 0.0;
  }
};
static_assert(std::is_trivially_copyable_v<AudioEvent>, "events are copied into rings with memcpy");
static_assert(std::is_standard_layout_v<AudioEvent>);
static_assert(sizeof(AudioEvent) == 72, "AudioEvent is a fixed-size record");

// ---- factories -----------------------------------------------------------------------------------------------
// Each returns a fully zero-initialised event of the given kind with sequence 0 (the bus assigns it).
// t_samples and sample_rate_hz: the engine timeline position and its rate. Thread: any. RT-safe: yes.

// type: kVadSpeechStart, kVadSpeechEnd or kEndpoint (any other type is stored as given).
AudioEvent make_vad_event(AudioEventType type, int64_t t_samples, int32_t sample_rate_hz, float probability,
                          int64_t speech_start_sample, int64_t speech_end_sample) noexcept;
// heard_at_decision_samples < 0 means all of played_samples (nothing was pending: the virtual clock);
// output_silent_at_samples < 0 means t_samples.
AudioEvent make_interrupt_event(int64_t t_samples, int32_t sample_rate_hz, InterruptReason reason,
                                int64_t flushed_samples, int64_t played_samples, uint64_t item_id,
                                int64_t heard_at_decision_samples = -1, int64_t output_silent_at_samples = -1) noexcept;
// type: kPlaybackStarted, kPlaybackComplete, kQueueDrained, kPlaybackPaused or kPlaybackResumed.
// played_out_at_samples < 0 means t_samples (nothing pending: the virtual clock).
AudioEvent make_playback_event(AudioEventType type, int64_t t_samples, int32_t sample_rate_hz, uint64_t item_id,
                               int64_t samples, int64_t played_out_at_samples = -1) noexcept;
// type: kBufferOverflow, kBufferUnderflow or kBufferReady.
AudioEvent make_buffer_event(AudioEventType type, int64_t t_samples, int32_t sample_rate_hz, uint32_t buffer_id,
                             int64_t samples) noexcept;
AudioEvent make_error_event(int64_t t_samples, int32_t sample_rate_hz, Error code, int32_t detail) noexcept;
AudioEvent make_state_event(int64_t t_samples, int32_t sample_rate_hz, int32_t from, int32_t to) noexcept;
// text longer than 31 bytes is cut (never split inside the terminator).
AudioEvent make_custom_event(int64_t t_samples, int32_t sample_rate_hz, int64_t code, double value,
                             std::string_view text) noexcept;

// ---- callbacks -----------------------------------------------------------------------------------------------
// Subscriber callback. Runs on the `ae-events` thread, never on the audio thread; may take locks and allocate,
// but everything it does delays the delivery of later events to every subscriber. An exception it throws is
// caught and counted, and dispatch goes on.
using EventCallback = std::function<void(const AudioEvent&)>;
// Subscription filter, evaluated on `ae-events` before the callback; true delivers the event.
using EventFilter = std::function<bool(const AudioEvent&)>;
// 0 is never a valid id.
using SubscriptionId = uint64_t;

// Real-time callback: runs ON THE AUDIO THREAD, synchronously, inside the publish of each event (before any
// subscriber sees it), with the sequence already assigned. It is there for reactions that cannot wait for
// `ae-events` (e.g. ducking on speech start). It MUST NOT:
//   - block or wait (no sleep, no condition variable, no blocking I/O, no join),
//   - allocate or free memory (no new/delete, malloc, std::string/std::vector growth, std::function copies),
//   - lock a mutex (nor call anything that may, such as most of the C++ and C libraries' I/O),
//   - log or print,
//   - throw (it is called from noexcept code: an escaping exception terminates the process),
//   - make system calls, or call back into the engine other than its RT-safe functions.
// It should return within a few microseconds. user_data is passed through untouched.
using RealtimeEventCallback = void (*)(const AudioEvent& event, void* user_data);

}  // namespace ae
