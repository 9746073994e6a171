// The device layer on a private PulseAudio server, reached the way PortAudio on Debian reaches PulseAudio: its ALSA
// host API and ALSA's pulse plugin (device "pulse"). The server has one null sink; the default source is that
// sink's monitor, so whatever the engine plays comes back as its microphone input through the server.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "audioengine/devices.hpp"
#include "loopback.hpp"
#include "pulse_server.hpp"

#include "sound_server_sanitizers.hpp"

namespace ae {
namespace {

constexpr int kSinkRateHz = 48000;
// The engine at the sink's rate: a round trip that is not a whole number of engine samples would come back as a
// fractionally delayed signal, whose correlation with the played one depends on the burst.
constexpr int kEngineRateHz = kSinkRateHz;

class PulseLoopback : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(test::PulseServer::available())
        << "pulseaudio, pactl and parec are required (scripts/setup.sh installs pulseaudio, pulseaudio-utils)";
    server_ = std::make_unique<test::PulseServer>(kSinkRateHz);
    ASSERT_TRUE(server_->start()) << server_->why();
  }
  void TearDown() override {
    if (engine_) (void)engine_->shutdown();
    engine_.reset();
    if (server_) server_->stop();
  }

  EngineConfig config() {
    EngineConfig c = EngineConfig::fast_lane();
    c.audio.sample_rate_hz = kEngineRateHz;
    c.audio.chunk_duration_ms = 10;
    c.barge_in.enabled = false;  // the loop would make the engine interrupt itself
    c.clock.source = ClockSource::kDevice;
    c.device.host_api = "alsa";
    c.device.capture_device = "pulse";
    c.device.playback_device = "pulse";
    c.device.sample_rate_hz = kSinkRateHz;
    // The test reads chunks between correlation searches that take seconds under a sanitizer: room for 20 s.
    c.queues.chunk_queue_capacity_ms = 20000;
    return c;
  }

  // How long a stream runs, after it starts or reopens, before the loop is measured. For about the first 1.5 s the
  // round trip through the server is still sliding, by 2 samples in 1000 (the captured burst drifts against the
  // played one by some 25 samples over its 250 ms, which drops a tone burst's correlation to 0.2 although every
  // sample comes back). Measured after 1 s, the first burst slid in most runs and the first after a reopen in about
  // 3 of 10; after 2 s, none of 32 did.
  static constexpr int64_t kSettleSamples = 2 * kEngineRateHz;

