// ProcessingChain on its own: exact crossfade ramps, snapshot reclamation after the audio side moved on, the
// thread that destroys a removed processor, offline processing with a render reference, adaptive hysteresis.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "audioengine/processing_chain.hpp"

namespace ae {
namespace {

constexpr int kRate = 16000;
constexpr size_t kBlock = 160;

class GainProcessor : public AudioProcessor {
 public:
  explicit GainProcessor(float gain, std::atomic<std::thread::id>* destroyed_on = nullptr)
      : gain_(gain), destroyed_on_(destroyed_on) {}
  ~GainProcessor() override {
    if (destroyed_on_ != nullptr) destroyed_on_->store(std::this_thread::get_id());
  }
  Status prepare(int, size_t) override { return ok_status(); }
  void process(float* mono, size_t n, const ProcessContext& ctx) noexcept override {
    for (size_t i = 0; i < n; ++i) mono[i] *= gain_;
    last_render_ = ctx.render != nullptr ? ctx.render[0] : -99.0f;
    last_stage_ = ctx.stage;
  }
  void reset() noexcept override {}
  const char* name() const noexcept override { return "gain"; }
  float last_render_ = 0;
  ProcessingStage last_stage_ = ProcessingStage::kRender;

 private:
  float gain_;
  std::atomic<std::thread::id>* destroyed_on_;
};

std::unique_ptr<ProcessingChain> make_chain() {
  auto c = ProcessingChain::create(ProcessingChainConfig{kRate, kBlock, 5});
  EXPECT_TRUE(c.ok());
  return std::move(c.value());
}

// One block of ones through the capture stages; returns the output.
std::vector<float> tick_ones(ProcessingChain& chain) {
  std::vector<float> block(kBlock, 1.0f);
  chain.begin_tick();
  ProcessContext ctx;
  ctx.sample_rate_hz = kRate;
  chain.process_capture(block.data(), block.size(), ctx);
  return block;
}

// The ramp as documented: the k-th sample of a ramp (k = 1..R) has wet gain k/R in, (R-k)/R out.
float expected(float dry, float wet, int pos, int ramp) {
  const float g = static_cast<float>(pos) * (1.0f / static_cast<float>(ramp));
  return dry + g * (wet - dry);
}

TEST(ProcessingChain, RejectsBadConfigAndArguments) {
  EXPECT_EQ(ProcessingChain::create({1000, kBlock, 5}).error(), Error::kInvalidArgument);
  EXPECT_EQ(ProcessingChain::create({kRate, 0, 5}).error(), Error::kInvalidArgument);
  EXPECT_EQ(ProcessingChain::create({kRate, kBlock, 0}).error(), Error::kInvalidArgument);
  auto chain = make_chain();
  EXPECT_EQ(chain->add(nullptr, ProcessingStage::kCapturePre).error(), Error::kInvalidArgument);
  EXPECT_EQ(chain->add(std::make_shared<GainProcessor>(1.0f), ProcessingStage::kCapturePre, 0).error(),
            Error::kInvalidArgument);
  EXPECT_EQ(chain->remove(42).error(), Error::kInvalidArgument);
  EXPECT_EQ(chain->set_bypass(42, true).error(), Error::kInvalidArgument);
  std::vector<float> mono(10), render(5);
  EXPECT_EQ(chain->process_audio(mono, render).error(), Error::kInvalidArgument);
}

TEST(ProcessingChain, InsertBypassAndUnbypassAreExactLinearRamps) {
  auto chain = make_chain();
  const int ramp = chain->crossfade_samples();
  ASSERT_EQ(ramp, kRate * 5 / 1000);
  auto id = chain->add(std::make_shared<GainProcessor>(0.5f), ProcessingStage::kCapturePre);
  ASSERT_TRUE(id.ok());
  // Inserted: fades in over `ramp` samples of the first block, then fully processed.
  auto out = tick_ones(*chain);
  for (int i = 0; i < static_cast<int>(kBlock); ++i) {
    const float want = i < ramp ? expected(1.0f, 0.5f, i + 1, ramp) : 0.5f;
    ASSERT_NEAR(out[static_cast<size_t>(i)], want, 1e-6) << "sample " << i;
  }
  ASSERT_TRUE(chain->set_bypass(*id, true).ok());
  out = tick_ones(*chain);
  for (int i = 0; i < static_cast<int>(kBlock); ++i) {
    const float want = i < ramp ? expected(1.0f, 0.5f, ramp - (i + 1), ramp) : 1.0f;
    ASSERT_NEAR(out[static_cast<size_t>(i)], want, 1e-6) << "sample " << i;
  }
  ASSERT_TRUE(chain->set_bypass(*id, false).ok());
  out = tick_ones(*chain);
  EXPECT_NEAR(out[0], expected(1.0f, 0.5f, 1, ramp), 1e-6);
  EXPECT_NEAR(out[kBlock - 1], 0.5f, 1e-6);
  // A bypass that is undone mid-ramp turns around from where it is: no jump.
  ASSERT_TRUE(chain->set_bypass(*id, true).ok());
  std::vector<float> half(static_cast<size_t>(ramp / 2), 1.0f);
  chain->begin_tick();
  chain->process_capture(half.data(), half.size(), ProcessContext{});
  ASSERT_TRUE(chain->set_bypass(*id, false).ok());
  out = tick_ones(*chain);
  EXPECT_NEAR(out[0], expected(1.0f, 0.5f, ramp - ramp / 2 + 1, ramp), 1e-6);
}

TEST(ProcessingChain, RoutingRunsOnlyTheProcessorsOfTheMode) {
  auto chain = make_chain();
  ASSERT_TRUE(chain->add(std::make_shared<GainProcessor>(0.5f), ProcessingStage::kCapturePre, kModeQuality).ok());
  ASSERT_TRUE(chain->add(std::make_shared<GainProcessor>(0.25f), ProcessingStage::kCapturePost, kModeFastLane).ok());
  chain->set_routing(ProcessingMode::kQuality);
  (void)tick_ones(*chain);
  EXPECT_NEAR(tick_ones(*chain)[0], 0.5f, 1e-6);
  chain->set_routing(ProcessingMode::kFastLane);
  EXPECT_EQ(chain->routing(), ProcessingMode::kFastLane);
  (void)tick_ones(*chain);
  EXPECT_NEAR(tick_ones(*chain)[0], 0.25f, 1e-6);
}

TEST(ProcessingChain, RemovedProcessorIsFreedOnTheControlThreadAfterTheAudioSideMovedOn) {
  auto chain = make_chain();
  std::atomic<std::thread::id> destroyed_on{};
  std::weak_ptr<AudioProcessor> weak;
  ProcessorId id = 0;
  {
    auto p = std::make_shared<GainProcessor>(0.5f, &destroyed_on);
    weak = p;
    auto r = chain->add(p, ProcessingStage::kCapturePre);
    ASSERT_TRUE(r.ok());
    id = *r;
  }
  std::thread::id audio_id;
  auto run_audio = [&](int ticks) {
    std::thread audio([&] {
      audio_id = std::this_thread::get_id();
      for (int t = 0; t < ticks; ++t) (void)tick_ones(*chain);
    });
    audio.join();
  };
  run_audio(2);
  ASSERT_TRUE(chain->remove(id).ok());
  EXPECT_TRUE(chain->removal_pending());
  // Fading out: still in the chain and alive.
  run_audio(1);
  EXPECT_FALSE(weak.expired());
  // The fade ended: reclaim() publishes a snapshot without it, but the audio side has not acknowledged that
  // snapshot yet, so the old one (and the processor) must stay.
  EXPECT_EQ(chain->reclaim(), 1u);
  EXPECT_FALSE(weak.expired());
  EXPECT_GT(chain->live_snapshots(), 1u);
  run_audio(1);
  EXPECT_EQ(chain->reclaim(), 0u);
  EXPECT_TRUE(weak.expired());
  EXPECT_EQ(chain->live_snapshots(), 1u);
  EXPECT_EQ(destroyed_on.load(), std::this_thread::get_id());
  EXPECT_NE(destroyed_on.load(), audio_id);
  EXPECT_EQ(chain->size(), 0u);
}

TEST(ProcessingChain, OfflineProcessingPassesTheRenderReferenceOfTheSameInstants) {
  auto chain = make_chain();
  auto p = std::make_shared<GainProcessor>(0.5f);
  ASSERT_TRUE(chain->add(p, ProcessingStage::kCapturePost).ok());
  std::vector<float> mono(kBlock * 3 + 17, 1.0f);
  std::vector<float> render(mono.size());
  for (size_t i = 0; i < render.size(); ++i) render[i] = static_cast<float>(i);
  ASSERT_TRUE(chain->process_audio(mono, render).ok());
  // The last block starts at 3 * kBlock: that is the render sample the processor saw first in it.
  EXPECT_EQ(p->last_render_, static_cast<float>(3 * kBlock));
  EXPECT_EQ(p->last_stage_, ProcessingStage::kCapturePost);
  EXPECT_NEAR(mono[0], expected(1.0f, 0.5f, 1, chain->crossfade_samples()), 1e-6);
  EXPECT_NEAR(mono.back(), 0.5f, 1e-6);
}

TEST(AdaptiveModeController, SwitchesAfterConsecutiveTicksWithHysteresis) {
  AdaptiveModeController c(AdaptiveModeConfig{0.7, 0.4, 3, 5});
  c.reset(ProcessingMode::kQuality);
  // Two heavy ticks, one light: the count starts over.
  EXPECT_EQ(c.update(0.9), ProcessingMode::kQuality);
  EXPECT_EQ(c.update(0.9), ProcessingMode::kQuality);
  EXPECT_EQ(c.update(0.5), ProcessingMode::kQuality);
  EXPECT_EQ(c.update(0.9), ProcessingMode::kQuality);
  EXPECT_EQ(c.update(0.9), ProcessingMode::kQuality);
  EXPECT_EQ(c.update(0.9), ProcessingMode::kFastLane);
  // Between the thresholds nothing changes, however long.
  for (int i = 0; i < 100; ++i) EXPECT_EQ(c.update(0.55), ProcessingMode::kFastLane);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(c.update(0.1), ProcessingMode::kFastLane);
  EXPECT_EQ(c.update(0.1), ProcessingMode::kQuality);
}

TEST(AdaptiveModeConfig, ValidationNamesEachField) {
  const auto issues = validate_adaptive_mode_config(AdaptiveModeConfig{1.5, 2.0, 0, 0});
  ASSERT_EQ(issues.size(), 4u);
  EXPECT_EQ(issues[0].field, "adaptive.high_load_fraction");
  EXPECT_EQ(issues[1].field, "adaptive.low_load_fraction");
  EXPECT_EQ(issues[2].field, "adaptive.ticks_to_fast_lane");
  EXPECT_EQ(issues[3].field, "adaptive.ticks_to_quality");
  EXPECT_TRUE(validate_adaptive_mode_config(AdaptiveModeConfig{}).empty());
}

}  // namespace
}  // namespace ae
