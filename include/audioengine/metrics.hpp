#pragma once
// Engine metrics: counters and per-stage timings. The audio thread updates the counters with relaxed atomic
// operations (no locks, no allocation) and hands the sampled stage timings to ae-events, which records them;
// get_metrics() takes a snapshot from any thread.

#include <cstdint>
#include <string>

namespace ae {

// Timing of one stage of the tick, in nanoseconds.
struct StageTiming {
  uint64_t count = 0;
  double mean_ns = 0;
  double p50_ns = 0;
  double p99_ns = 0;
  double max_ns = 0;
};

struct EngineMetrics {
  // Timeline.
  int64_t ticks = 0;
  int64_t processed_samples = 0;  // engine timeline position, in samples at the engine rate
  double processed_ms = 0;
  // Capture.
  int64_t chunks_delivered = 0;        // pushed to the chunk queue
  int64_t chunks_dropped = 0;          // chunk queue full: the consumer did not keep up
  int64_t capture_dropped_samples = 0; // injected/device audio the capture queue had no room for
  int64_t source_idle_samples = 0;     // ticks found no captured audio: silence was processed instead
  // Playback.
  int64_t played_samples = 0;            // queued audio delivered to the sink
  int64_t playback_dropped_samples = 0;  // rejected or discarded by the overflow policy
  int64_t flushed_samples = 0;           // discarded by flush / interrupt / barge-in
  int64_t stale_samples_dropped = 0;     // arrived for an item after it was interrupted
  int64_t playback_underruns = 0;        // an item ran dry and later resumed (the producer was late)
  int64_t sink_overwritten_samples = 0;  // memory sink: output not collected before it was overwritten
  // Conversation.
  int64_t interruptions = 0;
  int64_t barge_ins = 0;
  // VAD runs long enough to interrupt the AI that the echo gate held back: the echo explained their energy
  // (BargeInConfig::echo_gate). Counted once per run.
  int64_t barge_in_echo_gated_runs = 0;
  // VAD segments the echo gate held back until they ended: only the AI's echo was behind them
  // (BargeInConfig::vad_echo_gate). No event, utterance or user turn came of them.
  int64_t vad_echo_vetoed_segments = 0;
  int64_t vad_speech_starts = 0;
  int64_t endpoints = 0;                 // ENDPOINT events on the live path
  // Speech-only capture delivery (AudioConfig::capture_delivery).
  int64_t speech_gated_samples = 0;      // captured but never delivered: outside speech and its padding
  int64_t prefix_truncated_samples = 0;  // prefix padding the history no longer held (hot settings outgrew it)
  int64_t mode_switches = 0;           // changes of the processing chain's routing (fast lane <-> quality)
  // Events.
  int64_t events_published = 0;
  int64_t events_dropped = 0;  // event ring full (slow subscribers)
  int64_t events_dispatched = 0;
  int64_t callback_exceptions = 0;
  // Stream buffers.
  int64_t buffer_overflow_samples = 0;
  int64_t buffer_underflow_samples = 0;
  // Real-time discipline (our executables link the probe; -1 when it is not installed).
  int64_t audio_thread_allocations = -1;
  int64_t audio_thread_mutex_locks = -1;
  // Timings.
  StageTiming tick;
  StageTiming capture_stage;   // source read, conversion
  StageTiming vad_stage;       // VAD + segmenter + barge-in decision
  StageTiming playback_stage;  // queue pull, sink write
  StageTiming output_stage;    // chunk queue push, events
  // Sampled ticks left out of the timings above: their durations wait in a ring until ae-events records them, and
  // a callback that holds ae-events up long enough (about 8000 periods) fills it.
  int64_t stage_samples_dropped = 0;
  double tick_budget_ms = 0;   // period length: a tick must finish well inside it
  // Echo cancellation (AudioEngine::enable_echo_cancellation): the processor's DuplexMetrics; the fields below
  // are meaningful, and appear in to_json() as an "echo" object, only while echo_cancellation is true.
  bool echo_cancellation = false;
  double echo_erle_db = 0;
  int64_t echo_delay_ms = -1;
  double echo_double_talk_fraction = 0;
  double echo_far_end_active_fraction = 0;
  int64_t echo_frames = 0;
};

// JSON object with every field above. Thread: any. RT-safe: no.
std::string to_json(const EngineMetrics& metrics);

}  // namespace ae
