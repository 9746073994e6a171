// Float to PCM16, the conversion every chunk the consumer reads goes through (try_read_chunk fills
// CaptureChunk::data): encode_samples against the same rounding written as plain branches, as the library did
// before and as most hand-written converters do, side by side in one run. Both round halves away from zero, clip
// and give NaN as 0 (Format.Pcm16BlockEncodingMatchesTheScalarForm checks that they agree to the bit).
//   BM_EncodePcm16/N            encode_samples, N samples (160 = a 10 ms chunk at 16 kHz)
//   BM_EncodePcm16Branching/N   the branching form, compiled here with the library's flags
//   BM_DecodePcm16/N            the way back, for scale
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "audioengine/format.hpp"

namespace {

// Speech-like levels with some clipping: a tone at 0 dBFS plus a little noise.
std::vector<float> signal(size_t n) {
  std::vector<float> v(n);
  uint32_t x = 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    v[i] = 1.05f * std::sin(0.05f * static_cast<float>(i)) + 1e-3f * (static_cast<float>(x >> 8) / 16777216.0f);
  }
  return v;
}

// Times `convert`, which writes `out` (the DoNotOptimize target) from `n` samples.
template <typename Out, typename Convert>
void time_conversion(benchmark::State& state, size_t n, Out& out, Convert convert) {
  for (auto _ : state) {
    convert();
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}

// Times `reference`, a hand-written form of a library conversion, once it has written into `out` exactly what the
// library wrote into `expected`; else the benchmark reports `disagree`.
template <typename Out, typename Convert>
void time_reference(benchmark::State& state, size_t n, Out& out, const Out& expected, Convert reference,
                    const char* disagree) {
  reference();
  if (out != expected) {
    state.SkipWithError(disagree);
    return;
  }
  time_conversion(state, n, out, reference);
}

void BM_EncodePcm16(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const std::vector<float> in = signal(n);
  std::vector<int16_t> out(n);
  time_conversion(state, n, out, [&] { ae::encode_samples(in.data(), n, ae::SampleType::kPcm16, out.data()); });
}
BENCHMARK(BM_EncodePcm16)->Arg(160)->Arg(480)->Arg(4096);

inline int16_t pcm16_branching(float x) {
  const float scaled = x * 32768.0f;
  if (!(scaled == scaled)) return 0;
  if (scaled >= 32767.0f) return 32767;
  if (scaled <= -32768.0f) return -32768;
  return static_cast<int16_t>(scaled >= 0.0f ? scaled + 0.5f : scaled - 0.5f);
}

[[gnu::noinline]] void encode_branching(const float* src, size_t n, uint8_t* dst) {
  for (size_t i = 0; i < n; ++i) {
    const int16_t v = pcm16_branching(src[i]);
    std::memcpy(dst + 2 * i, &v, sizeof v);
  }
}

void BM_EncodePcm16Branching(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const std::vector<float> in = signal(n);
  std::vector<int16_t> out(n), check(n);
  ae::encode_samples(in.data(), n, ae::SampleType::kPcm16, check.data());
  time_reference(state, n, out, check, [&] { encode_branching(in.data(), n, reinterpret_cast<uint8_t*>(out.data())); },
                 "the branching form and encode_samples disagree");
}
BENCHMARK(BM_EncodePcm16Branching)->Arg(160)->Arg(480)->Arg(4096);

void BM_DecodePcm16(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  std::vector<int16_t> in(n);
  ae::encode_samples(signal(n).data(), n, ae::SampleType::kPcm16, in.data());
  std::vector<float> out(n);
  time_conversion(state, n, out, [&] { ae::decode_samples(in.data(), ae::SampleType::kPcm16, n, out.data()); });
}
BENCHMARK(BM_DecodePcm16)->Arg(160)->Arg(480)->Arg(4096);

// ---- G.711 (the telephony preset's chunks and AI audio) ------------------------------------------------------
// encode_samples / decode_samples against a sample at a time through the public single-sample codecs, as the
// library did before: the branching float-to-16-bit step, then linear_to_ulaw / linear_to_alaw; each code through
// ulaw_to_linear / alaw_to_linear and scaled. Argument: 0 = mu-law, 1 = A-law; then the sample count.
ae::SampleType law(const benchmark::State& state) {
  return state.range(0) == 0 ? ae::SampleType::kMulaw : ae::SampleType::kAlaw;
}

[[gnu::noinline]] void encode_g711_per_sample(const float* src, size_t n, bool mu, uint8_t* dst) {
  for (size_t i = 0; i < n; ++i) {
    const int16_t v = pcm16_branching(src[i]);
    dst[i] = mu ? ae::linear_to_ulaw(v) : ae::linear_to_alaw(v);
  }
}

[[gnu::noinline]] void decode_g711_per_sample(const uint8_t* src, size_t n, bool mu, float* dst) {
  for (size_t i = 0; i < n; ++i) {
    dst[i] = static_cast<float>(mu ? ae::ulaw_to_linear(src[i]) : ae::alaw_to_linear(src[i])) * (1.0f / 32768.0f);
  }
}

std::vector<uint8_t> all_codes(size_t n) {
  std::vector<uint8_t> v(n);
  uint32_t x = 7;
  for (auto& c : v) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<uint8_t>(x >> 24);
  }
  return v;
}

void BM_EncodeG711(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(1));
  const std::vector<float> in = signal(n);
  std::vector<uint8_t> out(n);
  time_conversion(state, n, out, [&] { ae::encode_samples(in.data(), n, law(state), out.data()); });
}
BENCHMARK(BM_EncodeG711)->ArgNames({"alaw", "n"})->ArgsProduct({{0, 1}, {160, 4096}});

void BM_EncodeG711PerSample(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(1));
  const bool mu = state.range(0) == 0;
  const std::vector<float> in = signal(n);
  std::vector<uint8_t> out(n), check(n);
  ae::encode_samples(in.data(), n, law(state), check.data());
  time_reference(state, n, out, check, [&] { encode_g711_per_sample(in.data(), n, mu, out.data()); },
                 "the per-sample form and encode_samples disagree");
}
BENCHMARK(BM_EncodeG711PerSample)->ArgNames({"alaw", "n"})->ArgsProduct({{0, 1}, {160, 4096}});

void BM_DecodeG711(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(1));
  const std::vector<uint8_t> in = all_codes(n);
  std::vector<float> out(n);
  time_conversion(state, n, out, [&] { ae::decode_samples(in.data(), law(state), n, out.data()); });
}
BENCHMARK(BM_DecodeG711)->ArgNames({"alaw", "n"})->ArgsProduct({{0, 1}, {160, 4096}});

void BM_DecodeG711PerSample(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(1));
  const bool mu = state.range(0) == 0;
  const std::vector<uint8_t> in = all_codes(n);
  std::vector<float> out(n), check(n);
  ae::decode_samples(in.data(), law(state), n, check.data());
  time_reference(state, n, out, check, [&] { decode_g711_per_sample(in.data(), n, mu, out.data()); },
                 "the per-sample form and decode_samples disagree");
}
BENCHMARK(BM_DecodeG711PerSample)->ArgNames({"alaw", "n"})->ArgsProduct({{0, 1}, {160, 4096}});

}  // namespace

BENCHMARK_MAIN();
