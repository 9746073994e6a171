#include "loopback.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <random>
#include <thread>

namespace ae::test {

std::vector<int16_t> noise_burst(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-12000, 12000);
  std::vector<int16_t> v(n);
  for (auto& s : v) s = static_cast<int16_t>(d(rng));
  return v;
}

std::vector<int16_t> tone_burst(size_t n, int rate_hz, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> f(200.0, 6000.0), ph(0.0, 6.283);
  std::vector<double> acc(n, 0.0);
  for (int k = 0; k < 20; ++k) {
    const double fk = f(rng), pk = ph(rng);
    for (size_t i = 0; i < n; ++i) acc[i] += std::sin(6.283185307 * fk * static_cast<double>(i) / rate_hz + pk);
  }
  std::vector<int16_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<int16_t>(std::lround(acc[i] / 20.0 * 16000.0));
  return v;
}


void drain(AudioEngine& e, Captured& cap) {
  CaptureChunk chunk;
  while (e.try_read_chunk(chunk)) {
    const auto start = static_cast<size_t>(chunk.info.start_sample);
    if (cap.chunks > 0 && start != cap.samples.size()) ++cap.gaps;
    if (cap.first_start < 0) cap.first_start = chunk.info.start_sample;
    if (cap.samples.size() < start) cap.samples.resize(start, 0.0f);
    cap.samples.resize(start);
    cap.samples.insert(cap.samples.end(), chunk.samples.begin(), chunk.samples.end());
    ++cap.chunks;
  }
}

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


Measurement measure_once(AudioEngine& e, uint64_t item, uint32_t seed, int64_t max_lag, Captured& cap,
                         uint64_t after_sequence) {
  const auto burst = tone_burst(static_cast<size_t>(e.sample_rate_hz() / 4), e.sample_rate_hz(), seed);
  std::vector<float> played(burst.size());
  for (size_t i = 0; i < burst.size(); ++i) played[i] = burst[i] / 32768.0f;
  if (!e.queue_playback(burst.data(), burst.size() * 2, item).ok()) return {};
  auto started = e.wait_for_event(AudioEventType::kPlaybackStarted, 3000, after_sequence);
  if (!started) return {};
  const int64_t origin = started->t_samples;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (static_cast<int64_t>(cap.samples.size()) < origin + static_cast<int64_t>(played.size()) + max_lag &&
         std::chrono::steady_clock::now() < deadline) {
    drain(e, cap);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  drain(e, cap);
  const auto [lag, corr] = best_lag(cap.samples, played, origin, max_lag);
  return Measurement{lag, corr, started->sequence};
}

void expect_samples_accounted(AudioEngine& e, Captured& cap) {
  // Stop producing chunks, let a running device finish the tick under way, and collect the rest.
  ASSERT_TRUE(e.stop_capture().ok());
  if (!e.get_device_stats().failed) {
    const int64_t until = e.now_samples() + 2 * static_cast<int64_t>(e.period_frames());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (e.now_samples() < until && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  drain(e, cap);
  const DeviceStats st = e.get_device_stats();
  const EngineMetrics m = e.get_metrics();
  EXPECT_EQ(st.captured_samples, st.consumed_samples + st.fifo_samples);
  EXPECT_EQ(st.consumed_samples, st.ticks * static_cast<int64_t>(e.period_frames()));
  EXPECT_EQ(m.chunks_dropped, 0);
  EXPECT_EQ(cap.gaps, 0);
  EXPECT_EQ(static_cast<int64_t>(cap.samples.size()) - cap.first_start,
            m.chunks_delivered * static_cast<int64_t>(e.period_frames()));
  EXPECT_EQ(m.ticks, st.ticks);
}

}  // namespace ae::test
