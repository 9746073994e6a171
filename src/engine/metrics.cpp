#include "audioengine/metrics.hpp"

#include <cstdio>

namespace ae {
namespace {

void field(std::string& s, const char* name, int64_t v) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "\"%s\":%lld,", name, static_cast<long long>(v));
  s += buf;
}

void field(std::string& s, const char* name, double v) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "\"%s\":%.6g,", name, v);
  s += buf;
}

void timing(std::string& s, const char* name, const StageTiming& t) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "\"%s\":{\"count\":%llu,\"mean_ns\":%.1f,\"p50_ns\":%.1f,\"p99_ns\":%.1f,\"max_ns\":%.1f},", name,
                static_cast<unsigned long long>(t.count), t.mean_ns, t.p50_ns, t.p99_ns, t.max_ns);
  s += buf;
}

}  // namespace

std::string to_json(const EngineMetrics& m) {
  std::string s = "{";
  field(s, "ticks", m.ticks);
  field(s, "processed_samples", m.processed_samples);
  field(s, "processed_ms", m.processed_ms);
  field(s, "chunks_delivered", m.chunks_delivered);
  field(s, "chunks_dropped", m.chunks_dropped);
  field(s, "capture_dropped_samples", m.capture_dropped_samples);
  field(s, "source_idle_samples", m.source_idle_samples);
  field(s, "played_samples", m.played_samples);
  field(s, "playback_dropped_samples", m.playback_dropped_samples);
  field(s, "flushed_samples", m.flushed_samples);
  field(s, "stale_samples_dropped", m.stale_samples_dropped);
  field(s, "playback_underruns", m.playback_underruns);
  field(s, "sink_overwritten_samples", m.sink_overwritten_samples);
  field(s, "interruptions", m.interruptions);
  field(s, "barge_ins", m.barge_ins);
  field(s, "barge_in_echo_gated_runs", m.barge_in_echo_gated_runs);
  field(s, "vad_echo_vetoed_segments", m.vad_echo_vetoed_segments);
  field(s, "vad_speech_starts", m.vad_speech_starts);
  field(s, "endpoints", m.endpoints);
  field(s, "speech_gated_samples", m.speech_gated_samples);
  field(s, "prefix_truncated_samples", m.prefix_truncated_samples);
  field(s, "mode_switches", m.mode_switches);
  field(s, "events_published", m.events_published);
  field(s, "events_dropped", m.events_dropped);
  field(s, "events_dispatched", m.events_dispatched);
  field(s, "callback_exceptions", m.callback_exceptions);
  field(s, "buffer_overflow_samples", m.buffer_overflow_samples);
  field(s, "buffer_underflow_samples", m.buffer_underflow_samples);
  field(s, "audio_thread_allocations", m.audio_thread_allocations);
  field(s, "audio_thread_mutex_locks", m.audio_thread_mutex_locks);
  field(s, "tick_budget_ms", m.tick_budget_ms);
  field(s, "stage_samples_dropped", m.stage_samples_dropped);
  timing(s, "tick", m.tick);
  timing(s, "capture_stage", m.capture_stage);
  timing(s, "vad_stage", m.vad_stage);
  timing(s, "playback_stage", m.playback_stage);
  timing(s, "output_stage", m.output_stage);
  if (m.echo_cancellation) {
    s += "\"echo\":{";
    field(s, "erle_db", m.echo_erle_db);
    field(s, "delay_ms", m.echo_delay_ms);
    field(s, "double_talk_fraction", m.echo_double_talk_fraction);
    field(s, "far_end_active_fraction", m.echo_far_end_active_fraction);
    field(s, "frames", m.echo_frames);
    s.back() = '}';
    s += ',';
  }
  s.back() = '}';
  return s;
}

}  // namespace ae
