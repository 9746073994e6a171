#pragma once
// Helpers shared by the unit tests: reading and writing WAV files, synthetic signals, running peers.

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
// A fresh temporary directory, removed by the caller if it wishes.
std::string make_temp_dir();
// Sine wave.
std::vector<float> sine(double freq_hz, int sample_rate_hz, size_t num_samples, double amplitude = 0.5);

}  // namespace ae::test
