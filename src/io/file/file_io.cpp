#include "audioengine/file_io.hpp"

#include <sndfile.h>

#include <algorithm>

namespace ae {
namespace {
constexpr size_t kBlockFrames = 4096;
SNDFILE* sf(void* p) { return static_cast<SNDFILE*>(p); }
}  // namespace

const char* to_string(FileContainer container) noexcept {
  switch (container) {
    case FileContainer::kWav: return "wav";
    case FileContainer::kFlac: return "flac";
    case FileContainer::kOgg: return "ogg";
  }
  return "unknown";
}

Result<FileContainer> container_for_path(const std::string& path) {
  const auto dot = path.rfind('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == "wav") return FileContainer::kWav;
  if (ext == "flac") return FileContainer::kFlac;
  if (ext == "ogg" || ext == "oga") return FileContainer::kOgg;
  return Result<FileContainer>(Error::kInvalidArgument, "file '" + path + "': extension '" + ext +
                                                            "' is not supported; valid: .wav, .flac, .ogg");
}

// ---- reader ------------------------------------------------------------------------------------------------
Result<std::unique_ptr<AudioFileReader>> AudioFileReader::open(const std::string& path, int output_rate_hz,
                                                               int output_channels, ResamplerKind resampler) {
  using R = Result<std::unique_ptr<AudioFileReader>>;
  if (output_rate_hz != 0 && (output_rate_hz < kMinSampleRateHz || output_rate_hz > kMaxSampleRateHz)) {
    return R(Error::kInvalidArgument, "output_rate_hz = " + std::to_string(output_rate_hz) + "; valid: 0 or " +
                                          std::to_string(kMinSampleRateHz) + ".." + std::to_string(kMaxSampleRateHz));
  }
  if (output_channels < 0 || output_channels > 8) {
    return R(Error::kInvalidArgument, "output_channels = " + std::to_string(output_channels) + "; valid: 0..8");
  }
  SF_INFO si{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &si);
  if (f == nullptr) return R(Error::kIo, "cannot open '" + path + "': " + sf_strerror(nullptr));
  std::unique_ptr<AudioFileReader> r(new AudioFileReader());
  r->file_ = f;
  SF_FORMAT_INFO fi{};
  fi.format = si.format & SF_FORMAT_TYPEMASK;
  sf_command(f, SFC_GET_FORMAT_INFO, &fi, sizeof fi);
  r->info_ = AudioFileInfo{si.samplerate, si.channels, static_cast<int64_t>(si.frames), fi.extension ? fi.extension : ""};
  r->out_rate_ = output_rate_hz != 0 ? output_rate_hz : si.samplerate;
  r->out_channels_ = output_channels != 0 ? output_channels : si.channels;
  auto conv = FormatConverter::create(AudioFormat{si.samplerate, si.channels, SampleType::kFloat32},
                                      AudioFormat{r->out_rate_, r->out_channels_, SampleType::kFloat32}, resampler,
                                      kBlockFrames);
  if (!conv.ok()) return R(conv.error(), "'" + path + "': " + conv.message());
  r->converter_ = std::move(conv).value();
  r->raw_.resize(kBlockFrames * static_cast<size_t>(si.channels));
  r->pending_.resize((std::max(r->converter_->max_output_frames(kBlockFrames), r->converter_->max_flush_frames()) + 1) *
                     static_cast<size_t>(r->out_channels_));
  return r;
}

AudioFileReader::~AudioFileReader() {
  if (file_ != nullptr) sf_close(sf(file_));
}

size_t AudioFileReader::read(float* out, size_t max_frames) {
  const size_t ch = static_cast<size_t>(out_channels_);
  size_t done = 0;
  while (done < max_frames) {
    const size_t avail = (pending_end_frames_ - pending_read_);
    if (avail > 0) {
      const size_t n = std::min(avail, max_frames - done);
      std::copy_n(pending_.data() + pending_read_ * ch, n * ch, out + done * ch);
      pending_read_ += n;
      done += n;
      continue;
    }
    if (eof_) break;
    pending_read_ = 0;
    const sf_count_t got = sf_readf_float(sf(file_), raw_.data(), static_cast<sf_count_t>(kBlockFrames));
    if (got <= 0) {
      eof_ = true;
      pending_end_frames_ = converter_->flush_to_float(pending_.data(), pending_.size() / ch);
    } else {
      pending_end_frames_ =
          converter_->convert_to_float(raw_.data(), static_cast<size_t>(got), pending_.data(), pending_.size() / ch);
    }
  }
  return done;
}

Result<std::vector<float>> AudioFileReader::read_all(const std::string& path, int output_rate_hz, int output_channels) {
  auto r = open(path, output_rate_hz, output_channels);
  if (!r.ok()) return Result<std::vector<float>>(r.error(), r.message());
  std::vector<float> all;
  std::vector<float> block(kBlockFrames * static_cast<size_t>((*r)->output_channels()));
  size_t n;
  while ((n = (*r)->read(block.data(), kBlockFrames)) > 0) {
    all.insert(all.end(), block.begin(), block.begin() + static_cast<long>(n * static_cast<size_t>((*r)->output_channels())));
  }
  return all;
}

// ---- writer ------------------------------------------------------------------------------------------------
Result<std::unique_ptr<AudioFileWriter>> AudioFileWriter::create(const std::string& path, const AudioFormat& file_format,
                                                                 int input_rate_hz, int input_channels) {
  using R = Result<std::unique_ptr<AudioFileWriter>>;
  auto container = container_for_path(path);
  if (!container.ok()) return R(container.error(), container.message());
  if (auto st = validate_format(file_format); !st.ok()) return R(st.error(), "file_format: " + st.message());
  int major = SF_FORMAT_WAV, sub = SF_FORMAT_PCM_16;
  switch (*container) {
    case FileContainer::kWav:
      if (file_format.sample_type == SampleType::kFloat32) sub = SF_FORMAT_FLOAT;
      else if (file_format.sample_type == SampleType::kMulaw) sub = SF_FORMAT_ULAW;
      else if (file_format.sample_type == SampleType::kAlaw) sub = SF_FORMAT_ALAW;
      break;
    case FileContainer::kFlac:
      major = SF_FORMAT_FLAC;
      if (file_format.sample_type != SampleType::kPcm16) {
        return R(Error::kInvalidArgument, std::string("file_format.sample_type = ") +
                                              to_string(file_format.sample_type) + " for FLAC; valid: pcm16");
      }
      break;
    case FileContainer::kOgg:
      major = SF_FORMAT_OGG;
      sub = SF_FORMAT_VORBIS;
      break;
  }
  SF_INFO si{};
  si.samplerate = file_format.sample_rate_hz;
  si.channels = file_format.channels;
  si.format = major | sub;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &si);
  if (f == nullptr) return R(Error::kIo, "cannot create '" + path + "': " + sf_strerror(nullptr));
  // Clip instead of wrapping when float input exceeds full scale.
  sf_command(f, SFC_SET_CLIPPING, nullptr, SF_TRUE);
  std::unique_ptr<AudioFileWriter> w(new AudioFileWriter());
  w->file_ = f;
  w->file_format_ = file_format;
  w->in_channels_ = input_channels;
  auto conv = FormatConverter::create(AudioFormat{input_rate_hz, input_channels, SampleType::kFloat32},
                                      AudioFormat{file_format.sample_rate_hz, file_format.channels, SampleType::kFloat32},
                                      ResamplerKind::kSoxr, kBlockFrames);
  if (!conv.ok()) return R(conv.error(), "'" + path + "': " + conv.message());
  w->converter_ = std::move(conv).value();
  w->converted_.resize((std::max(w->converter_->max_output_frames(kBlockFrames), w->converter_->max_flush_frames()) + 1) *
                       static_cast<size_t>(file_format.channels));
  return w;
}

AudioFileWriter::~AudioFileWriter() { (void)close(); }

Status AudioFileWriter::write_file_frames(const float* data, size_t frames) {
  const sf_count_t n = sf_writef_float(sf(file_), data, static_cast<sf_count_t>(frames));
  if (n != static_cast<sf_count_t>(frames)) return Status(Error::kIo, std::string("write failed: ") + sf_strerror(sf(file_)));
  frames_written_ += n;
  return ok_status();
}

Status AudioFileWriter::write(const float* in, size_t num_frames) {
  if (file_ == nullptr) return Status(Error::kIo, "write: the file is closed");
  const size_t ch = static_cast<size_t>(file_format_.channels);
  for (size_t done = 0; done < num_frames;) {
    const size_t piece = std::min(kBlockFrames, num_frames - done);
    const size_t n = converter_->convert_to_float(in + done * static_cast<size_t>(in_channels_), piece,
                                                  converted_.data(), converted_.size() / ch);
    if (auto st = write_file_frames(converted_.data(), n); !st.ok()) return st;
    done += piece;
  }
  return ok_status();
}

Status AudioFileWriter::close() {
  if (file_ == nullptr) return ok_status();
  Status st = ok_status();
  const size_t ch = static_cast<size_t>(file_format_.channels);
  const size_t n = converter_->flush_to_float(converted_.data(), converted_.size() / ch);
  if (n > 0) st = write_file_frames(converted_.data(), n);
  sf_close(sf(file_));
  file_ = nullptr;
  return st;
}

}  // namespace ae
