#include "test_support.hpp"

#include <sndfile.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <numbers>

namespace ae::test {

WavData read_audio_file(const std::string& path) {
  SF_INFO info{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  if (f == nullptr) {
    std::fprintf(stderr, "test_support: cannot open %s: %s\n", path.c_str(), sf_strerror(nullptr));
    std::abort();
  }
  WavData d;
  d.sample_rate_hz = info.samplerate;
  d.channels = info.channels;
  d.samples.resize(static_cast<size_t>(info.frames) * static_cast<size_t>(info.channels));
  sf_readf_float(f, d.samples.data(), info.frames);
  sf_close(f);
  return d;
}

void write_wav_pcm16(const std::string& path, const std::vector<float>& interleaved, int sample_rate_hz,
                     int channels) {
  SF_INFO info{};
  info.samplerate = sample_rate_hz;
  info.channels = channels;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  if (f == nullptr) {
    std::fprintf(stderr, "test_support: cannot write %s: %s\n", path.c_str(), sf_strerror(nullptr));
    std::abort();
  }
  sf_command(f, SFC_SET_CLIPPING, nullptr, SF_TRUE);
  sf_writef_float(f, interleaved.data(), static_cast<sf_count_t>(interleaved.size() / channels));
  sf_close(f);
}

int run_command(const std::string& command) {
  int rc = std::system(command.c_str());
  if (rc == -1) return -1;
  return WEXITSTATUS(rc);
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && base[0] != '\0' ? base : "/tmp") + "/ae-test-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::fprintf(stderr, "test_support: cannot create %s: %s\n", tmpl.c_str(), std::strerror(errno));
    std::abort();
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  if (ec) std::fprintf(stderr, "test_support: cannot remove %s: %s\n", path_.c_str(), ec.message().c_str());
}

std::vector<float> sine(double freq_hz, int sample_rate_hz, size_t num_samples, double amplitude) {
  std::vector<float> out(num_samples);
  for (size_t i = 0; i < num_samples; ++i) {
    out[i] = static_cast<float>(amplitude * std::sin(2.0 * std::numbers::pi * freq_hz * static_cast<double>(i) /
                                                     sample_rate_hz));
  }
  return out;
}

}  // namespace ae::test
