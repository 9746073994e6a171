#include <audioengine/realtime.hpp>
#include <audioengine/vad.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "test_support.hpp"

namespace ae {
namespace {

double db_to_amplitude(double dbfs) { return std::pow(10.0, dbfs / 20.0); }

double rms_dbfs(const float* x, size_t n) {
  double e = 0;
  for (size_t i = 0; i < n; ++i) e += static_cast<double>(x[i]) * x[i];
  return 10.0 * std::log10(e / static_cast<double>(n) + 1e-20);
}

// Gaussian white noise whose RMS over the whole buffer is exactly level_dbfs.
std::vector<float> white_noise(size_t n, double level_dbfs, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> dist(0.0, 1.0);
  std::vector<double> tmp(n);
  double e = 0;
  for (auto& v : tmp) {
    v = dist(rng);
    e += v * v;
  }
  const double scale = db_to_amplitude(level_dbfs) / std::sqrt(e / static_cast<double>(n));
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(tmp[i] * scale);
  return out;
}

// A voiced, syllable-modulated signal: harmonics of 140 Hz up to 3.5 kHz with a 1/k spectrum, amplitude-modulated
// at 4 Hz (syllable rate) between 40 % and 100 %, scaled to an RMS of level_dbfs.
std::vector<float> speech_like(size_t n, int rate_hz, double level_dbfs) {
  constexpr double kF0Hz = 140.0;
  std::vector<double> tmp(n, 0.0);
  for (int k = 1; k * kF0Hz < std::min(3500.0, rate_hz / 2.0); ++k) {
    for (size_t i = 0; i < n; ++i) {
      tmp[i] += std::sin(2.0 * std::numbers::pi * k * kF0Hz * static_cast<double>(i) / rate_hz + k) / k;
    }
  }
  double e = 0;
  for (size_t i = 0; i < n; ++i) {
    const double env = 0.7 + 0.3 * std::sin(2.0 * std::numbers::pi * 4.0 * static_cast<double>(i) / rate_hz);
    tmp[i] *= env;
    e += tmp[i] * tmp[i];
  }
  const double scale = db_to_amplitude(level_dbfs) / std::sqrt(e / static_cast<double>(n));
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(tmp[i] * scale);
  return out;
}

struct FrameResult {
  int64_t start;
  float probability;
  float floor_dbfs;
};

struct Segment {
  int64_t start = -1;
  int64_t end = -1;
};

struct Analysis {
  std::vector<FrameResult> frames;
  std::vector<Segment> segments;
};

Analysis analyse(const std::vector<float>& x, int rate_hz, size_t frame, const VadConfig& cfg = {}) {
  EnergyVad vad(cfg);
  EXPECT_TRUE(vad.prepare(rate_hz, frame).ok());
  VadSegmenter seg;
  seg.configure(cfg, rate_hz);
  Analysis a;
  for (size_t pos = 0; pos + frame <= x.size(); pos += frame) {
    const float p = vad.process(x.data() + pos, frame);
    EXPECT_GE(p, 0.0f);
    EXPECT_LE(p, 1.0f);
    a.frames.push_back({static_cast<int64_t>(pos), p, vad.noise_floor_dbfs()});
    const VadDecision d = seg.update(p, static_cast<int64_t>(pos), frame);
    if (d.speech_started) a.segments.push_back({d.speech_start_sample, -1});
    if (d.speech_ended) a.segments.back().end = d.speech_end_sample;
  }
  return a;
}

// Frames lying entirely inside [from, to).
std::vector<FrameResult> frames_within(const Analysis& a, int64_t from, int64_t to, size_t frame) {
  std::vector<FrameResult> out;
  for (const auto& f : a.frames) {
    if (f.start >= from && f.start + static_cast<int64_t>(frame) <= to) out.push_back(f);
  }
  return out;
}

class EnergyVadSignalTest : public ::testing::TestWithParam<std::tuple<double, int, size_t>> {};

TEST_P(EnergyVadSignalTest, BurstOverNoiseIsSpeechAndNoiseIsNot) {
  const double noise_dbfs = std::get<0>(GetParam());
  const int rate = std::get<1>(GetParam());
  const size_t frame = std::get<2>(GetParam());
  const auto n_total = static_cast<size_t>(5.5 * rate);
  // Burst onset and end deliberately not on frame boundaries.
  const auto onset = static_cast<int64_t>(2 * rate + frame / 3);
  const auto burst_len = static_cast<int64_t>(1.5 * rate);
  const int64_t burst_end = onset + burst_len;

  std::vector<float> x = white_noise(n_total, noise_dbfs, 7);
  const std::vector<float> burst = speech_like(static_cast<size_t>(burst_len), rate, -20.0);
  for (int64_t i = 0; i < burst_len; ++i) x[static_cast<size_t>(onset + i)] += burst[static_cast<size_t>(i)];

  const Analysis a = analyse(x, rate, frame);

  // Noise before the burst, after one second of adaptation: clearly not speech.
  for (const auto& f : frames_within(a, rate, onset, frame)) {
    EXPECT_LT(f.probability, 0.35f) << "noise frame at " << f.start;
    EXPECT_NEAR(f.floor_dbfs, noise_dbfs, 3.0) << "floor at " << f.start;
  }
  // Inside the burst: every frame is speech, and on average near certain. (Over a long burst without pauses the
  // floor creeps up with the 4 s speech time constant, so the syllable dips late in the burst come closer to the
  // threshold; real speech pauses pull the floor back down.)
  double sum = 0;
  const auto burst_frames = frames_within(a, onset, burst_end, frame);
  for (const auto& f : burst_frames) {
    EXPECT_GE(f.probability, 0.5f) << "burst frame at " << f.start;
    sum += f.probability;
  }
  EXPECT_GE(sum / static_cast<double>(burst_frames.size()), 0.9);
  // Noise after the burst: back to silence within the attack time, and nothing called speech later on.
  for (const auto& f : frames_within(a, burst_end + rate / 2, static_cast<int64_t>(n_total), frame)) {
    EXPECT_LT(f.probability, 0.35f) << "noise frame at " << f.start;
  }
  // Segmenter on top: one segment, its onset within one frame of the burst onset, its end within one frame of
  // the burst end.
  ASSERT_EQ(a.segments.size(), 1u);
  EXPECT_LE(std::llabs(a.segments[0].start - onset), static_cast<long long>(frame));
  EXPECT_LE(std::llabs(a.segments[0].end - burst_end), static_cast<long long>(frame));
}

INSTANTIATE_TEST_SUITE_P(NoiseLevelsRatesFrames, EnergyVadSignalTest,
                         ::testing::Values(std::make_tuple(-60.0, 16000, size_t{160}),
                                           std::make_tuple(-60.0, 16000, size_t{320}),
                                           std::make_tuple(-45.0, 16000, size_t{320}),
                                           std::make_tuple(-45.0, 8000, size_t{160}),
                                           std::make_tuple(-45.0, 48000, size_t{480}),
                                           std::make_tuple(-60.0, 48000, size_t{960})),
                         [](const auto& param_info) {
                           const int noise_db = static_cast<int>(-std::get<0>(param_info.param));
                           return std::string("noise") + std::to_string(noise_db) +
                                  "_" + std::to_string(std::get<1>(param_info.param)) + "Hz_" +
                                  std::to_string(std::get<2>(param_info.param));
                         });

TEST(EnergyVadTest, FloorTracksALouderStationaryNoise) {
  constexpr int kRate = 16000;
  constexpr size_t kFrame = 320;
  // 3 s at -60 dBFS, then a fan is switched on: 10 s at -45 dBFS, 15 dB up, more than the 10 dB margin.
  std::vector<float> x = white_noise(3 * kRate, -60.0, 1);
  const std::vector<float> loud = white_noise(10 * kRate, -45.0, 2);
  x.insert(x.end(), loud.begin(), loud.end());
  const Analysis a = analyse(x, kRate, kFrame);
  const int64_t change = 3 * kRate;

  // The jump itself looks like speech at first ...
  const auto just_after = frames_within(a, change, change + kRate / 10, kFrame);
  ASSERT_FALSE(just_after.empty());
  EXPECT_GE(just_after.front().probability, 0.5f);
  // ... but the floor rises to the new level and the noise stops being speech: the last 4 s are silence.
  for (const auto& f : frames_within(a, change + 6 * kRate, static_cast<int64_t>(x.size()), kFrame)) {
    EXPECT_LT(f.probability, 0.35f) << "frame at " << f.start;
    EXPECT_NEAR(f.floor_dbfs, -45.0, 3.0) << "frame at " << f.start;
  }
  ASSERT_FALSE(a.segments.empty());
  EXPECT_GE(a.segments.back().end, 0) << "the segment opened by the jump must close";
  EXPECT_LT(a.segments.back().end, change + 6 * kRate);
}

TEST(EnergyVadTest, FloorFollowsQuieterNoiseQuickly) {
  constexpr int kRate = 16000;
  constexpr size_t kFrame = 160;
  std::vector<float> x = white_noise(2 * kRate, -40.0, 3);
  const std::vector<float> quiet = white_noise(2 * kRate, -60.0, 4);
  x.insert(x.end(), quiet.begin(), quiet.end());
  const Analysis a = analyse(x, kRate, kFrame);
  // Attack 100 ms: 20 dB down is followed within 0.5 s (5 time constants leave 0.13 dB).
  for (const auto& f : frames_within(a, 2 * kRate + kRate / 2, 4 * kRate, kFrame)) {
    EXPECT_NEAR(f.floor_dbfs, -60.0, 2.0) << "frame at " << f.start;
    EXPECT_LT(f.probability, 0.35f);
  }
}

TEST(EnergyVadTest, NothingBelowTheAbsoluteFloorIsSpeech) {
  constexpr int kRate = 16000;
  constexpr size_t kFrame = 160;
  // Digital silence teaches a floor of -120 dBFS; a -58 dBFS tone is 62 dB above it but under the -50 dBFS
  // absolute floor, 8 dB below (more than the 6 dB ramp): probability 0.
  std::vector<float> x(kRate, 0.0f);
  std::vector<float> tone = test::sine(440.0, kRate, kRate, std::sqrt(2.0) * db_to_amplitude(-58.0));
  ASSERT_NEAR(rms_dbfs(tone.data(), tone.size()), -58.0, 0.05);
  x.insert(x.end(), tone.begin(), tone.end());
  const Analysis a = analyse(x, kRate, kFrame);
  for (const auto& f : a.frames) EXPECT_EQ(f.probability, 0.0f) << "frame at " << f.start;
  EXPECT_TRUE(a.segments.empty());

  // The same tone at -38 dBFS (12 dB above the absolute floor) is certain speech.
  std::vector<float> y(kRate, 0.0f);
  tone = test::sine(440.0, kRate, kRate, std::sqrt(2.0) * db_to_amplitude(-38.0));
  y.insert(y.end(), tone.begin(), tone.end());
  const Analysis b = analyse(y, kRate, kFrame);
  EXPECT_EQ(b.frames.back().probability, 1.0f);
  ASSERT_EQ(b.segments.size(), 1u);
  EXPECT_EQ(b.segments[0].start, kRate);
}

TEST(EnergyVadTest, FindsSynthesisedSpeech) {
  const test::TempDir temp;
  const std::string wav = temp.file("speech.wav");
  const int rc = test::run_command("espeak-ng -w " + wav +
                                   " \"Hello, could you tell me the weather for tomorrow morning please\" 2>/dev/null");
  if (rc != 0) GTEST_SKIP() << "espeak-ng is not available (exit status " << rc << ")";
  const test::WavData speech = test::read_audio_file(wav);
  ASSERT_EQ(speech.channels, 1);
  const int rate = speech.sample_rate_hz;
  const auto frame = static_cast<size_t>(rate / 50);  // 20 ms

  // Scale so that the speech peaks at -6 dBFS, put it after 1.5 s of -55 dBFS noise and before 1.5 s more.
  float peak = 0;
  for (float s : speech.samples) peak = std::max(peak, std::fabs(s));
  ASSERT_GT(peak, 0.0f);
  const float gain = static_cast<float>(db_to_amplitude(-6.0)) / peak;
  const size_t lead = static_cast<size_t>(rate) * 3 / 2;
  std::vector<float> x = white_noise(lead + speech.samples.size() + lead, -55.0, 5);
  for (size_t i = 0; i < speech.samples.size(); ++i) x[lead + i] += gain * speech.samples[i];

  // Where the speech really is: first and last sample louder than 10 % of the peak.
  size_t first_loud = 0;
  size_t last_loud = 0;
  for (size_t i = 0; i < speech.samples.size(); ++i) {
    if (std::fabs(speech.samples[i]) > 0.1f * peak) {
      if (first_loud == 0) first_loud = i;
      last_loud = i;
    }
  }
  const auto onset = static_cast<int64_t>(lead + first_loud);
  const auto offset = static_cast<int64_t>(lead + last_loud);

  const Analysis a = analyse(x, rate, frame);
  ASSERT_FALSE(a.segments.empty());
  // Nothing before the speech; the first segment starts within two frames of the first loud sample (the onset of
  // real speech rises over a few milliseconds, so the detector may fire a frame early on its soft start).
  EXPECT_LE(std::llabs(a.segments.front().start - onset), 2 * static_cast<long long>(frame))
      << "onset " << onset << " detected " << a.segments.front().start;
  // The last segment ends after the last loud sample, by less than min_silence and a frame.
  const Segment last = a.segments.back();
  ASSERT_GE(last.end, 0);
  EXPECT_GE(last.end, offset - static_cast<int64_t>(frame));
  EXPECT_LE(last.end, offset + static_cast<int64_t>(rate) * 3 / 10 + static_cast<int64_t>(frame));
  // A single sentence without long pauses: one segment (gaps between words are bridged).
  EXPECT_EQ(a.segments.size(), 1u);
}

TEST(EnergyVadTest, ProcessNeitherAllocatesNorLocks) {
  if (!rt::probe_installed()) GTEST_SKIP() << "real-time probe not installed (sanitizer build)";
  constexpr int kRate = 16000;
  const std::vector<float> noise = white_noise(kRate, -50.0, 9);
  auto vad = make_energy_vad(VadConfig{});
  ASSERT_EQ(vad->algorithm(), VadAlgorithm::kEnergy);
  ASSERT_TRUE(vad->prepare(kRate, 480).ok());
  rt::reset_violation_counts();
  float sum = 0;
  {
    rt::ScopedAudioThread audio;
    for (size_t pos = 0; pos + 480 <= noise.size(); pos += 480) sum += vad->process(noise.data() + pos, 480);
    vad->reset();
  }
  EXPECT_EQ(rt::violation_counts().allocations, 0u);
  EXPECT_EQ(rt::violation_counts().mutex_locks, 0u);
  EXPECT_GE(sum, 0.0f);
}

TEST(EnergyVadTest, PrepareRejectsBadArgumentsAndUnpreparedProcessIsSilent) {
  EnergyVad vad{VadConfig{}};
  const float frame[4] = {0.5f, -0.5f, 0.5f, -0.5f};
  EXPECT_EQ(vad.process(frame, 4), 0.0f);  // not prepared
  Status st = vad.prepare(4000, 160);
  EXPECT_EQ(st.error(), Error::kInvalidArgument);
  EXPECT_NE(st.message().find("sample_rate_hz = 4000"), std::string::npos) << st.message();
  st = vad.prepare(16000, 0);
  EXPECT_EQ(st.error(), Error::kInvalidArgument);
  EXPECT_NE(st.message().find("max_frames = 0"), std::string::npos) << st.message();
  ASSERT_TRUE(vad.prepare(16000, 4).ok());
  EXPECT_EQ(vad.process(frame, 0), 0.0f);
  EXPECT_EQ(vad.last_level_dbfs(), -120.0f);
  vad.process(frame, 4);
  EXPECT_NEAR(vad.last_level_dbfs(), 20.0 * std::log10(0.5), 1e-4);
}

TEST(EnergyVadTest, LevelCountsEverySampleOfFramesOfAnyLength) {
  // The energy is summed four samples at a time with the rest after: one non-zero sample at each position of
  // frames of 1 to 13 samples must give the level of x^2 / n wherever it lies.
  for (size_t n = 1; n <= 13; ++n) {
    for (size_t at = 0; at < n; ++at) {
      EnergyVad vad{VadConfig{}};
      ASSERT_TRUE(vad.prepare(16000, 16).ok());
      std::vector<float> frame(n, 0.0f);
      frame[at] = 0.25f;
      vad.process(frame.data(), n);
      EXPECT_NEAR(vad.last_level_dbfs(), 10.0 * std::log10(0.0625 / static_cast<double>(n)), 1e-4)
          << "sample " << at << " of " << n;
    }
  }
}

TEST(EnergyVadTest, NoiseFloorStepFollowsTheFrameLengthAndTheRate) {
  // Falling levels: the floor follows each frame with the attack time constant, by 1 - exp(-n / tau) of the
  // distance, n being that frame's length. Lengths change from frame to frame, and the same detector is prepared
  // again for a second rate.
  const VadConfig config;
  EnergyVad vad{config};
  for (int rate : {16000, 8000}) {
    ASSERT_TRUE(vad.prepare(rate, 480).ok());
    double floor = 0.0;
    float amplitude = 0.5f;
    const size_t lengths[] = {160, 160, 80, 480, 80, 37, 160};
    for (size_t k = 0; k < std::size(lengths); ++k, amplitude *= 0.5f) {
      const size_t n = lengths[k];
      const std::vector<float> frame(n, amplitude);
      vad.process(frame.data(), n);
      const double level = 10.0 * std::log10(static_cast<double>(amplitude) * amplitude + 1e-12);
      const double tau = config.noise_floor_attack_ms * rate / 1000.0;
      floor = k == 0 ? level : floor + (level - floor) * (1.0 - std::exp(-static_cast<double>(n) / tau));
      EXPECT_NEAR(vad.noise_floor_dbfs(), floor, 1e-3) << "frame " << k << " of " << n << " samples at " << rate;
    }
  }
}

TEST(VadConfigTest, DefaultsAreValidAndEveryBadFieldIsNamed) {
  EXPECT_TRUE(validate_vad_config(VadConfig{}).ok());
  std::vector<ConfigIssue> none;
  collect_vad_config_issues(VadConfig{}, none);
  EXPECT_TRUE(none.empty());

  VadConfig bad;
  bad.activation_threshold = 1.5f;
  bad.deactivation_threshold = 1.6f;
  bad.min_speech_ms = -1;
  bad.min_silence_ms = 20000;
  bad.prefix_padding_ms = 5000;
  bad.energy_margin_db = 0.0f;
  bad.energy_floor_dbfs = 3.0f;
  bad.noise_floor_attack_ms = std::nanf("");
  bad.noise_floor_release_ms = -1.0f;
  bad.noise_floor_speech_release_ms = 0.0f;
  std::vector<ConfigIssue> issues;
  collect_vad_config_issues(bad, issues);
  std::vector<std::string> fields;
  for (const auto& i : issues) fields.push_back(i.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"vad.activation_threshold", "vad.deactivation_threshold",
                                              "vad.min_speech_ms", "vad.min_silence_ms", "vad.prefix_padding_ms",
                                              "vad.energy_margin_db", "vad.energy_floor_dbfs",
                                              "vad.noise_floor_attack_ms", "vad.noise_floor_release_ms",
                                              "vad.noise_floor_speech_release_ms"}));
  EXPECT_EQ(issues[2].value, "-1");
  EXPECT_EQ(issues[2].valid, "0..5000 ms");
  const Status st = validate_vad_config(bad);
  EXPECT_EQ(st.error(), Error::kInvalidConfig);
  EXPECT_NE(st.message().find("vad.min_speech_ms = -1: valid 0..5000 ms"), std::string::npos) << st.message();

  VadConfig inverted;
  inverted.deactivation_threshold = 0.6f;  // above activation 0.5
  EXPECT_EQ(validate_vad_config(inverted).error(), Error::kInvalidConfig);
  EXPECT_STREQ(to_string(VadAlgorithm::kEnergy), "energy");
  EXPECT_STREQ(to_string(VadAlgorithm::kSilero), "silero");
}

}  // namespace
}  // namespace ae
