// Echo cancellation through the engine, on the virtual clock: enable_echo_cancellation installs the echo
// processor at the capture-pre stage with this tick's playback block as its reference; the engine's output is
// bit-identical to the processor driven directly with the same blocks (so the render reference of MIC sample n
// is FAR sample n); config, replacement, disabling, duplex metrics and the tick's real-time discipline.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "audioengine/echo_canceller.hpp"
#include "audioengine/realtime.hpp"
#include "echo_scenario.hpp"

namespace ae {
namespace {

constexpr int kRate = 16000;
constexpr int kPeriodMs = 10;
constexpr size_t kPeriod = kRate * kPeriodMs / 1000;
constexpr AudioFormat kFloatMono{kRate, 1, SampleType::kFloat32};

EngineConfig inline_config() {
  EngineConfig c = EngineConfig::fast_lane();
  c.audio.sample_rate_hz = kRate;
  c.audio.chunk_duration_ms = kPeriodMs;
  c.clock.virtual_mode = VirtualClockMode::kInline;
  c.vad.enabled = false;
  c.barge_in.enabled = false;  // the echo would make the engine interrupt its own playback
  return c;
}

// Collects the processed capture by timeline position (all storage made before the ticks run).
struct Collected {
  std::vector<float> out;
  static void on_chunk(const ChunkInfo& info, const float* mono, void* user) {
    auto& out = static_cast<Collected*>(user)->out;
    const auto at = static_cast<size_t>(info.start_sample);
    if (at >= out.size()) return;
    std::copy(mono, mono + std::min(out.size() - at, static_cast<size_t>(info.num_frames)), out.begin() + at);
  }
};

// Records what the capture-pre stage is given in each tick: the microphone block and its render reference.
class BlockRecorder : public AudioProcessor {
 public:
  explicit BlockRecorder(size_t capacity) : capacity_(capacity) {}
  Status prepare(int, size_t) override {
    mic_.assign(capacity_, -9.0f);
    render_.assign(capacity_, -9.0f);
    return ok_status();
  }
  void process(float* mono, size_t n, const ProcessContext& ctx) noexcept override {
    const auto at = static_cast<size_t>(ctx.t_samples);
    if (at + n > capacity_) return;
    std::copy(mono, mono + n, mic_.begin() + static_cast<std::ptrdiff_t>(at));
    for (size_t i = 0; i < n; ++i) render_[at + i] = ctx.render != nullptr && i < ctx.render_frames ? ctx.render[i] : 0.0f;
    last_delay_ms_ = ctx.echo_delay_ms;
  }
  void reset() noexcept override {}
  const char* name() const noexcept override { return "block_recorder"; }
  size_t capacity_;
  std::vector<float> mic_, render_;
  int last_delay_ms_ = -2;
};

// Feeds MIC as the capture source and FAR as playback, `block_ticks` periods at a time (the way `audioengine aec`
// does), and returns the processed capture.
std::vector<float> run_duplex(AudioEngine& e, const std::vector<float>& mic, const std::vector<float>& far,
                              size_t block_ticks = 100) {
  Collected c;
  c.out.assign(mic.size(), 0.0f);
  e.set_realtime_chunk_callback(&Collected::on_chunk, &c);
  EXPECT_TRUE(e.start().ok());
  EXPECT_TRUE(e.start_capture().ok());
  const size_t block = block_ticks * kPeriod;
  for (size_t at = 0; at < mic.size(); at += block) {
    const size_t n = std::min(block, mic.size() - at);
    EXPECT_TRUE(e.inject_test_audio(std::span<const float>(mic.data() + at, n)).ok());
    EXPECT_TRUE(e.queue_playback(far.data() + at, n * sizeof(float), kFloatMono).ok());
    EXPECT_TRUE(e.advance_ticks(static_cast<int64_t>((n + kPeriod - 1) / kPeriod)).ok());
  }
  e.set_realtime_chunk_callback(nullptr, nullptr);
  return c.out;
}

test::EchoScenario scenario() {
  test::EchoScenarioOptions o;
  o.far_only_s = 6.0;
  o.double_talk_s = 2.0;
  o.near_only_s = 1.0;
  auto sc = test::make_echo_scenario(o);
  if (!sc.ok()) return {};
  // Whole periods, so that every sample goes through a full tick.
  const size_t n = sc->mic.size() / kPeriod * kPeriod;
  sc->mic.resize(n);
  sc->far.resize(n);
  return std::move(sc.value());
}

TEST(EngineEcho, OutputIsThatOfTheProcessorDrivenDirectlyWithFarAlignedToMic) {
  const test::EchoScenario sc = scenario();
  if (sc.mic.empty()) GTEST_SKIP() << "espeak-ng voices are not available";
  auto e = AudioEngine::create(inline_config());
  auto rec = std::make_shared<BlockRecorder>(sc.mic.size());
  ASSERT_TRUE(e->add_processor(rec, ProcessingStage::kCapturePre).ok());
  ASSERT_TRUE(e->enable_echo_cancellation(EchoCancellerConfig{}).ok());
  const std::vector<float> out = run_duplex(*e, sc.mic, sc.far);

  // The capture-pre stage saw MIC sample n with FAR sample n as its reference, for every n.
  for (size_t i = 0; i < sc.mic.size(); ++i) {
    ASSERT_EQ(rec->mic_[i], sc.mic[i]) << "sample " << i;
    ASSERT_EQ(rec->render_[i], sc.far[i]) << "sample " << i;
  }
  // The virtual clock adds no delay of its own between the two blocks of a tick: the delay is left to the AEC.
  EXPECT_EQ(rec->last_delay_ms_, -1);

  // The same processor type, config and blocks, driven directly.
  auto direct = make_echo_processor(EchoCancellerConfig{});
  ASSERT_TRUE(direct.ok()) << direct.message();
  ASSERT_TRUE((*direct)->prepare(kRate, kPeriod).ok());
  std::vector<float> ref = sc.mic;
  for (size_t at = 0; at < ref.size(); at += kPeriod) {
    ProcessContext ctx;
    ctx.sample_rate_hz = kRate;
    ctx.t_samples = static_cast<int64_t>(at);
    ctx.render = sc.far.data() + at;
    ctx.render_frames = kPeriod;
    (*direct)->process(ref.data() + at, kPeriod, ctx);
  }
  // Bit-identical once the chain's fade-in (5 ms, inside the first tick) is over.
  for (size_t i = kPeriod; i < out.size(); ++i) ASSERT_EQ(out[i], ref[i]) << "sample " << i;

  // And the echo is gone: far-end-only stretch after 3 s of convergence.
  const size_t from = 3 * kRate;
  const double erle = test::level_db(sc.mic, out, from, sc.double_talk_begin);
  std::printf("engine ERLE over the far-end-only stretch: %.1f dB\n", erle);
  EXPECT_GE(erle, 30.0);
  auto m = e->get_duplex_metrics();
  ASSERT_TRUE(m.ok()) << m.message();
  EXPECT_EQ(m->frames, static_cast<int64_t>(sc.mic.size() / kPeriod));
  EXPECT_GT(m->erle_db, 20.0);
  EXPECT_GE(m->delay_ms, 0);
  EXPECT_GT(m->far_end_active_fraction, 0.3);
  EXPECT_EQ(m->erle_db, (*direct)->duplex_metrics().erle_db);
  EXPECT_EQ(m->double_talk_fraction, (*direct)->duplex_metrics().double_talk_fraction);
}

TEST(EngineEcho, OffUntilEnabledThenInMetricsAndJson) {
  auto e = AudioEngine::create(inline_config());
  EXPECT_FALSE(e->is_echo_cancellation_enabled());
  auto none = e->get_duplex_metrics();
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error(), Error::kNotInitialized);
  EXPECT_NE(none.message().find("enable_echo_cancellation"), std::string::npos) << none.message();
  ASSERT_TRUE(e->start().ok());
  EXPECT_FALSE(e->get_metrics().echo_cancellation);
  EXPECT_EQ(e->export_metrics().find("\"echo\""), std::string::npos);

