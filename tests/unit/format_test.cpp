#include "audioengine/format.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <vector>

namespace {

using ae::AudioFormat;
using ae::SampleType;

TEST(Format, SizesPerSampleAndFrame) {
  EXPECT_EQ(ae::bytes_per_sample(SampleType::kPcm16), 2u);
  EXPECT_EQ(ae::bytes_per_sample(SampleType::kFloat32), 4u);
  EXPECT_EQ(ae::bytes_per_sample(SampleType::kMulaw), 1u);
  EXPECT_EQ(ae::bytes_per_sample(SampleType::kAlaw), 1u);
  EXPECT_EQ(ae::bytes_per_frame(AudioFormat{48000, 2, SampleType::kFloat32}), 8u);
}

TEST(Format, SampleTypeNamesAndAliasesRoundTrip) {
  for (SampleType t : ae::get_supported_formats().sample_types) {
    auto parsed = ae::parse_sample_type(ae::to_string(t));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, t);
  }
  const std::pair<const char*, SampleType> aliases[] = {
      {"s16", SampleType::kPcm16},  {"S16LE", SampleType::kPcm16}, {"float", SampleType::kFloat32},
      {"mu-law", SampleType::kMulaw}, {"u-law", SampleType::kMulaw}, {"a-law", SampleType::kAlaw}};
  for (auto [text, type] : aliases) {
    auto parsed = ae::parse_sample_type(text);
    ASSERT_TRUE(parsed.ok()) << text;
    EXPECT_EQ(*parsed, type) << text;
  }
  auto bad = ae::parse_sample_type("mp3");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), ae::Error::kInvalidFormat);
  EXPECT_NE(bad.message().find("'mp3'"), std::string::npos) << bad.message();
  EXPECT_NE(bad.message().find("ulaw"), std::string::npos) << bad.message();
}

TEST(Format, ParsesFormatStringsWithDefaults) {
  auto f = ae::parse_audio_format("ulaw:8000:1");
  ASSERT_TRUE(f.ok()) << f.message();
  EXPECT_EQ(*f, (AudioFormat{8000, 1, SampleType::kMulaw}));
  f = ae::parse_audio_format("pcm16:44100");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, (AudioFormat{44100, 1, SampleType::kPcm16}));
  f = ae::parse_audio_format("f32");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, (AudioFormat{16000, 1, SampleType::kFloat32}));
  EXPECT_EQ(ae::to_string(AudioFormat{48000, 2, SampleType::kAlaw}), "alaw:48000:2");
  auto back = ae::parse_audio_format(ae::to_string(AudioFormat{22050, 8, SampleType::kFloat32}));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, (AudioFormat{22050, 8, SampleType::kFloat32}));
}

TEST(Format, BadFormatStringsNameTheField) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {{"pcm16:abc", "sample rate 'abc'"}, {"pcm16:16000:x", "channels 'x'"},
                        {"pcm16:4000", "sample_rate_hz 4000"}, {"pcm16:16000:9", "channels 9"},
                        {"wav:16000", "'wav'"}, {"pcm16:1:2:3", "4 fields"}};
  for (const Case& c : cases) {
    auto f = ae::parse_audio_format(c.text);
    ASSERT_FALSE(f.ok()) << c.text;
    EXPECT_EQ(f.error(), ae::Error::kInvalidFormat);
    EXPECT_NE(f.message().find(c.expected), std::string::npos) << c.text << ": " << f.message();
  }
}

TEST(Format, ValidateNamesValueAndRange) {
  auto s = ae::validate_format(AudioFormat{200000, 1, SampleType::kPcm16});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("sample_rate_hz 200000"), std::string::npos);
  EXPECT_NE(s.message().find("8000..192000"), std::string::npos);
  s = ae::validate_format(AudioFormat{16000, 0, SampleType::kPcm16});
  EXPECT_NE(s.message().find("channels 0"), std::string::npos);
  EXPECT_NE(s.message().find("1..8"), std::string::npos);
  EXPECT_TRUE(ae::validate_format(AudioFormat{8000, 8, SampleType::kMulaw}).ok());
}

