#include "audioengine/config.hpp"

#include <sstream>

namespace ae {

const char* to_string(OverflowPolicy policy) {
  switch (policy) {
    case OverflowPolicy::kBlockProducer: return "block_producer";
    case OverflowPolicy::kDropOldest: return "drop_oldest";
    case OverflowPolicy::kDropNewest: return "drop_newest";
  }
  return "unknown";
}

const char* to_string(DuplexMode mode) {
  switch (mode) {
    case DuplexMode::kFull: return "full";
    case DuplexMode::kCaptureOnly: return "capture_only";
    case DuplexMode::kPlaybackOnly: return "playback_only";
  }
  return "unknown";
}

const char* to_string(CaptureDelivery delivery) {
  switch (delivery) {
    case CaptureDelivery::kAll: return "all";
    case CaptureDelivery::kSpeechOnly: return "speech_only";
  }
  return "unknown";
}

const char* to_string(EchoGateMode mode) {
  switch (mode) {
    case EchoGateMode::kAuto: return "auto";
    case EchoGateMode::kOn: return "on";
    case EchoGateMode::kOff: return "off";
  }
  return "unknown";
}

const char* to_string(BargeInRecovery recovery) {
  switch (recovery) {
    case BargeInRecovery::kOff: return "off";
    case BargeInRecovery::kPause: return "pause";
    case BargeInRecovery::kDuck: return "duck";
  }
  return "unknown";
}

const char* to_string(ClockSource source) {
  switch (source) {
    case ClockSource::kVirtual: return "virtual";
    case ClockSource::kDevice: return "device";
  }
  return "unknown";
}

EngineConfig EngineConfig::fast_lane() {
  EngineConfig c;
  c.audio.sample_rate_hz = 16000;
  c.audio.chunk_duration_ms = 10;
  c.audio.resampler = ResamplerKind::kSpeex;
  return c;
}

EngineConfig EngineConfig::quality() {
  EngineConfig c;
  c.audio.sample_rate_hz = 24000;
  c.audio.chunk_duration_ms = 20;
  c.audio.resampler = ResamplerKind::kSoxr;
  return c;
}

EngineConfig EngineConfig::telephony() {
  EngineConfig c;
  c.audio.sample_rate_hz = 8000;
  c.audio.chunk_duration_ms = 20;
  c.audio.chunk_sample_type = SampleType::kMulaw;
  c.audio.playback_sample_type = SampleType::kMulaw;
  c.audio.resampler = ResamplerKind::kSpeex;
  return c;
}

EngineConfig EngineConfig::wideband() {
  EngineConfig c;
  c.audio.sample_rate_hz = 16000;
  c.audio.chunk_duration_ms = 20;
  return c;
}

namespace {

template <typename T>
std::string str(const T& v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// EchoCancellerConfig::validate() names its first bad field as "echo canceller: FIELD = VALUE (valid: RANGE)";
// the issue carries it under "echo.canceller.FIELD" so that every config problem reads the same way.
void collect_echo_config_issues(const EchoConfig& e, std::vector<ConfigIssue>& out) {
  if (!e.enabled) return;
  const Status st = e.canceller.validate();
  if (st.ok()) return;
  const std::string& m = st.message();
  const std::string prefix = "echo canceller: ";
  const size_t eq = m.find(" = ");
  const size_t valid = m.find(" (valid: ");
  if (m.rfind(prefix, 0) != 0 || eq == std::string::npos || valid == std::string::npos || valid < eq) {
    out.push_back({"echo.canceller", m, "see EchoCancellerConfig"});
    return;
  }
  out.push_back({"echo.canceller." + m.substr(prefix.size(), eq - prefix.size()), m.substr(eq + 3, valid - eq - 3),
                 m.substr(valid + 9, m.size() - valid - 10)});
}

void check_range(std::vector<ConfigIssue>& out, const char* field, int64_t value, int64_t lo, int64_t hi) {
  if (value < lo || value > hi) out.push_back({field, str(value), str(lo) + ".." + str(hi)});
}


}  // namespace

bool same_echo_canceller_config(const EchoCancellerConfig& a, const EchoCancellerConfig& b) {
  return a.implementation == b.implementation && a.suppression == b.suppression &&
         a.noise_suppression == b.noise_suppression && a.agc_enabled == b.agc_enabled &&
         a.agc_target_level_dbfs == b.agc_target_level_dbfs && a.agc_compression_gain_db == b.agc_compression_gain_db &&
         a.agc_limiter == b.agc_limiter && a.high_pass_filter == b.high_pass_filter &&
         a.delay_agnostic == b.delay_agnostic && a.extended_filter == b.extended_filter &&
         a.stream_delay_ms == b.stream_delay_ms && a.vad_copy == b.vad_copy &&
         a.vad_copy_suppression == b.vad_copy_suppression;
}

void collect_barge_in_config_issues(const BargeInConfig& b, int chunk_duration_ms, std::vector<ConfigIssue>& out) {
  check_range(out, "barge_in.min_speech_ms", b.min_speech_ms, 0, 5000);
  if (!(b.probability_threshold > 0.0f && b.probability_threshold <= 1.0f)) {
    out.push_back({"barge_in.probability_threshold", str(b.probability_threshold), "(0, 1]"});
  }
  if (b.fade_out_ms < 0 || b.fade_out_ms > 50 || b.fade_out_ms > chunk_duration_ms) {
    out.push_back({"barge_in.fade_out_ms", str(b.fade_out_ms),
                   "0..50 and at most audio.chunk_duration_ms = " + str(chunk_duration_ms)});
  }
  if (b.recovery != BargeInRecovery::kOff && b.recovery != BargeInRecovery::kPause &&
      b.recovery != BargeInRecovery::kDuck) {
    out.push_back({"barge_in.recovery", str(static_cast<int>(b.recovery)), "off, pause or duck"});
  }
  if (!(b.duck_gain >= 0.0f && b.duck_gain < 1.0f)) out.push_back({"barge_in.duck_gain", str(b.duck_gain), "[0, 1)"});
  check_range(out, "barge_in.resume_after_ms", b.resume_after_ms, 0, 10000);
  if (b.echo_gate != EchoGateMode::kAuto && b.echo_gate != EchoGateMode::kOn && b.echo_gate != EchoGateMode::kOff) {
    out.push_back({"barge_in.echo_gate", str(static_cast<int>(b.echo_gate)), "auto, on or off"});
  }
  if (b.vad_echo_gate != EchoGateMode::kAuto && b.vad_echo_gate != EchoGateMode::kOn &&
      b.vad_echo_gate != EchoGateMode::kOff) {
    out.push_back({"barge_in.vad_echo_gate", str(static_cast<int>(b.vad_echo_gate)), "auto, on or off"});
  }
  if (!(b.echo_gate_margin_db >= 0.0f && b.echo_gate_margin_db <= 40.0f)) {
    out.push_back({"barge_in.echo_gate_margin_db", str(b.echo_gate_margin_db), "[0, 40]"});
  }
  check_range(out, "barge_in.echo_gate_tail_ms", b.echo_gate_tail_ms, 20, 1000);
  check_range(out, "barge_in.echo_gate_min_near_end_ms", b.echo_gate_min_near_end_ms, 0, 500);
  if (!(b.echo_gate_tail_fall_db >= 0.0f && b.echo_gate_tail_fall_db <= 120.0f)) {
    out.push_back({"barge_in.echo_gate_tail_fall_db", str(b.echo_gate_tail_fall_db), "[0, 120]"});
  }
  if (!(b.echo_gate_max_coupling_db >= -20.0f && b.echo_gate_max_coupling_db <= 40.0f)) {
    out.push_back({"barge_in.echo_gate_max_coupling_db", str(b.echo_gate_max_coupling_db), "[-20, 40]"});
  }
  check_range(out, "barge_in.echo_gate_bands", b.echo_gate_bands, 0, 64);
  if (b.echo_gate_bands > 0) {
    check_range(out, "barge_in.echo_gate_min_bands", b.echo_gate_min_bands, 1, b.echo_gate_bands);
  }
}

std::vector<ConfigIssue> validate_config(const EngineConfig& c) {
  std::vector<ConfigIssue> out;
  const auto& a = c.audio;
  check_range(out, "audio.sample_rate_hz", a.sample_rate_hz, 8000, 48000);
  if (a.chunk_duration_ms != 10 && a.chunk_duration_ms != 20 && a.chunk_duration_ms != 30 &&
      a.chunk_duration_ms != 40 && a.chunk_duration_ms != 5) {
    out.push_back({"audio.chunk_duration_ms", str(a.chunk_duration_ms), "one of 5, 10, 20, 30, 40"});
  } else if (a.sample_rate_hz >= 8000 && a.sample_rate_hz <= 48000 && (static_cast<int64_t>(a.sample_rate_hz) * a.chunk_duration_ms) % 1000 != 0) {
    out.push_back({"audio.chunk_duration_ms", str(a.chunk_duration_ms),
                   "a duration that is a whole number of samples at audio.sample_rate_hz=" + str(a.sample_rate_hz)});
  }
  const auto& q = c.queues;
  check_range(out, "queues.capture_capacity_ms", q.capture_capacity_ms, 2 * a.chunk_duration_ms, 600000);
  check_range(out, "queues.playback_capacity_ms", q.playback_capacity_ms, 2 * a.chunk_duration_ms, 3600000);
  check_range(out, "queues.urgent_capacity_ms", q.urgent_capacity_ms, 2 * a.chunk_duration_ms, 3600000);
  check_range(out, "queues.chunk_queue_capacity_ms", q.chunk_queue_capacity_ms, 2 * a.chunk_duration_ms, 600000);
  check_range(out, "queues.block_timeout_ms", q.block_timeout_ms, 0, 600000);
  check_range(out, "queues.max_items", q.max_items, 2, 65536);
  if (q.capture_overflow == OverflowPolicy::kDropOldest) {
    out.push_back({"queues.capture_overflow", "drop_oldest", "block_producer or drop_newest (the capture queue is "
                                                             "consumed by the audio thread alone)"});
  }
  check_range(out, "events.rt_capacity", c.events.rt_capacity, 16, 1 << 20);
  check_range(out, "events.control_capacity", c.events.control_capacity, 16, 1 << 20);
  check_range(out, "events.dispatch_interval_us", c.events.dispatch_interval_us, 50, 100000);
  check_range(out, "events.history_size", c.events.history_size, 0, 1 << 16);
  check_range(out, "sink.memory_capacity_ms", c.sink.memory_capacity_ms, 0, 3600000);
  check_range(out, "shutdown_timeout_ms", c.shutdown_timeout_ms, 1, 600000);
  const auto& d = c.device;
  if (d.sample_rate_hz != 0) check_range(out, "device.sample_rate_hz", d.sample_rate_hz, 8000, 192000);
  check_range(out, "device.period_frames", d.period_frames, 0, 16384);
  check_range(out, "device.capture_channels", d.capture_channels, 1, 8);
  check_range(out, "device.playback_channels", d.playback_channels, 1, 8);
  if (!(d.suggested_latency_ms >= 0 && d.suggested_latency_ms <= 2000)) {
    out.push_back({"device.suggested_latency_ms", str(d.suggested_latency_ms), "0..2000 (0 = the device's default)"});
  }
  if (d.client_name.empty() || d.client_name.size() > 32) {
    out.push_back({"device.client_name", "'" + d.client_name + "'", "1..32 characters"});
  }
  check_range(out, "device.recovery.stall_timeout_ms", d.recovery.stall_timeout_ms, 50, 60000);
  check_range(out, "device.recovery.max_attempts", d.recovery.max_attempts, 1, 100000);
  check_range(out, "device.recovery.retry_interval_ms", d.recovery.retry_interval_ms, 1, 60000);
  collect_vad_config_issues(c.vad, out);
  collect_endpoint_config_issues(c.endpoint, out);
  collect_echo_config_issues(c.echo, out);
  collect_barge_in_config_issues(c.barge_in, a.chunk_duration_ms, out);
  if (a.capture_delivery != CaptureDelivery::kAll && a.capture_delivery != CaptureDelivery::kSpeechOnly) {
    out.push_back({"audio.capture_delivery", str(static_cast<int>(a.capture_delivery)), "all or speech_only"});
  }
  return out;
}

std::string format_config_issues(const std::vector<ConfigIssue>& issues) {
  std::string s;
  for (const auto& i : issues) {
    if (!s.empty()) s += "; ";
    s += i.field + " = " + i.value + " (valid: " + i.valid + ")";
  }
  return s;
}

ConfigUpdate diff_config(const EngineConfig& a, const EngineConfig& b) {
  ConfigUpdate u;
  auto hot = [&](bool differs, const char* name) {
    if (differs) u.applied.emplace_back(name);
  };
  auto cold = [&](bool differs, const char* name) {
    if (differs) u.needs_restart.emplace_back(name);
  };
  cold(a.audio.sample_rate_hz != b.audio.sample_rate_hz, "audio.sample_rate_hz");
  cold(a.audio.chunk_duration_ms != b.audio.chunk_duration_ms, "audio.chunk_duration_ms");
  cold(a.audio.chunk_sample_type != b.audio.chunk_sample_type, "audio.chunk_sample_type");
  hot(a.audio.playback_sample_type != b.audio.playback_sample_type, "audio.playback_sample_type");
  cold(a.audio.resampler != b.audio.resampler, "audio.resampler");
  hot(a.audio.capture_delivery != b.audio.capture_delivery, "audio.capture_delivery");
  hot(a.vad.enabled != b.vad.enabled, "vad.enabled");
  cold(a.vad.algorithm != b.vad.algorithm, "vad.algorithm");
  hot(a.vad.activation_threshold != b.vad.activation_threshold, "vad.activation_threshold");
  hot(a.vad.deactivation_threshold != b.vad.deactivation_threshold, "vad.deactivation_threshold");
  hot(a.vad.min_speech_ms != b.vad.min_speech_ms, "vad.min_speech_ms");
  hot(a.vad.min_silence_ms != b.vad.min_silence_ms, "vad.min_silence_ms");
  hot(a.vad.prefix_padding_ms != b.vad.prefix_padding_ms, "vad.prefix_padding_ms");
  cold(a.vad.energy_margin_db != b.vad.energy_margin_db, "vad.energy_margin_db");
  cold(a.vad.energy_floor_dbfs != b.vad.energy_floor_dbfs, "vad.energy_floor_dbfs");
  cold(a.vad.noise_floor_attack_ms != b.vad.noise_floor_attack_ms, "vad.noise_floor_attack_ms");
  cold(a.vad.noise_floor_release_ms != b.vad.noise_floor_release_ms, "vad.noise_floor_release_ms");
  cold(a.vad.noise_floor_speech_release_ms != b.vad.noise_floor_speech_release_ms,
       "vad.noise_floor_speech_release_ms");
  cold(a.vad.webrtc_aggressiveness != b.vad.webrtc_aggressiveness, "vad.webrtc_aggressiveness");
  hot(!(a.endpoint == b.endpoint), "endpoint");
  hot(a.barge_in.enabled != b.barge_in.enabled, "barge_in.enabled");
  hot(a.barge_in.min_speech_ms != b.barge_in.min_speech_ms, "barge_in.min_speech_ms");
  hot(a.barge_in.probability_threshold != b.barge_in.probability_threshold, "barge_in.probability_threshold");
  hot(a.barge_in.fade_out_ms != b.barge_in.fade_out_ms, "barge_in.fade_out_ms");
  hot(a.barge_in.recovery != b.barge_in.recovery, "barge_in.recovery");
  hot(a.barge_in.duck_gain != b.barge_in.duck_gain, "barge_in.duck_gain");
  hot(a.barge_in.resume_after_ms != b.barge_in.resume_after_ms, "barge_in.resume_after_ms");
  cold(a.queues.capture_capacity_ms != b.queues.capture_capacity_ms, "queues.capture_capacity_ms");
  cold(a.queues.playback_capacity_ms != b.queues.playback_capacity_ms, "queues.playback_capacity_ms");
  cold(a.queues.urgent_capacity_ms != b.queues.urgent_capacity_ms, "queues.urgent_capacity_ms");
  cold(a.queues.chunk_queue_capacity_ms != b.queues.chunk_queue_capacity_ms, "queues.chunk_queue_capacity_ms");
  cold(a.queues.max_items != b.queues.max_items, "queues.max_items");
  hot(a.queues.playback_overflow != b.queues.playback_overflow, "queues.playback_overflow");
  hot(a.queues.capture_overflow != b.queues.capture_overflow, "queues.capture_overflow");
  hot(a.queues.block_timeout_ms != b.queues.block_timeout_ms, "queues.block_timeout_ms");
  cold(a.events.rt_capacity != b.events.rt_capacity, "events.rt_capacity");
  cold(a.events.control_capacity != b.events.control_capacity, "events.control_capacity");
  cold(a.events.dispatch_interval_us != b.events.dispatch_interval_us, "events.dispatch_interval_us");
  cold(a.events.history_size != b.events.history_size, "events.history_size");
  hot(a.metrics.stage_timing != b.metrics.stage_timing, "metrics.stage_timing");
  cold(a.clock.source != b.clock.source, "clock.source");
  cold(a.clock.virtual_mode != b.clock.virtual_mode, "clock.virtual_mode");
  cold(!(a.device == b.device), "device");
  cold(a.sink.memory_capacity_ms != b.sink.memory_capacity_ms, "sink.memory_capacity_ms");
  cold(a.echo.enabled != b.echo.enabled, "echo.enabled");
  cold(!same_echo_canceller_config(a.echo.canceller, b.echo.canceller), "echo.canceller");
  hot(a.shutdown_timeout_ms != b.shutdown_timeout_ms, "shutdown_timeout_ms");
  return u;
}

}  // namespace ae

namespace ae {

const char* to_string(ProcessingMode mode) {
  switch (mode) {
    case ProcessingMode::kFastLane: return "fast_lane";
    case ProcessingMode::kQuality: return "quality";
    case ProcessingMode::kAdaptive: return "adaptive";
  }
  return "unknown";
}

std::vector<ConfigIssue> validate_adaptive_mode_config(const AdaptiveModeConfig& c) {
  std::vector<ConfigIssue> issues;
  if (!(c.high_load_fraction > 0.0 && c.high_load_fraction <= 1.0)) {
    issues.push_back({"adaptive.high_load_fraction", std::to_string(c.high_load_fraction), "(0, 1]"});
  }
  if (!(c.low_load_fraction >= 0.0 && c.low_load_fraction < c.high_load_fraction)) {
    issues.push_back({"adaptive.low_load_fraction", std::to_string(c.low_load_fraction),
                      "[0, high_load_fraction = " + std::to_string(c.high_load_fraction) + ")"});
  }
  if (c.ticks_to_fast_lane < 1) {
    issues.push_back({"adaptive.ticks_to_fast_lane", std::to_string(c.ticks_to_fast_lane), ">= 1"});
  }
  if (c.ticks_to_quality < 1) {
    issues.push_back({"adaptive.ticks_to_quality", std::to_string(c.ticks_to_quality), ">= 1"});
  }
  return issues;
}

}  // namespace ae
