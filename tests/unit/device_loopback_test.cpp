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
#include "jack_server.hpp"

namespace ae {
namespace {

constexpr int kServerRateHz = 48000;
constexpr int kServerPeriodFrames = 480;

std::string client_name() { return "aetest" + std::to_string(getpid()); }

class JackLoopback : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::JackServer::available()) GTEST_SKIP() << "jackd is not installed (scripts/setup.sh installs jackd2)";
    server_ = std::make_unique<test::JackServer>(kServerRateHz, kServerPeriodFrames);
    ASSERT_TRUE(server_->start()) << server_->why();
  }
  void TearDown() override {
    if (engine_) (void)engine_->shutdown();
    engine_.reset();
    if (server_) server_->stop();
  }

  EngineConfig config(int engine_rate_hz) {
    EngineConfig c = EngineConfig::fast_lane();
    c.audio.sample_rate_hz = engine_rate_hz;
    c.audio.chunk_duration_ms = 10;
    c.barge_in.enabled = false;  // the loop would make the engine interrupt itself
    c.clock.source = ClockSource::kDevice;
    c.device.host_api = "jack";
    c.device.client_name = client_name();
    return c;
  }

  // Starts the engine on the devices and loops its ports through the server.
  void start_looped(const EngineConfig& c) {
    engine_ = AudioEngine::create(c);
    auto streams = engine_->start_full_duplex();
    ASSERT_TRUE(streams.ok()) << streams.message();
    streams_ = *streams;
    ASSERT_TRUE(server_->wait_for_ports(client_name(), 2, 3000));
    ASSERT_TRUE(server_->loop_client(client_name()));
  }

  // Waits until the engine timeline reaches `samples`, up to `timeout_ms` of wall-clock time.
  bool wait_for_timeline(int64_t samples, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (engine_->now_samples() < samples) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  std::unique_ptr<test::JackServer> server_;
  std::unique_ptr<AudioEngine> engine_;
  DuplexStreams streams_;
};

std::vector<int16_t> noise_burst(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-12000, 12000);
  std::vector<int16_t> v(n);
  for (auto& s : v) s = static_cast<int16_t>(d(rng));
  return v;
}

// Collects the captured chunks into one signal indexed by engine timeline position.
struct Captured {
  std::vector<float> samples;  // index = timeline sample
  int64_t chunks = 0;
  int64_t gaps = 0;            // chunks that did not continue where the previous one ended
};

void drain(AudioEngine& e, Captured& cap) {
  CaptureChunk chunk;
  while (e.try_read_chunk(chunk)) {
    const auto start = static_cast<size_t>(chunk.info.start_sample);
    if (cap.chunks > 0 && start != cap.samples.size()) ++cap.gaps;
    if (cap.samples.size() < start) cap.samples.resize(start, 0.0f);
    cap.samples.resize(start);
    cap.samples.insert(cap.samples.end(), chunk.samples.begin(), chunk.samples.end());
    ++cap.chunks;
  }
}

// The lag (in samples, 0..max_lag) at which `played` best matches `captured` from `origin`, and the normalised
// correlation there.
std::pair<int64_t, double> best_lag(const std::vector<float>& captured, const std::vector<float>& played,
                                    int64_t origin, int64_t max_lag) {
  int64_t best = -1;
  double best_corr = -2;
  for (int64_t lag = 0; lag <= max_lag; ++lag) {
    double xy = 0, xx = 0, yy = 0;
    for (size_t i = 0; i < played.size(); ++i) {
      const auto at = static_cast<size_t>(origin + lag) + i;
      const double y = at < captured.size() ? captured[at] : 0.0;
      xy += played[i] * y;
      xx += static_cast<double>(played[i]) * played[i];
      yy += y * y;
    }
    const double corr = (xx > 0 && yy > 0) ? xy / std::sqrt(xx * yy) : 0.0;
    if (corr > best_corr) {
      best_corr = corr;
      best = lag;
    }
  }
  return {best, best_corr};
}

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
  const DeviceStats st = engine_->get_device_stats();
  EXPECT_EQ(st.xruns, 0);
  EXPECT_EQ(st.playback_fifo_underflow_frames, 0);
  EXPECT_EQ(st.captured_samples, st.consumed_samples + st.fifo_samples);
  EXPECT_EQ(st.consumed_samples, st.ticks * static_cast<int64_t>(engine_->period_frames()));
  EXPECT_EQ(st.callbacks, st.ticks);  // one 480-frame callback, one 480-sample tick
}

}  // namespace
}  // namespace ae
