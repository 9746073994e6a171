// The device layer on a real sound server: a private JACK server (dummy driver, 48 kHz, 480-frame periods) is
// started for each test, the engine opens PortAudio's JACK host API in full duplex, and the engine's own output
// port is connected to its own input port: whatever the engine plays comes back as its microphone input, through
// the server. The dummy driver is timer-driven: the graph runs exactly 100 periods of 480 frames per second.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "audioengine/devices.hpp"
#include "jack_loop_fixture.hpp"
#include "jack_server.hpp"
#include "loopback.hpp"

#include "sound_server_sanitizers.hpp"

namespace ae {
namespace {

constexpr int kServerRateHz = test::JackLoopFixture::kServerRateHz;
constexpr int kServerPeriodFrames = test::JackLoopFixture::kServerPeriodFrames;

using test::best_lag;
using test::Captured;
using test::drain;
using test::expect_samples_accounted;
using test::measure_once;
using test::noise_burst;

class JackLoopback : public test::JackLoopFixture {
 protected:
  JackLoopback() : JackLoopFixture("aetest") {}

  // No xrun since `xruns_before`. At 10 ms server periods on a virtual machine, a descheduled vCPU makes the
  // dummy driver's timer or the client late by a period now and then, whoever's work it was; under a sanitizer
  // the client runs 2-15 times slower on top of that. There, as in tests/integration/devices_cli.sh, the xruns are
  // reported, not asserted: every other check of these tests (the exact round trip, every sample back, no gap,
  // the accounting) holds through an xrun, and the release build still requires none.
  void expect_no_xruns(int64_t xruns_before) {
    const DeviceStats st = engine_->get_device_stats();
    std::printf("xruns %lld, longest callback %lld us, %lld callbacks longer than their period\n",
                static_cast<long long>(st.xruns - xruns_before), static_cast<long long>(st.callback_max_us),
                static_cast<long long>(st.callbacks_over_period));
#if !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
    EXPECT_EQ(st.xruns - xruns_before, 0);
#endif
  }
};

TEST_F(JackLoopback, RoundTripIsTwoServerPeriodsAndEverySampleComesBack) {
  start_looped(config(kServerRateHz));
  EXPECT_TRUE(streams_.capture.shares_stream);
  EXPECT_EQ(streams_.capture.sample_rate_hz, kServerRateHz);
  EXPECT_EQ(streams_.capture.period_frames, kServerPeriodFrames);
  EXPECT_EQ(streams_.playback.fifo_latency_ms, 0.0);   // device period == engine period: nothing held
  EXPECT_EQ(streams_.capture.converter_delay_ms, 0.0);  // same rate: no resampler

  // Let the loop settle, then play a known burst.
  ASSERT_TRUE(engine_->start_capture().ok());
  ASSERT_TRUE(wait_for_timeline(engine_->now_samples() + 4800, 3000));
  // Xruns are counted from here: connecting ports reorders the server's graph, which JACK may report as one.
  const int64_t xruns_before = engine_->get_device_stats().xruns;
  const auto burst = noise_burst(24000, 7);
  std::vector<float> played(burst.size());
  for (size_t i = 0; i < burst.size(); ++i) played[i] = burst[i] / 32768.0f;
  uint64_t after = 0;
  ASSERT_TRUE(engine_->queue_playback(burst.data(), burst.size() * 2, 1).ok());
  auto started = engine_->wait_for_event(AudioEventType::kPlaybackStarted, 3000, after);
  ASSERT_TRUE(started.has_value());
  const int64_t origin = started->t_samples;
  Captured cap;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (static_cast<int64_t>(cap.samples.size()) < origin + static_cast<int64_t>(played.size()) + 4800 &&
         std::chrono::steady_clock::now() < deadline) {
    drain(*engine_, cap);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  drain(*engine_, cap);
  const auto [lag, corr] = best_lag(cap.samples, played, origin, 4800);
  std::printf("loopback: round trip %lld frames (%.2f ms), correlation %.6f\n", static_cast<long long>(lag),
              1000.0 * static_cast<double>(lag) / kServerRateHz, corr);
  EXPECT_EQ(lag, 2 * kServerPeriodFrames);
  EXPECT_GT(corr, 0.9999);
  // No sample dropped or altered on the way: the capture equals the playback, shifted by the round trip.
  size_t mismatches = 0;
  for (size_t i = 0; i < played.size(); ++i) {
    if (cap.samples[static_cast<size_t>(origin + lag) + i] != played[i]) ++mismatches;
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(cap.gaps, 0);
  expect_no_xruns(xruns_before);
  const DeviceStats st = engine_->get_device_stats();
  EXPECT_EQ(st.playback_fifo_underflow_frames, 0);
  EXPECT_EQ(st.captured_samples, st.consumed_samples + st.fifo_samples);
  EXPECT_EQ(st.consumed_samples, st.ticks * static_cast<int64_t>(engine_->period_frames()));
  EXPECT_EQ(st.callbacks, st.ticks);  // one 480-frame callback, one 480-sample tick
}

TEST_F(JackLoopback, ResampledEngineRateAddsExactlyTheReportedConverterDelays) {
  // Engine at 16 kHz, server at 48 kHz: both paths resample; the loop is then 960/3 engine samples plus the
  // two resampler delays the device layer reports.
  start_looped(config(16000));
  ASSERT_TRUE(engine_->start_capture().ok());
  ASSERT_TRUE(wait_for_timeline(engine_->now_samples() + 1600, 3000));
  EXPECT_EQ(streams_.capture.period_frames, kServerPeriodFrames);  // one engine period of 160 at 48 kHz
  EXPECT_GT(streams_.capture.converter_delay_ms, 0.0);
  EXPECT_GT(streams_.playback.converter_delay_ms, 0.0);
  const int64_t xruns_before = engine_->get_device_stats().xruns;
  Captured cap;
  const auto [lag, corr, seq] = measure_once(*engine_, 1, 11, 1600, cap, 0);
  const double expected = 2.0 * kServerPeriodFrames / 3.0 +
                          (streams_.capture.converter_delay_ms + streams_.playback.converter_delay_ms) * 16.0;
  std::printf("loopback at 16 kHz: round trip %lld samples (expected %.2f), correlation %.4f\n",
              static_cast<long long>(lag), expected, corr);
  EXPECT_NEAR(static_cast<double>(lag), expected, 1.0);
  EXPECT_GT(corr, 0.98);  // speex resampling twice, band-limited by the 16 kHz engine rate
  EXPECT_EQ(cap.gaps, 0);
  expect_no_xruns(xruns_before);
}

TEST_F(JackLoopback, DeviceCallbackNeitherAllocatesNorLocks) {
  if (!rt::probe_installed()) GTEST_SKIP() << "the real-time probe is not linked (sanitizer build)";
  EngineConfig c = config(16000);  // resampling on both paths: the converters run in the callback
  c.device.period_frames = 240;    // half the server period, 1.5 engine periods: the FIFOs run too
  start_looped(c);
  EXPECT_GT(streams_.playback.fifo_latency_ms, 0.0);
  ASSERT_TRUE(engine_->start_capture().ok());
  ASSERT_TRUE(wait_for_timeline(engine_->now_samples() + 1600, 3000));
  rt::reset_violation_counts();
  const int64_t ticks_before = engine_->get_device_stats().ticks;
  Captured cap;
  uint64_t seq = 0;
  for (int i = 0; i < 4; ++i) {
    const auto r = measure_once(*engine_, static_cast<uint64_t>(i + 1), 20 + static_cast<uint32_t>(i), 1600, cap, seq);
    EXPECT_GT(r.correlation, 0.98) << "lag " << r.lag;
    seq = r.sequence;
  }
  const auto counts = rt::violation_counts();
  const DeviceStats st = engine_->get_device_stats();
  EXPECT_GT(st.ticks - ticks_before, 50);
  EXPECT_EQ(counts.allocations, 0u);
  EXPECT_EQ(counts.mutex_locks, 0u);
  EXPECT_EQ(st.playback_fifo_underflow_frames, 0);
  EXPECT_EQ(st.captured_samples, st.consumed_samples + st.fifo_samples);
}

TEST_F(JackLoopback, ServerHangsMidStreamErrorEventThenReopenAndEverySampleAccounted) {
  EngineConfig c = config(kServerRateHz);
  c.device.recovery.stall_timeout_ms = 200;
  c.device.recovery.retry_interval_ms = 50;
  start_looped(c);
  ASSERT_TRUE(engine_->start_capture().ok());
  Captured cap;
  const auto first = measure_once(*engine_, 1, 31, 4800, cap, 0);
  EXPECT_EQ(first.lag, 2 * kServerPeriodFrames);

  // The device stops delivering callbacks (the server hangs) for longer than the stall timeout.
  server_->freeze();
  // Events after the measurement's own: the error may be out before this thread calls wait_for_event().
  auto error = engine_->wait_for_event(AudioEventType::kError, 3000, first.sequence);
  const int64_t timeline_frozen = engine_->now_samples();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(engine_->now_samples(), timeline_frozen);  // no device, no ticks: the timeline waits
  server_->thaw();
  ASSERT_TRUE(error.has_value()) << "no error event while the server hung";
  EXPECT_EQ(error->error.code, Error::kIo);
  auto failed = engine_->wait_for_event(AudioEventType::kStateChanged, 1000, error->sequence);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->state.to, static_cast<int32_t>(DeviceState::kFailed));
  auto recovered = engine_->wait_for_event(AudioEventType::kStateChanged, 10000, failed->sequence);
  ASSERT_TRUE(recovered.has_value()) << "no reopen: " << engine_->get_device_stats().last_error;
  EXPECT_EQ(recovered->state.from, static_cast<int32_t>(DeviceState::kFailed));
  EXPECT_EQ(recovered->state.to, static_cast<int32_t>(DeviceState::kRunning));

  // The reopened stream is a new JACK client: loop it again and measure the same round trip.
  ASSERT_TRUE(server_->wait_for_ports(client_name(), 2, 3000));
  ASSERT_TRUE(server_->loop_client(client_name()));
  const auto second = measure_once(*engine_, 2, 32, 4800, cap, first.sequence);
  EXPECT_EQ(second.lag, 2 * kServerPeriodFrames);
  EXPECT_GT(second.correlation, 0.9999);
  const DeviceStats st = engine_->get_device_stats();
  EXPECT_EQ(st.failures, 1);
  EXPECT_EQ(st.reopens, 1);
  EXPECT_FALSE(st.failed);
  expect_samples_accounted(*engine_, cap);
}

TEST_F(JackLoopback, ServerKilledMidStreamErrorEventNoHangAndEverySampleAccounted) {
  EngineConfig c = config(kServerRateHz);
  c.device.recovery.stall_timeout_ms = 200;
  c.device.recovery.retry_interval_ms = 50;
  start_looped(c);
  ASSERT_TRUE(engine_->start_capture().ok());
  Captured cap;
  const auto first = measure_once(*engine_, 1, 41, 4800, cap, 0);
  EXPECT_EQ(first.lag, 2 * kServerPeriodFrames);

  server_->kill_now();
  // Events after the measurement's own (the error may be out before kill_now() has reaped the server).
  auto error = engine_->wait_for_event(AudioEventType::kError, 3000, first.sequence);
  ASSERT_TRUE(error.has_value()) << "no error event after the server died; failures "
                                 << engine_->get_device_stats().failures;
  EXPECT_EQ(error->error.code, Error::kIo);
  auto failed = engine_->wait_for_event(AudioEventType::kStateChanged, 1000, error->sequence);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->state.to, static_cast<int32_t>(DeviceState::kFailed));
  // Every sample captured before the server died reached the consumer.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  while (engine_->get_device_stats().last_error.find("cannot be reopened") == std::string::npos &&
         engine_->get_device_stats().reopens == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  drain(*engine_, cap);
  const DeviceStats st = engine_->get_device_stats();
  std::printf("after the server died: %s\n", st.last_error.c_str());
  EXPECT_EQ(st.failures, 1);
  expect_samples_accounted(*engine_, cap);
  // Shutting down never hangs, whatever state the host API was left in.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(engine_->shutdown().ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  // Start the server again under its name so that TearDown's clean stop frees its registry slot.
  EXPECT_TRUE(server_->start()) << server_->why();
}

}  // namespace
}  // namespace ae
