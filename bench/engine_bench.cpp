// The AudioEngine facade against the same components called by hand, and the latency of the control calls that
// stop the AI (flush_playback_queue, interrupt_playback).
//
// Chunk benchmarks: one chunk = one 10 ms period at 16 kHz (160 samples) of the fast-lane preset: inject the
// microphone samples, run one tick, read the chunk as PCM16 and drain the sink. What the preset's tick runs, on
// both sides, with the same components and capacities:
//   capture ring (SpscRing) -> energy VAD (make_energy_vad) -> VadSegmenter -> Endpointer (endpoint.enabled)
//   -> barge-in run check on the VAD probability while the AI plays (barge_in.enabled; the facade's own logic,
//      by hand on the direct side: it has no component class) -> playback: apply flush requests on both lanes
//      (PlaybackQueue main + urgent: priority lanes), one period from the main queue (copied once out of its
//      ring), item bookkeeping -> memory sink (SpscRing) -> ConversationTracker (turn state from user / AI
//      activity) -> chunk rings (SpscRing<ChunkInfo>, SpscRing<float>) -> encode_samples on read.
// The "direct" pipeline calls those components in a minimal loop; the difference per chunk is what the facade
// costs: its tick boundary (control requests, tick token), the processing chain's check for processors (none
// here), the echo gate's check (off: no echo canceller), the lane plan, state published for other threads, events
// and counters. The AI audio is kept queued between timed regions so neither side ever runs dry, and the
// microphone signal stays below the VAD's floor so no barge-in interrupts it.
//
// BM_FacadeOverhead and BM_FacadeOverheadWholeChunks interleave batches of the facade (with and without stage
// timing, and a second facade without it as a control) and the direct pipeline in one run, timed in thread CPU
// time so that load on the machine hits all alike, and report per-chunk figures as counters (see there); the
// first runs each batch step by step and also reports per-step figures, the second runs whole chunks. The
// BM_Cost_* benchmarks price the primitives the tick uses beyond the components (clock reads, histogram records,
// read-modify-writes, an uncontended mutex, the audio-thread mark), to say where the overhead goes.
//
// Latency benchmarks time every call on its own with steady_clock, with audio queued before each call, and
// report p50 / p99 / max in nanoseconds as counters (the Time column is the mean).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <thread>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "core/latency_histogram.hpp"
#include "facade_pipelines.hpp"

