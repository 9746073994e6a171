// The processing chain inside the engine, on the virtual clock, exact in samples: the render reference the
// capture stages see is what the sink received in the same tick; processors are added and removed while ticks
// run; mode switches are seamless (no jump, no lost sample); the tick stays allocation- and lock-free.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <numbers>
#include <thread>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "audioengine/realtime.hpp"

namespace ae {
namespace {

constexpr int kRate = 16000;
constexpr int kPeriodMs = 10;
constexpr size_t kPeriod = kRate * kPeriodMs / 1000;

EngineConfig stepped_config() {
  EngineConfig c = EngineConfig::fast_lane();
  c.audio.sample_rate_hz = kRate;
  c.audio.chunk_duration_ms = kPeriodMs;
  c.audio.chunk_sample_type = SampleType::kFloat32;
  c.clock.virtual_mode = VirtualClockMode::kStepped;
  c.vad.enabled = false;
  return c;
}

class Gain : public AudioProcessor {
 public:
  explicit Gain(float gain, std::atomic<std::thread::id>* destroyed_on = nullptr)
      : gain_(gain), destroyed_on_(destroyed_on) {}
  ~Gain() override {
    if (destroyed_on_ != nullptr) destroyed_on_->store(std::this_thread::get_id());
  }
  Status prepare(int, size_t) override { return ok_status(); }
  void process(float* mono, size_t n, const ProcessContext&) noexcept override {
    for (size_t i = 0; i < n; ++i) mono[i] *= gain_;
  }
  void reset() noexcept override {}
  const char* name() const noexcept override { return "gain"; }

