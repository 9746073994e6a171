#pragma once
// EngineConfig: every setting of the engine, one plain aggregate with a nested struct per component and the
// defaults written in place. validate_config() lists every problem at once; presets cover the common setups.

#include <cstdint>
#include <string>
#include <vector>

#include "audioengine/clock.hpp"
#include "audioengine/config_issue.hpp"
#include "audioengine/echo_canceller.hpp"
#include "audioengine/endpointing.hpp"
#include "audioengine/format.hpp"
#include "audioengine/resampler.hpp"
#include "audioengine/vad.hpp"

namespace ae {

// What a bounded queue does when a producer brings more than fits.
enum class OverflowPolicy {
  kBlockProducer,  // the producer waits for room, up to QueueConfig::block_timeout_ms (only while ticks run by
                   // themselves; otherwise nothing would ever make room and the call fails with kQueueFull)
  kDropOldest,     // the oldest queued audio is discarded to make room (counted)
  kDropNewest,     // what does not fit is discarded (counted)
};
const char* to_string(OverflowPolicy policy);

enum class ClockSource { kVirtual, kDevice };
const char* to_string(ClockSource source);

// Which capture chunks reach the consumer.
enum class CaptureDelivery {
  kAll,         // every period, speech or not
  kSpeechOnly,  // only speech, with its prefix padding: see AudioConfig::capture_delivery
};
const char* to_string(CaptureDelivery delivery);

struct AudioConfig {
  // The engine timeline: mono at this rate, processed in periods of chunk_duration_ms.
  int sample_rate_hz = 16000;
  int chunk_duration_ms = 20;
  // Sample type of the capture chunks delivered to the consumer and the default of queue_playback() input.
  SampleType chunk_sample_type = SampleType::kPcm16;
  SampleType playback_sample_type = SampleType::kPcm16;
  // Resampler used where an input's rate differs from the engine's.
  ResamplerKind resampler = ResamplerKind::kSpeex;
  // kSpeechOnly: periods outside speech are held back in a history of vad.prefix_padding_ms + vad.min_speech_ms
  // (as configured at initialize) + one period. When speech starts, the engine delivers the audio from
  // onset - vad.prefix_padding_ms on (in chunks on the period grid, the first one possibly shorter, each with its
  // exact start_sample), then every period until the utterance ends: the ENDPOINT chunk when endpoint.enabled,
  // else the VAD_SPEECH_END chunk. Nothing is delivered twice; padding the history no longer holds is counted in
  // metrics.prefix_truncated_samples, the periods held back in metrics.speech_gated_samples. With the live VAD
  // off nothing is delivered. kAll: every period; VAD_SPEECH_START's vad.padded_start_sample says where the
  // padded speech begins. Hot.
  CaptureDelivery capture_delivery = CaptureDelivery::kAll;
};

struct QueueConfig {
  int capture_capacity_ms = 2000;       // injected / device audio waiting for the next tick
  int playback_capacity_ms = 60000;     // AI audio waiting to be played
  // Urgent items (PlaybackPriority kNext, kInterject) waiting to be played: fillers, earcons, chimes, short by
  // nature; a lane of its own so they never wait behind the answer, sized apart so it costs little.
  int urgent_capacity_ms = 10000;
  int chunk_queue_capacity_ms = 2000;   // processed chunks waiting for the consumer
  OverflowPolicy playback_overflow = OverflowPolicy::kBlockProducer;
  OverflowPolicy capture_overflow = OverflowPolicy::kDropNewest;
  int block_timeout_ms = 2000;
  int max_items = 256;                  // playback items (segments with their own id) queued at once
};

// What the engine does with the AI's audio while a suspected barge-in waits for confirmation.
enum class BargeInRecovery : int32_t {
  kOff = 0,    // nothing until confirmation: the AI plays on, then is cut
  kPause = 1,  // the AI fades out and its queue is held; a cough resumes it exactly where it paused
  kDuck = 2,   // the AI plays on at duck_gain; a cough brings it back to full level
};
// "off", "pause", "duck" ("unknown" otherwise). Thread: any. RT-safe: yes.
const char* to_string(BargeInRecovery recovery);

// Whether a VAD run must also show near-end energy the AI's echo does not explain before it interrupts the AI
// (see BargeInConfig::echo_gate).
enum class EchoGateMode : int32_t {
  kAuto,  // while the engine's echo canceller is enabled (enable_echo_cancellation, config.echo.enabled)
  kOn,    // always, with or without a canceller (it then learns the raw echo's coupling)
  kOff,   // never: the VAD alone decides
};
const char* to_string(EchoGateMode mode);

// Barge-in: the user talking over the AI interrupts it. Decided on the processed (echo-cancelled) capture signal,
// from the live VAD's per-period probability, only while the AI is playing (automatic turn-taking; in manual
// turn-taking pressing push-to-talk over the AI is the barge-in). Hot.
//
// A run of speech begins at the first period with probability >= probability_threshold and goes on through
// periods at or above min(probability_threshold, vad.deactivation_threshold); one period below ends it. The run
// is a suspected barge-in from its first period; it is confirmed when it has lasted min_speech_ms (end of the
// current period - first sample of the run >= min_speech_ms in samples). On confirmation the queue is flushed in
// the same tick: the first fade_out_ms of that tick's block play with a linear fade to zero, every later output
// sample is exactly 0, and INTERRUPT reports played_samples including the faded samples (they reached the sink).
// A suspicion that sees resume_after_ms of periods without a run ends unconfirmed: a false interruption.
struct BargeInConfig {
  bool enabled = true;
  // 64 ms, the VAD's own confirmation: longer than clicks and taps, within the first syllable. [0, 5000]
  int min_speech_ms = 64;
  // The VAD's default activation threshold. (0, 1]
  float probability_threshold = 0.5f;
  // 5 ms: long enough that the cut of a full-scale tone steps by less than 1/(fade samples + 1) of full scale per
  // sample beyond the tone's own slope (no click), short enough to be inaudible as a fade. [0, 50] and at most one
  // period (audio.chunk_duration_ms): the output is silent within the period of the decision.
  int fade_out_ms = 5;
  BargeInRecovery recovery = BargeInRecovery::kOff;
  // kDuck: the AI's gain while a barge-in is suspected. [0, 1)
  float duck_gain = 0.25f;
  // Quiet time after the suspected speech before the AI resumes (kPause / kDuck) and the suspicion counts as a
  // false interruption: 300 ms bridges the gaps within a cough or a "hm-hm". [0, 10000]
  int resume_after_ms = 300;
  // The echo gate: while the AI plays and for echo_gate_tail_ms after, a VAD run counts toward a barge-in only
  // once the echo-cancelled microphone held near-end energy (above what the learnt residual echo coupling times
  // the recent render level explains, by echo_gate_margin_db) for echo_gate_min_near_end_ms of the run. The
  // canceller's residual echo is speech to a VAD at any level; without the gate it interrupts the AI.
  EchoGateMode echo_gate = EchoGateMode::kAuto;
  // The same gate over the VAD's segments, whether barge-in is enabled or not: a segment the VAD starts while the
  // AI's render is in the gate's window is held back (no VAD_SPEECH_START, no utterance, no user turn, not
  // delivered as speech) until its run has held echo_gate_min_near_end_ms of near-end periods; then it is
  // published with its original start sample (prefix padding and speech-only delivery lose nothing). A held
  // segment that ends is dropped and counted in EngineMetrics::vad_echo_vetoed_segments: the canceller's residual
  // echo then never makes an utterance of its own. Without render in the window nothing is held. Uses the
  // echo_gate_* settings below. kAuto: while the engine's echo canceller is enabled.
  EchoGateMode vad_echo_gate = EchoGateMode::kAuto;
  // 6 dB: the residual echo's peaks stay below it once learnt, a talker's first syllable is 6 to 13 dB above. [0, 40]
  float echo_gate_margin_db = 6.0f;
  // How long one period's echo lasts after the render-to-capture delay (reverberation, the canceller's tail), ms:
  // the render envelope reaches that far back. [20, 1000]
  int echo_gate_tail_ms = 300;
  // Near-end periods a run needs, ms: 20 ms (two 10 ms periods) so that one stray period never decides. [0, 500]
  int echo_gate_min_near_end_ms = 20;
  // How far the weight of past render falls over echo_gate_tail_ms past the echo delay (+ 40 ms), dB: a period's
  // echo dies away with the room's reverberation, so render 200 ms back no longer explains a loud period now
  // (with 0, the user's first syllables in a pause of the AI's speech were taken for echo and held back for
  // seconds under reverberation; see docs/conversation.md). [0, 120]
  float echo_gate_tail_fall_db = 60.0f;
  // The most the learnt residual coupling may reach, dB (processed power over the render envelope). Under
  // reverberation with a canceller that removes little, the user's first syllables were learnt as echo up to
  // +16 dB and held back for seconds; 0 dB (an echo path no louder than the render) lets them through, but an echo
  // louder than the render then reads as the user (measured: echo at gain 1.0 interrupted the AI 1.8 s into its
  // answer instead of 12.9 s). 40: no cap in practice (the default). Read at initialize(). [-20, 40]
  float echo_gate_max_coupling_db = 40.0f;
  // Frequency bands the gate decides in, from 100 Hz to 4 kHz (0: whole-band powers). Per band it keeps the
  // render envelope and the learnt coupling and calls a period near-end when echo_gate_min_bands bands hold
  // near-end energy. Read at initialize(). Off by default: measured, it let the echo interrupt the AI under
  // reverberation where the whole-band gate holds (docs/conversation.md). [0, 64]
  int echo_gate_bands = 0;
  // Bands of a period that must hold near-end energy for it to count as near-end (with echo_gate_bands > 0).
  // [1, echo_gate_bands]
  int echo_gate_min_bands = 3;
  bool operator==(const BargeInConfig&) const = default;
};

// Appends one ConfigIssue per bad field of `config` ("barge_in.<member>"), fade_out_ms checked against the period
// `chunk_duration_ms`. Thread: any. RT-safe: no.
void collect_barge_in_config_issues(const BargeInConfig& config, int chunk_duration_ms,
                                    std::vector<ConfigIssue>& out);

struct EventConfig {
  int rt_capacity = 1024;
  int control_capacity = 256;
  int dispatch_interval_us = 1000;
  int history_size = 256;
};

struct MetricsConfig {
  // Per-stage timing, sampled on one tick in 16: the clock reads cost more than the engine's own per-tick work,
  // and one tick in 16 still gives stable percentiles.
  bool stage_timing = true;
};

struct ClockConfig {
  ClockSource source = ClockSource::kVirtual;
  VirtualClockMode virtual_mode = VirtualClockMode::kStepped;
};

// Which way audio flows through the device layer.
enum class DuplexMode {
  kFull,          // capture and playback: one full-duplex stream when both devices share a host API, else two
  kCaptureOnly,   // capture device only; the output goes to the engine's memory sink
  kPlaybackOnly,  // playback device only; the input comes from the engine's capture queue (injected, files)
};
const char* to_string(DuplexMode mode);

// What the device layer does when a stream fails or stops delivering callbacks.
struct DeviceRecoveryConfig {
  bool enabled = true;
  int stall_timeout_ms = 500;      // no callback for this long counts as a failure [50, 60000]
  int max_attempts = 50;           // reopen attempts before giving up [1, 100000]
  int retry_interval_ms = 100;     // between attempts [1, 60000]
  bool fall_back_to_default = true;  // after the same device fails to open, try the host API's default
  bool operator==(const DeviceRecoveryConfig&) const = default;
};

// Sound devices, used when clock.source is kDevice (see devices.hpp).
struct DeviceConfig {
  std::string host_api;          // PortAudio host API name, case-insensitive ("ALSA", "JACK"); "" = default
  // Per-direction host APIs ("" = host_api). Devices on two host APIs run on two clocks: two streams, the
  // playback one drives the ticks and the capture side follows it through a ring (drift dropped or padded, counted).
  std::string capture_host_api;
  std::string playback_host_api;
  std::string capture_device;    // device id (a number) or name; "" = the host API's default input
  std::string playback_device;   // device id (a number) or name; "" = the host API's default output
  DuplexMode duplex_mode = DuplexMode::kFull;
  int sample_rate_hz = 0;        // device rate; 0 = the device's default rate (JACK: the server's)
  int period_frames = 0;         // device frames per callback; 0 = one engine period at the device rate
  int capture_channels = 1;      // channels opened on the capture device (downmixed to mono) [1, 8]
  int playback_channels = 1;     // channels opened on the playback device (mono copied to each) [1, 8]
  double suggested_latency_ms = 0;   // 0 = the device's default low latency
  std::string client_name = "audioengine";  // JACK client name (ports are <client_name>:in_1, :out_1, ...)
  DeviceRecoveryConfig recovery;
  bool operator==(const DeviceConfig&) const = default;
};

struct SinkConfig {
  // The memory sink keeps the last this-many ms of output for the caller to read (read_played_audio()); output
  // the caller does not collect in time is overwritten and counted in metrics as sink_overwritten_samples.
  int memory_capacity_ms = 10000;
};

// How much processing the capture and render paths get. A mode is a routing of the processing chain: each
// processor declares the modes it runs in (processing_chain.hpp), and switching bypasses or restores processors
// with a crossfade, at a tick boundary.
enum class ProcessingMode : int32_t {
  kFastLane = 0,  // only the processors marked for the fast lane: the least work per tick
  kQuality = 1,   // every processor marked for quality
  kAdaptive = 2,  // fast lane or quality, chosen from the measured tick cost (AdaptiveModeConfig)
};
// "fast_lane", "quality", "adaptive" ("unknown" otherwise). Thread: any. RT-safe: yes.
const char* to_string(ProcessingMode mode);

// Adaptive mode: the audio thread measures every tick's cost as a fraction of the period. `ticks_to_fast_lane`
// consecutive ticks above high_load_fraction route to the fast lane; `ticks_to_quality` consecutive ticks below
// low_load_fraction route back to quality. The gap between the two fractions is the hysteresis, the two counts
// are the measurement windows.
struct AdaptiveModeConfig {
  double high_load_fraction = 0.7;  // (0, 1], > low_load_fraction
  double low_load_fraction = 0.4;   // [0, 1)
  int ticks_to_fast_lane = 3;       // >= 1
  int ticks_to_quality = 50;        // >= 1
};
// Every problem in `config`, each naming the field ("adaptive.<name>"), the value and the valid range.
// Thread: any. RT-safe: no.
std::vector<ConfigIssue> validate_adaptive_mode_config(const AdaptiveModeConfig& config);

// Echo cancellation on the capture path (AudioEngine::enable_echo_cancellation), with this tick's playback block
// as the far-end reference. initialize() makes the engine match it: when enabled it installs the echo processor
// `canceller` names at the capture-pre stage (or replaces an installed one built from another config), when
// disabled it removes an installed one. Cold: changes take effect at the next initialize(); at run time use
// enable_echo_cancellation() / disable_echo_cancellation(), which keep this field up to date.
struct EchoConfig {
  bool enabled = false;
  EchoCancellerConfig canceller;
};
// Field-by-field equality of two canceller configs (EchoCancellerConfig declares no operator==).
// Thread: any. RT-safe: yes.
bool same_echo_canceller_config(const EchoCancellerConfig& a, const EchoCancellerConfig& b);

struct EngineConfig {
  AudioConfig audio;
  VadConfig vad;
  // Endpointing on the live capture path (hot; see endpointing.hpp).
  EndpointConfig endpoint;
  BargeInConfig barge_in;
  QueueConfig queues;
  EventConfig events;
  MetricsConfig metrics;
  ClockConfig clock;
  SinkConfig sink;
  DeviceConfig device;
  EchoConfig echo;
  int shutdown_timeout_ms = 2000;

  // Presets. Thread: any. RT-safe: no.
  static EngineConfig fast_lane();   // 16 kHz, 10 ms periods, SpeexDSP resampling: lowest latency
  static EngineConfig quality();     // 24 kHz, 20 ms periods, soxr resampling
  static EngineConfig telephony();   // 8 kHz µ-law in and out, 20 ms periods
  static EngineConfig wideband();    // 16 kHz PCM16, 20 ms periods
};

// Every problem in `config`, each naming the field (dotted path), the value and the valid range; empty when valid.
// Thread: any. RT-safe: no.
std::vector<ConfigIssue> validate_config(const EngineConfig& config);
// The issues joined into one message, e.g. for an ErrorInfo.
std::string format_config_issues(const std::vector<ConfigIssue>& issues);

// Result of AudioEngine::update_config: which changed settings took effect at the next tick boundary and which
// only take effect after a restart (shutdown + initialize), by dotted field name.
struct ConfigUpdate {
  std::vector<std::string> applied;
  std::vector<std::string> needs_restart;
};

// The dotted names of the fields that differ between `a` and `b`, split by whether they can change while running.
ConfigUpdate diff_config(const EngineConfig& a, const EngineConfig& b);

}  // namespace ae
