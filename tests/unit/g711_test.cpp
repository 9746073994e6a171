// G.711 against sox, the independent peer: every 16-bit input, every code, and a real speech recording.
//
// sox adds TPDF dither before any encoder whose precision is below its input's (mu-law: 14 bits, A-law: 13),
// which makes plain `sox IN -e mu-law OUT` change from run to run; the comparisons therefore run sox with -D
// (no dither), which is the deterministic sox encoder.
#include <gtest/gtest.h>
#include <sndfile.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "audioengine/format.hpp"
#include "test_support.hpp"

namespace {

const char* kSpeechFile = "/usr/share/sounds/alsa/Front_Center.wav";

bool have_sox() { return ae::test::run_command("command -v sox >/dev/null 2>&1") == 0; }

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::vector<int16_t> read_int16(const std::string& path) {
  std::vector<uint8_t> b = read_bytes(path);
  std::vector<int16_t> out(b.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int16_t>(b[2 * i] | (b[2 * i + 1] << 8));
  return out;
}

void write_bytes(const std::string& path, const void* data, size_t size) {
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
}

std::vector<int16_t> read_speech_pcm16() {
  SF_INFO info{};
  SNDFILE* f = sf_open(kSpeechFile, SFM_READ, &info);
  if (f == nullptr) return {};
  std::vector<int16_t> samples(static_cast<size_t>(info.frames * info.channels));
  sf_read_short(f, samples.data(), static_cast<sf_count_t>(samples.size()));
  sf_close(f);
  return samples;
}

class G711VsSox : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_sox()) GTEST_SKIP() << "sox is not installed: the G.711 comparison against sox cannot run";
  }
  ae::test::TempDir temp_;
  const std::string dir_ = temp_.path();
};

TEST_F(G711VsSox, EncodesEveryInt16LikeSox) {
  std::vector<int16_t> all(65536);
  for (int i = 0; i < 65536; ++i) all[static_cast<size_t>(i)] = static_cast<int16_t>(i - 32768);
  const std::string raw = dir_ + "/all.s16";
  write_bytes(raw, all.data(), all.size() * 2);
  for (const char* law : {"mu-law", "a-law"}) {
    const std::string out = dir_ + "/all." + law;
    ASSERT_EQ(ae::test::run_command("sox -D -t raw -r 8000 -e signed -b 16 -c 1 " + raw + " -t raw -e " + law +
                                    " -b 8 " + out + " 2>/dev/null"), 0);
    std::vector<uint8_t> sox = read_bytes(out);
    ASSERT_EQ(sox.size(), all.size());
    size_t mismatches = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      const uint8_t ours = law[0] == 'm' ? ae::linear_to_ulaw(all[i]) : ae::linear_to_alaw(all[i]);
      if (ours != sox[i] && mismatches++ < 5) {
        ADD_FAILURE() << law << " input " << all[i] << ": ours 0x" << std::hex << int(ours) << " sox 0x" << int(sox[i]);
      }
    }
    EXPECT_EQ(mismatches, 0u) << law;
  }
}