namespace ae {
namespace {

using Clock = std::chrono::steady_clock;
using namespace facade_bench;

template <typename Pipeline>
void run_chunks(benchmark::State& state, Pipeline& p) {
  if (!p.ok()) {
    state.SkipWithError("pipeline setup failed");
    return;
  }
  bool good = true;
  for (auto _ : state) {
    if (p.needs_refill(1)) {
      state.PauseTiming();
      p.refill();
      state.ResumeTiming();
    }
    good &= p.chunk();
  }
  if (!good) state.SkipWithError("a chunk call failed");
  state.SetItemsProcessed(state.iterations());
  state.counters["audio_x_realtime"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kChunkMs / 1000.0, benchmark::Counter::kIsRate);
}

void BM_Chunk_Facade(benchmark::State& state) {
  FacadePipeline p(state.range(0) != 0);
  run_chunks(state, p);
}
BENCHMARK(BM_Chunk_Facade)->ArgName("stage_timing")->Arg(1)->Arg(0);

void BM_Chunk_Direct(benchmark::State& state) {
  DirectPipeline p;
  run_chunks(state, p);
}
BENCHMARK(BM_Chunk_Direct);

// Thread CPU time: the machine may be shared, and time spent preempted is nobody's overhead.
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Per-step CPU seconds accumulated over the run.
struct StepTimes {
  double inject_s = 0, tick_s = 0, read_s = 0;
  double total_s() const { return inject_s + tick_s + read_s; }
};

// Runs `n` chunks of `p` step by step (all injects, then all ticks, then all reads), timing each step.
template <typename Pipeline>
bool timed_steps(Pipeline& p, int n, StepTimes& t) {
  bool good = true;
  double t0 = thread_cpu_s();
  for (int i = 0; i < n; ++i) good &= p.inject();
  double t1 = thread_cpu_s();
  for (int i = 0; i < n; ++i) good &= p.tick();
  double t2 = thread_cpu_s();
  for (int i = 0; i < n; ++i) good &= p.read();
  double t3 = thread_cpu_s();
  t.inject_s += t1 - t0;
  t.tick_s += t2 - t1;
  t.read_s += t3 - t2;
  return good;
}

// Runs `n` whole chunks of `p` (inject, tick, read, then the next chunk), timing them together.
template <typename Pipeline>
bool timed_chunks(Pipeline& p, int n, StepTimes& t) {
  bool good = true;
  const double t0 = thread_cpu_s();
  for (int i = 0; i < n; ++i) good &= p.chunk();
  t.tick_s += thread_cpu_s() - t0;  // the whole chunk, counted as one step
  return good;
}

// The four sides of the overhead benches: the facade with and without stage timing, a second facade without it
// (the control), and the direct pipeline. They run in alternating batches of kOverheadBatch chunks (one capture
// ring, one chunk ring of room: 100 chunks fit both).
//
// Where each side's memory lands moves its cost by tens of ns a chunk, as much as the goal itself: built once,
// two identical facades differed by 30-48 ns, and a change to the benchmark's own code alone moved the direct
// side by 30. So every kRoundsPerPlacement rounds all four sides are built anew, in a random order, each after a
// padding block of random size, and the figures are means over these placements: what the facade costs, not what
// one heap layout costs. The spread over placements is reported too.
constexpr int kOverheadBatch = 100;
constexpr int kRoundsPerPlacement = 200;

struct OverheadSides {
  std::unique_ptr<FacadePipeline> timed, untimed, control;
  std::unique_ptr<DirectPipeline> direct;
  std::vector<std::unique_ptr<char[]>> pads;
  std::minstd_rand rng{20261128};  // fixed seed: the same placements in every run of one build
  StepTimes ft, fu, fc, d;
  int64_t chunks = 0;
  // The overhead (with stage timing) of each whole placement, in CPU seconds over its rounds.
  std::vector<double> placement_overhead_s;
  double placement_start_s = 0;
  int placements = 0;

  // Builds the four sides at new places in memory. False when one could not be set up.
  bool place() {
    timed.reset();
    untimed.reset();
    control.reset();
    direct.reset();
    pads.clear();
    int order[4] = {0, 1, 2, 3};
    std::shuffle(std::begin(order), std::end(order), rng);
    for (int side : order) {
      pads.push_back(std::make_unique<char[]>(16 + rng() % 8192));
      switch (side) {
        case 0: timed = std::make_unique<FacadePipeline>(true); break;
        case 1: untimed = std::make_unique<FacadePipeline>(false); break;
        case 2: control = std::make_unique<FacadePipeline>(false); break;
        default: direct = std::make_unique<DirectPipeline>(); break;
      }
    }
    ++placements;
    placement_start_s = ft.total_s() - d.total_s();
    return timed->ok() && untimed->ok() && control->ok() && direct->ok();
  }

  void end_placement() { placement_overhead_s.push_back(ft.total_s() - d.total_s() - placement_start_s); }

  // Rounds of one batch a side, each run by `batch` (timed_steps or timed_chunks), until the benchmark has run
  // long enough. Returns false when a pipeline could not be set up or a call failed (the state says so).
  template <typename Batch>
  bool run(benchmark::State& state, Batch batch) {
    auto total_s = [&] { return ft.total_s() + fu.total_s() + fc.total_s() + d.total_s(); };
    constexpr int kSides = 4;
    int round = 0;
    bool good = true;
    for (auto _ : state) {
      if (round % kRoundsPerPlacement == 0) {
        if (round > 0) end_placement();
        if (!place()) {
          state.SkipWithError("pipeline setup failed");
          return false;
        }
      }
      // Between the timed regions: enough AI audio for the whole batch on every side.
      if (timed->needs_refill(kOverheadBatch)) timed->refill();
      if (untimed->needs_refill(kOverheadBatch)) untimed->refill();
      if (control->needs_refill(kOverheadBatch)) control->refill();
      if (direct->needs_refill(kOverheadBatch)) direct->refill();
      const double before = total_s();
      // Each side takes each place in the round in turn: a batch runs on caches the batch before it filled with
      // its own rings and buffers, and in a fixed order the side after the direct pipeline paid for that alone.
      for (int place = 0; place < kSides; ++place) {
        switch ((round + place) % kSides) {
          case 0: good &= batch(*timed, kOverheadBatch, ft); break;
          case 1: good &= batch(*untimed, kOverheadBatch, fu); break;
          case 2: good &= batch(*control, kOverheadBatch, fc); break;
          default: good &= batch(*direct, kOverheadBatch, d); break;
        }
      }
      ++round;
      chunks += kOverheadBatch;
      state.SetIterationTime(total_s() - before);
    }
    if (round > 0 && round % kRoundsPerPlacement == 0) end_placement();
    if (!good) state.SkipWithError("a chunk call failed");
    return good;
  }

