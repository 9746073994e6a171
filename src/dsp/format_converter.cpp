#include "audioengine/format_converter.hpp"

#include <algorithm>
#include <string>

namespace ae {

Result<std::unique_ptr<FormatConverter>> FormatConverter::create(const AudioFormat& in, const AudioFormat& out,
                                                                 ResamplerKind kind, size_t max_input_frames) {
  using R = Result<std::unique_ptr<FormatConverter>>;
  if (auto st = validate_format(in); !st) return R(Error::kInvalidFormat, "input format: " + st.message());
  if (auto st = validate_format(out); !st) return R(Error::kInvalidFormat, "output format: " + st.message());
  if (max_input_frames < 1 || max_input_frames > (1u << 20)) {
    return R(Error::kInvalidArgument, "max_input_frames " + std::to_string(max_input_frames) +
                                          " is out of range; valid: 1..1048576");
  }
  ResamplerConfig rc;
  rc.input_rate_hz = in.sample_rate_hz;
  rc.output_rate_hz = out.sample_rate_hz;
  rc.channels = out.channels;
  rc.kind = kind;
  rc.max_input_frames = max_input_frames;
  auto resampler = Resampler::create(rc);
  if (!resampler) return R(resampler.error_info());
  return std::unique_ptr<FormatConverter>(
      new FormatConverter(in, out, max_input_frames, std::move(resampler.value())));
}

FormatConverter::FormatConverter(const AudioFormat& in, const AudioFormat& out, size_t max_input_frames,
                                 std::unique_ptr<Resampler> resampler)
    : in_(in), out_(out), max_input_frames_(max_input_frames), resampler_(std::move(resampler)) {
  const auto in_ch = static_cast<size_t>(in_.channels);
  const auto out_ch = static_cast<size_t>(out_.channels);
  decoded_.assign(max_input_frames_ * in_ch, 0.0f);
  remixed_.assign(max_input_frames_ * out_ch, 0.0f);
  const size_t out_frames =
      std::max(resampler_->max_output_frames(max_input_frames_), resampler_->max_flush_frames());
  resampled_.assign(out_frames * out_ch, 0.0f);
}

FormatConverter::~FormatConverter() = default;

size_t FormatConverter::max_output_frames(size_t input_frames) const noexcept {
  return resampler_->max_output_frames(input_frames);
}

size_t FormatConverter::max_flush_frames() const noexcept { return resampler_->max_flush_frames(); }

size_t FormatConverter::convert_piece(const unsigned char* input, size_t frames, float* output,
                                      size_t capacity) noexcept {
  // Decoding and remixing run in place on preallocated buffers: nothing here allocates.
  decode_samples(input, in_.sample_type, frames * static_cast<size_t>(in_.channels), decoded_.data());
  remix(decoded_.data(), in_.channels, remixed_.data(), out_.channels, frames);
  return resampler_->process(remixed_.data(), frames, output, capacity);
}

size_t FormatConverter::convert_to_float(const void* input, size_t input_frames, float* output,
                                         size_t out_capacity_frames) noexcept {
  const auto* bytes = static_cast<const unsigned char*>(input);
  const size_t in_frame_bytes = bytes_per_frame(in_);
  const auto out_ch = static_cast<size_t>(out_.channels);
  size_t written = 0;
  for (size_t done = 0; done < input_frames;) {
    const size_t n = std::min(input_frames - done, max_input_frames_);
    written += convert_piece(bytes + done * in_frame_bytes, n, output + written * out_ch,
                             out_capacity_frames - written);
    done += n;
  }
  return written;
}

size_t FormatConverter::convert(const void* input, size_t input_frames, void* output,
                                size_t out_capacity_frames) noexcept {
  const auto* bytes = static_cast<const unsigned char*>(input);
  auto* out_bytes = static_cast<unsigned char*>(output);
  const size_t in_frame_bytes = bytes_per_frame(in_);
  const size_t out_frame_bytes = bytes_per_frame(out_);
  const auto out_ch = static_cast<size_t>(out_.channels);
  const size_t scratch_frames = resampled_.size() / out_ch;
  size_t written = 0;
  for (size_t done = 0; done < input_frames;) {
    const size_t n = std::min(input_frames - done, max_input_frames_);
    const size_t capacity = std::min(out_capacity_frames - written, scratch_frames);
    const size_t got = convert_piece(bytes + done * in_frame_bytes, n, resampled_.data(), capacity);
    encode_samples(resampled_.data(), got * out_ch, out_.sample_type, out_bytes + written * out_frame_bytes);
    written += got;
    done += n;
  }
  return written;
}

size_t FormatConverter::flush(void* output, size_t out_capacity_frames) noexcept {
  const auto out_ch = static_cast<size_t>(out_.channels);
  const size_t capacity = std::min(out_capacity_frames, resampled_.size() / out_ch);
  const size_t got = resampler_->flush(resampled_.data(), capacity);
  encode_samples(resampled_.data(), got * out_ch, out_.sample_type, output);
  return got;
}

size_t FormatConverter::flush_to_float(float* output, size_t out_capacity_frames) noexcept {
  return resampler_->flush(output, out_capacity_frames);
}

void FormatConverter::reset() noexcept { resampler_->reset(); }

double FormatConverter::delay_ms() const noexcept { return resampler_->delay_ms(); }
double FormatConverter::delay_frames() const noexcept { return resampler_->delay_frames(); }

}  // namespace ae
