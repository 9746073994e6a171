#pragma once
// The fixture of the tests on a looped JACK server: a private server (dummy driver, 48 kHz, 480-frame periods)
// per test, the engine on PortAudio's JACK host API in full duplex, and its output port connected to its own
// input port, so whatever the engine plays comes back as its microphone input through the server.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <unistd.h>

#include "audioengine/audioengine.hpp"
#include "audioengine/devices.hpp"
#include "jack_server.hpp"

namespace ae::test {

class JackLoopFixture : public ::testing::Test {
 public:
  static constexpr int kServerRateHz = 48000;
  static constexpr int kServerPeriodFrames = 480;

 protected:
  // `client_prefix` names the engine's JACK client (the process id is appended), one per test program.
  explicit JackLoopFixture(std::string client_prefix) : client_prefix_(std::move(client_prefix)) {}

  void SetUp() override {
    if (!JackServer::available()) GTEST_SKIP() << "jackd is not installed (scripts/setup.sh installs jackd2)";
    server_ = std::make_unique<JackServer>(kServerRateHz, kServerPeriodFrames);
    ASSERT_TRUE(server_->start()) << server_->why();
  }
  void TearDown() override {
    if (engine_) (void)engine_->shutdown();
    engine_.reset();
    if (server_) server_->stop();
  }

  std::string client_name() const { return client_prefix_ + std::to_string(getpid()); }

  EngineConfig config(int engine_rate_hz) const {
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

  std::unique_ptr<JackServer> server_;
  std::unique_ptr<AudioEngine> engine_;
  DuplexStreams streams_;

 private:
  std::string client_prefix_;
};

}  // namespace ae::test
