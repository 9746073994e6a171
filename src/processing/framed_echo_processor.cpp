#include "processing/framed_echo_processor.hpp"

#include <algorithm>
#include <string>

namespace ae {

Status FramedEchoProcessor::check_max_frames(const char* who, size_t max_frames) {
  if (max_frames == 0 || max_frames > 16384) {
    return Status(Error::kInvalidArgument,
                  std::string(who) + ": max_frames = " + std::to_string(max_frames) + " (valid: 1..16384)");
  }
  return ok_status();
}

void FramedEchoProcessor::prepare_framing(int sample_rate_hz, size_t max_frames) {
  block_frames_ = static_cast<size_t>(sample_rate_hz / 100);
  max_frames_ = max_frames;
  fifo_mode_ = max_frames % block_frames_ != 0;
  far_scratch_.assign(block_frames_, 0.0f);
  in_fifo_.assign(fifo_mode_ ? block_frames_ + max_frames : 0, 0.0f);
  render_fifo_.assign(in_fifo_.size(), 0.0f);
  out_fifo_.assign(fifo_mode_ ? 2 * block_frames_ + max_frames : 0, 0.0f);
  misaligned_blocks_.store(0, std::memory_order_relaxed);
  framing_ready_ = true;
}

void FramedEchoProcessor::reset_framing() noexcept {
  std::fill(in_fifo_.begin(), in_fifo_.end(), 0.0f);
  std::fill(render_fifo_.begin(), render_fifo_.end(), 0.0f);
  std::fill(out_fifo_.begin(), out_fifo_.end(), 0.0f);
  in_fill_ = 0;
  out_fill_ = fifo_mode_ ? block_frames_ : 0;
  meter_.reset();
}

void FramedEchoProcessor::process(float* mono, size_t num_frames, const ProcessContext& context) noexcept {
  if (!framing_ready_) return;
  const size_t n = block_frames_;
  auto render_at = [&](size_t offset, float* dst, size_t count) {
    for (size_t i = 0; i < count; ++i) {
      const size_t k = offset + i;
      dst[i] = (context.render != nullptr && k < context.render_frames) ? context.render[k] : 0.0f;
    }
  };
  if (num_frames > max_frames_) {  // a caller error: the buffers are sized for max_frames
    misaligned_blocks_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (!fifo_mode_) {
    if (num_frames % n != 0) {
      misaligned_blocks_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    bool copied = context.vad_copy != nullptr && num_frames > 0;
    for (size_t off = 0; off < num_frames; off += n) {
      const bool whole = context.render != nullptr && off + n <= context.render_frames;
      const float* far = whole ? context.render + off : nullptr;
      if (!whole && context.render != nullptr) {
        render_at(off, far_scratch_.data(), n);
        far = far_scratch_.data();
      }
      float* copy = context.vad_copy != nullptr ? context.vad_copy + off : nullptr;
      copied = process_frame(mono + off, far, context.echo_delay_ms, copy) && copied;
    }
    if (copied && context.vad_copy_written != nullptr) *context.vad_copy_written = true;
    return;
  }
  // FIFO mode: frames complete across calls; the output lags by one frame. No VAD copy here: it would need a FIFO
  // of its own, and engine periods are whole 10 ms frames.
  std::copy(mono, mono + num_frames, in_fifo_.begin() + static_cast<std::ptrdiff_t>(in_fill_));
  render_at(0, render_fifo_.data() + in_fill_, num_frames);
  in_fill_ += num_frames;
  size_t consumed = 0;
  while (in_fill_ - consumed >= n) {
    float* frame = in_fifo_.data() + consumed;
    (void)process_frame(frame, render_fifo_.data() + consumed, context.echo_delay_ms, nullptr);
    std::copy(frame, frame + n, out_fifo_.begin() + static_cast<std::ptrdiff_t>(out_fill_));
    out_fill_ += n;
    consumed += n;
  }
  if (consumed > 0) {
    std::copy(in_fifo_.begin() + static_cast<std::ptrdiff_t>(consumed),
              in_fifo_.begin() + static_cast<std::ptrdiff_t>(in_fill_), in_fifo_.begin());
    std::copy(render_fifo_.begin() + static_cast<std::ptrdiff_t>(consumed),
              render_fifo_.begin() + static_cast<std::ptrdiff_t>(in_fill_), render_fifo_.begin());
    in_fill_ -= consumed;
  }
  std::copy(out_fifo_.begin(), out_fifo_.begin() + static_cast<std::ptrdiff_t>(num_frames), mono);
  std::copy(out_fifo_.begin() + static_cast<std::ptrdiff_t>(num_frames),
            out_fifo_.begin() + static_cast<std::ptrdiff_t>(out_fill_), out_fifo_.begin());
  out_fill_ -= num_frames;
}

}  // namespace ae
