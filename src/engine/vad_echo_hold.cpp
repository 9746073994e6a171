#include "engine/vad_echo_hold.hpp"

#include <algorithm>

namespace ae {

void VadEchoHold::configure(int64_t min_near_end_samples, float deactivation_threshold) noexcept {
  // One near-end sample at least, as the barge-in asks: with 0 the echo alone would pass.
  min_near_end_samples_ = std::max<int64_t>(1, min_near_end_samples);
  deactivation_ = deactivation_threshold;
}

void VadEchoHold::reset() noexcept {
  run_start_ = -1;
  near_end_samples_ = 0;
  held_ = false;
  published_start_ = -1;
  published_end_ = -1;
}

VadDecision VadEchoHold::filter(const VadDecision& raw, int64_t pending_start_sample, bool vetoing, bool deciding,
                                bool near_end, size_t n, bool* vetoed) noexcept {
  *vetoed = false;
  // The run this period belongs to: the pending one while the segmenter is silent, else the segment.
  const int64_t run = raw.state == VadState::kSilence ? pending_start_sample : raw.speech_start_sample;
  if (run != run_start_) {
    run_start_ = run;
    near_end_samples_ = 0;
  }
  if (run >= 0 && near_end && raw.probability >= deactivation_) near_end_samples_ += static_cast<int64_t>(n);
  const bool enough = near_end_samples_ >= min_near_end_samples_;

  VadDecision out = raw;
  if (raw.speech_started && vetoing && deciding && !enough) {
    held_ = true;
  } else if (held_ && raw.speech_ended) {
    held_ = false;
    *vetoed = true;
    out.speech_ended = false;
    out.state = VadState::kSilence;
  } else if (held_ && (enough || !vetoing)) {
    held_ = false;
    out.speech_started = true;  // with the segment's original start sample
  }
  if (held_) {
    out.speech_started = false;
    out.state = VadState::kSilence;
  }
  // Start and end as the application saw them: a held or vetoed segment's samples never show.
  if (out.speech_started) published_start_ = raw.speech_start_sample;
  if (out.speech_ended) published_end_ = raw.speech_end_sample;
  out.speech_start_sample = published_start_;
  out.speech_end_sample = published_end_;
  return out;
}

}  // namespace ae
