#include "audioengine/format_converter.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numbers>
#include <vector>

#include "audioengine/realtime.hpp"

namespace {

using ae::AudioFormat;
using ae::FormatConverter;
using ae::ResamplerKind;
using ae::SampleType;

std::unique_ptr<FormatConverter> make(AudioFormat in, AudioFormat out, ResamplerKind kind = ResamplerKind::kSoxr,
                                      size_t max_frames = 960) {
  auto c = FormatConverter::create(in, out, kind, max_frames);
  EXPECT_TRUE(c.ok()) << c.message();
  return std::move(c.value());
}

std::vector<int16_t> sine_pcm16(int rate_hz, size_t frames, int channels) {
  std::vector<int16_t> out(frames * static_cast<size_t>(channels));
  for (size_t i = 0; i < frames; ++i) {
    for (int c = 0; c < channels; ++c) {
      out[i * static_cast<size_t>(channels) + static_cast<size_t>(c)] = static_cast<int16_t>(
          std::lround(12000.0 * std::sin(2 * std::numbers::pi * (440.0 * (c + 1)) * static_cast<double>(i) / rate_hz)));
    }
  }
  return out;
}

TEST(FormatConverter, SameRateG711IsThePlainEncoder) {
  auto pcm = sine_pcm16(8000, 1600, 1);
  for (SampleType law : {SampleType::kMulaw, SampleType::kAlaw}) {
    auto conv = make({8000, 1, SampleType::kPcm16}, {8000, 1, law});
    EXPECT_EQ(conv->delay_ms(), 0.0);
    std::vector<uint8_t> out(conv->max_output_frames(pcm.size()));
    ASSERT_EQ(conv->convert(pcm.data(), pcm.size(), out.data(), out.size()), pcm.size());
    for (size_t i = 0; i < pcm.size(); ++i) {
      ASSERT_EQ(out[i], law == SampleType::kMulaw ? ae::linear_to_ulaw(pcm[i]) : ae::linear_to_alaw(pcm[i]));
    }
  }
}

TEST(FormatConverter, StereoToMonoAveragesTheChannels) {
  auto pcm = sine_pcm16(16000, 320, 2);
  auto conv = make({16000, 2, SampleType::kPcm16}, {16000, 1, SampleType::kFloat32});
  std::vector<float> out(320);
  ASSERT_EQ(conv->convert(pcm.data(), 320, out.data(), 320), 320u);
  for (size_t i = 0; i < 320; ++i) {
    const float expected = (static_cast<float>(pcm[2 * i]) / 32768.0f + static_cast<float>(pcm[2 * i + 1]) / 32768.0f) * 0.5f;
    ASSERT_FLOAT_EQ(out[i], expected);
  }
}

TEST(FormatConverter, ResamplingMatchesTheResamplerAndConvertToFloatAgreesWithConvert) {
  for (auto kind : {ResamplerKind::kSpeex, ResamplerKind::kSoxr}) {
    const AudioFormat in{48000, 1, SampleType::kPcm16}, out{16000, 1, SampleType::kPcm16};
    auto pcm = sine_pcm16(48000, 48000, 1);
    auto to_pcm = make(in, out, kind);
    auto to_float = make(in, out, kind);
    ae::ResamplerConfig rc{48000, 16000, 1, kind, -1, true, 960};
    auto ref = std::move(ae::Resampler::create(rc).value());
    EXPECT_DOUBLE_EQ(to_pcm->delay_ms(), ref->delay_ms());
    std::vector<float> in_f(pcm.size());
    ae::decode_samples(pcm.data(), SampleType::kPcm16, pcm.size(), in_f.data());
    std::vector<float> ref_out(ref->max_output_frames(480)), f_out(to_float->max_output_frames(480));
    std::vector<int16_t> p_out(to_pcm->max_output_frames(480));
    for (size_t i = 0; i < pcm.size(); i += 480) {
      const size_t n_ref = ref->process(in_f.data() + i, 480, ref_out.data(), ref_out.size());
      const size_t n_f = to_float->convert_to_float(pcm.data() + i, 480, f_out.data(), f_out.size());
      const size_t n_p = to_pcm->convert(pcm.data() + i, 480, p_out.data(), p_out.size());
      ASSERT_EQ(n_ref, 160u);
      ASSERT_EQ(n_f, n_ref);
      ASSERT_EQ(n_p, n_ref);
      std::vector<int16_t> expected(n_ref);
      ae::encode_samples(ref_out.data(), n_ref, SampleType::kPcm16, expected.data());
      for (size_t k = 0; k < n_ref; ++k) {
        ASSERT_EQ(f_out[k], ref_out[k]);
        ASSERT_EQ(p_out[k], expected[k]);
      }
    }
  }
}

TEST(FormatConverter, InputsLargerThanMaxFramesAreSplitTransparently) {
  const AudioFormat in{44100, 2, SampleType::kFloat32}, out{16000, 1, SampleType::kMulaw};
  std::vector<float> x(44100 * 2);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(0.3 * std::sin(0.01 * static_cast<double>(i)));
  auto small = make(in, out, ResamplerKind::kSoxr, 256);
  auto big = make(in, out, ResamplerKind::kSoxr, 44100);
  std::vector<uint8_t> a(small->max_output_frames(44100)), b(big->max_output_frames(44100));
  const size_t na = small->convert(x.data(), 44100, a.data(), a.size());
  const size_t nb = big->convert(x.data(), 44100, b.data(), b.size());
  ASSERT_EQ(na, 16000u);
  ASSERT_EQ(nb, 16000u);
  EXPECT_EQ(a, b);
  std::vector<uint8_t> tail(small->max_flush_frames());
  const size_t nt = small->flush(tail.data(), tail.size());
  EXPECT_EQ(static_cast<long>(na + nt), std::lround(16000 + small->delay_frames()));
}

TEST(FormatConverter, ConvertNeitherAllocatesNorLocks) {
  if (!ae::rt::probe_installed()) GTEST_SKIP() << "the allocation/lock probe is not linked (sanitizer build)";
  for (auto kind : {ResamplerKind::kSpeex, ResamplerKind::kSoxr}) {
    auto conv = make({16000, 1, SampleType::kPcm16}, {48000, 2, SampleType::kFloat32}, kind, 160);
    auto pcm = sine_pcm16(16000, 1600, 1);  // 10x max_input_frames per call: exercises the internal split
    std::vector<float> out(conv->max_output_frames(1600) * 2);
    (void)conv->convert(pcm.data(), 1600, out.data(), conv->max_output_frames(1600));
    ae::rt::reset_violation_counts();
    {
      ae::rt::ScopedAudioThread audio;
      for (int i = 0; i < 100; ++i) (void)conv->convert(pcm.data(), 1600, out.data(), conv->max_output_frames(1600));
    }
    EXPECT_EQ(ae::rt::violation_counts().allocations, 0u) << ae::to_string(kind);
    EXPECT_EQ(ae::rt::violation_counts().mutex_locks, 0u) << ae::to_string(kind);
  }
}

TEST(FormatConverter, RejectsInvalidFormatsNamingTheSide) {
  auto bad = FormatConverter::create({16000, 1, SampleType::kPcm16}, {16000, 12, SampleType::kPcm16},
                                     ResamplerKind::kSoxr, 480);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), ae::Error::kInvalidFormat);
  EXPECT_NE(bad.message().find("output format: channels 12"), std::string::npos) << bad.message();
  bad = FormatConverter::create({1000, 1, SampleType::kPcm16}, {16000, 1, SampleType::kPcm16}, ResamplerKind::kSoxr,
                                480);
  EXPECT_NE(bad.message().find("input format: sample_rate_hz 1000"), std::string::npos) << bad.message();
  bad = FormatConverter::create({16000, 1, SampleType::kPcm16}, {16000, 1, SampleType::kPcm16}, ResamplerKind::kSoxr, 0);
  EXPECT_EQ(bad.error(), ae::Error::kInvalidArgument);
}

}  // namespace
