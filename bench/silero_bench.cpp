// Native Silero VAD v5 per model chunk (512 samples at 16 kHz, 256 at 8 kHz), and ONNX Runtime running the same
// model file on the same machine in the same run, single-threaded, through tools/silero_reference/reference.js
// (skipped with a message when its node_modules are not installed:
//   cd tools/silero_reference && ONNXRUNTIME_NODE_INSTALL=skip npm ci).
//   BM_SileroNative/16000, /8000   native time per chunk
//   BM_SileroOnnxRuntime/16000     ORT time per chunk as measured inside Node (manual time), with the native
//                                  time of the same audio measured right after it and their ratio as counters
// The ORT figure includes the Node binding's per-call cost (tensor wrapping, async dispatch): that is how the
// reference is used.
#include <benchmark/benchmark.h>

#include <audioengine/silero_vad.hpp>

#include "../tests/support/test_support.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

const std::string kSource = AE_SOURCE_DIR;

std::string model_path() {
  const std::string env = ae::SileroVad::model_path_from_environment();
  return env.empty() ? kSource + "/third_party_cache/vad-web/silero_vad_v5.onnx" : env;
}

std::string wav_path(int rate_hz) {
  return kSource + (rate_hz == 16000 ? "/tests/data/silero/speech_16k.wav" : "/tests/data/silero/speech_8k.wav");
}

// Speech samples (16-bit PCM WAV, mono) read without libsndfile, which the bench does not link.
std::vector<float> read_pcm16_wav(const std::string& path) {
  std::vector<float> out;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return out;
  std::vector<unsigned char> b;
  unsigned char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) b.insert(b.end(), buf, buf + n);
  std::fclose(f);
  size_t off = 12;
  auto u32 = [&](size_t o) { return uint32_t{b[o]} | uint32_t{b[o + 1]} << 8 | uint32_t{b[o + 2]} << 16 | uint32_t{b[o + 3]} << 24; };
  while (off + 8 <= b.size()) {
    const std::string id(reinterpret_cast<const char*>(&b[off]), 4);
    const uint32_t len = u32(off + 4);
    if (id == "data") {
      for (size_t i = 0; i + 1 < len && off + 8 + i + 1 < b.size(); i += 2) {
        const auto v = static_cast<int16_t>(uint16_t{b[off + 8 + i]} | uint16_t{b[off + 9 + i]} << 8);
        out.push_back(static_cast<float>(v) / 32768.0f);
      }
      break;
    }
    off += 8 + len + (len & 1);
  }
  return out;
}

struct Native {
  std::unique_ptr<ae::SileroVad> vad;
  std::vector<float> audio;
  size_t chunks = 0;
  std::string error;
};

Native make_native(int rate_hz) {
  Native n;
  auto created = ae::SileroVad::create(model_path());
  if (!created.ok()) { n.error = created.message(); return n; }
  n.vad = std::move(created.value());
  if (auto st = n.vad->prepare(rate_hz, 512); !st.ok()) { n.error = st.message(); return n; }
  n.audio = read_pcm16_wav(wav_path(rate_hz));
  n.chunks = n.audio.size() / n.vad->chunk_samples();
  if (n.chunks == 0) n.error = "cannot read " + wav_path(rate_hz);
  return n;
}

void BM_SileroNative(benchmark::State& state) {
  auto n = make_native(static_cast<int>(state.range(0)));
  if (!n.error.empty()) { state.SkipWithError(n.error.c_str()); return; }
  const size_t chunk = n.vad->chunk_samples();
  size_t k = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(n.vad->process_chunk(&n.audio[k * chunk]));
    if (++k == n.chunks) k = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SileroNative)->Arg(16000)->Arg(8000);

void BM_SileroOnnxRuntime(benchmark::State& state) {
  const int rate = static_cast<int>(state.range(0));
  const std::string script = kSource + "/tools/silero_reference/reference.js";
  const std::string ort = kSource + "/tools/silero_reference/node_modules/onnxruntime-node";
  if (!std::ifstream(ort + "/package.json").good()) {
    state.SkipWithError("onnxruntime-node not installed: cd tools/silero_reference && ONNXRUNTIME_NODE_INSTALL=skip npm ci");
    return;
  }
  auto n = make_native(rate);
  if (!n.error.empty()) { state.SkipWithError(n.error.c_str()); return; }
  constexpr int kChunks = 3000;
  for (auto _ : state) {
    const std::string cmd = "node '" + script + "' '" + model_path() + "' '" + wav_path(rate) + "' --bench " +
                            std::to_string(kChunks);
    FILE* p = popen(cmd.c_str(), "r");
    char line[512] = {};
    const bool got = p && std::fgets(line, sizeof line, p);
    const int rc = p ? pclose(p) : -1;
    const char* key = got ? std::strstr(line, "\"us_per_chunk\":") : nullptr;
    if (rc != 0 || !key) { state.SkipWithError(("reference failed: " + cmd).c_str()); return; }
    const double ort_us = std::atof(key + 15);
    state.SetIterationTime(ort_us * 1e-6);

    // The native detector over the same audio and number of chunks, right after.
    const size_t chunk = n.vad->chunk_samples();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kChunks; ++i) benchmark::DoNotOptimize(n.vad->process_chunk(&n.audio[(i % n.chunks) * chunk]));
    const double native_us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / kChunks;
    state.counters["ort_us"] = ort_us;
    state.counters["native_us"] = native_us;
    state.counters["native_over_ort"] = native_us / ort_us;
  }
}
BENCHMARK(BM_SileroOnnxRuntime)->Arg(16000)->Arg(8000)->UseManualTime()->Iterations(1)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