TEST_F(G711VsSox, DecodesEveryCodeLikeSox) {
  std::vector<uint8_t> codes(256);
  for (int i = 0; i < 256; ++i) codes[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
  const std::string raw = dir_ + "/codes";
  write_bytes(raw, codes.data(), codes.size());
  for (const char* law : {"mu-law", "a-law"}) {
    const std::string out = dir_ + "/dec.s16";
    ASSERT_EQ(ae::test::run_command(std::string("sox -t raw -r 8000 -e ") + law + " -b 8 -c 1 " + raw +
                                    " -t raw -e signed -b 16 " + out), 0);
    std::vector<int16_t> sox = read_int16(out);
    ASSERT_EQ(sox.size(), 256u);
    for (int c = 0; c < 256; ++c) {
      const int16_t ours = law[0] == 'm' ? ae::ulaw_to_linear(static_cast<uint8_t>(c))
                                         : ae::alaw_to_linear(static_cast<uint8_t>(c));
      EXPECT_EQ(ours, sox[static_cast<size_t>(c)]) << law << " code " << c;
    }
  }
}

TEST_F(G711VsSox, SpeechRecordingEncodesAndDecodesLikeSox) {
  std::vector<int16_t> speech = read_speech_pcm16();
  if (speech.empty()) GTEST_SKIP() << kSpeechFile << " is missing (Debian package alsa-utils)";
  ASSERT_GT(speech.size(), 48000u);  // over a second of a voice
  for (const char* law : {"mu-law", "a-law"}) {
    const bool mu = law[0] == 'm';
    const std::string enc = dir_ + "/speech." + law;
    ASSERT_EQ(ae::test::run_command(std::string("sox -D ") + kSpeechFile + " -t raw -e " + law + " -b 8 " + enc +
                                    " 2>/dev/null"), 0);
    std::vector<uint8_t> sox_codes = read_bytes(enc);
    ASSERT_EQ(sox_codes.size(), speech.size());
    size_t enc_mismatch = 0;
    for (size_t i = 0; i < speech.size(); ++i) {
      const uint8_t ours = mu ? ae::linear_to_ulaw(speech[i]) : ae::linear_to_alaw(speech[i]);
      enc_mismatch += ours != sox_codes[i];
    }
    EXPECT_EQ(enc_mismatch, 0u) << law << " encoding differs from sox on " << enc_mismatch << " of "
                                << speech.size() << " samples";

    const std::string dec = dir_ + "/speech_dec.s16";
    ASSERT_EQ(ae::test::run_command(std::string("sox -t raw -r 48000 -e ") + law + " -b 8 -c 1 " + enc +
                                    " -t raw -e signed -b 16 " + dec), 0);
    std::vector<int16_t> sox_linear = read_int16(dec);
    ASSERT_EQ(sox_linear.size(), sox_codes.size());
    size_t dec_mismatch = 0;
    for (size_t i = 0; i < sox_codes.size(); ++i) {
      const int16_t ours = mu ? ae::ulaw_to_linear(sox_codes[i]) : ae::alaw_to_linear(sox_codes[i]);
      dec_mismatch += ours != sox_linear[i];
    }
    EXPECT_EQ(dec_mismatch, 0u) << law << " decoding differs from sox";

    // The float path (what FormatConverter uses) must give the same bytes.
    std::vector<float> as_float(speech.size());
    for (size_t i = 0; i < speech.size(); ++i) as_float[i] = static_cast<float>(speech[i]) / 32768.0f;
    std::vector<uint8_t> via_float(speech.size());
    ae::encode_samples(as_float.data(), as_float.size(), mu ? ae::SampleType::kMulaw : ae::SampleType::kAlaw,
                       via_float.data());
    EXPECT_EQ(via_float, sox_codes) << law;
  }
}

// Without sox: the codecs' own structure.
TEST(G711, RoundTripErrorIsBoundedBySegmentStep) {
  for (int x = -32768; x <= 32767; ++x) {
    const auto s = static_cast<int16_t>(x);
    const int mu = ae::ulaw_to_linear(ae::linear_to_ulaw(s));
    const int a = ae::alaw_to_linear(ae::linear_to_alaw(s));
    // Segment step sizes double each segment: the error bound grows with the magnitude (about 1/32 of it).
    const int bound = 16 + std::abs(x) / 16;
    ASSERT_LE(std::abs(mu - x), bound) << "mu-law " << x;
    ASSERT_LE(std::abs(a - x), bound) << "A-law " << x;
  }
}

TEST(G711, EncodingADecodedCodeGivesTheCodeBack) {
  for (int c = 0; c < 256; ++c) {
    const auto code = static_cast<uint8_t>(c);
    EXPECT_EQ(ae::linear_to_ulaw(ae::ulaw_to_linear(code)), code == 0x7F ? 0xFF : code) << "mu-law code " << c;
    EXPECT_EQ(ae::linear_to_alaw(ae::alaw_to_linear(code)), code) << "A-law code " << c;
  }
  EXPECT_EQ(ae::linear_to_ulaw(0), 0xFF);
  EXPECT_EQ(ae::linear_to_alaw(0), 0xD5);
}

}  // namespace
