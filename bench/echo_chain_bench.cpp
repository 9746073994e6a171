// The echo-processing chains per 10 ms frame at 16 kHz against their libraries called directly, with the same
// components, in the same run. All feed an EnergyVad with the processed frame.
//   BM_EchoProcessor/<suppression>   WebRtcEchoProcessor (HPF + AEC + NS + AGC through the C functions, double-talk
//                                    detector) + EnergyVad; 2 = kHigh fixed, 3 = kAdaptive (the default)
//   BM_AudioProcessing               ProcessReverseStream + set_stream_delay_ms + ProcessStream (HPF + AEC at high
//                                    suppression + NS + AGC adaptive digital) + EnergyVad
//   BM_SpeexEchoProcessor/<supp.>    SpeexEchoProcessor (HPF + 300 ms echo canceller + preprocessor with residual
//                                    echo suppression, NS and AGC; double-talk detector, delay read off the filter
//                                    once a second) + EnergyVad
//   BM_SpeexRaw                      float to int16, speex_echo_cancellation + speex_preprocess_run (the same
//                                    filter length, echo state, NS and AGC), back to float + EnergyVad
// Input: the echo scenario of the tests (synthesized speech through a synthetic room, 60 ms, double talk), looped.
// Counter: sessions_per_core (10 ms of audio per frame / CPU time per frame).
#include <benchmark/benchmark.h>

#include <audioengine/echo_canceller.hpp>
#include <audioengine/vad.hpp>
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>
#include <webrtc/modules/audio_processing/include/audio_processing.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "echo_bench_support.hpp"

namespace {

constexpr int kRate = 16000;
constexpr size_t kFrame = 160;
constexpr int kDelayMs = 60;

const ae::test::EchoScenario* scenario() { return ae::bench::echo_scenario(); }
void counters(benchmark::State& state) { ae::bench::set_sessions_per_core(state); }

void run_echo_processor(benchmark::State& state, ae::EchoImplementation implementation) {
  const auto* sc = scenario();
  ae::EchoCancellerConfig config;
  config.implementation = implementation;
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

void BM_EchoProcessor(benchmark::State& state) { run_echo_processor(state, ae::EchoImplementation::kWebRtc); }
void BM_SpeexEchoProcessor(benchmark::State& state) { run_echo_processor(state, ae::EchoImplementation::kSpeex); }

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

void BM_SpeexRaw(benchmark::State& state) {
  const auto* sc = scenario();
  SpeexEchoState* echo = speex_echo_state_init(static_cast<int>(kFrame), kRate * 300 / 1000);
  SpeexPreprocessState* pre = speex_preprocess_state_init(static_cast<int>(kFrame), kRate);
  spx_int32_t rate = kRate, on = 1, noise_db = 10, max_gain_db = 9;
  float level = 32768.0f * 0.1778f;  // 15 dB below full scale, as the processor maps the default AGC target
  speex_echo_ctl(echo, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
  speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_ECHO_STATE, echo);
  speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &noise_db);
  speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_AGC, &on);
  speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_AGC_LEVEL, &level);
  speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_AGC_MAX_GAIN, &max_gain_db);
  ae::EnergyVad vad(ae::VadConfig{});
  if (sc == nullptr || !vad.prepare(kRate, kFrame).ok()) {
    state.SkipWithError("no scenario");
  } else {
    const size_t frames = sc->mic.size() / kFrame;
    std::vector<float> buf(kFrame);
    std::vector<spx_int16_t> near(kFrame), far(kFrame), out(kFrame);
    auto to_i16 = [](float v) {
      return static_cast<spx_int16_t>(std::lrint(std::clamp(v * 32768.0f, -32768.0f, 32767.0f)));
    };
    size_t k = 0;
    float voiced = 0;
    for (auto _ : state) {
      if (k == frames) k = 0;
      for (size_t i = 0; i < kFrame; ++i) {
        near[i] = to_i16(sc->mic[k * kFrame + i]);
        far[i] = to_i16(sc->far[k * kFrame + i]);
      }
      speex_echo_cancellation(echo, near.data(), far.data(), out.data());
      speex_preprocess_run(pre, out.data());
      for (size_t i = 0; i < kFrame; ++i) buf[i] = static_cast<float>(out[i]) * (1.0f / 32768.0f);
      voiced += vad.process(buf.data(), kFrame);
      ++k;
    }
    benchmark::DoNotOptimize(voiced);
    counters(state);
  }
  speex_preprocess_state_destroy(pre);
  speex_echo_state_destroy(echo);
}

}  // namespace

BENCHMARK(BM_EchoProcessor)->Arg(3)->Arg(2);
BENCHMARK(BM_AudioProcessing);
BENCHMARK(BM_SpeexEchoProcessor)->Arg(3)->Arg(2);
BENCHMARK(BM_SpeexRaw);
BENCHMARK_MAIN();
