#pragma once
// Audio files through libsndfile: WAV, FLAC and Ogg Vorbis, any rate and channel count, converted to and from
// the caller's format on the way. Readers and writers do file I/O and are never used on the audio thread; the
// engine's capture queue (AudioEngine::get_capture_queue) and memory sink (read_played_audio) connect them to
// any clock: paced by a device or the realtime virtual clock, or as fast as possible on the virtual clock.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "audioengine/format.hpp"
#include "audioengine/format_converter.hpp"
#include "audioengine/result.hpp"

namespace ae {

enum class FileContainer { kWav, kFlac, kOgg };
// "wav", "flac", "ogg". Thread: any. RT-safe: yes.
const char* to_string(FileContainer container) noexcept;
// The container named by the path's extension (.wav, .flac, .ogg/.oga). kInvalidArgument for any other.
Result<FileContainer> container_for_path(const std::string& path);

struct AudioFileInfo {
  int sample_rate_hz = 0;
  int channels = 0;
  int64_t num_frames = 0;
  std::string container;   // as libsndfile names its major format, e.g. "WAV", "FLAC", "OGG"
};

class AudioFileReader {
 public:
  // Opens `path` and converts what it reads to `output_rate_hz` (0 = the file's rate) and `output_channels`
  // (0 = the file's), as interleaved float. Errors: kIo naming the path and libsndfile's reason;
  // kInvalidArgument for a bad rate or channel count. Thread: any. RT-safe: no.
  static Result<std::unique_ptr<AudioFileReader>> open(const std::string& path, int output_rate_hz = 0,
                                                       int output_channels = 0,
                                                       ResamplerKind resampler = ResamplerKind::kSoxr);
  ~AudioFileReader();
  // Reads up to `max_frames` converted frames; 0 at the end of the file (the resampler's tail included).
  // Thread: one at a time. RT-safe: no.
  size_t read(float* interleaved, size_t max_frames);
  // The whole file, converted. Thread: any. RT-safe: no.
  static Result<std::vector<float>> read_all(const std::string& path, int output_rate_hz = 0,
                                             int output_channels = 0);
  const AudioFileInfo& info() const { return info_; }
  int output_rate_hz() const { return out_rate_; }
  int output_channels() const { return out_channels_; }

 private:
  AudioFileReader() = default;
  void* file_ = nullptr;   // SNDFILE*
  AudioFileInfo info_;
  int out_rate_ = 0;
  int out_channels_ = 0;
  std::unique_ptr<FormatConverter> converter_;
  std::vector<float> raw_;
  std::vector<float> pending_;
  size_t pending_read_ = 0;        // frames of pending_ already returned
  size_t pending_end_frames_ = 0;  // frames in pending_
  bool eof_ = false;
};

class AudioFileWriter {
 public:
  // Creates `path` (container from its extension) holding `file_format` (rate, channels; sample type kPcm16 or
  // kFloat32 for WAV, kPcm16 for FLAC; Ogg is Vorbis whatever the type). The writer takes interleaved float at
  // `input_rate_hz` with `input_channels` and converts. Errors: kInvalidArgument for an unknown extension or a
  // format the container cannot hold; kIo when the file cannot be created. Thread: any. RT-safe: no.
  static Result<std::unique_ptr<AudioFileWriter>> create(const std::string& path, const AudioFormat& file_format,
                                                         int input_rate_hz, int input_channels);
  ~AudioFileWriter();
  // Converts and writes `num_frames` frames. kIo on a write failure. Thread: one at a time. RT-safe: no.
  Status write(const float* interleaved, size_t num_frames);
  // Writes the resampler's tail and closes the file. Idempotent. Thread: the writer's. RT-safe: no.
  Status close();
  int64_t frames_written() const { return frames_written_; }

 private:
  AudioFileWriter() = default;
  Status write_file_frames(const float* data, size_t frames);
  void* file_ = nullptr;   // SNDFILE*
  AudioFormat file_format_;
  int in_channels_ = 0;
  std::unique_ptr<FormatConverter> converter_;
  std::vector<float> converted_;
  int64_t frames_written_ = 0;
};

}  // namespace ae
