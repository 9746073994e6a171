// After initialize(), the audio thread never allocates and never takes a mutex: measured by the real-time probe
// linked into this test (operator new, malloc/calloc/realloc and pthread_mutex_lock are counted on threads marked
// as the audio thread), over a workload that exercises every path of the tick.

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "audioengine/speech_synth.hpp"

namespace ae {
namespace {

void noop_rt_event(const AudioEvent&, void*) {}
void noop_rt_chunk(const ChunkInfo&, const float*, void*) {}

class RtDiscipline : public ::testing::TestWithParam<VirtualClockMode> {};

TEST_P(RtDiscipline, AudioThreadNeitherAllocatesNorLocks) {
  if (!rt::probe_installed()) GTEST_SKIP() << "the real-time probe is not linked (sanitizer build)";
  EngineConfig c = EngineConfig::fast_lane();
  c.clock.virtual_mode = GetParam();
  c.queues.capture_capacity_ms = 10000;
  auto e = AudioEngine::create(c);
  ASSERT_TRUE(e->initialize().ok());
  e->subscribe_all([](const AudioEvent&) {});
  e->set_realtime_event_callback(noop_rt_event, nullptr);
  e->set_realtime_chunk_callback(noop_rt_chunk, nullptr);
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(e->start_capture().ok());
  auto speech = synthesize_speech("Hello, this is a test of the audio thread.", SpeechOptions{});
  ASSERT_TRUE(speech.ok());
  std::vector<int16_t> ai(16000 * 2);
  for (size_t i = 0; i < ai.size(); ++i) ai[i] = static_cast<int16_t>((i * 37) % 2000 - 1000);
  std::vector<float> silence(16000, 0.0f);
  CaptureChunk chunk;
  std::vector<float> sink(16000);

  rt::reset_violation_counts();
  for (int round = 0; round < 6; ++round) {
    ASSERT_TRUE(e->queue_playback(ai.data(), ai.size() * 2, static_cast<uint64_t>(round + 1)).ok());
    ASSERT_TRUE(e->inject_test_audio(silence).ok());
    ASSERT_TRUE(e->advance(500).ok());
    ASSERT_TRUE(e->inject_test_audio(*speech).ok());  // barge-in path
    ASSERT_TRUE(e->advance(1500).ok());
    auto r = e->interrupt_playback();                  // control interrupt path
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(e->queue_playback(ai.data(), 3200, static_cast<uint64_t>(round + 1)).ok());  // stale path
    e->flush_playback_queue();
    EngineConfig hot = e->config();
    hot.vad.activation_threshold = round % 2 ? 0.5f : 0.6f;
    ASSERT_TRUE(e->update_config(hot).ok());          // hot settings path
    ASSERT_TRUE(e->advance(500).ok());
    while (e->try_read_chunk(chunk)) {
    }
    while (e->read_played_audio(sink.data(), sink.size()) > 0) {
    }
  }
  const auto counts = rt::violation_counts();
  const EngineMetrics m = e->get_metrics();
  EXPECT_GT(m.ticks, 1000);
  EXPECT_GE(m.interruptions, 6);
  EXPECT_GT(m.stale_samples_dropped, 0);
  EXPECT_EQ(counts.allocations, 0u);
  EXPECT_EQ(counts.mutex_locks, 0u);
  EXPECT_EQ(m.audio_thread_allocations, 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, RtDiscipline,
                         ::testing::Values(VirtualClockMode::kInline, VirtualClockMode::kStepped),
                         [](const auto& p) { return std::string(to_string(p.param)); });

TEST(RtProbe, CountsWhatItShould) {
  if (!rt::probe_installed()) GTEST_SKIP() << "the real-time probe is not linked (sanitizer build)";
  rt::reset_violation_counts();
  {
    rt::ScopedAudioThread audio;
    void* p = ::operator new(16);  // a violation, on purpose: the probe must see it (a direct call, never elided)
    ::operator delete(p);
    std::mutex m;
    m.lock();
    m.unlock();
  }
  void* q = ::operator new(16);  // not on the audio thread: not counted
  ::operator delete(q);
  const auto counts = rt::violation_counts();
  EXPECT_EQ(counts.allocations, 1u);
  EXPECT_EQ(counts.mutex_locks, 1u);
}

}  // namespace
}  // namespace ae
