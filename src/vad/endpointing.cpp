#include "audioengine/endpointing.hpp"

#include "audioengine/config.hpp"
#include "audioengine/config_issue.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace ae {
namespace {

int64_t ms_to_samples(int64_t ms, int rate_hz) { return (ms * rate_hz + 500) / 1000; }

}  // namespace

const char* to_string(EndpointState state) noexcept {
  switch (state) {
    case EndpointState::kIdle: return "idle";
    case EndpointState::kInUtterance: return "in_utterance";
    case EndpointState::kTrailingSilence: return "trailing_silence";
  }
  return "unknown";
}

const char* to_string(EndpointReason reason) noexcept {
  switch (reason) {
    case EndpointReason::kNone: return "none";
    case EndpointReason::kSilence: return "silence";
    case EndpointReason::kMaxUtterance: return "max_utterance";
    case EndpointReason::kForced: return "forced";
  }
  return "unknown";
}

void collect_endpoint_config_issues(const EndpointConfig& c, std::vector<ConfigIssue>& issues) {
  auto check = [&issues](const char* field, int v, int lo, int hi) {
    if (v < lo || v > hi) {
      issues.push_back({std::string("endpoint.") + field, std::to_string(v),
                        std::to_string(lo) + ".." + std::to_string(hi) + " ms"});
    }
  };
  check("silence_timeout_ms", c.silence_timeout_ms, 100, 10000);
  check("min_utterance_ms", c.min_utterance_ms, 0, 10000);
  check("max_utterance_ms", c.max_utterance_ms, 1000, 600000);
  if (!(c.adaptive_factor >= 1.0f && c.adaptive_factor <= 5.0f)) {
    issues.push_back({"endpoint.adaptive_factor", std::to_string(c.adaptive_factor), "1..5"});
  }
  check("adaptive_min_timeout_ms", c.adaptive_min_timeout_ms, 100, 10000);
  check("adaptive_max_timeout_ms", c.adaptive_max_timeout_ms, std::clamp(c.adaptive_min_timeout_ms, 100, 10000),
        10000);
}

Status validate_endpoint_config(const EndpointConfig& c) {
  std::vector<ConfigIssue> issues;
  collect_endpoint_config_issues(c, issues);
  if (issues.empty()) return ok_status();
  return Status(Error::kInvalidConfig, "invalid endpoint config: " + format_config_issues(issues));
}

void Endpointer::configure(const EndpointConfig& config, int sample_rate_hz) noexcept {
  sample_rate_hz_ = sample_rate_hz;
  timeout_samples_ = ms_to_samples(config.silence_timeout_ms, sample_rate_hz);
  min_utterance_samples_ = ms_to_samples(config.min_utterance_ms, sample_rate_hz);
  max_utterance_samples_ = ms_to_samples(config.max_utterance_ms, sample_rate_hz);
  adaptive_ = config.adaptive;
  adaptive_factor_ = config.adaptive_factor;
  adaptive_min_samples_ = ms_to_samples(config.adaptive_min_timeout_ms, sample_rate_hz);
  adaptive_max_samples_ = ms_to_samples(config.adaptive_max_timeout_ms, sample_rate_hz);
  num_pauses_ = 0;
  next_pause_ = 0;
  reset();
}

void Endpointer::record_pause(int64_t pause_samples) noexcept {
  pauses_[next_pause_] = pause_samples;
  next_pause_ = (next_pause_ + 1) % kPauseHistory;
  num_pauses_ = std::min(num_pauses_ + 1, kPauseHistory);
  if (num_pauses_ < kMinPausesForAdaptive) return;
  // Sixteen values sorted in place on a copy: no allocation, done once per pause rather than once per frame.
  std::array<int64_t, kPauseHistory> sorted = pauses_;
  std::sort(sorted.begin(), sorted.begin() + static_cast<ptrdiff_t>(num_pauses_));
  // Nearest rank: the smallest value with at least 90 % of the pauses at or below it.
  const size_t rank = (num_pauses_ * 9 + 9) / 10;  // ceil(0.9 n)
  const double p90 = static_cast<double>(sorted[rank - 1]);
  const auto scaled = static_cast<int64_t>(adaptive_factor_ * p90 + 0.5);
  adaptive_timeout_samples_ = std::clamp(scaled, adaptive_min_samples_, adaptive_max_samples_);
}

int64_t Endpointer::effective_timeout_samples() const noexcept {
  return adaptive_ && num_pauses_ >= kMinPausesForAdaptive ? adaptive_timeout_samples_ : timeout_samples_;
}

void Endpointer::reset() noexcept {
  state_ = EndpointState::kIdle;
  start_ = -1;
  last_end_ = -1;
}

void Endpointer::set_silence_timeout_ms(int timeout_ms) noexcept {
  timeout_samples_ = ms_to_samples(std::clamp(timeout_ms, 100, 10000), sample_rate_hz_);
}

EndpointDecision Endpointer::update(const VadDecision& d, int64_t frame_start_sample, size_t num_frames) noexcept {
  const int64_t frame_end = frame_start_sample + static_cast<int64_t>(num_frames);
  EndpointDecision out;
  switch (state_) {
    case EndpointState::kIdle:
      if (d.speech_started) {
        state_ = EndpointState::kInUtterance;
        start_ = d.speech_start_sample;
      }
      break;
    case EndpointState::kInUtterance:
      if (d.speech_ended) {
        state_ = EndpointState::kTrailingSilence;
        last_end_ = d.speech_end_sample;
      }
      break;
    case EndpointState::kTrailingSilence:
      if (d.speech_started) {
        state_ = EndpointState::kInUtterance;  // a pause inside the turn
        record_pause(d.speech_start_sample - last_end_);
      } else if (frame_end - last_end_ >= effective_timeout_samples()) {
        if (last_end_ - start_ >= min_utterance_samples_) {
          out = {EndpointReason::kSilence, start_, last_end_};
        }
        reset();
        return out;
      }
      break;
  }
  if (state_ != EndpointState::kIdle && frame_end - start_ >= max_utterance_samples_) {
    // In trailing silence the utterance's speech ended at the last segment's end, not at this frame.
    out = {EndpointReason::kMaxUtterance, start_,
           state_ == EndpointState::kTrailingSilence ? last_end_ : frame_end};
    const bool speaking = d.state == VadState::kSpeaking;
    reset();
    if (speaking) {
      state_ = EndpointState::kInUtterance;
      start_ = frame_end;
    }
  }
  return out;
}

EndpointDecision Endpointer::force(int64_t now_sample, bool still_speaking) noexcept {
  if (state_ == EndpointState::kIdle) return {};
  EndpointDecision out{EndpointReason::kForced, start_, state_ == EndpointState::kTrailingSilence ? last_end_ : now_sample};
  reset();
  if (still_speaking) {
    state_ = EndpointState::kInUtterance;
    start_ = now_sample;
  }
  return out;
}

}  // namespace ae