  // CPU seconds to CPU ns per chunk.
  double ns_per_chunk() const { return 1e9 / static_cast<double>(std::max<int64_t>(chunks, 1)); }

  // The counters both benches report, in CPU ns per chunk.
  void report(benchmark::State& state) const {
    const double ns = ns_per_chunk();
    state.counters["facade_ns"] = ns * ft.total_s();
    state.counters["facade_no_timing_ns"] = ns * fu.total_s();
    state.counters["direct_ns"] = ns * d.total_s();
    state.counters["overhead_ns"] = ns * (ft.total_s() - d.total_s());
    state.counters["overhead_no_timing_ns"] = ns * (fu.total_s() - d.total_s());
    state.counters["stage_timing_ns"] = ns * (ft.total_s() - fu.total_s());
    state.counters["control_ns"] = ns * (fc.total_s() - fu.total_s());
    state.counters["placements"] = placements;
    // The overhead of each whole placement, in ns a chunk: the lowest, the median and the highest.
    std::vector<double> per = placement_overhead_s;
    if (!per.empty()) {
      std::sort(per.begin(), per.end());
      const double scale = 1e9 / (static_cast<double>(kRoundsPerPlacement) * kOverheadBatch);
      state.counters["overhead_placement_min_ns"] = scale * per.front();
      state.counters["overhead_placement_median_ns"] = scale * per[per.size() / 2];
      state.counters["overhead_placement_max_ns"] = scale * per.back();
    }
  }
};

// Each batch runs step by step, to time the steps apart. Counters are CPU ns per chunk:
//   facade_ns / facade_no_timing_ns / direct_ns        a whole chunk
//   overhead_ns / overhead_no_timing_ns                facade - direct; overhead_ns is the default's figure
//                                                      (fast_lane keeps metrics.stage_timing on)
//   stage_timing_ns                                    facade - facade_no_timing
//   overhead_{inject,tick,read}_ns                     facade (no timing) - direct, per step
//   control_ns                                         the second facade - the first (both without timing): what
//                                                      two identical sides differ by in this run, the resolution
//                                                      of the figures above
//   placements                                         how many placements the means above are over
//   overhead_placement_{min,median,max}_ns             overhead_ns of the single placements: what one engine's
//                                                      place in memory can make of it
void BM_FacadeOverhead(benchmark::State& state) {
  OverheadSides sides;
  if (!sides.run(state, [](auto& p, int n, StepTimes& t) { return timed_steps(p, n, t); })) return;
  sides.report(state);
  const double ns = sides.ns_per_chunk();
  state.counters["overhead_inject_ns"] = ns * (sides.fu.inject_s - sides.d.inject_s);
  state.counters["overhead_tick_ns"] = ns * (sides.fu.tick_s - sides.d.tick_s);
  state.counters["overhead_read_ns"] = ns * (sides.fu.read_s - sides.d.read_s);
}
BENCHMARK(BM_FacadeOverhead)->UseManualTime()->MinTime(2.0);

// Each batch runs whole chunks, one after the other, in the order an orchestrator makes the calls every period.
// The counters of BM_FacadeOverhead but the per-step ones. The overhead is somewhat smaller here than step by
// step, with the same instructions and simulated cache misses: the likely reading is that the engine's own
// instructions overlap with the waits of the chunk's copies and the VAD, where a hundred ticks in a row add them
// up in full (docs/architecture.md, "What the facade costs per period").
void BM_FacadeOverheadWholeChunks(benchmark::State& state) {
  OverheadSides sides;
  if (!sides.run(state, [](auto& p, int n, StepTimes& t) { return timed_chunks(p, n, t); })) return;
  sides.report(state);
}
BENCHMARK(BM_FacadeOverheadWholeChunks)->UseManualTime()->MinTime(2.0);

// ---- what the tick's extras cost -----------------------------------------------------------------------------
void BM_Cost_SteadyClockNow(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(Clock::now());
}
BENCHMARK(BM_Cost_SteadyClockNow);

void BM_Cost_HistogramRecord(benchmark::State& state) {
  auto h = std::make_unique<LatencyHistogram>();
  uint64_t v = 1000;
  for (auto _ : state) {
    h->record(v);
    v = (v * 7 + 13) & 0xffff;  // wander over buckets like real durations
  }
  benchmark::DoNotOptimize(h->count());
}
BENCHMARK(BM_Cost_HistogramRecord);

void BM_Cost_AtomicFetchAddRelaxed(benchmark::State& state) {
  std::atomic<int64_t> a{0};
  for (auto _ : state) a.fetch_add(1, std::memory_order_relaxed);
  benchmark::DoNotOptimize(a.load());
}
BENCHMARK(BM_Cost_AtomicFetchAddRelaxed);

void BM_Cost_AtomicExchangeAndStore(benchmark::State& state) {
  // The tick token: an exchange to take it and a release store to give it back.
  std::atomic<bool> token{false};
  for (auto _ : state) {
    benchmark::DoNotOptimize(token.exchange(true, std::memory_order_acquire));
    token.store(false, std::memory_order_release);
  }
}
BENCHMARK(BM_Cost_AtomicExchangeAndStore);

void BM_Cost_UncontendedMutex(benchmark::State& state) {
  // In our executables pthread_mutex_lock goes through the real-time probe, as inject_test_audio's does.
  std::mutex m;
  for (auto _ : state) {
    m.lock();
    benchmark::ClobberMemory();
    m.unlock();
  }
}
BENCHMARK(BM_Cost_UncontendedMutex);

void BM_Cost_ScopedAudioThread(benchmark::State& state) {
  for (auto _ : state) {
    rt::ScopedAudioThread mark;
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Cost_ScopedAudioThread);

// ---- latency of the calls that stop the AI -------------------------------------------------------------------
struct Percentiles {
  std::vector<double> ns;
  void add(Clock::duration d) { ns.push_back(static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count())); }
  void report(benchmark::State& state) {
    if (ns.empty()) return;
    std::sort(ns.begin(), ns.end());
    auto at = [&](double pct) {
      const size_t i = std::min(ns.size() - 1, static_cast<size_t>(pct / 100.0 * static_cast<double>(ns.size())));
      return ns[i];
    };
    state.counters["p50_ns"] = at(50);
    state.counters["p99_ns"] = at(99);
    state.counters["max_ns"] = ns.back();
    state.counters["calls"] = static_cast<double>(ns.size());
  }
};

EngineConfig latency_config(VirtualClockMode mode) {
  EngineConfig c = EngineConfig::fast_lane();
  c.clock.virtual_mode = mode;
  // Nothing here consumes the played audio: let the sink overwrite it rather than count anything else.
  c.sink.memory_capacity_ms = 1000;
  return c;
}

constexpr VirtualClockMode kModes[] = {VirtualClockMode::kInline, VirtualClockMode::kFreeRun,
                                       VirtualClockMode::kRealtime};

// flush_playback_queue(): 200 ms of AI audio queued before every call; range(0) indexes kModes. In the live
// modes the benchmark waits (untimed) until the audio thread has applied the flush before queueing again.
void BM_FlushPlaybackQueue(benchmark::State& state) {
  const VirtualClockMode mode = kModes[state.range(0)];
  const bool live = mode != VirtualClockMode::kInline;
  state.SetLabel(to_string(mode));
  auto engine = AudioEngine::create(latency_config(mode));
  if (!engine->start().ok()) {
    state.SkipWithError("start failed");
    return;
  }
  const auto audio = to_pcm16(tone(ms_to_samples(kRate, 200)));
  Percentiles lat;
  lat.ns.reserve(1 << 20);
  size_t flushed_bytes = 0;
  int64_t calls = 0;
  bool good = true;
  for (auto _ : state) {
    good &= engine->queue_playback(audio.data(), audio.size() * sizeof(int16_t), 1).ok();
    if (!live) good &= engine->advance_ticks(1).ok();  // something is playing
    const auto t0 = Clock::now();
    const size_t bytes = engine->flush_playback_queue();
    const auto t1 = Clock::now();
    flushed_bytes += bytes;
    lat.add(t1 - t0);
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    if (live) {
      while (engine->get_playback_queue().queued_samples() > 0) std::this_thread::yield();
    }
    // Keep the event ring from overflowing in the live modes (each queued burst starts and completes).
    if ((++calls & 127) == 0) good &= engine->wait_until_dispatched(1000);
  }
  if (!good) state.SkipWithError("queue_playback, advance or dispatch failed");
  if (flushed_bytes == 0) state.SkipWithError("nothing was ever flushed: the benchmark measures nothing");
  lat.report(state);
  state.counters["flushed_ms_per_call"] = 1000.0 * static_cast<double>(flushed_bytes) / sizeof(int16_t) / kRate /
                                          static_cast<double>(std::max<int64_t>(calls, 1));
  (void)engine->shutdown();
}
BENCHMARK(BM_FlushPlaybackQueue)->ArgName("mode")->Arg(0)->UseManualTime()->Iterations(20000);
BENCHMARK(BM_FlushPlaybackQueue)->ArgName("mode")->Arg(1)->UseManualTime()->Iterations(20000);
// One tick per 10 ms of wall-clock time applies each flush: fewer calls.
BENCHMARK(BM_FlushPlaybackQueue)->ArgName("mode")->Arg(2)->UseManualTime()->Iterations(300);

// interrupt_playback(): a new item of 200 ms is queued and one tick played before every call; range(0) indexes
// kModes (kInline acts between ticks; the live modes wait for the next tick to apply it).
void BM_InterruptPlayback(benchmark::State& state) {
  const VirtualClockMode mode = kModes[state.range(0)];
  state.SetLabel(to_string(mode));
  auto engine = AudioEngine::create(latency_config(mode));
  if (!engine->start().ok()) {
    state.SkipWithError("start failed");
    return;
  }
  const auto audio = to_pcm16(tone(ms_to_samples(kRate, 200)));
  Percentiles lat;
  lat.ns.reserve(1 << 20);
  uint64_t item = 1;
  int64_t interrupted = 0;
  bool good = true;
  for (auto _ : state) {
    // Each response gets a new id: audio for an interrupted item is dropped as stale.
    good &= engine->queue_playback(audio.data(), audio.size() * sizeof(int16_t), item++).ok();
    if (mode == VirtualClockMode::kInline) good &= engine->advance_ticks(1).ok();
    const auto t0 = Clock::now();
    auto r = engine->interrupt_playback(InterruptReason::kUser, 1000);
    const auto t1 = Clock::now();
    good &= r.ok();
    if (r.ok() && r->was_playing) ++interrupted;
    lat.add(t1 - t0);
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    // The dispatcher must keep up with the INTERRUPT events or the event ring would overflow (counted, harmless,
    // but not what this measures).
    if ((item & 255) == 0) good &= engine->wait_until_dispatched(1000);
  }
  if (!good) state.SkipWithError("a call failed");
  lat.report(state);
  state.counters["was_playing_pct"] = 100.0 * static_cast<double>(interrupted) /
                                      static_cast<double>(std::max<size_t>(lat.ns.size(), 1));
  (void)engine->shutdown();
}
BENCHMARK(BM_InterruptPlayback)->ArgName("mode")->Arg(0)->UseManualTime()->Iterations(20000);
BENCHMARK(BM_InterruptPlayback)->ArgName("mode")->Arg(1)->UseManualTime()->Iterations(2000);
BENCHMARK(BM_InterruptPlayback)->ArgName("mode")->Arg(2)->UseManualTime()->Iterations(50);

}  // namespace
}  // namespace ae

BENCHMARK_MAIN();
