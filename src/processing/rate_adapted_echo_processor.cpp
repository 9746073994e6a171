#include "processing/rate_adapted_echo_processor.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "dsp/speex_resampler.hpp"

namespace ae {

RateAdaptedEchoProcessor::RateAdaptedEchoProcessor(std::unique_ptr<EchoProcessor> inner, int inner_rate_hz)
    : inner_(std::move(inner)), inner_rate_hz_(inner_rate_hz) {}

Status RateAdaptedEchoProcessor::prepare(int sample_rate_hz, size_t max_frames) {
  capture_down_.reset();
  render_down_.reset();
  capture_up_.reset();
  sample_rate_hz_ = sample_rate_hz;
  max_frames_ = max_frames;
  Status native = inner_->prepare(sample_rate_hz, max_frames);
  if (native.ok() || native.error() != Error::kUnsupported) return native;

  auto down = make_speex_resampler(inner_->name(), sample_rate_hz, inner_rate_hz_, max_frames);
  if (!down.ok()) return down.error_info();
  auto render_down = make_speex_resampler(inner_->name(), sample_rate_hz, inner_rate_hz_, max_frames);
  if (!render_down.ok()) return render_down.error_info();
  // Blocks that are a whole number of frames at both rates come back exactly as long as they went in; others
  // come back a few frames short now and then, which the primed FIFO absorbs.
  const bool whole = (static_cast<int64_t>(max_frames) * inner_rate_hz_) % sample_rate_hz == 0;
  const size_t inner_max = whole ? static_cast<size_t>(static_cast<int64_t>(max_frames) * inner_rate_hz_ / sample_rate_hz)
                                 : down.value()->max_output_frames(max_frames);
  auto up = make_speex_resampler(inner_->name(), inner_rate_hz_, sample_rate_hz, inner_max);
  if (!up.ok()) return up.error_info();
  if (Status s = inner_->prepare(inner_rate_hz_, inner_max); !s.ok()) return s;

  capture_down_ = std::move(down).value();
  render_down_ = std::move(render_down).value();
  capture_up_ = std::move(up).value();
  inner_mic_.assign(capture_down_->max_output_frames(max_frames), 0.0f);
  inner_render_.assign(inner_mic_.size(), 0.0f);
  zeros_.assign(max_frames, 0.0f);
  prime_frames_ = whole ? 0 : static_cast<size_t>((sample_rate_hz + inner_rate_hz_ - 1) / inner_rate_hz_) + 1;
  out_fifo_.assign(prime_frames_ + max_frames + capture_up_->max_output_frames(inner_max) + 1, 0.0f);
  out_fill_ = prime_frames_;
  return ok_status();
}

void RateAdaptedEchoProcessor::process(float* mono, size_t num_frames, const ProcessContext& context) noexcept {
  if (!capture_down_) {
    inner_->process(mono, num_frames, context);
    return;
  }
  num_frames = std::min(num_frames, max_frames_);
  const size_t n_mic = capture_down_->process(mono, num_frames, inner_mic_.data(), inner_mic_.size());
  // The render resampler is fed exactly as much as the capture one, silence where nothing plays, so both keep
  // the same phase and the canceller sees the true render-to-capture delay.
  const size_t have_render = context.render != nullptr ? std::min(context.render_frames, num_frames) : 0;
  size_t n_render = 0;
  if (have_render > 0) n_render = render_down_->process(context.render, have_render, inner_render_.data(), inner_render_.size());
  if (have_render < num_frames) {
    n_render += render_down_->process(zeros_.data(), num_frames - have_render, inner_render_.data() + n_render,
                                      inner_render_.size() - n_render);
  }

  ProcessContext inner_ctx = context;
  inner_ctx.sample_rate_hz = inner_rate_hz_;
  inner_ctx.t_samples = context.t_samples * inner_rate_hz_ / sample_rate_hz_;
  inner_ctx.render = context.render != nullptr ? inner_render_.data() : nullptr;
  inner_ctx.render_frames = std::min(n_render, n_mic);
  // The inner processor runs at its own rate: a copy it made would not be on the engine's sample grid.
  inner_ctx.vad_copy = nullptr;
  inner_ctx.vad_copy_written = nullptr;
  inner_->process(inner_mic_.data(), n_mic, inner_ctx);

  out_fill_ += capture_up_->process(inner_mic_.data(), n_mic, out_fifo_.data() + out_fill_, out_fifo_.size() - out_fill_);
  const size_t take = std::min(out_fill_, num_frames);
  std::copy(out_fifo_.begin(), out_fifo_.begin() + static_cast<std::ptrdiff_t>(take), mono);
  std::fill(mono + take, mono + num_frames, 0.0f);
  std::copy(out_fifo_.begin() + static_cast<std::ptrdiff_t>(take),
            out_fifo_.begin() + static_cast<std::ptrdiff_t>(out_fill_), out_fifo_.begin());
  out_fill_ -= take;
}

void RateAdaptedEchoProcessor::reset() noexcept {
  inner_->reset();
  if (!capture_down_) return;
  capture_down_->reset();
  render_down_->reset();
  capture_up_->reset();
  std::fill(out_fifo_.begin(), out_fifo_.end(), 0.0f);
  out_fill_ = prime_frames_;
}

int RateAdaptedEchoProcessor::latency_samples() const noexcept {
  if (!capture_down_) return inner_->latency_samples();
  const double ratio = static_cast<double>(sample_rate_hz_) / inner_rate_hz_;
  const double inner_lag = (inner_->latency_samples() + capture_down_->delay_frames()) * ratio;
  return static_cast<int>(std::lround(inner_lag + capture_up_->delay_frames() + static_cast<double>(prime_frames_)));
}

}  // namespace ae
