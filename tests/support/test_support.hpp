#pragma once
// Helpers shared by the unit tests: reading and writing WAV files, synthetic signals, running peers.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ae::test {

struct WavData {
  int sample_rate_hz = 0;
  int channels = 0;
  std::vector<float> samples;  // interleaved, [-1, 1]
};

// Reads any file libsndfile understands; aborts the test process with a message on failure.
WavData read_audio_file(const std::string& path);
// Writes 16-bit PCM WAV.
void write_wav_pcm16(const std::string& path, const std::vector<float>& interleaved, int sample_rate_hz,
                     int channels);
// Runs a shell command; returns its exit status.
int run_command(const std::string& command);
// A fresh directory $TMPDIR/ae-test-XXXXXX (/tmp when TMPDIR is unset) whose whole tree is removed when the
// object is destroyed, so also when an ASSERT_* ends the test early. scripts/test.sh fails a run that leaves one.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // `name` inside the directory.
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};
// Sine wave.
std::vector<float> sine(double freq_hz, int sample_rate_hz, size_t num_samples, double amplitude = 0.5);

}  // namespace ae::test
