// Files through libsndfile: round trips for WAV, FLAC and Ogg Vorbis, conversion on read, and a file the engine
// wrote (its played output) read back by sox, an independent decoder, sample for sample.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "audioengine/file_io.hpp"
#include "test_support.hpp"

namespace ae {
namespace {

// PCM16-exact float samples: k / 32768, so a 16-bit file stores them without rounding.
std::vector<float> pcm16_exact_noise(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-20000, 20000);
  std::vector<float> v(n);
  for (auto& s : v) s = static_cast<float>(d(rng)) / 32768.0f;
  return v;
}

class FileRoundTrip : public ::testing::TestWithParam<const char*> {};

TEST_P(FileRoundTrip, WriteThenReadGivesTheSignalBack) {
  const std::string ext = GetParam();
  const test::TempDir temp;
  const std::string dir = temp.path();
  const std::string path = dir + "/round_trip." + ext;
  const int rate = 24000, channels = 2;
  // Lossless containers: exact samples. Vorbis is lossy: a band-limited signal, compared by correlation.
  std::vector<float> signal = ext == "ogg" ? test::sine(440.0, rate, 2 * 24000, 0.5) : pcm16_exact_noise(2 * 24000, 3);
  {
    auto w = AudioFileWriter::create(path, AudioFormat{rate, channels, SampleType::kPcm16}, rate, channels);
    ASSERT_TRUE(w.ok()) << w.message();
    ASSERT_TRUE((*w)->write(signal.data(), signal.size() / channels).ok());
    ASSERT_TRUE((*w)->close().ok());
    EXPECT_EQ((*w)->frames_written(), static_cast<int64_t>(signal.size() / channels));
  }
  auto r = AudioFileReader::open(path);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ((*r)->info().sample_rate_hz, rate);
  EXPECT_EQ((*r)->info().channels, channels);
  auto back = AudioFileReader::read_all(path);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), signal.size());
  if (ext == "ogg") {
    double xy = 0, xx = 0, yy = 0;
    for (size_t i = 0; i < signal.size(); ++i) {
      xy += signal[i] * (*back)[i];
      xx += signal[i] * signal[i];
      yy += (*back)[i] * (*back)[i];
    }
    EXPECT_GT(xy / std::sqrt(xx * yy), 0.99);
  } else {
    size_t diff = 0;
    for (size_t i = 0; i < signal.size(); ++i) diff += signal[i] != (*back)[i];
    EXPECT_EQ(diff, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Containers, FileRoundTrip, ::testing::Values("wav", "flac", "ogg"),
                         [](const auto& p) { return std::string(p.param); });

TEST(FileReader, ConvertsRateAndChannelsOnRead) {
  const test::TempDir temp;
  const std::string dir = temp.path();
  const std::string path = dir + "/stereo48k.wav";
  // 1 s of a 1 kHz tone at 48 kHz on the left, silence on the right.
  std::vector<float> stereo(2 * 48000, 0.0f);
  const auto tone = test::sine(1000.0, 48000, 48000, 0.5);
  for (size_t i = 0; i < tone.size(); ++i) stereo[2 * i] = tone[i];
  test::write_wav_pcm16(path, stereo, 48000, 2);
  auto mono = AudioFileReader::read_all(path, 16000, 1);
  ASSERT_TRUE(mono.ok()) << mono.message();
  // floor(48000 / 3) frames plus the resampler's tail.
  EXPECT_GE(mono->size(), 16000u);
  EXPECT_LE(mono->size(), 16000u + 2000u);
  // The mix halves the left channel: a 0.25 amplitude 1 kHz tone; count its zero crossings over the middle.
  int crossings = 0;
  double peak = 0;
  for (size_t i = 4000; i < 12000; ++i) {
    if (((*mono)[i - 1] < 0) != ((*mono)[i] < 0)) ++crossings;
    peak = std::max(peak, static_cast<double>(std::fabs((*mono)[i])));
  }
  EXPECT_NEAR(crossings, 1000, 2);  // 0.5 s of 1 kHz: 1000 crossings
  EXPECT_NEAR(peak, 0.25, 0.01);
}

TEST(FileErrors, NameThePathAndTheReason) {
  auto r = AudioFileReader::open("/nonexistent/x.wav");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Error::kIo);
  EXPECT_NE(r.message().find("/nonexistent/x.wav"), std::string::npos);
  auto w = AudioFileWriter::create("/tmp/x.mp3", AudioFormat{16000, 1, SampleType::kPcm16}, 16000, 1);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error(), Error::kInvalidArgument);
  EXPECT_NE(w.message().find(".wav, .flac, .ogg"), std::string::npos);
}

// The engine plays queued PCM16 on the virtual clock; its output, written to WAV and FLAC by the file writer,
// is decoded by sox and compared with what was queued.
TEST(EngineFileSink, SoxReadsTheEnginesOutputSampleForSample) {
  if (test::run_command("command -v sox >/dev/null") != 0) GTEST_SKIP() << "sox is not installed";
  EngineConfig c = EngineConfig::fast_lane();
  c.clock.virtual_mode = VirtualClockMode::kInline;
  auto e = AudioEngine::create(c);
  ASSERT_TRUE(e->start().ok());
  std::vector<int16_t> pcm(16000);
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> d(-30000, 30000);
  for (auto& s : pcm) s = static_cast<int16_t>(d(rng));
  ASSERT_TRUE(e->queue_playback(pcm.data(), pcm.size() * 2, 1).ok());
  ASSERT_TRUE(e->advance(1000).ok());
  std::vector<float> out(16000);
  ASSERT_EQ(e->read_played_audio(out.data(), out.size()), out.size());
  const test::TempDir temp;
  const std::string dir = temp.path();
  for (const char* ext : {"wav", "flac"}) {
    const std::string path = dir + "/engine_out." + ext;
    auto w = AudioFileWriter::create(path, AudioFormat{16000, 1, SampleType::kPcm16}, 16000, 1);
    ASSERT_TRUE(w.ok()) << w.message();
    ASSERT_TRUE((*w)->write(out.data(), out.size()).ok());
    ASSERT_TRUE((*w)->close().ok());
    const std::string raw = dir + "/sox_" + ext + ".raw";
    ASSERT_EQ(test::run_command("sox '" + path + "' -t raw -e signed-integer -b 16 -c 1 '" + raw + "'"), 0);
    FILE* f = std::fopen(raw.c_str(), "rb");
    ASSERT_NE(f, nullptr);
    std::vector<int16_t> decoded(pcm.size() + 16);
    const size_t n = std::fread(decoded.data(), 2, decoded.size(), f);
    std::fclose(f);
    ASSERT_EQ(n, pcm.size()) << ext;
    size_t diff = 0;
    for (size_t i = 0; i < pcm.size(); ++i) diff += decoded[i] != pcm[i];
    EXPECT_EQ(diff, 0u) << ext;
  }
}

}  // namespace
}  // namespace ae