  // Waits until the engine timeline has advanced by `samples` (the server runs in real time), up to 5 s.
  bool run_for(int64_t samples) {
    const int64_t until = engine_->now_samples() + samples;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (engine_->now_samples() < until) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  // Up to three measurements of the loop (items first_item.., after `after_sequence`): the best one.
  test::Measurement best_of_three(uint64_t first_item, test::Captured& cap, uint64_t after_sequence) {
    test::Measurement best;
    for (uint64_t k = 0; k < 3 && best.correlation <= 0.8; ++k) {
      const auto m = test::measure_once(*engine_, first_item + k, 71 + static_cast<uint32_t>(first_item + k),
                                        kEngineRateHz / 4, cap, after_sequence);
      after_sequence = std::max(after_sequence, m.sequence);
      if (m.correlation > best.correlation) best = m;
    }
    return best;
  }

  std::unique_ptr<test::PulseServer> server_;
  std::unique_ptr<AudioEngine> engine_;
};

// A null sink's round trip is not fixed (36-48 ms was measured with this set-up): a range, never a value. The search
// looks up to 250 ms after the playback started.
constexpr int64_t kMaxLagSamples = kEngineRateHz / 4;

TEST_F(PulseLoopback, PlayedSignalComesBackThroughTheServer) {
  engine_ = AudioEngine::create(config());
  auto streams = engine_->start_full_duplex();
  ASSERT_TRUE(streams.ok()) << streams.message();
  EXPECT_TRUE(streams->capture.shares_stream);
  EXPECT_EQ(streams->capture.host_api, "ALSA");
  EXPECT_EQ(streams->capture.sample_rate_hz, kSinkRateHz);
  ASSERT_TRUE(engine_->start_capture().ok());
  ASSERT_TRUE(run_for(kSettleSamples));
  test::Captured cap;
  uint64_t seq = 0;
  int good = 0;
  for (int i = 0; i < 5; ++i) {
    const auto m = test::measure_once(*engine_, static_cast<uint64_t>(i + 1), 60 + static_cast<uint32_t>(i),
                                      kMaxLagSamples, cap, seq);
    std::printf("pulse loop: round trip %lld samples (%.2f ms), correlation %.4f\n", static_cast<long long>(m.lag),
                1000.0 * static_cast<double>(m.lag) / kEngineRateHz, m.correlation);
    // Back whole, after it was played and within 250 ms.
    if (m.correlation > 0.95 && m.lag > 0 && m.lag < kMaxLagSamples) ++good;
    seq = m.sequence;
  }
  // The null sink and ALSA's pulse plugin may glitch on a loaded machine (the device layer then counts an xrun and a
  // burst comes back cut): most bursts must come back whole.
  std::printf("pulse loop: %d of 5 bursts back whole; %lld xruns\n", good,
              static_cast<long long>(engine_->get_device_stats().xruns));
  EXPECT_GE(good, 3);
  test::expect_samples_accounted(*engine_, cap);
}

TEST_F(PulseLoopback, ServerKilledMidStreamErrorEventReopenWhenItReturnsAndEverySampleAccounted) {
  EngineConfig c = config();
  c.device.recovery.stall_timeout_ms = 200;
  c.device.recovery.retry_interval_ms = 100;
  c.device.recovery.max_attempts = 100;
  engine_ = AudioEngine::create(c);
  auto streams = engine_->start_full_duplex();
  ASSERT_TRUE(streams.ok()) << streams.message();
  ASSERT_TRUE(engine_->start_capture().ok());
  ASSERT_TRUE(run_for(kSettleSamples));
  test::Captured cap;
  // The loop runs (whole bursts are the other test's concern; a burst cut by a glitch is measured again).
  const auto before = best_of_three(1, cap, 0);
  EXPECT_GT(before.correlation, 0.8);

  server_->kill_now();
  // Events after the measurement's own (the error may be out before kill_now() has reaped the server).
  auto error = engine_->wait_for_event(AudioEventType::kError, 3000, before.sequence);
  ASSERT_TRUE(error.has_value()) << "no error event after the server died; failures "
                                  << engine_->get_device_stats().failures;
  EXPECT_EQ(error->error.code, Error::kIo);
  auto failed = engine_->wait_for_event(AudioEventType::kStateChanged, 1000, error->sequence);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->state.to, static_cast<int32_t>(DeviceState::kFailed));
  const int64_t stopped_at = engine_->now_samples();

  // The server comes back: the engine reopens the same devices on its own.
  ASSERT_TRUE(server_->start()) << server_->why();
  auto running = engine_->wait_for_event(AudioEventType::kStateChanged, 10000, failed->sequence);
  ASSERT_TRUE(running.has_value()) << "no reopen: " << engine_->get_device_stats().last_error;
  EXPECT_EQ(running->state.to, static_cast<int32_t>(DeviceState::kRunning));
  const DeviceStats st = engine_->get_device_stats();
  EXPECT_EQ(st.failures, 1);
  EXPECT_EQ(st.reopens, 1);
  EXPECT_FALSE(st.failed);
  // The loop works again, and the timeline went on from where it stopped.
  ASSERT_TRUE(run_for(kSettleSamples));
  const auto after = best_of_three(4, cap, running->sequence);
  EXPECT_GT(after.correlation, 0.8);
  EXPECT_GT(engine_->now_samples(), stopped_at);
  test::expect_samples_accounted(*engine_, cap);
}

}  // namespace
}  // namespace ae
