#pragma once
// A conversation on the virtual clock with an acoustic echo path, for `audioengine simulate`, the demo's latency
// figures and the barge-in tests.
//
// The microphone the engine captures is the user's track plus the echo of what the engine actually played: the
// sink's output, delayed, scaled and optionally reverberated, is fed back into the capture tick by tick (a delay
// line). So when the engine interrupts the AI, its echo stops too, as in a room. The AI's answer is streamed into
// the playback queue from a given time on and stops streaming once it was interrupted.
//
// Latency of a barge-in: from the true onset of the user's speech (the first sample of the user's track at or
// above a level, in the run of speech that was going on when the VAD confirmed the segment) to the first silent
// output sample (the INTERRUPT event's t_samples: the tick that decides a barge-in plays silence from its first
// sample). Both are sample positions on the engine timeline, so the latency is exact.

#include <audioengine/engine.hpp>
#include <audioengine/events.hpp>
#include <audioengine/result.hpp>

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace ae {

// The path from the speaker to the microphone.
struct EchoPathConfig {
  // Delay of the direct path, ms. At least one engine period: the echo of a tick's output can only reach the
  // capture of a later tick. [period, 2000]
  int delay_ms = 60;
  // RMS gain of the whole path, reverberation included: the echo's energy is gain^2 times the output's (for a
  // white output; 1 = as loud as played). Without reverberation, the amplitude of the direct path. [0, 10]
  double gain = 0.5;
  // Room reverberation time, ms: a tail of exponentially decaying noise (60 dB down after rt60), 0.6 * rt60 long,
  // after the direct path. 0 = the direct path only. [0, 2000]
  double rt60_ms = 0.0;
  uint32_t seed = 1;  // of the tail's noise
};

struct ConversationScript {
  std::vector<float> user;  // the user's microphone track, mono at the engine rate, from timeline sample 0
  std::vector<float> ai;    // the AI's answer, mono at the engine rate
  // When the AI's answer starts playing; rounded up to the next period boundary. [0, ...)
  int64_t ai_at_ms = 0;
  bool echo_enabled = false;
  EchoPathConfig echo;
  // Length of the run; -1: until both tracks ended, plus tail_ms (room for the last ENDPOINT).
  int64_t duration_ms = -1;
  int64_t tail_ms = 1500;
  // A user-track sample whose magnitude is at or above this level (re full scale) is speech, for the true onset.
  // -40 dBFS: well above a quiet room's noise, well below the first cycle of a spoken syllable.
  double onset_threshold_dbfs = -40.0;
  // Pauses shorter than this inside the user's speech belong to the same run (as the VAD's min_silence bridges).
  int onset_gap_ms = 300;
  // The true onset of the user's speech, when known (ms on the engine timeline); -1 = found in the user track.
  double user_onset_ms = -1.0;
};

struct SimulatedInterrupt {
  AudioEvent event{};                 // the INTERRUPT (t_samples: the first silent output sample)
  int64_t segment_start_sample = -1;  // onset of the speech run whose confirmation interrupted (-1: none)
  int64_t onset_sample = -1;          // true onset of the user's speech; -1 when the user was silent (echo)
  int64_t latency_samples = -1;       // event.t_samples - onset_sample; -1 without an onset
  double latency_ms = -1.0;
  // An ENDPOINT closed an utterance that ends after the triggering run began and began before the next interruption.
  bool ended_in_endpoint = false;
  // No user speech behind it (the echo or noise triggered it), or its utterance never reached an ENDPOINT (it was
  // shorter than endpoint.min_utterance_ms: a cough, a click, a burst of residual echo).
  bool false_interruption = false;
};

struct ConversationOutcome {
  int sample_rate_hz = 0;
  std::vector<AudioEvent> events;  // every engine event, in order
  std::vector<float> mic;          // what the engine captured: user + echo
  std::vector<float> echo;         // the echo alone
  std::vector<float> played;       // what the sink received, silence included
  std::vector<SimulatedInterrupt> interrupts;
  int64_t ai_start_sample = -1;    // where the AI's answer started playing (-1: it never did)
  int64_t ai_queued_samples = 0;   // of the AI's answer, given to the engine
  int vad_speech_starts = 0;
  int user_turns = 0;              // ENDPOINT events
  int false_interruptions = 0;
  double ms(int64_t samples) const { return 1000.0 * static_cast<double>(samples) / sample_rate_hz; }
};

// Runs `script` on `engine`, which must be initialized on a virtual clock in inline or stepped mode, with the
// memory sink; the call starts it if needed and leaves it running. The engine's config decides the VAD,
// endpointing and barge-in; its processing chain (an echo canceller, ...) runs as added. `progress` (optional)
// is called now and then with the fraction done.
// Errors: kInvalidArgument for an engine on a self-driven clock or not initialized, an echo delay shorter than one
// period or a field out of range (named); those of the engine's calls. Thread: control. RT-safe: no.
Result<ConversationOutcome> run_conversation(AudioEngine& engine, const ConversationScript& script,
                                             const std::function<void(double)>& progress = {});

// The true onset of the speech in `track` that was going on at `anchor_sample`: the first sample at or above
// `threshold` (magnitude) of the run of speech (gaps below threshold shorter than `gap_samples` bridged) whose
// last loud sample before `end_sample` is at or after `anchor_sample - gap_samples`. -1 when there is none.
// Thread: any. RT-safe: no.
int64_t find_speech_onset(std::span<const float> track, int64_t anchor_sample, int64_t end_sample, float threshold,
                          int64_t gap_samples);

// The impulse response of `path` at `sample_rate_hz` (Hz): tap 0 is the direct path (the delay is not in it);
// with rt60_ms > 0, a tail of Gaussian noise (from `seed`) at half the direct tap's amplitude, decaying 60 dB over
// rt60_ms, 0.6 * rt60_ms long. Scaled so that the sum of the squared taps is gain^2; rt60_ms 0 gives the single
// tap {gain}. `path` must be valid (see ConversationScript's ranges). Thread: any. RT-safe: no (allocates).
std::vector<float> room_response(const EchoPathConfig& path, int sample_rate_hz);

// The first sample of `clip` at or above `threshold` in magnitude, -1 when none. Thread: any. RT-safe: yes.
int64_t first_loud_sample(std::span<const float> clip, float threshold) noexcept;

}  // namespace ae