  ASSERT_TRUE(e->enable_echo_cancellation(EchoCancellerConfig{}).ok());
  EXPECT_TRUE(e->is_echo_cancellation_enabled());
  EXPECT_TRUE(e->config().echo.enabled);
  ASSERT_TRUE(e->advance_ticks(7).ok());
  const EngineMetrics m = e->get_metrics();
  EXPECT_TRUE(m.echo_cancellation);
  EXPECT_EQ(m.echo_frames, 7);
  const std::string json = e->export_metrics();
  EXPECT_NE(json.find("\"echo\":{\"erle_db\":"), std::string::npos) << json;
  EXPECT_NE(json.find("\"frames\":7}"), std::string::npos) << json;
  EXPECT_EQ(json.back(), '}');
}

TEST(EngineEcho, ConfigCreatesItAtInitializeAndValidatesItWithFieldNames) {
  EngineConfig c = inline_config();
  c.echo.enabled = true;
  c.echo.canceller.noise_suppression = NoiseSuppressionLevel::kOff;
  auto e = AudioEngine::create(c);
  EXPECT_FALSE(e->is_echo_cancellation_enabled());
  ASSERT_TRUE(e->initialize().ok());
  EXPECT_TRUE(e->is_echo_cancellation_enabled());
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(e->advance_ticks(3).ok());
  EXPECT_EQ(e->get_duplex_metrics()->frames, 3);
  // A restart keeps the processor (the chain outlives shutdown) and does not add a second one.
  ASSERT_TRUE(e->shutdown().ok());
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(e->advance_ticks(2).ok());
  EXPECT_EQ(e->get_duplex_metrics()->frames, 5);

  EngineConfig bad = inline_config();
  bad.echo.enabled = true;
  bad.echo.canceller.agc_target_level_dbfs = 40;
  const auto issues = validate_config(bad);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].field, "echo.canceller.agc_target_level_dbfs");
  EXPECT_EQ(issues[0].value, "40");
  EXPECT_NE(issues[0].valid.find("0..31"), std::string::npos) << issues[0].valid;
  auto e2 = AudioEngine::create(bad);
  const Status st = e2->initialize();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error(), Error::kInvalidConfig);
  EXPECT_NE(st.message().find("echo.canceller.agc_target_level_dbfs = 40"), std::string::npos) << st.message();
  // Disabled, the canceller's fields are not checked.
  bad.echo.enabled = false;
  EXPECT_TRUE(validate_config(bad).empty());
}

