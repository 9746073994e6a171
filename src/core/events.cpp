#include "audioengine/events.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace ae {
namespace {

constexpr std::array<const char*, static_cast<size_t>(AudioEventType::kCount)> kEventTypeNames = {
    "VAD_SPEECH_START", "VAD_SPEECH_END",  "ENDPOINT",         "INTERRUPT",    "PLAYBACK_STARTED",
    "PLAYBACK_COMPLETE", "QUEUE_DRAINED",  "BUFFER_OVERFLOW",  "BUFFER_UNDERFLOW", "BUFFER_READY",
    "STATE_CHANGED",    "ERROR",           "CUSTOM",          "MODE_CHANGED",
    "TURN_CHANGED",     "PLAYBACK_PAUSED", "PLAYBACK_RESUMED"};

bool equals_ignoring_case(std::string_view a, const char* b) noexcept {
  const size_t n = std::strlen(b);
  if (a.size() != n) return false;
  for (size_t i = 0; i < n; ++i) {
    char c = a[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != b[i]) return false;
  }
  return true;
}

AudioEvent make_base(AudioEventType type, int64_t t_samples, int32_t sample_rate_hz) noexcept {
  AudioEvent e;
  // memset rather than `{}` so the padding and every union byte are zero too: events are compared and
  // recorded byte-wise (session recording) and must not carry stack garbage.
  std::memset(static_cast<void*>(&e), 0, sizeof(e));
  e.type = type;
  e.t_samples = t_samples;
  e.sample_rate_hz = sample_rate_hz;
  return e;
}

}  // namespace

const char* to_string(AudioEventType type) noexcept {
  const auto i = static_cast<size_t>(type);
  return i < kEventTypeNames.size() ? kEventTypeNames[i] : "UNKNOWN";
}

std::optional<AudioEventType> parse_event_type(std::string_view name) noexcept {
  for (size_t i = 0; i < kEventTypeNames.size(); ++i) {
    if (equals_ignoring_case(name, kEventTypeNames[i])) return static_cast<AudioEventType>(i);
  }
  return std::nullopt;
}

const char* to_string(InterruptReason reason) noexcept {
  switch (reason) {
    case InterruptReason::kBargeIn: return "barge_in";
    case InterruptReason::kUser: return "user";
    case InterruptReason::kFlush: return "flush";
  }
  return "unknown";
}

AudioEvent make_vad_event(AudioEventType type, int64_t t_samples, int32_t sample_rate_hz, float probability,
                          int64_t speech_start_sample, int64_t speech_end_sample) noexcept {
  AudioEvent e = make_base(type, t_samples, sample_rate_hz);
  e.vad.probability = probability;
  e.vad.speech_start_sample = speech_start_sample;
  e.vad.speech_end_sample = speech_end_sample;
  e.vad.padded_start_sample = -1;
  return e;
}

AudioEvent make_interrupt_event(int64_t t_samples, int32_t sample_rate_hz, InterruptReason reason,
                                int64_t flushed_samples, int64_t played_samples, uint64_t item_id,
                                int64_t heard_at_decision_samples, int64_t output_silent_at_samples) noexcept {
  AudioEvent e = make_base(AudioEventType::kInterrupt, t_samples, sample_rate_hz);
  e.interrupt.flushed_samples = flushed_samples;
  e.interrupt.played_samples = played_samples;
  e.interrupt.item_id = item_id;
  e.interrupt.heard_at_decision_samples = heard_at_decision_samples >= 0 ? heard_at_decision_samples : played_samples;
  e.interrupt.output_silent_at_samples = output_silent_at_samples >= 0 ? output_silent_at_samples : t_samples;
  e.interrupt.reason = reason;
  e.interrupt.speech_run_samples = -1;
  return e;
}

AudioEvent make_playback_event(AudioEventType type, int64_t t_samples, int32_t sample_rate_hz, uint64_t item_id,
                               int64_t samples, int64_t played_out_at_samples) noexcept {
  AudioEvent e = make_base(type, t_samples, sample_rate_hz);
  e.playback.item_id = item_id;
  e.playback.samples = samples;
  e.playback.played_out_at_samples = played_out_at_samples >= 0 ? played_out_at_samples : t_samples;
  return e;
}

AudioEvent make_buffer_event(AudioEventType type, int64_t t_samples, int32_t sample_rate_hz, uint32_t buffer_id,
                             int64_t samples) noexcept {
  AudioEvent e = make_base(type, t_samples, sample_rate_hz);
  e.buffer.buffer_id = buffer_id;
  e.buffer.samples = samples;
  return e;
}

AudioEvent make_error_event(int64_t t_samples, int32_t sample_rate_hz, Error code, int32_t detail) noexcept {
  AudioEvent e = make_base(AudioEventType::kError, t_samples, sample_rate_hz);
  e.error.code = code;
  e.error.detail = detail;
  return e;
}

AudioEvent make_state_event(int64_t t_samples, int32_t sample_rate_hz, int32_t from, int32_t to) noexcept {
  AudioEvent e = make_base(AudioEventType::kStateChanged, t_samples, sample_rate_hz);
  e.state.from = from;
  e.state.to = to;
  return e;
}

AudioEvent make_custom_event(int64_t t_samples, int32_t sample_rate_hz, int64_t code, double value,
                             std::string_view text) noexcept {
  AudioEvent e = make_base(AudioEventType::kCustom, t_samples, sample_rate_hz);
  e.custom.code = code;
  e.custom.value = value;
  const size_t n = std::min(text.size(), kCustomEventTextBytes - 1);
  if (n > 0) std::memcpy(e.custom.text, text.data(), n);
  e.custom.text[n] = '\0';
  return e;
}

}  // namespace ae
