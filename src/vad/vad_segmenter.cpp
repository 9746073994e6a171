#include "audioengine/vad.hpp"

namespace ae {
namespace {

int64_t ms_to_samples(int ms, int sample_rate_hz) {
  return (static_cast<int64_t>(ms) * sample_rate_hz + 500) / 1000;
}

}  // namespace

void VadSegmenter::configure(const VadConfig& config, int sample_rate_hz) {
  activation_ = config.activation_threshold;
  deactivation_ = config.deactivation_threshold;
  min_speech_samples_ = ms_to_samples(config.min_speech_ms, sample_rate_hz);
  min_silence_samples_ = ms_to_samples(config.min_silence_ms, sample_rate_hz);
  reset();
}

void VadSegmenter::reset() noexcept {
  state_ = VadState::kSilence;
  run_start_ = -1;
  speech_start_sample_ = -1;
  speech_end_sample_ = -1;
}

VadDecision VadSegmenter::update(float probability, int64_t frame_start_sample, size_t num_frames) noexcept {
  VadDecision d{};
  d.probability = probability;
  const int64_t frame_end = frame_start_sample + static_cast<int64_t>(num_frames);
  if (state_ == VadState::kSilence) {
    if (run_start_ < 0) {
      if (probability >= activation_) run_start_ = frame_start_sample;
    } else if (probability < deactivation_) {
      run_start_ = -1;  // a blip shorter than min_speech: abandoned
    }
    if (run_start_ >= 0 && frame_end - run_start_ >= min_speech_samples_) {
      state_ = VadState::kSpeaking;
      speech_start_sample_ = run_start_;
      run_start_ = -1;
      d.speech_started = true;
    }
  } else {
    if (probability < deactivation_) {
      if (run_start_ < 0) run_start_ = frame_start_sample;
      if (frame_end - run_start_ >= min_silence_samples_) {
        state_ = VadState::kSilence;
        speech_end_sample_ = run_start_;
        run_start_ = -1;
        d.speech_ended = true;
      }
    } else {
      run_start_ = -1;  // a gap shorter than min_silence: bridged
    }
  }
  d.state = state_;
  d.speech_start_sample = speech_start_sample_;
  d.speech_end_sample = speech_end_sample_;
  return d;
}

}  // namespace ae