 private:
  float gain_;
  std::atomic<std::thread::id>* destroyed_on_;
};

// Records the render reference of every tick (all storage made in prepare()).
class RenderRecorder : public AudioProcessor {
 public:
  Status prepare(int, size_t max_frames) override {
    max_frames_ = max_frames;
    render_.assign(max_frames * kMaxTicks, -1.0f);
    delays_.assign(kMaxTicks, -2);
    return ok_status();
  }
  void process(float*, size_t n, const ProcessContext& ctx) noexcept override {
    if (ticks_ >= kMaxTicks) return;
    float* dst = render_.data() + ticks_ * max_frames_;
    if (ctx.render != nullptr) {
      std::copy(ctx.render, ctx.render + std::min(n, ctx.render_frames), dst);
    } else {
      std::fill(dst, dst + n, 0.0f);
    }
    delays_[ticks_] = ctx.echo_delay_ms;
    ++ticks_;
  }
  void reset() noexcept override {}
  const char* name() const noexcept override { return "render_recorder"; }
  static constexpr size_t kMaxTicks = 64;
  size_t max_frames_ = 0;
  size_t ticks_ = 0;
  std::vector<float> render_;
  std::vector<int> delays_;
};

TEST(EngineProcessing, CaptureStagesSeeExactlyWhatTheSinkReceivedInTheSameTick) {
  auto e = AudioEngine::create(stepped_config());
  ASSERT_TRUE(e->start().ok());
  // The render stage halves the AI's audio: the reference must be the halved audio the speaker got.
  ASSERT_TRUE(e->add_processor(std::make_shared<Gain>(0.5f), ProcessingStage::kRender).ok());
  auto rec = std::make_shared<RenderRecorder>();
  ASSERT_TRUE(e->add_processor(rec, ProcessingStage::kCapturePre).ok());
  // 2.5 periods of a ramp, then the queue runs dry mid-tick.
  std::vector<float> ai(kPeriod * 5 / 2);
  for (size_t i = 0; i < ai.size(); ++i) ai[i] = 0.001f * static_cast<float>(i + 1);
  ASSERT_TRUE(e->queue_playback(ai.data(), ai.size() * sizeof(float),
                                AudioFormat{kRate, 1, SampleType::kFloat32}, 1).ok());
  constexpr size_t kTicks = 5;
  ASSERT_TRUE(e->advance_ticks(kTicks).ok());
  std::vector<float> played(kPeriod * kTicks);
  ASSERT_EQ(e->read_played_audio(played.data(), played.size()), played.size());
  ASSERT_EQ(rec->ticks_, kTicks);
  for (size_t i = 0; i < played.size(); ++i) ASSERT_EQ(rec->render_[i], played[i]) << "sample " << i;
  // And the sink got real audio (not silence on both sides): the fade-in of the render gain, then half.
  EXPECT_NE(played[kPeriod], 0.0f);
  EXPECT_FLOAT_EQ(played[kPeriod], 0.5f * ai[kPeriod]);
  EXPECT_EQ(played[ai.size()], 0.0f);
  for (size_t t = 0; t < kTicks; ++t) EXPECT_EQ(rec->delays_[t], -1) << "virtual clock: echo delay unknown";
  EXPECT_EQ(e->get_metrics().played_samples, static_cast<int64_t>(ai.size()));
}

// The acceptance test: a 440 Hz sine through a chain with a QUALITY-only processor while the mode switches 100
// times; the delivered capture has no jump and no lost sample.
TEST(EngineProcessing, HundredModeSwitchesAreSeamless) {
  auto e = AudioEngine::create(stepped_config());
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(e->start_capture().ok());
  ASSERT_TRUE(e->add_processor(std::make_shared<Gain>(0.5f), ProcessingStage::kCapturePost, kModeQuality).ok());
  constexpr double kAmp = 0.8;
  constexpr double kFreq = 440.0;
  constexpr size_t kTicks = 400;
  std::vector<float> sine(kPeriod * kTicks);
  for (size_t i = 0; i < sine.size(); ++i) {
    sine[i] = static_cast<float>(kAmp * std::sin(2.0 * std::numbers::pi * kFreq * static_cast<double>(i) / kRate));
  }
  std::vector<float> delivered;
  CaptureChunk chunk;
  int64_t next_start = 0;
  int switches = 0;
  for (size_t t = 0; t < kTicks; ++t) {
    ASSERT_TRUE(e->inject_test_audio(std::span<const float>(sine.data() + t * kPeriod, kPeriod)).ok());
    // Switch every tick for the first 50 switches (each ramp cut short by the next: 80-sample ramps inside
    // 160-sample ticks end anyway), then every 3rd tick.
    const bool do_switch = switches < 100 && (switches < 50 ? true : t % 3 == 0);
    if (do_switch) {
      ASSERT_TRUE((switches % 2 == 0 ? e->optimize_for_latency() : e->optimize_for_quality()).ok());
      ++switches;
    }
    ASSERT_TRUE(e->advance_ticks(1).ok());
    while (e->try_read_chunk(chunk)) {
      ASSERT_EQ(chunk.info.start_sample, next_start) << "timeline gap";
      next_start += chunk.info.num_frames;
      delivered.insert(delivered.end(), chunk.samples.begin(), chunk.samples.end());
    }
  }
  ASSERT_EQ(switches, 100);
  EXPECT_EQ(e->get_metrics().mode_switches, 100);
  ASSERT_EQ(delivered.size(), sine.size()) << "samples lost";
  // Bound: y = (1 - g/2) x with g moving by 1/R per sample, so |dy| <= max|dx| + (1/2) kAmp / R; max|dx| is the
  // sine's largest step, kAmp * 2 pi f / rate. A 10% margin covers float rounding; a switch without the ramp
  // would step by up to kAmp / 2 = 0.4, far above it.
  const double ramp = kRate * 5 / 1000.0;
  const double bound = 1.1 * (kAmp * 2.0 * std::numbers::pi * kFreq / kRate + 0.5 * kAmp / ramp);
  double max_step = 0;
  for (size_t i = 1; i < delivered.size(); ++i) {
    max_step = std::max(max_step, std::abs(static_cast<double>(delivered[i]) - delivered[i - 1]));
  }
  EXPECT_LE(max_step, bound);
  // The processor really ran: the output is halved somewhere and whole somewhere.
  const float peak_quality = *std::max_element(delivered.end() - 2 * kPeriod, delivered.end());
  EXPECT_GT(peak_quality, 0.0f);
  EXPECT_NE(std::abs(delivered[kPeriod * 200 + 3] - sine[kPeriod * 200 + 3]) < 1e-6f,
            std::abs(delivered[kPeriod * 200 + 3] - 0.5f * sine[kPeriod * 200 + 3]) < 1e-6f);
}

TEST(EngineProcessing, ModeApiAndEvents) {
  auto e = AudioEngine::create(stepped_config());
  ASSERT_TRUE(e->start().ok());
  std::atomic<int> events{0};
  std::atomic<int> last_to{-1};
  e->subscribe(AudioEventType::kModeChanged, [&](const AudioEvent& ev) {
    last_to = ev.state.to;
    ++events;
  });
  EXPECT_EQ(e->get_mode(), ProcessingMode::kQuality);
  ASSERT_TRUE(e->force_fast_lane().ok());
  EXPECT_EQ(e->get_mode(), ProcessingMode::kFastLane);
  ASSERT_TRUE(e->advance_ticks(1).ok());
  EXPECT_EQ(e->get_active_routing(), ProcessingMode::kFastLane);
  ASSERT_TRUE(e->wait_until_dispatched(2000));
  EXPECT_EQ(events.load(), 1);
  EXPECT_EQ(last_to.load(), static_cast<int>(ProcessingMode::kFastLane));
  EXPECT_EQ(e->set_mode(static_cast<ProcessingMode>(7)).error(), Error::kInvalidArgument);
  EXPECT_EQ(e->enable_adaptive_mode(AdaptiveModeConfig{0.2, 0.5, 1, 1}).error(), Error::kInvalidConfig);
  EXPECT_EQ(e->get_mode(), ProcessingMode::kFastLane);
  // Adaptive with light ticks (an idle engine costs far less than 90% of a 10 ms period): back to quality
  // after ticks_to_quality ticks, not before.
  ASSERT_TRUE(e->enable_adaptive_mode(AdaptiveModeConfig{0.95, 0.9, 1000, 5}).ok());
  EXPECT_EQ(e->get_mode(), ProcessingMode::kAdaptive);
  ASSERT_TRUE(e->advance_ticks(5).ok());
  EXPECT_EQ(e->get_active_routing(), ProcessingMode::kFastLane);
  ASSERT_TRUE(e->advance_ticks(2).ok());
  EXPECT_EQ(e->get_active_routing(), ProcessingMode::kQuality);
  EXPECT_EQ(e->get_metrics().mode_switches, 2);
}

// Adaptive mode on a heavy tick: a QUALITY-only processor that takes longer than the period drives the routing
// to the fast lane after ticks_to_fast_lane ticks.
class Slow : public AudioProcessor {
 public:
  Status prepare(int, size_t) override { return ok_status(); }
  void process(float*, size_t, const ProcessContext&) noexcept override {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(kPeriodMs);
    while (std::chrono::steady_clock::now() < until) {
    }
  }
  void reset() noexcept override {}
  const char* name() const noexcept override { return "slow"; }
};

TEST(EngineProcessing, AdaptiveModeFallsBackToTheFastLaneUnderLoad) {
  auto e = AudioEngine::create(stepped_config());
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(e->add_processor(std::make_shared<Slow>(), ProcessingStage::kCapturePre, kModeQuality).ok());
  ASSERT_TRUE(e->enable_adaptive_mode(AdaptiveModeConfig{0.7, 0.4, 3, 1000}).ok());
  ASSERT_TRUE(e->advance_ticks(2).ok());
  EXPECT_EQ(e->get_active_routing(), ProcessingMode::kQuality);
  ASSERT_TRUE(e->advance_ticks(1).ok());  // the third heavy tick decides; the switch lands at the next boundary
  ASSERT_TRUE(e->advance_ticks(1).ok());
  EXPECT_EQ(e->get_active_routing(), ProcessingMode::kFastLane);
  EXPECT_EQ(e->get_metrics().mode_switches, 1);
}

// Stage timing reports nanoseconds: a capture stage that spins 2 ms in the sampled tick reports what the
// spin measured on steady_clock, plus the stage's own few microseconds (and, under load, a preemption's worth).
// Durations left in the stage clock's units would read a multiple of it.
class Spin2Ms : public AudioProcessor {
 public:
  Status prepare(int, size_t) override { return ok_status(); }
  void process(float*, size_t, const ProcessContext&) noexcept override {
    const auto start = std::chrono::steady_clock::now();
    auto now = start;
    while (now - start < std::chrono::milliseconds(2)) now = std::chrono::steady_clock::now();
    const double ns = std::chrono::duration<double, std::nano>(now - start).count();
    if (ns > longest_ns.load()) longest_ns.store(ns);
  }
  void reset() noexcept override {}
  const char* name() const noexcept override { return "spin_2ms"; }
  std::atomic<double> longest_ns{0.0};
};

TEST(EngineProcessing, StageTimingReportsNanoseconds) {
  EngineConfig c = stepped_config();
  c.clock.virtual_mode = VirtualClockMode::kInline;
  c.metrics.stage_timing = true;
  auto e = AudioEngine::create(c);
  ASSERT_TRUE(e->start().ok());
  auto spin = std::make_shared<Spin2Ms>();
  ASSERT_TRUE(e->add_processor(spin, ProcessingStage::kCapturePre).ok());
  ASSERT_TRUE(e->advance_ticks(1).ok());  // the first tick is one of the timed ones (one in 16)
  const EngineMetrics m = e->get_metrics();
  ASSERT_EQ(m.capture_stage.count, 1u);
  const double spun = spin->longest_ns.load();
  ASSERT_GE(spun, 2e6);
  EXPECT_GE(m.capture_stage.max_ns, 0.98 * spun);
  EXPECT_LE(m.capture_stage.max_ns, 1.02 * spun + 1e6);
  EXPECT_GE(m.tick.max_ns, m.capture_stage.max_ns);
}

TEST(EngineProcessing, RemovedProcessorIsDestroyedOnTheControlThread) {
  auto e = AudioEngine::create(stepped_config());
  ASSERT_TRUE(e->start().ok());
  std::atomic<std::thread::id> destroyed_on{};
  std::weak_ptr<AudioProcessor> weak;
  ProcessorId id = 0;
  {
    auto p = std::make_shared<Gain>(0.5f, &destroyed_on);
    weak = p;
    auto r = e->add_processor(p, ProcessingStage::kCapturePre);
    ASSERT_TRUE(r.ok());
    id = *r;
  }
  ASSERT_TRUE(e->advance_ticks(2).ok());
  ASSERT_TRUE(e->remove_processor(id).ok());
  EXPECT_FALSE(weak.expired()) << "still fading out: no tick ran since the removal";
  ASSERT_TRUE(e->advance_ticks(2).ok());
  EXPECT_TRUE(weak.expired());
  EXPECT_EQ(destroyed_on.load(), std::this_thread::get_id());
  EXPECT_EQ(e->remove_processor(id).error(), Error::kInvalidArgument);
  // With the clock stopped no tick will finish a fade: the removal is immediate.
  auto r = e->add_processor(std::make_shared<Gain>(0.5f, &destroyed_on), ProcessingStage::kRender);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(e->advance_ticks(2).ok());
  ASSERT_TRUE(e->shutdown().ok());
  destroyed_on = std::thread::id{};
  ASSERT_TRUE(e->remove_processor(*r).ok());
  EXPECT_EQ(destroyed_on.load(), std::this_thread::get_id());
}

TEST(EngineProcessing, AddAndRemoveFromAControlThreadWhileTicksRun) {
  auto e = AudioEngine::create(stepped_config());
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(e->start_capture().ok());
  std::atomic<bool> stop{false};
  std::atomic<int> cycles{0};
  std::thread control([&] {
    std::vector<ProcessorId> ids;
    int i = 0;
    while (!stop.load()) {
      auto r = e->add_processor(std::make_shared<Gain>(0.9f), static_cast<ProcessingStage>(i % 3),
                                i % 2 == 0 ? kAllModes : kModeQuality);
      ASSERT_TRUE(r.ok());
      ids.push_back(*r);
      if (ids.size() > 3) {
        ASSERT_TRUE(e->remove_processor(ids.front()).ok());
        ids.erase(ids.begin());
      }
      if (i % 7 == 0) (void)e->set_mode(i % 14 == 0 ? ProcessingMode::kFastLane : ProcessingMode::kQuality);
      ++i;
      ++cycles;
      std::this_thread::yield();
    }
    for (auto id : ids) ASSERT_TRUE(e->remove_processor(id).ok());
  });
  std::vector<float> tone(kPeriod, 0.25f);
  CaptureChunk chunk;
  int64_t delivered = 0;
  for (int t = 0; t < 400 || cycles.load() < 20; ++t) {
    ASSERT_TRUE(e->inject_test_audio(tone).ok());
    ASSERT_TRUE(e->advance_ticks(1).ok());
    while (e->try_read_chunk(chunk)) delivered += chunk.info.num_frames;
  }
  stop = true;
  control.join();
  ASSERT_TRUE(e->advance_ticks(2).ok());
  EXPECT_EQ(delivered, e->now_samples() - static_cast<int64_t>(2 * kPeriod));
  ASSERT_TRUE(e->advance_ticks(1).ok());
  // Every processor removed and reclaimed: a fresh add is the only one in the chain, and removing it works.
  auto r = e->add_processor(std::make_shared<Gain>(1.0f), ProcessingStage::kRender);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(e->remove_processor(*r).ok());
}

TEST(EngineProcessing, TickWithProcessorsAndModeSwitchesNeitherAllocatesNorLocks) {
  if (!rt::probe_installed()) GTEST_SKIP() << "the real-time probe is not linked (sanitizer build)";
  auto e = AudioEngine::create(stepped_config());
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(e->start_capture().ok());
  ASSERT_TRUE(e->add_processor(std::make_shared<Gain>(0.5f), ProcessingStage::kRender).ok());
  ASSERT_TRUE(e->add_processor(std::make_shared<Gain>(0.5f), ProcessingStage::kCapturePre, kModeQuality).ok());
  auto rec = std::make_shared<RenderRecorder>();
  ASSERT_TRUE(e->add_processor(rec, ProcessingStage::kCapturePost, kModeFastLane).ok());
  std::vector<float> ai(kPeriod * 30, 0.1f);
  ASSERT_TRUE(e->queue_playback(ai.data(), ai.size() * sizeof(float), AudioFormat{kRate, 1, SampleType::kFloat32}, 1).ok());
  ASSERT_TRUE(e->advance_ticks(1).ok());
  rt::reset_violation_counts();
  std::vector<float> tone(kPeriod, 0.25f);
  CaptureChunk chunk;
  for (int t = 0; t < 40; ++t) {
    ASSERT_TRUE(e->inject_test_audio(tone).ok());
    ASSERT_TRUE((t % 2 == 0 ? e->optimize_for_latency() : e->optimize_for_quality()).ok());
    ASSERT_TRUE(e->advance_ticks(1).ok());
    while (e->try_read_chunk(chunk)) {
    }
  }
  const auto counts = rt::violation_counts();
  EXPECT_EQ(counts.allocations, 0u);
  EXPECT_EQ(counts.mutex_locks, 0u);
  EXPECT_EQ(e->get_metrics().mode_switches, 40);
}

TEST(EngineProcessing, ProcessAudioRunsTheCaptureStagesOverHeldAudio) {
  auto e = AudioEngine::create(stepped_config());
  ASSERT_TRUE(e->add_processor(std::make_shared<Gain>(0.5f), ProcessingStage::kCapturePre).ok());
  std::vector<float> held(kPeriod * 4, 1.0f);
  ASSERT_TRUE(e->process_audio(held).ok());
  EXPECT_FLOAT_EQ(held.back(), 0.5f);
  EXPECT_LT(held[0], 1.0f);
  EXPECT_GT(held[0], 0.5f);  // the fade-in of a processor that had never run
  auto fut = e->process_audio_async(std::vector<float>(kPeriod, 1.0f));
  auto r = fut.get();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), kPeriod);
  EXPECT_FLOAT_EQ((*r)[0], 0.5f);
  std::vector<float> render(3);
  EXPECT_EQ(e->process_audio(held, render).error(), Error::kInvalidArgument);
}

}  // namespace
}  // namespace ae
