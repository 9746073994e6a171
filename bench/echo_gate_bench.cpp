// The barge-in's echo gate per 10 ms period at 16 kHz: the whole-band decision (the gate as the engine runs it by
// default: two mean squares and a scan of the render history) against the banded one (one 512-point complex FFT
// of the render and processed blocks, band powers, an envelope and a coupling per band), in the same run.
//   BM_EchoGate/0/0        whole-band without the envelope's fall (the gate before echo_gate_tail_fall_db)
//   BM_EchoGate/0/60       whole-band, the envelope falling 60 dB over the tail (the engine's default)
//   BM_EchoGate/<bands>/60 that many bands from 100 Hz to 4 kHz
// Input, looped: synthesized speech (espeak-ng) as the render; as the processed capture its echo (60 ms, -20 dB)
// plus another voice over part of it.
// Counter: sessions_per_core (10 ms of audio per period / CPU time per period).
#include <benchmark/benchmark.h>

#include <audioengine/speech_synth.hpp>

#include <algorithm>
#include <vector>

#include "engine/echo_gate.hpp"

namespace {

constexpr int kRate = 16000;
constexpr size_t kPeriod = 160;

struct Input {
  std::vector<float> render, processed;
};

const Input* input() {
  static const Input in = [] {
    Input x;
    ae::SpeechOptions ai;
    ai.sample_rate_hz = kRate;
    ae::SpeechOptions user = ai;
    user.voice = "en+f3";
    user.pitch = 70;
    auto a = ae::synthesize_speech("Tomorrow in Paris it will be mostly sunny in the morning.", ai);
    auto u = ae::synthesize_speech("Wait, stop. That is not what I asked for.", user);
    if (!a.ok() || !u.ok()) return x;
    x.render = *a;
    x.processed.assign(x.render.size(), 0.0f);
    const size_t delay = 60 * kRate / 1000;
    for (size_t i = delay; i < x.render.size(); ++i) x.processed[i] = 0.1f * x.render[i - delay];
    for (size_t i = 0; i < u->size() && x.render.size() / 2 + i < x.processed.size(); ++i) {
      x.processed[x.render.size() / 2 + i] += 0.05f * (*u)[i];
    }
    return x;
  }();
  return in.render.empty() ? nullptr : &in;
}

void BM_EchoGate(benchmark::State& state) {
  const Input* in = input();
  ae::EchoGateConfig config;
  config.tail_fall_db = static_cast<double>(state.range(1));
  config.num_bands = static_cast<int>(state.range(0));
  ae::EchoGate gate;
  if (in == nullptr || !gate.prepare(config).ok()) {
    state.SkipWithError("no input (espeak-ng) or the gate did not prepare");
    return;
  }
  const size_t periods = in->render.size() / kPeriod;
  size_t k = 0;
  int near_end = 0;
  for (auto _ : state) {
    if (k == periods) k = 0;
    near_end += gate.update_blocks(in->render.data() + k * kPeriod, in->processed.data() + k * kPeriod, kPeriod, 60)
                    ? 1
                    : 0;
    ++k;
  }
  benchmark::DoNotOptimize(near_end);
  // 10 ms of audio per period: how many streams one core keeps up with.
  state.counters["sessions_per_core"] =
      benchmark::Counter(0.01 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EchoGate)->Args({0, 0})->Args({0, 60})->Args({16, 60})->Args({32, 60})->Args({64, 60});

}  // namespace

BENCHMARK_MAIN();
