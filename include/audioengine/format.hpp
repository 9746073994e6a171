#pragma once
// Audio formats: what a block of samples means (rate, channels, sample type), and the RT-safe conversions
// between sample types and channel layouts.
//
// Conventions used everywhere in this header:
// - Float samples are nominally in [-1, 1). PCM16 maps to float as int16 / 32768 (so -32768 -> -1.0 exactly and
//   32767 -> 0.999969...). Float to PCM16 multiplies by 32768, rounds to nearest (halves away from zero) and clips
//   to [-32768, 32767]; NaN encodes as 0.
// - Multi-byte samples (pcm16, f32) are in the host's byte order, which is little-endian on every host we
//   support, i.e. the byte order of WAV files.
// - G.711 (ulaw, alaw) is bit-exact with sox 14.4 run without dither (`sox -D`): the 16-bit sample is first
//   rounded to nearest (halves up, clipping at the top) to 14 bits for mu-law or 13 bits for A-law, then encoded
//   with the CCITT segment tables. Plain `sox` adds TPDF dither before a G.711 encoder (its precision is below
//   16 bits) and its output then changes from run to run.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "audioengine/result.hpp"

namespace ae {

enum class SampleType {
  kPcm16,    // signed 16-bit linear, 2 bytes
  kFloat32,  // IEEE float, 4 bytes, nominal range [-1, 1)
  kMulaw,    // G.711 mu-law, 1 byte
  kAlaw,     // G.711 A-law, 1 byte
};

struct AudioFormat {
  int sample_rate_hz = 16000;
  int channels = 1;
  SampleType sample_type = SampleType::kPcm16;
  bool operator==(const AudioFormat&) const = default;
};

inline constexpr int kMinSampleRateHz = 8000;
inline constexpr int kMaxSampleRateHz = 192000;
inline constexpr int kMaxChannels = 8;

// Bytes of one sample of `type` (2, 4, 1, 1). Thread: any. RT-safe: yes.
size_t bytes_per_sample(SampleType type) noexcept;
// Bytes of one frame (one sample of every channel). Thread: any. RT-safe: yes.
size_t bytes_per_frame(const AudioFormat& format) noexcept;

// Stable short name: "pcm16", "f32", "ulaw", "alaw". Thread: any. RT-safe: yes.
const char* to_string(SampleType type) noexcept;

// Parses a sample type name, case-insensitively. Accepts the names to_string() prints and the aliases
// s16, s16le, int16, float, float32, mulaw, mu-law, u-law, a-law.
// Returns: the type, or kInvalidFormat naming the text and listing the valid names. Thread: any. RT-safe: no.
Result<SampleType> parse_sample_type(std::string_view text);

// "pcm16:16000:1" (type:rate_hz:channels). Thread: any. RT-safe: no (allocates the string).
std::string to_string(const AudioFormat& format);

// Parses "TYPE[:RATE_HZ[:CHANNELS]]", e.g. "ulaw:8000:1", "pcm16:16000" (channels default to 1), "f32" (rate
// defaults to 16000). The result is validated with validate_format().
// Returns: the format, or kInvalidFormat naming the bad field, its text and what would be valid.
// Thread: any. RT-safe: no.
Result<AudioFormat> parse_audio_format(std::string_view text);

// Checks the ranges the engine handles: sample_rate_hz in [8000, 192000], channels in [1, 8].
// Returns: ok, or kInvalidFormat naming the field, its value and the valid range. Thread: any. RT-safe: no.
Status validate_format(const AudioFormat& format);

struct SupportedFormats {
  std::vector<SampleType> sample_types;
  std::vector<int> common_sample_rates_hz;
  int min_sample_rate_hz = kMinSampleRateHz;
  int max_sample_rate_hz = kMaxSampleRateHz;
  int max_channels = kMaxChannels;
};

// What this build can convert between (every type to every type, any rate in range). Thread: any. RT-safe: no.
SupportedFormats get_supported_formats();

// Picks the best of `offered` for a stream that would ideally be `wanted`. Offered formats that fail
// validate_format() are ignored. Preference order, each criterion breaking the ties of the one before:
//   1. an exact match;
//   2. the sample rate: equal to wanted, else the closest rate above wanted (resampling down keeps everything),
//      else the closest rate below wanted;
//   3. the channel count: equal, else the closest count above (downmix loses nothing), else the closest below;
//   4. the sample type by fidelity: f32, pcm16, ulaw, alaw;
//   5. the earlier entry of `offered`.
// Returns: the chosen format, or kInvalidFormat listing `offered` when none of them is valid (or it is empty),
// or when `wanted` itself is invalid. Thread: any. RT-safe: no.
Result<AudioFormat> negotiate_format(const AudioFormat& wanted, const std::vector<AudioFormat>& offered);

// Decodes `num_samples` samples of `type` from `src` (need not be aligned) into floats in [-1, 1).
// Thread: any. RT-safe: yes (no allocation).
void decode_samples(const void* src, SampleType type, size_t num_samples, float* dst) noexcept;

// Encodes `num_samples` floats into `type` at `dst` (need not be aligned): pcm16 and G.711 round and clip as
// described at the top of this header; f32 is copied unchanged (no clipping: float keeps the headroom).
// Thread: any. RT-safe: yes.
void encode_samples(const float* src, size_t num_samples, SampleType type, void* dst) noexcept;

// G.711 single-sample codecs, bit-exact with sox (see the top of this header). Thread: any. RT-safe: yes.
uint8_t linear_to_ulaw(int16_t sample) noexcept;
int16_t ulaw_to_linear(uint8_t code) noexcept;
uint8_t linear_to_alaw(int16_t sample) noexcept;
int16_t alaw_to_linear(uint8_t code) noexcept;

// Planar <-> interleaved. `planes` holds `channels` pointers of `num_frames` samples each.
// Thread: any. RT-safe: yes.
void interleave(const float* const* planes, size_t num_frames, int channels, float* dst) noexcept;
void deinterleave(const float* src, size_t num_frames, int channels, float* const* planes) noexcept;

// Changes the channel count of interleaved frames: equal counts copy; mono -> N copies the sample to every
// channel; N -> mono averages the channels; otherwise (M -> N, both > 1) channel c takes source channel c when it
// exists, and any extra output channels take the average of all source channels. `src` and `dst` must not overlap
// unless the channel counts are equal. Thread: any. RT-safe: yes.
void remix(const float* src, int src_channels, float* dst, int dst_channels, size_t num_frames) noexcept;

}  // namespace ae