TEST(Format, NegotiationFollowsTheDocumentedOrder) {
  const AudioFormat wanted{16000, 1, SampleType::kPcm16};
  auto pick = [&](std::vector<AudioFormat> offered) { return ae::negotiate_format(wanted, offered); };
  // 1. exact match wins over a "better" type.
  EXPECT_EQ(pick({{16000, 1, SampleType::kFloat32}, wanted}).value(), wanted);
  // 2. same rate and channels: best fidelity type.
  EXPECT_EQ(pick({{16000, 1, SampleType::kAlaw}, {16000, 1, SampleType::kMulaw}, {16000, 1, SampleType::kFloat32}}).value(),
            (AudioFormat{16000, 1, SampleType::kFloat32}));
  // 3. rate: equal before any other; then the closest above before anything below.
  EXPECT_EQ(pick({{48000, 1, SampleType::kFloat32}, {16000, 2, SampleType::kAlaw}}).value(),
            (AudioFormat{16000, 2, SampleType::kAlaw}));
  EXPECT_EQ(pick({{8000, 1, SampleType::kPcm16}, {48000, 1, SampleType::kPcm16}, {24000, 1, SampleType::kPcm16}}).value(),
            (AudioFormat{24000, 1, SampleType::kPcm16}));
  EXPECT_EQ(pick({{8000, 1, SampleType::kPcm16}, {11025, 1, SampleType::kPcm16}}).value(),
            (AudioFormat{11025, 1, SampleType::kPcm16}));
  // 4. channels: equal, then more, then fewer.
  const AudioFormat stereo{16000, 2, SampleType::kPcm16};
  EXPECT_EQ(ae::negotiate_format(stereo, {{16000, 1, SampleType::kPcm16}, {16000, 4, SampleType::kPcm16}}).value(),
            (AudioFormat{16000, 4, SampleType::kPcm16}));
  // Invalid offers are skipped; none valid is an error listing the offers.
  EXPECT_EQ(pick({{4000, 1, SampleType::kPcm16}, {32000, 1, SampleType::kPcm16}}).value(),
            (AudioFormat{32000, 1, SampleType::kPcm16}));
  auto none = pick({{4000, 1, SampleType::kPcm16}, {16000, 9, SampleType::kPcm16}});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error(), ae::Error::kInvalidFormat);
  EXPECT_NE(none.message().find("pcm16:4000:1, pcm16:16000:9"), std::string::npos) << none.message();
  EXPECT_FALSE(pick({}).ok());
}

TEST(Format, Pcm16ToFloatIsExactAndBack) {
  std::vector<int16_t> all(65536);
  for (int i = 0; i < 65536; ++i) all[static_cast<size_t>(i)] = static_cast<int16_t>(i - 32768);
  std::vector<float> f(all.size());
  ae::decode_samples(all.data(), SampleType::kPcm16, all.size(), f.data());
  EXPECT_EQ(f.front(), -1.0f);
  EXPECT_EQ(f[32768], 0.0f);
  std::vector<int16_t> back(all.size());
  ae::encode_samples(f.data(), f.size(), SampleType::kPcm16, back.data());
  EXPECT_EQ(back, all);
}

TEST(Format, FloatToPcm16RoundsToNearestAndClips) {
  const float in[] = {1.0f, 2.0f, -1.0f, -3.0f, 0.5f / 32768, -0.5f / 32768, 1.49f / 32768, 100.6f / 32768, NAN};
  const int16_t expected[] = {32767, 32767, -32768, -32768, 1, -1, 1, 101, 0};
  int16_t out[9];
  ae::encode_samples(in, 9, SampleType::kPcm16, out);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(out[i], expected[i]) << "input " << in[i];
}

// The documented rounding in its plain branching form: NaN gives 0, the range clips, halves round away from zero.
int16_t reference_pcm16(float x) {
  const float scaled = x * 32768.0f;
  if (!(scaled == scaled)) return 0;
  if (scaled >= 32767.0f) return 32767;
  if (scaled <= -32768.0f) return -32768;
  return static_cast<int16_t>(scaled >= 0.0f ? scaled + 0.5f : scaled - 0.5f);
}

