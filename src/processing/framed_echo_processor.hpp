#pragma once
// FramedEchoProcessor: what the echo processors share around their libraries, which work on 10 ms frames: the
// framing of engine blocks into such frames (directly when blocks are whole frames, through a FIFO that adds one
// frame of latency otherwise), the render reference taken from ProcessContext::render of the same tick, and the
// DuplexMeter behind duplex_metrics() and double_talk().

#include <audioengine/echo_canceller.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "processing/duplex_meter.hpp"

namespace ae {

class FramedEchoProcessor : public EchoProcessor {
 public:
  // Splits the block into 10 ms frames for process_frame() (FIFO mode: completes frames across calls and returns
  // the output one frame late). Blocks not a multiple of 10 ms in aligned mode, or longer than max_frames, pass
  // through unprocessed and are counted. Thread: the audio thread. RT-safe: yes.
  void process(float* mono, size_t num_frames, const ProcessContext& context) noexcept final;
  DuplexMetrics duplex_metrics() const noexcept final { return meter_.metrics(); }
  bool double_talk() const noexcept final { return meter_.double_talk(); }

  // Blocks passed through unprocessed: not a multiple of 10 ms in aligned mode, or longer than max_frames.
  // Thread: any. RT-safe: yes.
  int64_t misaligned_blocks() const noexcept { return misaligned_blocks_.load(std::memory_order_relaxed); }

 protected:
  // Checks max_frames (kInvalidArgument naming it, messages prefixed with `who`) before anything is allocated.
  // Thread: control. RT-safe: no.
  static Status check_max_frames(const char* who, size_t max_frames);
  // Sizes the FIFOs for 10 ms frames at `sample_rate_hz` (a multiple of 100) and blocks up to `max_frames`, and
  // enables process(). Thread: control. RT-safe: no.
  void prepare_framing(int sample_rate_hz, size_t max_frames);
  // Disables process() until the next prepare_framing() (a prepare in progress or failed). Thread: control.
  void unprepare_framing() noexcept { framing_ready_ = false; }
  // Empties the FIFOs (the output FIFO starts with one frame of silence) and resets the meter. Thread: the audio
  // thread, or any while not processing. RT-safe: yes.
  void reset_framing() noexcept;
  bool framing_ready() const noexcept { return framing_ready_; }
  // One 10 ms frame: `near` in place (engine float scale), `far` the render frame of the same instant (nullptr:
  // silence), `delay_hint_ms` the engine's echo delay estimate (-1 unknown), `vad_copy` room for one frame of the
  // VAD's copy (nullptr: none wanted; see ProcessContext::vad_copy). Returns whether it wrote `vad_copy`.
  // Thread: the audio thread. RT-safe: yes.
  virtual bool process_frame(float* near, const float* far, int delay_hint_ms, float* vad_copy) noexcept = 0;

  size_t block_frames_ = 0;  // one 10 ms frame
  bool fifo_mode_ = false;
  DuplexMeter meter_;

 private:
  bool framing_ready_ = false;
  size_t max_frames_ = 0;
  std::vector<float> far_scratch_;
  // FIFO mode: capture and render samples waiting for a full frame, and processed output waiting to leave.
  std::vector<float> in_fifo_, render_fifo_, out_fifo_;
  size_t in_fill_ = 0, out_fill_ = 0;
  std::atomic<int64_t> misaligned_blocks_{0};
};

}  // namespace ae
