#pragma once
// VadEchoHold: keeps the VAD segments that only the AI's echo started from reaching the application. A canceller's
// residual echo is intelligible speech to a VAD at any level, so the segmenter starts segments on it; the echo
// gate (EchoGate) knows which periods hold near-end energy the echo does not explain. A segment the segmenter
// starts while the gate is deciding (render in its window) and that has not yet shown min_near_end_samples of
// near-end periods is held: not published. Once it has, it is published with its original start sample, so the
// prefix padding, speech-only delivery and the endpointer get the user's first words exactly; a held segment that
// ends is dropped (vetoed). Without render in the gate's window nothing is held and the decisions pass unchanged.
//
// The near-end periods are counted from the raw start of the run on: the segmenter's pending run
// (VadSegmenter::pending_start_sample) while it is not yet confirmed, then the segment, in the periods whose
// probability keeps the run going (>= the deactivation threshold), as the barge-in counts its own run's.

#include <audioengine/vad.hpp>

#include <cstddef>
#include <cstdint>

namespace ae {

class VadEchoHold {
 public:
  // `min_near_end_samples`: near-end samples a segment needs to be published while the gate decides (at least 1
  // is always needed); `deactivation_threshold`: the segmenter's. Keeps a held segment held. Thread: the audio
  // thread (or any while no tick runs). RT-safe: yes.
  void configure(int64_t min_near_end_samples, float deactivation_threshold) noexcept;

  // Forgets the run and any held segment (with the segmenter's reset). Thread: the audio thread. RT-safe: yes.
  void reset() noexcept;

  // The decision to publish for one period, from the segmenter's `raw` decision for it and its pending run start
  // after it (`pending_start_sample`). `vetoing`: the veto applies (a held segment is released when it no longer
  // does); `deciding`: the echo gate had render in its window this period; `near_end`: its verdict; `n`: the
  // period's length. Sets `*vetoed` when a held segment ended unpublished. Thread: the audio thread. RT-safe: yes.
  // Inline: it runs every period, and a decision returned from a call is copied back in wider loads than it was
  // stored with, which stalls on store forwarding.
  inline VadDecision filter(const VadDecision& raw, int64_t pending_start_sample, bool vetoing, bool deciding,
                            bool near_end, size_t n, bool* vetoed) noexcept;

  // Whether a segment is held now. RT-safe: yes.
  bool held() const noexcept { return held_; }
  // The published state for the segmenter's `raw` state: silence while a segment is held. RT-safe: yes.
  VadState published(VadState raw) const noexcept { return held_ ? VadState::kSilence : raw; }

 private:
  int64_t min_near_end_samples_ = 1;
  float deactivation_ = 0.35f;
  int64_t run_start_ = -1;         // raw start of the run being counted; -1: none
  int64_t near_end_samples_ = 0;   // near-end samples of that run
  bool held_ = false;
  int64_t published_start_ = -1;   // the last published segment's start and end (reported while one is held)
  int64_t published_end_ = -1;
};

inline VadDecision VadEchoHold::filter(const VadDecision& raw, int64_t pending_start_sample, bool vetoing, bool deciding,
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