// Every rounding boundary of the 16-bit range and beyond it (k and k + 0.5 steps, each with its 4 float
// neighbours on both sides), special values, and random bit patterns.
std::vector<float> rounding_inputs() {
  std::vector<float> in;
  for (int k = -32770; k <= 32770; ++k) {
    for (float y : {static_cast<float>(k), static_cast<float>(k) + 0.5f}) {
      float lo = y / 32768.0f, hi = lo;
      in.push_back(lo);
      for (int u = 0; u < 4; ++u) {
        lo = std::nextafter(lo, -INFINITY);
        hi = std::nextafter(hi, INFINITY);
        in.push_back(lo);
        in.push_back(hi);
      }
    }
  }
  for (float v : {0.0f, -0.0f, NAN, -NAN, INFINITY, -INFINITY, FLT_MAX, -FLT_MAX, FLT_MIN, -FLT_MIN,
                  std::nextafter(0.0f, 1.0f), std::nextafter(0.0f, -1.0f), 0.49999997f / 32768, -0.49999997f / 32768}) {
    in.push_back(v);
  }
  uint32_t x = 2463534242u;
  for (int i = 0; i < 200000; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    float v;
    std::memcpy(&v, &x, sizeof v);
    in.push_back(v);
  }
  return in;
}

TEST(Format, Pcm16BlockEncodingMatchesTheScalarForm) {
  // The rounding inputs encoded in blocks of every length from 1 to 17, at even and odd output addresses, so that
  // both the 8-sample path and the tail see each value.
  const std::vector<float> in = rounding_inputs();
  std::vector<int16_t> expected(in.size());
  for (size_t i = 0; i < in.size(); ++i) expected[i] = reference_pcm16(in[i]);

  std::vector<uint8_t> bytes(2 * in.size() + 1);
  size_t block = 1;
  for (size_t at = 0; at < in.size(); at += block, block = block % 17 + 1) {
    const size_t n = std::min(block, in.size() - at);
    uint8_t* out = bytes.data() + (at % 2);  // odd addresses too: the output is bytes
    ae::encode_samples(in.data() + at, n, SampleType::kPcm16, out);
    for (size_t j = 0; j < n; ++j) {
      int16_t got;
      std::memcpy(&got, out + 2 * j, sizeof got);
      ASSERT_EQ(got, expected[at + j]) << "input " << in[at + j] << " (bit pattern " << std::hex
                                       << std::bit_cast<uint32_t>(in[at + j]) << std::dec << "), block of " << n;
    }
  }
}

TEST(Format, G711BlockEncodingMatchesTheSingleSampleCodecs) {
  // encode_samples runs G.711 through the 16-bit block encoder in runs of 256 and a table of codes; the reference
  // is the documented rounding to 16 bits and then the single-sample codec (itself checked against sox in
  // g711_test). Blocks of 1 to 17 samples, and then of lengths around the run of 256.
  const std::vector<float> in = rounding_inputs();
  for (const SampleType law : {SampleType::kMulaw, SampleType::kAlaw}) {
    const bool mu = law == SampleType::kMulaw;
    std::vector<uint8_t> expected(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      const int16_t v = reference_pcm16(in[i]);
      expected[i] = mu ? ae::linear_to_ulaw(v) : ae::linear_to_alaw(v);
    }
    std::vector<uint8_t> got(in.size());
    size_t block = 1;
    for (size_t at = 0; at < in.size(); at += block, block = block % 17 + 1) {
      ae::encode_samples(in.data() + at, std::min(block, in.size() - at), law, got.data() + at);
    }
    for (size_t i = 0; i < in.size(); ++i) {
      ASSERT_EQ(got[i], expected[i]) << ae::to_string(law) << ", input " << in[i] << " (bit pattern " << std::hex
                                     << std::bit_cast<uint32_t>(in[i]) << std::dec << ")";
    }
    std::fill(got.begin(), got.end(), 0);
    const size_t lengths[] = {255, 256, 257, 511, 513, 1000, 4099};
    size_t at = 0;
    for (size_t k = 0; at < in.size(); ++k) {
      const size_t n = std::min(lengths[k % std::size(lengths)], in.size() - at);
      ae::encode_samples(in.data() + at, n, law, got.data() + at);
      at += n;
    }
    EXPECT_EQ(got, expected) << ae::to_string(law) << " in long blocks";
  }
}

