#pragma once
// Streaming sample-rate conversion with a constant, known delay.
//
// Two engines: SpeexDSP (the fast lane: short filter, ~1.5 ms delay at quality 3) and libsoxr (the quality
// lane). soxr processes in DFT blocks and so withholds output irregularly; this class hides that behind a small
// output FIFO primed with zeros, so that every call returns exactly the frames its input is worth:
//
//   frames returned by all process() calls so far == floor(input frames so far * output_rate / input_rate)
//
// (given out_capacity_frames >= max_output_frames(input_frames) on every call). A signal at input frame n then
// appears at output frame n * output_rate / input_rate + delay_frames(), for every block size and every block
// pattern: the output does not depend on how the input was split.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "audioengine/result.hpp"

namespace ae {

enum class ResamplerKind {
  kSpeex,  // libspeexdsp: cheap, short filter, for the fast lane
  kSoxr,   // libsoxr: steep linear-phase filter, for quality
};

// "speex", "soxr". Thread: any. RT-safe: yes.
const char* to_string(ResamplerKind kind) noexcept;

struct ResamplerConfig {
  int input_rate_hz = 16000;   // [8000, 192000]
  int output_rate_hz = 16000;  // [8000, 192000]; equal to input_rate_hz makes a pass-through with zero delay
  int channels = 1;            // [1, 8], interleaved
  ResamplerKind kind = ResamplerKind::kSpeex;
  // -1 = the kind's default. Speex: 0..10, default 3. soxr: a soxr recipe 0..6 (0 quick, 1 low, 2 medium,
  // 3 16-bit, 4 20-bit = "HQ", 5 24-bit, 6 28-bit = "VHQ"), default 4.
  int quality = -1;
  // soxr only: use soxr's smallest DFT sizes (soxr_runtime_spec log2_min_dft_size = log2_large_dft_size = 8) so
  // that it withholds less output. Measured on the HQ recipe: ~15 ms instead of ~37 ms for 16k<->48k, ~52 ms
  // instead of ~116 ms for 8k<->16k. The filter (linear phase) and so the quality are unchanged.
  bool low_latency = true;
  // Largest block process() handles in one piece; larger inputs are split internally. Sizes the buffers.
  size_t max_input_frames = 4800;
};

class Resampler {
 public:
  // Validates `config`, creates the engine and allocates every buffer. For soxr it also runs the engine on
  // 0.5 s of silence, one frame at a time, to measure the most output soxr ever withholds (that many zeros prime
  // the output FIFO, and they are part of delay_frames()); this leaves soxr with all its internal allocations
  // done, so process() does not allocate afterwards.
  // Returns: the resampler, or kInvalidArgument naming the bad field (rates, channels, quality,
  // max_input_frames), or kInternal when the engine refuses the configuration.
  // Thread: any (control). RT-safe: no.
  static Result<std::unique_ptr<Resampler>> create(const ResamplerConfig& config);
  ~Resampler();
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;

  // The most frames one process() call with `input_frames` frames can return: ceil(input_frames * ratio) + 1.
  // Thread: any. RT-safe: yes.
  size_t max_output_frames(size_t input_frames) const noexcept;
  // The most frames flush() can return (the delay plus rounding). Thread: any. RT-safe: yes.
  size_t max_flush_frames() const noexcept;

  // Consumes all `input_frames` interleaved frames and writes up to `out_capacity_frames` interleaved frames to
  // `output`. Returns the frames written: exactly the frames the input is worth (see the top of this header).
  // Frames that do not fit stay queued for the next call, up to a bound; beyond it they are dropped and counted
  // in dropped_frames(). Thread: one audio thread at a time. RT-safe: yes (no allocation, no lock).
  size_t process(const float* input, size_t input_frames, float* output, size_t out_capacity_frames) noexcept;

  // Ends the stream: drains what the filter still holds, so that the total returned by process() and flush()
  // is round(total input frames * ratio + delay_frames()). Call reset() before streaming again.
  // Returns the frames written (at most out_capacity_frames; max_flush_frames() always fits).
  // Thread: the thread that calls process(). RT-safe: no (soxr's end of stream may allocate).
  size_t flush(float* output, size_t out_capacity_frames) noexcept;

  // Forgets all input: the next process() starts a fresh stream with the same delay. Thread: the thread that
  // calls process(), or any thread while no one does. RT-safe: no (soxr re-creates its state).
  void reset() noexcept;

  // Delay between input and output, in OUTPUT frames: an input event at input frame n comes out at output frame
  // n * ratio + delay_frames(). Derived, not guessed: speex's filter delay (its input latency times the ratio)
  // plus the zeros that prime the FIFO (measured in create()). soxr's own output is time-aligned, so its delay is
  // exactly the FIFO priming. The unit tests measure it by cross-correlation against this value.
  // Thread: any. RT-safe: yes.
  double delay_frames() const noexcept;
  // delay_frames() in milliseconds at the output rate. Thread: any. RT-safe: yes.
  double delay_ms() const noexcept;

  // Frames lost because the caller's output capacity was too small for too long. Thread: the process() thread.
  uint64_t dropped_frames() const noexcept;

  const ResamplerConfig& config() const noexcept;

 private:
  struct State;
  explicit Resampler(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace ae
