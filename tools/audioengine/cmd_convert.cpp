// audioengine convert: one file to another sample type, rate or channel count, through FormatConverter.
//
// The output is time-aligned with the input and exactly round(input_frames * out_rate / in_rate) frames long:
// the resampler's delay (Resampler::delay_frames(), rounded to whole frames) is cut from the front, its tail is
// drained with flush(), and the result is trimmed (or, by at most one frame, padded with silence) to that length.
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "audioengine/format.hpp"
#include "audioengine/format_converter.hpp"
#include "cli.hpp"

namespace ae::cli {
namespace {

constexpr const char* kCmd = "convert";
constexpr size_t kBlockFrames = 4800;

enum class Container { kWav, kFlac, kOgg, kRaw };

std::string lower_extension(const std::string& path) {
  const size_t dot = path.rfind('.');
  const size_t slash = path.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

// The type the file's samples had, when it is one of ours; other encodings are read as float.
SampleType source_type(int sf_format) {
  switch (sf_format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_16: return SampleType::kPcm16;
    case SF_FORMAT_ULAW: return SampleType::kMulaw;
    case SF_FORMAT_ALAW: return SampleType::kAlaw;
    default: return SampleType::kFloat32;
  }
}

void print_help() {
  std::printf(
      "usage: audioengine convert IN OUT --to FORMAT [--resampler soxr|speex] [--json]\n\n"
      "Converts the audio file IN (any file libsndfile reads, any rate and channel count) to FORMAT and writes\n"
      "OUT. FORMAT is TYPE[:RATE_HZ[:CHANNELS]] with TYPE pcm16, f32, ulaw or alaw, e.g. ulaw:8000:1\n"
      "(RATE_HZ defaults to 16000, CHANNELS to 1). The container follows OUT's extension:\n"
      "  .wav   PCM_16, FLOAT, ULAW or ALAW, as TYPE says\n"
      "  .flac  pcm16 only\n"
      "  .ogg   Vorbis (TYPE only chooses the intermediate precision)\n"
      "  .raw   headerless samples of TYPE, little-endian, interleaved\n"
      "G.711 bytes are identical to `sox -D` (sox without dither). The output is time-aligned with the input\n"
      "(the resampler delay is compensated) and round(frames * out_rate / in_rate) frames long.\n\n"
      "  --to FORMAT          output format (required)\n"
      "  --resampler KIND     soxr (default: quality) or speex (fast)\n"
      "  --json               print a JSON summary on stdout\n\n"
      "Exit status: 0 success, 1 I/O failure, 2 bad usage.\n");
}

// Writes converted float frames into OUT in its container and sample type.
class Writer {
 public:
  Writer(Container container, const AudioFormat& format) : container_(container), format_(format) {}
  ~Writer() { close(); }

  bool open(const std::string& path, std::string& error) {
    if (container_ == Container::kRaw) {
      raw_ = std::fopen(path.c_str(), "wb");
      if (raw_ == nullptr) error = "cannot write '" + path + "'";
      return raw_ != nullptr;
    }
    SF_INFO info{};
    info.samplerate = format_.sample_rate_hz;
    info.channels = format_.channels;
    switch (container_) {
      case Container::kWav: {
        static const int kSubtypes[] = {SF_FORMAT_PCM_16, SF_FORMAT_FLOAT, SF_FORMAT_ULAW, SF_FORMAT_ALAW};
        info.format = SF_FORMAT_WAV | kSubtypes[static_cast<int>(format_.sample_type)];
        break;
      }
      case Container::kFlac: info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16; break;
      case Container::kOgg: info.format = SF_FORMAT_OGG | SF_FORMAT_VORBIS; break;
      case Container::kRaw: break;
    }
    sf_ = sf_open(path.c_str(), SFM_WRITE, &info);
    if (sf_ == nullptr) error = "cannot write '" + path + "': " + sf_strerror(nullptr);
    return sf_ != nullptr;
  }

  // Returns false on a write error.
  bool write(const float* frames, size_t num_frames) {
    const size_t samples = num_frames * static_cast<size_t>(format_.channels);
    if (container_ == Container::kOgg) {
      return sf_writef_float(sf_, frames, static_cast<sf_count_t>(num_frames)) == static_cast<sf_count_t>(num_frames);
    }
    bytes_.resize(samples * bytes_per_sample(format_.sample_type));
    // Our encoder, not libsndfile's, so that the bytes are ours (G.711 identical to sox's).
    encode_samples(frames, samples, format_.sample_type, bytes_.data());
    if (container_ == Container::kRaw) return std::fwrite(bytes_.data(), 1, bytes_.size(), raw_) == bytes_.size();
    if (container_ == Container::kFlac) {
      return sf_write_short(sf_, reinterpret_cast<const short*>(bytes_.data()), static_cast<sf_count_t>(samples)) ==
             static_cast<sf_count_t>(samples);
    }
    return sf_write_raw(sf_, bytes_.data(), static_cast<sf_count_t>(bytes_.size())) ==
           static_cast<sf_count_t>(bytes_.size());
  }

  bool close() {
    bool ok = true;
    if (sf_ != nullptr) ok = sf_close(sf_) == 0;
    if (raw_ != nullptr) ok = std::fclose(raw_) == 0;
    sf_ = nullptr;
    raw_ = nullptr;
    return ok;
  }

 private:
  Container container_;
  AudioFormat format_;
  SNDFILE* sf_ = nullptr;
  FILE* raw_ = nullptr;
  std::vector<unsigned char> bytes_;
};

}  // namespace

int cmd_convert(const std::vector<std::string>& argv) {
  Args args = Args::parse(argv, {"json", "help"});
  if (args.has("help")) {
    print_help();
    return kExitOk;
  }
  if (auto bad = args.unknown({"json", "to", "resampler"}); !bad.empty()) {
    return fail(kCmd, "unknown option " + bad[0] + " (see --help)", kExitUsage);
  }
  if (!args.parse_error().empty()) return fail(kCmd, args.parse_error(), kExitUsage);
  if (args.positionals().size() != 2) {
    return fail(kCmd, "expected IN and OUT file paths, got " + std::to_string(args.positionals().size()) +
                          " argument(s) (see --help)", kExitUsage);
  }
  const std::string in_path = args.positionals()[0];
  const std::string out_path = args.positionals()[1];
  const auto to = args.get("to");
  if (!to) return fail(kCmd, "--to FORMAT is required, e.g. --to ulaw:8000:1", kExitUsage);
  auto out_format = parse_audio_format(*to);
  if (!out_format) return fail(kCmd, "--to: " + out_format.message(), kExitUsage);
  ResamplerKind kind = ResamplerKind::kSoxr;
  if (auto r = args.get("resampler")) {
    if (*r == "speex") {
      kind = ResamplerKind::kSpeex;
    } else if (*r != "soxr") {
      return fail(kCmd, "--resampler '" + *r + "' is not known; valid: soxr, speex", kExitUsage);
    }
  }
  const std::string ext = lower_extension(out_path);
  Container container;
  if (ext == "wav") {
    container = Container::kWav;
  } else if (ext == "flac") {
    container = Container::kFlac;
    if (out_format->sample_type != SampleType::kPcm16) {
      return fail(kCmd, std::string("FLAC stores pcm16 only, not ") + to_string(out_format->sample_type) +
                            "; use --to pcm16:... or a .wav/.raw output", kExitUsage);
    }
  } else if (ext == "ogg" || ext == "oga") {
    container = Container::kOgg;
  } else if (ext == "raw") {
    container = Container::kRaw;
  } else {
    return fail(kCmd, "output extension '." + ext + "' of '" + out_path + "' is not supported; valid: .wav, .flac, "
                      ".ogg, .raw", kExitUsage);
  }

  SF_INFO in_info{};
  SNDFILE* in_file = sf_open(in_path.c_str(), SFM_READ, &in_info);
  if (in_file == nullptr) return fail(kCmd, "cannot read '" + in_path + "': " + sf_strerror(nullptr));
  std::unique_ptr<SNDFILE, int (*)(SNDFILE*)> in_guard(in_file, sf_close);
  const AudioFormat in_format{in_info.samplerate, in_info.channels, SampleType::kFloat32};
  auto converter = FormatConverter::create(in_format, *out_format, kind, kBlockFrames);
  if (!converter) return fail(kCmd, "'" + in_path + "': " + converter.message());
  FormatConverter& conv = **converter;

  Writer writer(container, *out_format);
  std::string error;
  if (!writer.open(out_path, error)) return fail(kCmd, error);

  const auto in_frames = static_cast<int64_t>(in_info.frames);
  const int64_t want_frames = static_cast<int64_t>(std::llround(static_cast<double>(in_frames) *
                                                                out_format->sample_rate_hz / in_info.samplerate));
  auto skip = static_cast<int64_t>(std::llround(conv.delay_frames()));
  int64_t written = 0;
  const auto out_ch = static_cast<size_t>(out_format->channels);
  std::vector<float> in_buf(kBlockFrames * static_cast<size_t>(in_info.channels));
  std::vector<float> out_buf(std::max(conv.max_output_frames(kBlockFrames), conv.max_flush_frames()) * out_ch);
  // Writes converted frames after dropping the delay's worth at the front, never beyond want_frames.
  auto emit = [&](const float* frames, int64_t n) {
    const int64_t dropped = std::min(skip, n);
    skip -= dropped;
    frames += dropped * static_cast<int64_t>(out_ch);
    n = std::min(n - dropped, want_frames - written);
    if (n <= 0) return true;
    written += n;
    return writer.write(frames, static_cast<size_t>(n));
  };
  // Only worth a progress line for inputs that take a while (over a minute of audio).
  std::unique_ptr<Progress> progress;
  if (in_frames > 60LL * in_info.samplerate) progress = std::make_unique<Progress>("converting");
  int64_t read_total = 0;
  while (true) {
    const sf_count_t got = sf_readf_float(in_file, in_buf.data(), static_cast<sf_count_t>(kBlockFrames));
    if (got <= 0) break;
    read_total += got;
    const size_t n = conv.convert_to_float(in_buf.data(), static_cast<size_t>(got), out_buf.data(),
                                           conv.max_output_frames(static_cast<size_t>(got)));
    if (!emit(out_buf.data(), static_cast<int64_t>(n))) return fail(kCmd, "write error on '" + out_path + "'");
    if (progress) progress->update(static_cast<double>(read_total) / static_cast<double>(in_frames));
  }
  if (progress) progress->finish();
  const size_t tail = conv.flush_to_float(out_buf.data(), out_buf.size() / out_ch);
  if (!emit(out_buf.data(), static_cast<int64_t>(tail))) return fail(kCmd, "write error on '" + out_path + "'");
  if (written < want_frames) {
    // At most one frame of rounding: silence.
    std::fill(out_buf.begin(), out_buf.end(), 0.0f);
    while (written < want_frames) {
      const int64_t n = std::min<int64_t>(want_frames - written, static_cast<int64_t>(out_buf.size() / out_ch));
      if (!emit(out_buf.data(), n)) return fail(kCmd, "write error on '" + out_path + "'");
    }
  }
  if (!writer.close()) return fail(kCmd, "cannot finish writing '" + out_path + "'");
  if (args.has("json")) {
    const AudioFormat shown_in{in_info.samplerate, in_info.channels, source_type(in_info.format)};
    std::printf("{\"input\":{\"path\":\"%s\",\"format\":\"%s\",\"frames\":%lld},"
                "\"output\":{\"path\":\"%s\",\"format\":\"%s\",\"frames\":%lld},"
                "\"resampler\":\"%s\",\"resampler_delay_ms\":%.4f}\n",
                json_escape(in_path).c_str(), to_string(shown_in).c_str(), static_cast<long long>(in_frames),
                json_escape(out_path).c_str(), to_string(*out_format).c_str(), static_cast<long long>(written),
                to_string(kind), conv.delay_ms());
  }
  return kExitOk;
}

}  // namespace ae::cli