TEST(Format, G711DecodingMatchesTheSingleSampleCodecs) {
  // Every code of both laws, decoded from a table: the single-sample codec's value over 32768, to the bit.
  uint8_t codes[256];
  for (int c = 0; c < 256; ++c) codes[c] = static_cast<uint8_t>(c);
  for (const SampleType law : {SampleType::kMulaw, SampleType::kAlaw}) {
    float out[256];
    ae::decode_samples(codes, law, 256, out);
    for (int c = 0; c < 256; ++c) {
      const int16_t v = law == SampleType::kMulaw ? ae::ulaw_to_linear(codes[c]) : ae::alaw_to_linear(codes[c]);
      EXPECT_EQ(std::bit_cast<uint32_t>(out[c]), std::bit_cast<uint32_t>(static_cast<float>(v) / 32768.0f))
          << ae::to_string(law) << " code " << c;
    }
  }
}

TEST(Format, Float32PassesThroughUnclipped) {
  const float in[] = {1.5f, -0.25f, 0.0f};
  float out[3];
  ae::encode_samples(in, 3, SampleType::kFloat32, out);
  float back[3];
  ae::decode_samples(out, SampleType::kFloat32, 3, back);
  EXPECT_EQ(std::memcmp(back, in, sizeof in), 0);
}

TEST(Format, InterleaveAndDeinterleaveAreInverse) {
  std::vector<float> l = {1, 2, 3}, r = {-1, -2, -3}, c = {10, 20, 30};
  const float* planes[] = {l.data(), r.data(), c.data()};
  std::vector<float> inter(9);
  ae::interleave(planes, 3, 3, inter.data());
  EXPECT_EQ(inter, (std::vector<float>{1, -1, 10, 2, -2, 20, 3, -3, 30}));
  std::vector<float> a(3), b(3), d(3);
  float* out[] = {a.data(), b.data(), d.data()};
  ae::deinterleave(inter.data(), 3, 3, out);
  EXPECT_EQ(a, l);
  EXPECT_EQ(b, r);
  EXPECT_EQ(d, c);
}

TEST(Format, RemixMonoStereoAndDownmix) {
  const float mono[] = {0.5f, -0.25f};
  float stereo[4];
  ae::remix(mono, 1, stereo, 2, 2);
  EXPECT_EQ(std::vector<float>(stereo, stereo + 4), (std::vector<float>{0.5f, 0.5f, -0.25f, -0.25f}));
  const float st[] = {1.0f, 0.0f, 0.5f, -0.5f};
  float down[2];
  ae::remix(st, 2, down, 1, 2);
  EXPECT_EQ(down[0], 0.5f);
  EXPECT_EQ(down[1], 0.0f);
  const float quad[] = {1, 2, 3, 6};
  float m;
  ae::remix(quad, 4, &m, 1, 1);
  EXPECT_EQ(m, 3.0f);
  float six[6];
  ae::remix(quad, 4, six, 6, 1);
  EXPECT_EQ(std::vector<float>(six, six + 6), (std::vector<float>{1, 2, 3, 6, 3, 3}));
  float two[2];
  ae::remix(quad, 4, two, 2, 1);
  EXPECT_EQ(two[0], 1.0f);
  EXPECT_EQ(two[1], 2.0f);
}

TEST(Format, G711FloatPathMatchesIntegerCodec) {
  std::vector<float> f(2001);
  for (size_t i = 0; i < f.size(); ++i) f[i] = -1.0f + static_cast<float>(i) * 1e-3f;
  std::vector<uint8_t> mu(f.size()), a(f.size());
  ae::encode_samples(f.data(), f.size(), SampleType::kMulaw, mu.data());
  ae::encode_samples(f.data(), f.size(), SampleType::kAlaw, a.data());
  std::vector<int16_t> s(f.size());
  ae::encode_samples(f.data(), f.size(), SampleType::kPcm16, s.data());
  std::vector<float> dmu(f.size());
  ae::decode_samples(mu.data(), SampleType::kMulaw, mu.size(), dmu.data());
  for (size_t i = 0; i < f.size(); ++i) {
    ASSERT_EQ(mu[i], ae::linear_to_ulaw(s[i]));
    ASSERT_EQ(a[i], ae::linear_to_alaw(s[i]));
    ASSERT_EQ(dmu[i], static_cast<float>(ae::ulaw_to_linear(mu[i])) / 32768.0f);
  }
}

}  // namespace
