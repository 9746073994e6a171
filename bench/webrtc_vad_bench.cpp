// WebRtcVad per 10 ms frame against the library's own VAD call on the same frames, in the same run:
//   BM_WebRtcVadDetector/<rate>   WebRtcVad::process() on float frames (16-bit conversion, sub-frame buffering,
//                                 resampling at 44100 Hz included)
//   BM_WebRtcVadLibrary/<rate>    WebRtcVad_Process() on the same frames already converted to 16 bits
// The audio is espeak-ng speech (synthesize_speech), looped.
#include <benchmark/benchmark.h>

#include <audioengine/format.hpp>
#include <audioengine/speech_synth.hpp>
#include <audioengine/webrtc_vad.hpp>

#include "vad/webrtc/vad_library.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace {

constexpr const char* kText = "The quick brown fox jumps over the lazy dog, and then it rests for a while.";

std::vector<float> speech(int rate_hz) {
  ae::SpeechOptions o;
  o.sample_rate_hz = rate_hz;
  auto s = ae::synthesize_speech(kText, o);
  return s.ok() ? s.value() : std::vector<float>{};
}

void BM_WebRtcVadDetector(benchmark::State& state) {
  const int rate = static_cast<int>(state.range(0));
  const auto x = speech(rate);
  const auto frame = static_cast<size_t>(rate / 100);
  auto vad = ae::WebRtcVad::create(2);
  if (x.size() < frame || !vad.ok() || !(*vad)->prepare(rate, frame).ok()) {
    state.SkipWithError("no speech or detector");
    return;
  }
  size_t pos = 0;
  float voiced = 0;
  for (auto _ : state) {
    if (pos + frame > x.size()) pos = 0;
    voiced += (*vad)->process(x.data() + pos, frame);
    pos += frame;
  }
  benchmark::DoNotOptimize(voiced);
}

void BM_WebRtcVadLibrary(benchmark::State& state) {
  const int rate = static_cast<int>(state.range(0));
  const auto x = speech(rate);
  const auto frame = static_cast<size_t>(rate / 100);
  std::vector<int16_t> pcm(x.size());
  ae::encode_samples(x.data(), x.size(), ae::SampleType::kPcm16, pcm.data());
  VadInst* vad = WebRtcVad_Create();
  if (x.size() < frame || vad == nullptr || WebRtcVad_Init(vad) != 0 || WebRtcVad_set_mode(vad, 2) != 0) {
    state.SkipWithError("no speech or library VAD");
    if (vad != nullptr) WebRtcVad_Free(vad);
    return;
  }
  size_t pos = 0;
  int voiced = 0;
  for (auto _ : state) {
    if (pos + frame > pcm.size()) pos = 0;
    voiced += WebRtcVad_Process(vad, rate, pcm.data() + pos, frame);
    pos += frame;
  }
  benchmark::DoNotOptimize(voiced);
  WebRtcVad_Free(vad);
}

}  // namespace

BENCHMARK(BM_WebRtcVadDetector)->Arg(8000)->Arg(16000)->Arg(48000)->Arg(44100);
BENCHMARK(BM_WebRtcVadLibrary)->Arg(8000)->Arg(16000)->Arg(48000);

BENCHMARK_MAIN();
