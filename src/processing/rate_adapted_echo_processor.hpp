#pragma once
// An echo processor at an engine rate its implementation does not run at. WebRTC's echo canceller, noise
// suppressor and gain control work at 8 and 16 kHz here (their 32/48 kHz paths need band-splitting filters
// the library does not export for 48 kHz); an engine at 24 kHz (the rate speech-to-speech APIs stream) or at a
// device's 44.1/48 kHz would otherwise have no echo cancellation at all.
//
// The microphone block and the render reference of the same tick go through two identical SpeexDSP resamplers to
// the inner rate, so the canceller sees them with their relative delay intact; the processed block comes back up
// through a third. The cost is bandwidth (the output carries nothing above half the inner rate: 8 kHz, all of
// telephone and wideband speech) and the resamplers' delay, reported in latency_samples(). At a rate the inner
// processor accepts, this is a pass-through with no delay and no copy.

#include <audioengine/echo_canceller.hpp>
#include <audioengine/resampler.hpp>

#include <atomic>
#include <memory>
#include <vector>

namespace ae {

class RateAdaptedEchoProcessor final : public EchoProcessor {
 public:
  // `inner` not prepared yet; `inner_rate_hz` is the rate it runs at when it refuses the engine's. Thread:
  // control. RT-safe: no.
  RateAdaptedEchoProcessor(std::unique_ptr<EchoProcessor> inner, int inner_rate_hz);

  // Prepares the inner processor at `sample_rate_hz`; when it answers kUnsupported, at the inner rate behind
  // the resamplers. Errors: the inner processor's (kInvalidArgument for a bad size or rate), kInternal when a
  // resampler cannot be made. Thread: control. RT-safe: no.
  Status prepare(int sample_rate_hz, size_t max_frames) override;
  void process(float* mono, size_t num_frames, const ProcessContext& context) noexcept override;
  void reset() noexcept override;
  const char* name() const noexcept override { return inner_->name(); }
  // The inner processor's lag at the engine rate, plus both resamplers' delays and the output FIFO's priming.
  int latency_samples() const noexcept override;
  DuplexMetrics duplex_metrics() const noexcept override { return inner_->duplex_metrics(); }
  bool double_talk() const noexcept override { return inner_->double_talk(); }

  // Whether prepare() put resamplers around the inner processor, and the rate it runs at. Thread: control.
  bool resampling() const noexcept { return capture_down_ != nullptr; }
  int inner_rate_hz() const noexcept { return resampling() ? inner_rate_hz_ : sample_rate_hz_; }
  EchoProcessor& inner() noexcept { return *inner_; }

 private:
  std::unique_ptr<EchoProcessor> inner_;
  int inner_rate_hz_;
  int sample_rate_hz_ = 0;
  size_t max_frames_ = 0;
  std::unique_ptr<Resampler> capture_down_, render_down_, capture_up_;
  std::vector<float> inner_mic_, inner_render_, zeros_;
  // The block back at the engine rate waits here: the up-resampler returns the frames its input is worth, which
  // for block sizes that are not whole multiples of the rate ratio is a frame more or less than the block.
  std::vector<float> out_fifo_;
  size_t out_fill_ = 0;
  size_t prime_frames_ = 0;
};

}  // namespace ae
