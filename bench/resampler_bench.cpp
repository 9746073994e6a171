// Cost of one 10 ms mono block through each resampler lane, side by side in one run, with each lane's delay.
//   speex        SpeexDSP quality 3 (the fast lane)
//   soxr_lowlat  soxr "HQ" with its smallest DFT sizes (ResamplerConfig::low_latency, our quality lane)
//   soxr_default soxr with the library's own defaults ("HQ", default DFT sizes)
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "audioengine/resampler.hpp"

namespace {

enum Lane { kSpeexQ3 = 0, kSoxrLowLatency = 1, kSoxrDefault = 2 };

void BM_Resample10ms(benchmark::State& state) {
  const auto lane = static_cast<Lane>(state.range(0));
  ae::ResamplerConfig c;
  c.input_rate_hz = static_cast<int>(state.range(1));
  c.output_rate_hz = static_cast<int>(state.range(2));
  c.kind = lane == kSpeexQ3 ? ae::ResamplerKind::kSpeex : ae::ResamplerKind::kSoxr;
  c.low_latency = lane != kSoxrDefault;
  auto created = ae::Resampler::create(c);
  if (!created.ok()) {
    state.SkipWithError(created.message().c_str());
    return;
  }
  ae::Resampler& r = **created;
  const size_t block = static_cast<size_t>(c.input_rate_hz / 100);
  std::vector<float> in(block), out(r.max_output_frames(block));
  for (size_t i = 0; i < block; ++i) in[i] = 0.5f * std::sin(0.05f * static_cast<float>(i));
  for (auto _ : state) {
    benchmark::DoNotOptimize(r.process(in.data(), block, out.data(), out.size()));
    benchmark::ClobberMemory();
  }
  state.counters["delay_ms"] = r.delay_ms();
  static const char* kNames[] = {"speex_q3", "soxr_lowlat", "soxr_default"};
  state.SetLabel(kNames[lane]);
}

void Args(benchmark::internal::Benchmark* b) {
  const int pairs[][2] = {{16000, 48000}, {48000, 16000}, {24000, 16000}};
  for (const auto& p : pairs) {
    for (int lane : {kSpeexQ3, kSoxrLowLatency, kSoxrDefault}) b->Args({lane, p[0], p[1]});
  }
  b->ArgNames({"lane", "in_hz", "out_hz"});
}

BENCHMARK(BM_Resample10ms)->Apply(Args);

}  // namespace

BENCHMARK_MAIN();
