#pragma once
// A scripted conversation on the virtual clock for barge-in and turn-taking tests: the user is a pattern of tone
// bursts (0.5 amplitude) over a quiet background (about -80 dBFS), cut on the 10 ms period grid, so the energy
// VAD's probability is exactly 1 in tone periods and 0 elsewhere and every onset is known to the sample; the AI is
// PCM16 audio whose every sample is distinct and survives the float conversion exactly.
//
// 16 kHz, periods of 160 samples, inline virtual clock, every event logged.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <utility>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "event_log.hpp"

namespace ae::test {

inline constexpr int kConvRate = 16000;
inline constexpr int64_t kConvPeriod = 160;

constexpr int64_t ms_to_samples_16k(int64_t v) { return v * kConvRate / 1000; }

// Alternating background and tone runs, in milliseconds, starting with background.
struct ToneUser {
  std::vector<float> samples;
  std::vector<std::pair<int64_t, int64_t>> bursts;  // [start, end) of each tone run

  ToneUser(std::initializer_list<int> runs_ms) {
    bool tone = false;
    uint32_t seed = 7;
    for (int run : runs_ms) {
      const auto start = static_cast<int64_t>(samples.size());
      for (int64_t i = 0; i < ms_to_samples_16k(run); ++i) {
        seed = seed * 1664525u + 1013904223u;
        const float noise = (static_cast<float>(seed >> 8) / 16777216.0f - 0.5f) * 2e-4f;
        const auto t = static_cast<double>(start + i);
        samples.push_back(tone ? static_cast<float>(0.5 * std::sin(2.0 * M_PI * 440.0 * t / kConvRate)) : noise);
      }
      if (tone) bursts.emplace_back(start, static_cast<int64_t>(samples.size()));
      tone = !tone;
    }
  }
  int64_t size() const { return static_cast<int64_t>(samples.size()); }
};

// AI audio: PCM16 values 1000..2999, repeating; as float each is v / 32768 exactly.
inline std::vector<int16_t> ai_pcm(size_t n) {
  std::vector<int16_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<int16_t>(1000 + static_cast<int>(i % 2000));
  return v;
}
inline float ai_float(int16_t v) { return static_cast<float>(v) / 32768.0f; }

inline EngineConfig conversation_config() {
  EngineConfig c = EngineConfig::fast_lane();
  c.clock.virtual_mode = VirtualClockMode::kInline;
  c.queues.capture_capacity_ms = 60000;
  c.queues.chunk_queue_capacity_ms = 60000;
  c.sink.memory_capacity_ms = 60000;
  return c;
}

struct ConversationRig {
  EventLog log;  // declared first: destroyed after the engine, whose dispatcher writes into it
  std::unique_ptr<AudioEngine> e;

  explicit ConversationRig(const EngineConfig& c, bool capture = false) : e(AudioEngine::create(c)) {
    log.attach(*e);
    const Status started = e->start();
    EXPECT_TRUE(started.ok()) << started.message();
    if (capture) {
      const Status capturing = e->start_capture();
      EXPECT_TRUE(capturing.ok()) << capturing.message();
    }
  }
  void user(const ToneUser& u) { ASSERT_TRUE(e->inject_test_audio(u.samples).ok()); }
  void ai(const std::vector<int16_t>& pcm, uint64_t item_id,
          PlaybackPriority priority = PlaybackPriority::kNormal) {
    ASSERT_TRUE(e->queue_playback(pcm.data(), pcm.size() * 2, item_id, priority).ok());
  }
  // Runs the clock to `sample` (a whole number of periods) and waits until the events reached the log.
  void run_to(int64_t sample) {
    ASSERT_EQ(sample % kConvPeriod, 0);
    ASSERT_GE(sample, e->now_samples());
    ASSERT_TRUE(e->advance_ticks((sample - e->now_samples()) / kConvPeriod).ok());
    ASSERT_TRUE(e->wait_until_dispatched(2000));
  }
  std::vector<AudioEvent> of(AudioEventType t) { return log.of(t); }
  // Everything the memory sink received so far, in order.
  std::vector<float> sink() {
    std::vector<float> out;
    std::vector<float> buf(4096);
    size_t n;
    while ((n = e->read_played_audio(buf.data(), buf.size())) > 0) {
      out.insert(out.end(), buf.begin(), buf.begin() + static_cast<long>(n));
    }
    return out;
  }
  std::vector<CaptureChunk> chunks() {
    std::vector<CaptureChunk> out;
    CaptureChunk c;
    while (e->try_read_chunk(c)) out.push_back(c);
    return out;
  }
};

}  // namespace ae::test
