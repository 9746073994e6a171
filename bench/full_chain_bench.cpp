// The full capture chain per 10 ms frame at 16 kHz, through the engine and called directly, in the same run:
//   BM_EngineFullChain   AudioEngine on the inline virtual clock, one tick per iteration: the microphone from the
//                        capture queue, the far end from the playback queue (peeked as the render reference,
//                        then played into the memory sink), enable_echo_cancellation (HPF + AEC + NS + AGC,
//                        WebRtcEchoProcessor, suppression high), the energy VAD, the processed chunk to a
//                        real-time chunk callback. Every 100 ticks the next second of microphone and far-end
//                        audio is injected and queued (inside the timed loop).
//   BM_RawApmFullChain   the same WebRTC C functions in the same order with the same settings (our 80 Hz
//                        high-pass filter, AGC far end + virtual mic, NS analysis, AEC with aggressive NLP, NS,
//                        AGC), then EnergyVad, on the same frames, the output copied out.
// Input: the echo scenario of the tests (synthesized speech through a synthetic room, 60 ms, double talk), looped.
// BM_EngineFullChain's argument: 0 the VAD on the processed capture; 1 on the canceller's copy at the gentlest
// suppression (EchoCancellerConfig::vad_copy: a second AEC); 2 on a copy at the canceller's own suppression (its
// output before NS and AGC, no second AEC). The difference 1 - 0 is the copy's cost per tick. Second argument: 0
// the energy VAD, barge-in off (as the raw chain); 1 Silero with barge-in listening (never confirming: min_speech_ms
// 5 s, no recovery, no echo gate), so that with the copy the barge-in's own Silero hears it while the AI plays:
// {1,1} - {0,1} is the copy plus that second detector.
// Counter: sessions_per_core (10 ms of audio per frame / CPU time per frame). The processor alone (the engine minus
// its own tick work) is echo_chain_bench's BM_EchoProcessor/2.
#include <benchmark/benchmark.h>

#include <audioengine/engine.hpp>
#include <audioengine/vad.hpp>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "echo_bench_support.hpp"
#include "processing/webrtc/apm_library.hpp"
#include "processing/high_pass_filter.hpp"

