// Native Silero VAD v5 against the ONNX Runtime reference (golden files written by
// tools/silero_reference/reference.js), plus streaming, reset, real-time and error behaviour.

#include <audioengine/realtime.hpp>
#include <audioengine/resampler.hpp>
#include <audioengine/silero_vad.hpp>

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace ae {
namespace {

std::string model_path() {
  const std::string env = SileroVad::model_path_from_environment();
  return env.empty() ? std::string(AE_SOURCE_DIR) + "/third_party_cache/vad-web/silero_vad_v5.onnx" : env;
}

std::unique_ptr<SileroVad> load_model() {
  auto vad = SileroVad::create(model_path());
  if (!vad.ok()) {
    ADD_FAILURE() << "cannot load the Silero model (" << vad.message()
                  << "): run scripts/setup.sh, which fetches it into third_party_cache/vad-web/";
    return nullptr;
  }
  return std::move(vad.value());
}

std::vector<float> read_golden(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::vector<float> p;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    p.push_back(std::stof(line));
  }
  return p;
}

struct GoldenCase {
  const char* name;
  int sample_rate_hz;
};

class SileroParity : public ::testing::TestWithParam<GoldenCase> {};

// Every chunk's probability matches ONNX Runtime's within 1e-4, with the context and LSTM state carried over the
// whole file.
TEST_P(SileroParity, EveryChunkMatchesTheOnnxRuntimeReference) {
  const std::string base = std::string(AE_TEST_DATA_DIR) + "/silero/" + GetParam().name;
  const auto wav = test::read_audio_file(base + ".wav");
  ASSERT_EQ(wav.channels, 1);
  ASSERT_EQ(wav.sample_rate_hz, GetParam().sample_rate_hz);
  const auto golden = read_golden(base + ".golden.txt");
  auto vad = load_model();
  ASSERT_TRUE(vad);
  ASSERT_TRUE(vad->prepare(wav.sample_rate_hz, 4096).ok());
  const size_t chunk = vad->chunk_samples();
  ASSERT_EQ(golden.size(), wav.samples.size() / chunk);
  ASSERT_GT(golden.size(), 10u);
  float max_diff = 0;
  size_t worst = 0;
  for (size_t k = 0; k < golden.size(); ++k) {
    const float p = vad->process_chunk(&wav.samples[k * chunk]);
    const float d = std::fabs(p - golden[k]);
    if (d > max_diff) { max_diff = d; worst = k; }
  }
  std::printf("%s: %zu chunks, max |dp| = %.3g\n", GetParam().name, golden.size(), static_cast<double>(max_diff));
  EXPECT_LE(max_diff, 1e-4f) << "worst chunk " << worst << ": reference " << golden[worst];
  EXPECT_EQ(vad->chunks_processed(), static_cast<int64_t>(golden.size()));
}

// process() with the engine's 10 ms periods (160 samples at 16 kHz, 80 at 8 kHz): the value returned for a
// frame is the probability of the latest chunk completed within or before it, exactly in samples.
TEST_P(SileroParity, StreamingInEnginePeriodsReportsTheLatestCompleteChunk) {
  const std::string base = std::string(AE_TEST_DATA_DIR) + "/silero/" + GetParam().name;
  const auto wav = test::read_audio_file(base + ".wav");
  const auto golden = read_golden(base + ".golden.txt");
  auto vad = load_model();
  ASSERT_TRUE(vad);
  const size_t period = static_cast<size_t>(wav.sample_rate_hz / 100);
  ASSERT_TRUE(vad->prepare(wav.sample_rate_hz, period).ok());
  const size_t chunk = vad->chunk_samples();
  for (size_t start = 0; start + period <= wav.samples.size(); start += period) {
    const float p = vad->process(&wav.samples[start], period);
    const size_t complete = (start + period) / chunk;  // chunks whose last sample is in [0, start + period)
    ASSERT_EQ(vad->chunks_processed(), static_cast<int64_t>(complete)) << "frame at " << start;
    if (complete == 0) {
      EXPECT_EQ(p, 0.0f);
    } else if (complete <= golden.size()) {
      EXPECT_NEAR(p, golden[complete - 1], 1e-4f) << "frame at " << start;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, SileroParity,
                         ::testing::Values(GoldenCase{"speech_16k", 16000}, GoldenCase{"silence_16k", 16000},
                                           GoldenCase{"noise_16k", 16000}, GoldenCase{"speech_8k", 8000},
                                           GoldenCase{"speech_noise_8k", 8000}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(SileroVad, ChunkAndContextSizesFollowTheRate) {
  auto vad = load_model();
  ASSERT_TRUE(vad);
  EXPECT_EQ(vad->chunk_samples(), 0u);
  ASSERT_TRUE(vad->prepare(16000, 320).ok());
  EXPECT_EQ(vad->chunk_samples(), 512u);
  EXPECT_EQ(vad->context_samples(), 64u);
  ASSERT_TRUE(vad->prepare(8000, 160).ok());
  EXPECT_EQ(vad->chunk_samples(), 256u);
  EXPECT_EQ(vad->context_samples(), 32u);
  EXPECT_EQ(vad->algorithm(), VadAlgorithm::kSilero);
}

// reset() forgets context and LSTM state: a second pass gives bit-identical probabilities, and they differ from
// a run that carries the state of the first pass (so the state does matter).
TEST(SileroVad, ResetRestoresTheInitialState) {
  const auto wav = test::read_audio_file(std::string(AE_TEST_DATA_DIR) + "/silero/speech_16k.wav");
  auto vad = load_model();
  ASSERT_TRUE(vad);
  ASSERT_TRUE(vad->prepare(16000, 512).ok());
  const size_t n = wav.samples.size() / 512;
  std::vector<float> first, carried, second;
  for (size_t k = 0; k < n; ++k) first.push_back(vad->process_chunk(&wav.samples[k * 512]));
  for (size_t k = 0; k < n; ++k) carried.push_back(vad->process_chunk(&wav.samples[k * 512]));
  vad->reset();
  EXPECT_EQ(vad->chunks_processed(), 0);
  for (size_t k = 0; k < n; ++k) second.push_back(vad->process_chunk(&wav.samples[k * 512]));
  EXPECT_EQ(first, second);
  EXPECT_NE(first, carried);
}

TEST(SileroVad, ProcessDoesNotAllocateOrLockOnTheAudioThread) {
  if (!rt::probe_installed()) GTEST_SKIP() << "real-time probe not installed (sanitizer build)";
  const auto wav = test::read_audio_file(std::string(AE_TEST_DATA_DIR) + "/silero/speech_16k.wav");
  auto vad = load_model();
  ASSERT_TRUE(vad);
  ASSERT_TRUE(vad->prepare(16000, 320).ok());
  rt::reset_violation_counts();
  {
    rt::ScopedAudioThread audio_thread;
    for (size_t start = 0; start + 320 <= wav.samples.size(); start += 320) vad->process(&wav.samples[start], 320);
  }
  EXPECT_GT(vad->chunks_processed(), 10);
  const auto v = rt::violation_counts();
  EXPECT_EQ(v.allocations, 0u);
  EXPECT_EQ(v.mutex_locks, 0u);
}

TEST(SileroVad, RejectsRatesOutsideTheRangeAndBadFrameCounts) {
  auto vad = load_model();
  ASSERT_TRUE(vad);
  auto st = vad->prepare(7999, 480);
  EXPECT_EQ(st.error(), Error::kInvalidArgument);
  EXPECT_NE(st.message().find("sample_rate_hz = 7999"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("8000..192000"), std::string::npos) << st.message();
  EXPECT_EQ(vad->prepare(16000, 0).error(), Error::kInvalidArgument);
  EXPECT_EQ(vad->prepare(16000, 16001).error(), Error::kInvalidArgument);
  const float zeros[160] = {};
  EXPECT_EQ(vad->process(zeros, 160), 0.0f);  // not prepared: nothing happens
  EXPECT_EQ(vad->chunks_processed(), 0);
}

TEST(SileroVad, MissingOrDamagedModelFilesAreReportedNotCrashed) {
  auto missing = SileroVad::create("/nonexistent/silero_vad_v5.onnx");
  EXPECT_EQ(missing.error(), Error::kIo);
  EXPECT_NE(missing.message().find("setup.sh"), std::string::npos) << missing.message();

  EXPECT_EQ(SileroVad::create_from_bytes({}).error(), Error::kInvalidFormat);
  EXPECT_EQ(SileroVad::create_from_bytes({0xff, 0xff, 0xff}).error(), Error::kInvalidFormat);

  std::ifstream in(model_path(), std::ios::binary);
  ASSERT_TRUE(in.good()) << "run scripts/setup.sh";
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Cut inside the weights: the length prefix of the graph runs past the end.
  std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(bytes.size() / 2));
  auto cut = SileroVad::create_from_bytes(truncated);
  EXPECT_EQ(cut.error(), Error::kInvalidFormat);
  // Renaming one tensor (same length, so the protobuf stays valid) is caught by name.
  const std::string needle = "decoder.rnn.weight_hh";
  size_t renamed = 0;
  for (size_t i = 0; i + needle.size() <= bytes.size(); ++i) {
    if (std::equal(needle.begin(), needle.end(), bytes.begin() + static_cast<ptrdiff_t>(i))) {
      bytes[i + needle.size() - 1] = 'X';
      ++renamed;
    }
  }
  ASSERT_GT(renamed, 0u);
  auto broken = SileroVad::create_from_bytes(bytes);
  EXPECT_EQ(broken.error(), Error::kInvalidFormat);
  EXPECT_NE(broken.message().find("decoder.rnn.weight_hh"), std::string::npos) << broken.message();
}

}  // namespace
}  // namespace ae

namespace ae {
namespace {

// At a rate without a model the detector resamples (SpeexDSP) to the model rate: its probabilities are exactly
// those of the model run on the same resampled audio, and it neither allocates nor locks doing so.
TEST(SileroVad, OtherRatesRunTheModelOnResampledAudio) {
  const auto wav = test::read_audio_file(std::string(AE_TEST_DATA_DIR) + "/silero/speech_16k.wav");
  for (const int rate : {48000, 24000, 44100, 12000}) {
    const int model_rate = SileroVad::model_rate_for(rate);
    // The test input at `rate`, made from the 16 kHz clip with soxr.
    ResamplerConfig up;
    up.input_rate_hz = 16000;
    up.output_rate_hz = rate;
    up.kind = ResamplerKind::kSoxr;
    up.max_input_frames = wav.samples.size();
    auto to_rate = Resampler::create(up);
    ASSERT_TRUE(to_rate.ok()) << to_rate.message();
    std::vector<float> x((*to_rate)->max_output_frames(wav.samples.size()));
    x.resize((*to_rate)->process(wav.samples.data(), wav.samples.size(), x.data(), x.size()));
    // Reference: the same SpeexDSP conversion done here, then the model at its own rate, chunk by chunk.
    const size_t period = static_cast<size_t>(rate / 100);
    ResamplerConfig down;
    down.input_rate_hz = rate;
    down.output_rate_hz = model_rate;
    down.kind = ResamplerKind::kSpeex;
    down.max_input_frames = period;
    auto to_model = Resampler::create(down);
    ASSERT_TRUE(to_model.ok());
    auto reference = load_model();
    auto vad = load_model();
    ASSERT_TRUE(reference && vad);
    ASSERT_TRUE(reference->prepare(model_rate, 4096).ok());
    ASSERT_TRUE(vad->prepare(rate, period).ok());
    EXPECT_EQ(vad->model_rate_hz(), model_rate);
    EXPECT_GT(vad->resampler_delay_ms(), 0.0);
    std::vector<float> pending, buf((*to_model)->max_output_frames(period));
    float expected = 0;
    rt::reset_violation_counts();
    int64_t chunks = 0;
    for (size_t start = 0; start + period <= x.size(); start += period) {
      float p;
      {
        rt::ScopedAudioThread audio;
        p = vad->process(&x[start], period);
      }
      const size_t got = (*to_model)->process(&x[start], period, buf.data(), buf.size());
      pending.insert(pending.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(got));
      while (pending.size() >= reference->chunk_samples()) {
        expected = reference->process_chunk(pending.data());
        pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(reference->chunk_samples()));
        ++chunks;
      }
      ASSERT_EQ(p, expected) << rate << " Hz, frame at " << start;
    }
    EXPECT_EQ(vad->chunks_processed(), chunks);
    EXPECT_GT(chunks, 10);
    const auto v = rt::violation_counts();
    EXPECT_EQ(v.allocations, 0u) << rate;
    EXPECT_EQ(v.mutex_locks, 0u) << rate;
  }
}

}  // namespace
}  // namespace ae
