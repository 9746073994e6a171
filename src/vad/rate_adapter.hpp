#pragma once
// Input at a rate a detector's model does not run at, converted to one it does (SpeexDSP, created off the audio
// thread): shared by the detectors whose models exist for a few rates only (WebRTC, Silero).

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "audioengine/resampler.hpp"
#include "audioengine/result.hpp"
#include "dsp/speex_resampler.hpp"

namespace ae {

class VadRateAdapter {
 public:
  // Converts `input_rate_hz` to `model_rate_hz` for blocks of up to `max_frames`; nothing when they are equal.
  // `who` prefixes the error. Errors: kInternal when the resampler cannot be made. Thread: control. RT-safe: no.
  Status prepare(int input_rate_hz, int model_rate_hz, size_t max_frames, const char* who) {
    resampler_.reset();
    resampled_.clear();
    max_frames_ = max_frames;
    if (input_rate_hz == model_rate_hz) return ok_status();
    auto r = make_speex_resampler(who, input_rate_hz, model_rate_hz, max_frames);
    if (!r.ok()) return r.error_info();
    resampler_ = std::move(r).value();
    resampled_.assign(resampler_->max_output_frames(max_frames), 0.0f);
    return ok_status();
  }

  // Hands `feed(samples, count)` the input at the model rate, in pieces. Thread: the audio thread. RT-safe: yes.
  template <typename Feed>
  void run(const float* mono, size_t num_frames, Feed&& feed) noexcept {
    if (!resampler_) {
      feed(mono, num_frames);
      return;
    }
    for (size_t done = 0; done < num_frames;) {
      const size_t n = std::min(max_frames_, num_frames - done);
      feed(resampled_.data(), resampler_->process(mono + done, n, resampled_.data(), resampled_.size()));
      done += n;
    }
  }

  // Thread: the audio thread, or any while not processing. RT-safe: yes.
  void reset() noexcept {
    if (resampler_) resampler_->reset();
  }
  double delay_ms() const noexcept { return resampler_ ? resampler_->delay_ms() : 0.0; }

 private:
  std::unique_ptr<Resampler> resampler_;
  std::vector<float> resampled_;
  size_t max_frames_ = 0;
};

}  // namespace ae