TEST(EngineEcho, InitializeMakesTheEngineMatchConfigEcho) {
  auto e = AudioEngine::create(inline_config());
  ASSERT_TRUE(e->enable_echo_cancellation(EchoCancellerConfig{}).ok());
  // Replaced wholesale before initialize(): the config without echo wins.
  ASSERT_TRUE(e->update_config(inline_config()).ok());
  ASSERT_TRUE(e->start().ok());
  EXPECT_FALSE(e->is_echo_cancellation_enabled());

  // Cold while running: listed, and applied by the restart.
  EngineConfig on = inline_config();
  on.echo.enabled = true;
  auto update = e->update_config(on);
  ASSERT_TRUE(update.ok());
  EXPECT_NE(std::find(update->needs_restart.begin(), update->needs_restart.end(), "echo.enabled"),
            update->needs_restart.end());
  EXPECT_FALSE(e->is_echo_cancellation_enabled());
  ASSERT_TRUE(e->shutdown().ok());
  ASSERT_TRUE(e->start().ok());
  EXPECT_TRUE(e->is_echo_cancellation_enabled());
  ASSERT_TRUE(e->advance_ticks(4).ok());

  // Another canceller config at restart: a fresh processor built from it.
  EngineConfig other = on;
  other.echo.canceller.suppression = EchoSuppression::kLow;
  ASSERT_TRUE(e->update_config(other).ok());
  ASSERT_TRUE(e->shutdown().ok());
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(e->advance_ticks(1).ok());
  EXPECT_EQ(e->get_duplex_metrics()->frames, 1);
  EXPECT_EQ(e->config().echo.canceller.suppression, EchoSuppression::kLow);

  // disable_echo_cancellation() while a restart config is pending is not undone by the restart.
  ASSERT_TRUE(e->update_config(on).ok());
  ASSERT_TRUE(e->disable_echo_cancellation().ok());
  ASSERT_TRUE(e->shutdown().ok());
  ASSERT_TRUE(e->start().ok());
  EXPECT_FALSE(e->is_echo_cancellation_enabled());
}

TEST(EngineEcho, BadConfigChangesNothingAndSpeexReplacesWebRtc) {
  auto e = AudioEngine::create(inline_config());
  ASSERT_TRUE(e->start().ok());
  EchoCancellerConfig bad;
  bad.stream_delay_ms = 900;
  Status st = e->enable_echo_cancellation(bad);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error(), Error::kInvalidArgument);
  EXPECT_NE(st.message().find("stream_delay_ms = 900"), std::string::npos) << st.message();
  EXPECT_FALSE(e->is_echo_cancellation_enabled());
  EXPECT_FALSE(e->config().echo.enabled);

  ASSERT_TRUE(e->enable_echo_cancellation(EchoCancellerConfig{}).ok());
  ASSERT_TRUE(e->advance_ticks(4).ok());
  EXPECT_EQ(e->get_duplex_metrics()->frames, 4);
  EchoCancellerConfig speex;
  speex.implementation = EchoImplementation::kSpeex;
  ASSERT_TRUE(e->enable_echo_cancellation(speex).ok());
  EXPECT_EQ(e->config().echo.canceller.implementation, EchoImplementation::kSpeex);
  ASSERT_TRUE(e->advance_ticks(3).ok());
  EXPECT_EQ(e->get_duplex_metrics()->frames, 3);  // the new processor's own count
}

