// Echo cancellation on a real sound server: a private JACK server (dummy driver, 48 kHz, 480-frame periods), the
// engine at 16 kHz in full duplex with its output port looped to its input port, so that everything it plays
// comes back as its microphone signal. The device latencies the engine computes reach the processors'
// ProcessContext::echo_delay_ms, and the echo canceller removes the looped-back speech.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "audioengine/audioengine.hpp"
#include "audioengine/speech_synth.hpp"
#include "jack_server.hpp"

#include "sound_server_sanitizers.hpp"

namespace ae {
namespace {

// Keeps the last echo delay the capture-pre stage was given.
class DelayRecorder final : public AudioProcessor {
 public:
  Status prepare(int, size_t) override { return ok_status(); }
  void process(float*, size_t, const ProcessContext& ctx) noexcept override {
    delay_ms.store(ctx.echo_delay_ms, std::memory_order_relaxed);
    blocks.fetch_add(1, std::memory_order_relaxed);
  }
  void reset() noexcept override {}
  const char* name() const noexcept override { return "delay_recorder"; }
  std::atomic<int> delay_ms{-2};
  std::atomic<int64_t> blocks{0};
};

TEST(DeviceEcho, DeviceLatencyReachesTheContextAndTheLoopedEchoIsCancelled) {
  if (!test::JackServer::available()) GTEST_SKIP() << "jackd is not installed (scripts/setup.sh installs jackd2)";
  test::JackServer server(48000, 480);
  ASSERT_TRUE(server.start()) << server.why();
  const std::string client = "aeecho" + std::to_string(getpid());
  EngineConfig c = EngineConfig::fast_lane();
  c.audio.sample_rate_hz = 16000;
  c.audio.chunk_duration_ms = 10;
  c.barge_in.enabled = false;  // the loop would make the engine interrupt itself
  c.clock.source = ClockSource::kDevice;
  c.device.host_api = "jack";
  c.device.client_name = client;
  auto e = AudioEngine::create(c);
  auto rec = std::make_shared<DelayRecorder>();
  ASSERT_TRUE(e->add_processor(rec, ProcessingStage::kCapturePre).ok());
  EchoCancellerConfig ec;
  ec.agc_enabled = false;  // ERLE is measured before the gain stage anyway; keep the output comparable
  ASSERT_TRUE(e->enable_echo_cancellation(ec).ok());
  auto streams = e->start_full_duplex();
  ASSERT_TRUE(streams.ok()) << streams.message();
  ASSERT_TRUE(server.wait_for_ports(client, 2, 3000));
  ASSERT_TRUE(server.loop_client(client));

  // The device-reported latencies, in ms, as the engine sums them for the echo path.
  const int expected = static_cast<int>(std::lround(streams->playback.total_latency_ms + streams->capture.total_latency_ms));
  EXPECT_GT(expected, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (rec->blocks.load() < 10 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GE(rec->blocks.load(), 10);
  EXPECT_EQ(rec->delay_ms.load(), expected);

  // Four seconds of speech through the loop: the canceller reports the echo removed.
  auto speech = synthesize_speech("The quick brown fox jumps over the lazy dog while the band plays on. "
                                  "Every sentence here comes back through the sound server as echo.");
  if (!speech.ok()) GTEST_SKIP() << speech.message();
  std::vector<float> far = *speech;
  for (float& v : far) v *= 0.5f;
  ASSERT_TRUE(e->queue_playback(far.data(), far.size() * sizeof(float), AudioFormat{16000, 1, SampleType::kFloat32}).ok());
  const int64_t end = e->now_samples() + static_cast<int64_t>(far.size()) + 3200;
  const auto play_deadline = std::chrono::steady_clock::now() +
                             std::chrono::milliseconds(2000 + 1000 * static_cast<int64_t>(far.size()) / 16000);
  while (e->now_samples() < end && std::chrono::steady_clock::now() < play_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto m = e->get_duplex_metrics();
  ASSERT_TRUE(m.ok()) << m.message();
  std::printf("device echo: engine echo delay %d ms, AEC delay estimate %d ms, ERLE %.1f dB, far active %.2f\n",
              expected, m->delay_ms, m->erle_db, m->far_end_active_fraction);
  EXPECT_GT(m->far_end_active_fraction, 0.1);
  EXPECT_GE(m->erle_db, 20.0);
  (void)e->shutdown();
}

}  // namespace
}  // namespace ae