namespace {

constexpr int kRate = 16000;
constexpr size_t kFrame = 160;
constexpr size_t kRefillTicks = 100;

const ae::test::EchoScenario* scenario() { return ae::bench::echo_scenario(); }
void counters(benchmark::State& state) { ae::bench::set_sessions_per_core(state); }

ae::EchoCancellerConfig chain_config() {
  ae::EchoCancellerConfig c;
  c.suppression = ae::EchoSuppression::kHigh;  // fixed NLP, as the raw chain
  c.noise_suppression = ae::NoiseSuppressionLevel::kModerate;
  c.agc_enabled = true;
  c.high_pass_filter = true;
  return c;
}

struct Sink {
  std::vector<float> out = std::vector<float>(kFrame);
  static void on_chunk(const ae::ChunkInfo& info, const float* mono, void* user) {
    auto* s = static_cast<Sink*>(user);
    std::copy_n(mono, std::min(kFrame, static_cast<size_t>(info.num_frames)), s->out.data());
  }
};

void BM_EngineFullChain(benchmark::State& state) {
  const auto* sc = scenario();
  ae::EngineConfig config = ae::EngineConfig::fast_lane();
  config.audio.sample_rate_hz = kRate;
  config.audio.chunk_duration_ms = 10;
  config.clock.virtual_mode = ae::VirtualClockMode::kInline;
  config.vad.enabled = true;
  config.vad.algorithm = ae::VadAlgorithm::kEnergy;
  config.barge_in.enabled = false;  // residual echo must not flush the far end
  const bool silero = state.range(1) != 0;
  if (silero) {
    const std::string model = std::string(AE_SOURCE_DIR) + "/third_party_cache/vad-web/silero_vad_v5.onnx";
    (void)setenv("AE_SILERO_MODEL", model.c_str(), 0);
    config.vad.algorithm = ae::VadAlgorithm::kSilero;
    config.barge_in.enabled = true;
    config.barge_in.min_speech_ms = 5000;
    config.barge_in.recovery = ae::BargeInRecovery::kOff;
    config.barge_in.echo_gate = ae::EchoGateMode::kOff;
  }
  auto e = ae::AudioEngine::create(config);
  Sink sink;
  e->set_realtime_chunk_callback(&Sink::on_chunk, &sink);
  ae::EchoCancellerConfig canceller = chain_config();
  canceller.vad_copy = state.range(0) != 0;
  canceller.vad_copy_suppression = state.range(0) == 2 ? canceller.suppression : ae::EchoSuppression::kLow;
  state.SetLabel(std::string(state.range(0) == 0   ? "no copy"
                             : state.range(0) == 1 ? "copy, second AEC"
                                                   : "copy, same AEC") +
                 (silero ? ", Silero, barge-in listening" : ", energy VAD"));
  if (sc == nullptr || !e->enable_echo_cancellation(canceller).ok() || !e->start().ok() ||
      !e->start_capture().ok()) {
    state.SkipWithError("no scenario or engine");
    return;
  }
  const size_t block = kRefillTicks * kFrame;
  const size_t blocks = sc->mic.size() / block;
  const ae::AudioFormat float_mono{kRate, 1, ae::SampleType::kFloat32};
  std::vector<float> drain(block);
  size_t tick = 0;
  size_t b = 0;
  for (auto _ : state) {
    if (tick % kRefillTicks == 0) {
      if (b == blocks) b = 0;
      (void)e->inject_test_audio(std::span<const float>(sc->mic.data() + b * block, block));
      (void)e->queue_playback(sc->far.data() + b * block, block * sizeof(float), float_mono);
      (void)e->read_played_audio(drain.data(), drain.size());  // the memory sink's reader
      ++b;
    }
    (void)e->advance_ticks(1);
    ++tick;
  }
  benchmark::DoNotOptimize(sink.out.data());
  counters(state);
  if (e->get_metrics().source_idle_samples != 0) state.SkipWithError("the capture queue ran dry");
  if (e->get_metrics().interruptions != 0) state.SkipWithError("the far end was interrupted");
}

// The same library calls as WebRtcEchoProcessor::process_frame, without its double-talk detector and metrics.
void BM_RawApmFullChain(benchmark::State& state) {
  using namespace ae::webrtc_apm;
  const auto* sc = scenario();
  const ae::EchoCancellerConfig c = chain_config();
  void* aec = WebRtcAec_Create();
  NsHandle* ns = WebRtcNs_Create();
  void* agc = WebRtcAgc_Create();
  ae::EnergyVad vad(ae::VadConfig{});
  if (sc == nullptr || aec == nullptr || ns == nullptr || agc == nullptr || !vad.prepare(kRate, kFrame).ok()) {
    state.SkipWithError("no scenario or components");
    return;
  }
  WebRtcAec_Init(aec, kRate, 48000);
  WebRtcAec_enable_extended_filter(WebRtcAec_aec_core(aec), c.extended_filter ? 1 : 0);
  WebRtcAec_enable_delay_agnostic(WebRtcAec_aec_core(aec), c.delay_agnostic ? 1 : 0);
  WebRtcAec_set_config(aec, AecConfig{static_cast<int16_t>(kAecNlpAggressive), 0, 0, 1});
  WebRtcNs_Init(ns, kRate);
  WebRtcNs_set_policy(ns, static_cast<int>(c.noise_suppression));
  WebRtcAgc_Init(agc, 0, 255, kAgcModeAdaptiveDigital, kRate);
  WebRtcAgc_set_config(agc, WebRtcAgcConfig{static_cast<int16_t>(c.agc_target_level_dbfs),
                                            static_cast<int16_t>(c.agc_compression_gain_db),
                                            static_cast<uint8_t>(c.agc_limiter ? 1 : 0)});
  ae::HighPassFilter hpf;
  hpf.design(80.0, kRate);
  auto to_s16 = [](float v) { return v * (v > 0 ? 32767.0f : 32768.0f); };
  auto from_s16 = [](float v) { return v * (v > 0 ? 1.0f / 32767.0f : 1.0f / 32768.0f); };
  auto to_i16 = [](float v) {
    if (v > 0) return v >= 32766.5f ? int16_t{32767} : static_cast<int16_t>(v + 0.5f);
    return v <= -32767.5f ? int16_t{-32768} : static_cast<int16_t>(v - 0.5f);
  };
  const size_t frames = sc->mic.size() / kFrame;
  std::vector<float> near(kFrame), far(kFrame), out(kFrame), result(kFrame);
  std::vector<int16_t> near_i(kFrame), far_i(kFrame), out_i(kFrame);
  int32_t level = 0;
  size_t k = 0;
  float voiced = 0;
  for (auto _ : state) {
    if (k == frames) k = 0;
    const float* mic = sc->mic.data() + k * kFrame;
    const float* ref = sc->far.data() + k * kFrame;
    for (size_t i = 0; i < kFrame; ++i) near[i] = to_s16(mic[i]);
    for (size_t i = 0; i < kFrame; ++i) far[i] = to_s16(ref[i]);
    WebRtcAec_BufferFarend(aec, far.data(), kFrame);
    for (size_t i = 0; i < kFrame; ++i) far_i[i] = to_i16(far[i]);
    WebRtcAgc_AddFarend(agc, far_i.data(), kFrame);
    hpf.process(near.data(), kFrame);
    for (size_t i = 0; i < kFrame; ++i) near_i[i] = to_i16(near[i]);
    int16_t* vm = near_i.data();
    int32_t level_out = 0;
    WebRtcAgc_VirtualMic(agc, &vm, 1, kFrame, level, &level_out);
    level = level_out;
    for (size_t i = 0; i < kFrame; ++i) near[i] = near_i[i];
    WebRtcNs_Analyze(ns, near.data());
    const float* aec_in = near.data();
    float* aec_out = out.data();
    WebRtcAec_Process(aec, &aec_in, 1, &aec_out, kFrame, 0, 0);
    int echo = 0;
    WebRtcAec_get_echo_status(aec, &echo);
    const float* ns_in = out.data();
    float* ns_out = near.data();
    WebRtcNs_Process(ns, &ns_in, 1, &ns_out);
    for (size_t i = 0; i < kFrame; ++i) near_i[i] = to_i16(near[i]);
    const int16_t* agc_in = near_i.data();
    int16_t* agc_out = out_i.data();
    uint8_t saturation = 0;
    WebRtcAgc_Process(agc, &agc_in, 1, kFrame, &agc_out, level, &level_out, static_cast<int16_t>(echo),
                      &saturation);
    for (size_t i = 0; i < kFrame; ++i) result[i] = from_s16(out_i[i]);
    voiced += vad.process(result.data(), kFrame);
    ++k;
  }
  benchmark::DoNotOptimize(voiced);
  benchmark::DoNotOptimize(result.data());
  WebRtcAec_Free(aec);
  WebRtcNs_Free(ns);
  WebRtcAgc_Free(agc);
  counters(state);
}

}  // namespace

BENCHMARK(BM_EngineFullChain)->ArgsProduct({{0, 1, 2}, {0, 1}});
BENCHMARK(BM_RawApmFullChain);
BENCHMARK_MAIN();
