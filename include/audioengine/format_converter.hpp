#pragma once
// Streaming conversion from any AudioFormat to any other: decode -> remix -> resample -> encode, in one object
// whose buffers are all allocated by create().

#include <cstddef>
#include <memory>
#include <vector>

#include "audioengine/format.hpp"
#include "audioengine/resampler.hpp"
#include "audioengine/result.hpp"

namespace ae {

class FormatConverter {
 public:
  // Builds a converter from `in` to `out`. `kind` picks the resampler when the rates differ (the soxr lane uses
  // its default "HQ" recipe in low-latency mode, speex its quality 3). Channels are remixed before resampling
  // (see remix() in format.hpp) so the resampler runs on the output's channel count.
  // `max_input_frames`: the largest piece processed at once (larger inputs are split internally), >= 1.
  // Returns: the converter, or kInvalidFormat naming the bad format field, or kInvalidArgument for
  // max_input_frames, or kInternal when a resampler engine fails. Thread: any (control). RT-safe: no.
  static Result<std::unique_ptr<FormatConverter>> create(const AudioFormat& in, const AudioFormat& out,
                                                         ResamplerKind kind, size_t max_input_frames);
  ~FormatConverter();
  FormatConverter(const FormatConverter&) = delete;
  FormatConverter& operator=(const FormatConverter&) = delete;

  // Most output frames one convert() call with `input_frames` frames can produce. Thread: any. RT-safe: yes.
  size_t max_output_frames(size_t input_frames) const noexcept;
  // Most output frames flush() can produce. Thread: any. RT-safe: yes.
  size_t max_flush_frames() const noexcept;

  // Converts `input_frames` frames of input_format() at `input` (bytes, need not be aligned) into output_format()
  // at `output`. Returns the frames written (<= out_capacity_frames); the count follows the Resampler contract:
  // floor(total input frames * out_rate / in_rate) over the stream when the capacity suffices.
  // Thread: one audio thread at a time. RT-safe: yes.
  size_t convert(const void* input, size_t input_frames, void* output, size_t out_capacity_frames) noexcept;

  // As convert(), but the output is interleaved float at the output rate and channel count (the sample type of
  // output_format() is ignored). Thread: one audio thread at a time. RT-safe: yes.
  size_t convert_to_float(const void* input, size_t input_frames, float* output,
                          size_t out_capacity_frames) noexcept;

  // Ends the stream: writes the frames the resampler still holds, in output_format(). Returns the frames
  // written. Thread: the convert() thread. RT-safe: no.
  size_t flush(void* output, size_t out_capacity_frames) noexcept;
  // As flush(), in interleaved float (the counterpart of convert_to_float()). Thread: the convert() thread.
  // RT-safe: no.
  size_t flush_to_float(float* output, size_t out_capacity_frames) noexcept;

  // Forgets all input (a new stream starts). Thread: the convert() thread. RT-safe: no.
  void reset() noexcept;

  // The resampler's delay (0 when the rates are equal); see Resampler::delay_frames().
  // Thread: any. RT-safe: yes.
  double delay_ms() const noexcept;
  double delay_frames() const noexcept;

  const AudioFormat& input_format() const noexcept { return in_; }
  const AudioFormat& output_format() const noexcept { return out_; }

 private:
  FormatConverter(const AudioFormat& in, const AudioFormat& out, size_t max_input_frames,
                  std::unique_ptr<Resampler> resampler);
  // Converts one piece of at most max_input_frames_ frames into float output; returns frames written.
  size_t convert_piece(const unsigned char* input, size_t frames, float* output, size_t capacity) noexcept;

  AudioFormat in_;
  AudioFormat out_;
  size_t max_input_frames_;
  std::unique_ptr<Resampler> resampler_;
  std::vector<float> decoded_;    // max_input_frames_ * in channels
  std::vector<float> remixed_;    // max_input_frames_ * out channels
  std::vector<float> resampled_;  // max(max_output_frames(max_input_frames_), max_flush_frames()) * out channels
};

}  // namespace ae