// WebRTC runs at any engine rate (behind resamplers); Speex refuses rates that are not a multiple of 100 Hz, and
// the refusal names the rate and leaves the engine as it was.
TEST(EngineEcho, EngineRatesAcceptedAndRefused) {
  EngineConfig c = inline_config();
  c.audio.sample_rate_hz = 48000;
  auto e = AudioEngine::create(c);
  ASSERT_TRUE(e->enable_echo_cancellation(EchoCancellerConfig{}).ok());
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(e->advance_ticks(5).ok());
  EXPECT_GT(e->get_duplex_metrics()->frames, 0);

  c.audio.sample_rate_hz = 22050;
  auto odd = AudioEngine::create(c);
  EchoCancellerConfig speex;
  speex.implementation = EchoImplementation::kSpeex;
  const Status st = odd->enable_echo_cancellation(speex);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("22050"), std::string::npos) << st.message();
  EXPECT_FALSE(odd->is_echo_cancellation_enabled());
  EXPECT_FALSE(odd->config().echo.enabled);
}

TEST(EngineEcho, ReplacingStartsAFreshProcessorAndDisablingPassesTheMicrophoneThrough) {
  auto e = AudioEngine::create(inline_config());
  ASSERT_TRUE(e->enable_echo_cancellation(EchoCancellerConfig{}).ok());  // before initialize()
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(e->advance_ticks(10).ok());
  EXPECT_EQ(e->get_duplex_metrics()->frames, 10);
  EchoCancellerConfig high;
  high.suppression = EchoSuppression::kHigh;
  ASSERT_TRUE(e->enable_echo_cancellation(high).ok());
  EXPECT_EQ(e->config().echo.canceller.suppression, EchoSuppression::kHigh);
  ASSERT_TRUE(e->advance_ticks(3).ok());
  EXPECT_EQ(e->get_duplex_metrics()->frames, 3) << "the metrics are the new processor's";

  ASSERT_TRUE(e->disable_echo_cancellation().ok());
  EXPECT_FALSE(e->is_echo_cancellation_enabled());
  EXPECT_FALSE(e->config().echo.enabled);
  EXPECT_EQ(e->get_duplex_metrics().error(), Error::kNotInitialized);
  EXPECT_TRUE(e->disable_echo_cancellation().ok()) << "already off";
  // The fade-out ends within the next tick; from then on the microphone passes unchanged (the high-pass
  // filter, noise suppressor and AGC are gone with the canceller).
  std::vector<float> mic(kPeriod * 6);
  for (size_t i = 0; i < mic.size(); ++i) mic[i] = 0.3f * static_cast<float>(std::sin(0.05 * static_cast<double>(i)));
  const int64_t t0 = e->now_samples();
  Collected c;
  c.out.assign(static_cast<size_t>(t0) + mic.size(), 0.0f);
  e->set_realtime_chunk_callback(&Collected::on_chunk, &c);
  ASSERT_TRUE(e->start_capture().ok());
  ASSERT_TRUE(e->inject_test_audio(mic).ok());
  ASSERT_TRUE(e->advance_ticks(6).ok());
  e->set_realtime_chunk_callback(nullptr, nullptr);
  for (size_t i = kPeriod; i < mic.size(); ++i) ASSERT_EQ(c.out[static_cast<size_t>(t0) + i], mic[i]) << i;
}

TEST(EngineEcho, TickWithEchoCancellationNeitherAllocatesNorLocks) {
  if (!rt::probe_installed()) GTEST_SKIP() << "the real-time probe is not linked (sanitizer build)";
  auto e = AudioEngine::create(inline_config());
  ASSERT_TRUE(e->enable_echo_cancellation(EchoCancellerConfig{}).ok());
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(e->start_capture().ok());
  std::vector<float> far(kPeriod * 50), mic(kPeriod * 50);
  for (size_t i = 0; i < far.size(); ++i) {
    far[i] = 0.2f * static_cast<float>(std::sin(0.07 * static_cast<double>(i)));
    mic[i] = 0.5f * (i >= 40 ? far[i - 40] : 0.0f);
  }
  ASSERT_TRUE(e->queue_playback(far.data(), far.size() * sizeof(float), kFloatMono).ok());
  ASSERT_TRUE(e->inject_test_audio(mic).ok());
  ASSERT_TRUE(e->advance_ticks(1).ok());
  rt::reset_violation_counts();
  ASSERT_TRUE(e->advance_ticks(40).ok());
  const auto counts = rt::violation_counts();
  EXPECT_EQ(counts.allocations, 0u);
  EXPECT_EQ(counts.mutex_locks, 0u);
  EXPECT_EQ(e->get_duplex_metrics()->frames, 41);
}

}  // namespace
}  // namespace ae
