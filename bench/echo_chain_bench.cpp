// The echo-processing chain per 10 ms frame at 16 kHz against webrtc::AudioProcessing with the same components
// called directly, in the same run. Both feed an EnergyVad with the processed frame.
//   BM_EchoProcessor/<suppression>   WebRtcEchoProcessor (HPF + AEC + NS + AGC through the C functions, double-talk
//                                    detector) + EnergyVad; 2 = kHigh fixed, 3 = kAdaptive (the default)
//   BM_AudioProcessing               ProcessReverseStream + set_stream_delay_ms + ProcessStream (HPF + AEC at high
//                                    suppression + NS + AGC adaptive digital) + EnergyVad
// Input: the echo scenario of the tests (synthesized speech through a synthetic room, 60 ms, double talk), looped.
// Counter: sessions_per_core (10 ms of audio per frame / CPU time per frame).
#include <benchmark/benchmark.h>

#include <audioengine/echo_canceller.hpp>
#include <audioengine/vad.hpp>
#include <webrtc/modules/audio_processing/include/audio_processing.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "echo_bench_support.hpp"

namespace {

constexpr int kRate = 16000;
constexpr size_t kFrame = 160;
constexpr int kDelayMs = 60;

const ae::test::EchoScenario* scenario() { return ae::bench::echo_scenario(); }
void counters(benchmark::State& state) { ae::bench::set_sessions_per_core(state); }

void BM_EchoProcessor(benchmark::State& state) {
  const auto* sc = scenario();
  ae::EchoCancellerConfig config;
  config.suppression = state.range(0) == 3 ? ae::EchoSuppression::kAdaptive : ae::EchoSuppression::kHigh;
  auto p = ae::make_echo_processor(config);
  ae::EnergyVad vad(ae::VadConfig{});
  if (sc == nullptr || !p.ok() || !(*p)->prepare(kRate, kFrame).ok() || !vad.prepare(kRate, kFrame).ok()) {
    state.SkipWithError("no scenario or processor");
    return;
  }
  const size_t frames = sc->mic.size() / kFrame;
  std::vector<float> buf(kFrame);
  size_t k = 0;
  float voiced = 0;
  for (auto _ : state) {
    if (k == frames) k = 0;
    std::copy_n(sc->mic.data() + k * kFrame, kFrame, buf.data());
    ae::ProcessContext ctx;
    ctx.sample_rate_hz = kRate;
    ctx.render = sc->far.data() + k * kFrame;
    ctx.render_frames = kFrame;
    ctx.echo_delay_ms = kDelayMs;
    (*p)->process(buf.data(), kFrame, ctx);
    voiced += vad.process(buf.data(), kFrame);
    ++k;
  }
  benchmark::DoNotOptimize(voiced);
  counters(state);
}

void BM_AudioProcessing(benchmark::State& state) {
  const auto* sc = scenario();
  webrtc::Config config;
  config.Set<webrtc::ExtendedFilter>(new webrtc::ExtendedFilter(true));
  config.Set<webrtc::DelayAgnostic>(new webrtc::DelayAgnostic(true));
  config.Set<webrtc::ExperimentalAgc>(new webrtc::ExperimentalAgc(false));
  std::unique_ptr<webrtc::AudioProcessing> apm(webrtc::AudioProcessing::Create(config));
  apm->high_pass_filter()->Enable(true);
  apm->echo_cancellation()->set_suppression_level(webrtc::EchoCancellation::kHighSuppression);
  apm->echo_cancellation()->Enable(true);
  apm->noise_suppression()->set_level(webrtc::NoiseSuppression::kModerate);
  apm->noise_suppression()->Enable(true);
  apm->gain_control()->set_mode(webrtc::GainControl::kAdaptiveDigital);
  apm->gain_control()->Enable(true);
  ae::EnergyVad vad(ae::VadConfig{});
  if (sc == nullptr || !vad.prepare(kRate, kFrame).ok()) {
    state.SkipWithError("no scenario");
    return;
  }
  const webrtc::StreamConfig stream(kRate, 1);
  const size_t frames = sc->mic.size() / kFrame;
  std::vector<float> buf(kFrame), far(kFrame), far_out(kFrame);
  size_t k = 0;
  float voiced = 0;
  for (auto _ : state) {
    if (k == frames) k = 0;
    std::copy_n(sc->mic.data() + k * kFrame, kFrame, buf.data());
    std::copy_n(sc->far.data() + k * kFrame, kFrame, far.data());
    const float* far_in = far.data();
    float* far_dst = far_out.data();
    apm->ProcessReverseStream(&far_in, stream, stream, &far_dst);
    apm->set_stream_delay_ms(kDelayMs);
    const float* in = buf.data();
    float* out = buf.data();
    apm->ProcessStream(&in, stream, stream, &out);
    voiced += vad.process(buf.data(), kFrame);
    ++k;
  }
  benchmark::DoNotOptimize(voiced);
  counters(state);
}

}  // namespace

BENCHMARK(BM_EchoProcessor)->Arg(3)->Arg(2);
BENCHMARK(BM_AudioProcessing);
BENCHMARK_MAIN();
