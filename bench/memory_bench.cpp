// Coordination memory: what the engine allocates apart from the audio buffers its config sizes.
//
// Heap in use is read from glibc's mallinfo2() (uordblks: bytes in use in every arena, plus hblkhd: bytes in
// chunks served by mmap) before and after AudioEngine::create + initialize() + start(). From that total the
// benchmark subtracts get_resource_status().audio_buffer_bytes (queues, rings and scratch sized by the configured
// durations) and reports event_buffer_bytes (the event bus's rings and history) on its own line. Thread stacks
// are mapped by pthread, not malloc'd, and are not counted.
//
// Counters (bytes, per preset):
//   total_bytes          everything create + initialize + start allocated
//   audio_buffer_bytes   as reported by get_resource_status()
//   event_buffer_bytes   as reported by get_resource_status()
//   coordination_bytes   total - audio - event buffers: the facade's own memory (goal: <= 256 KiB)
//   after_use_bytes      what the first queue_playback() (1 s of PCM16) and inject_test_audio() (1 s) added on
//                        top, beyond the samples queued: converters and conversion scratch, kept for reuse
// BM_Memory_Parts prices the pieces the coordination figure is made of.

#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "core/event_bus.hpp"
#include "core/latency_histogram.hpp"

namespace ae {
namespace {

int64_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<int64_t>(m.uordblks + m.hblkhd);
}

enum class Preset { kFastLane, kWideband, kQuality, kTelephony };

EngineConfig preset_config(Preset p) {
  switch (p) {
    case Preset::kFastLane: return EngineConfig::fast_lane();
    case Preset::kWideband: return EngineConfig::wideband();
    case Preset::kQuality: return EngineConfig::quality();
    case Preset::kTelephony: return EngineConfig::telephony();
  }
  return {};
}

const char* preset_name(Preset p) {
  switch (p) {
    case Preset::kFastLane: return "fast_lane";
    case Preset::kWideband: return "wideband";
    case Preset::kQuality: return "quality";
    case Preset::kTelephony: return "telephony";
  }
  return "?";
}

// One second of a tone in the engine's playback sample type.
std::vector<uint8_t> one_second_of_playback(const EngineConfig& c) {
  const auto n = static_cast<size_t>(c.audio.sample_rate_hz);
  std::vector<float> f(n);
  for (size_t i = 0; i < n; ++i) f[i] = 0.25f * std::sin(0.17f * static_cast<float>(i));
  std::vector<uint8_t> bytes(n * bytes_per_sample(c.audio.playback_sample_type));
  encode_samples(f.data(), n, c.audio.playback_sample_type, bytes.data());
  return bytes;
}

// range(0): Preset; range(1): 1 = kInline clock (no ae-audio thread), 0 = the preset's own clock mode.
void BM_EngineMemory(benchmark::State& state) {
  const auto preset = static_cast<Preset>(state.range(0));
  EngineConfig config = preset_config(preset);
  if (state.range(1) != 0) config.clock.virtual_mode = VirtualClockMode::kInline;
  state.SetLabel(std::string(preset_name(preset)) + "/" + to_string(config.clock.virtual_mode));
  const auto playback = one_second_of_playback(config);
  const std::vector<float> mic(static_cast<size_t>(config.audio.sample_rate_hz), 0.0f);
  int64_t total = 0, after_use = 0;
  ResourceStatus status;
  for (auto _ : state) {
    const int64_t before = heap_in_use();
    auto engine = AudioEngine::create(config);
    if (!engine->initialize().ok() || !engine->start().ok()) {
      state.SkipWithError("initialize/start failed");
      return;
    }
    total = heap_in_use() - before;
    status = engine->get_resource_status();
    const int64_t before_use = heap_in_use();
    if (!engine->queue_playback(playback.data(), playback.size()).ok() ||
        !engine->inject_test_audio(std::span<const float>(mic)).ok()) {
      state.SkipWithError("queue_playback/inject_test_audio failed");
      return;
    }
    after_use = heap_in_use() - before_use;
    (void)engine->shutdown();
  }
  const auto audio = static_cast<int64_t>(status.audio_buffer_bytes);
  const auto events = static_cast<int64_t>(status.event_buffer_bytes);
  state.counters["total_bytes"] = static_cast<double>(total);
  state.counters["audio_buffer_bytes"] = static_cast<double>(audio);
  state.counters["event_buffer_bytes"] = static_cast<double>(events);
  state.counters["coordination_bytes"] = static_cast<double>(total - audio - events);
  state.counters["after_use_bytes"] = static_cast<double>(after_use);
}
BENCHMARK(BM_EngineMemory)
    ->ArgNames({"preset", "inline"})
    ->ArgsProduct({{0, 1, 2, 3}, {0, 1}})
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);

// The pieces: the event bus with the engine's default settings (constructed and started, against the
// memory_bytes() it reports), the five stage-timing histograms the engine keeps inline, and the object sizes.
void BM_Memory_Parts(benchmark::State& state) {
  const EngineConfig c = EngineConfig::fast_lane();
  const EventBusConfig bus_config{static_cast<size_t>(c.events.rt_capacity),
                                  static_cast<size_t>(c.events.control_capacity), c.events.dispatch_interval_us,
                                  static_cast<size_t>(c.events.history_size)};
  int64_t bus_heap = 0, bus_reported = 0, clock_heap = 0;
  for (auto _ : state) {
    int64_t before = heap_in_use();
    {
      EventBus bus(bus_config);
      if (!bus.start().ok()) {
        state.SkipWithError("event bus start failed");
        return;
      }
      bus_heap = heap_in_use() - before;
      bus_reported = static_cast<int64_t>(bus.memory_bytes());
      (void)bus.stop(1000);
    }
    before = heap_in_use();
    {
      struct Idle final : TickTarget {
        void run_tick(const float*, float*, size_t) noexcept override {}
      } idle;
      VirtualClock clock(VirtualClockMode::kStepped);
      if (!clock.start(&idle, 160, 16000).ok()) {
        state.SkipWithError("clock start failed");
        return;
      }
      clock_heap = heap_in_use() - before;
      (void)clock.stop(1000);
    }
  }
  state.counters["event_bus_heap_bytes"] = static_cast<double>(bus_heap);
  state.counters["event_bus_reported_bytes"] = static_cast<double>(bus_reported);
  state.counters["stepped_clock_heap_bytes"] = static_cast<double>(clock_heap);
  state.counters["stage_histograms_bytes"] = static_cast<double>(5 * sizeof(LatencyHistogram));
  state.counters["sizeof_AudioEngine"] = static_cast<double>(sizeof(AudioEngine));
}
BENCHMARK(BM_Memory_Parts)->Iterations(5)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ae

BENCHMARK_MAIN();
