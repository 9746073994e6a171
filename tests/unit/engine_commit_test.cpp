// The tick's playback commit: the block is copied out of the playback queue once (peeked), and the commit
// consumes those samples without copying them again (PlaybackQueue::consume). What reaches the sink must be what
// pulling the queue again would give, to the sample: a block whose head is stale audio of an interrupted item
// plays the next item from the block's first sample; with a render stage, a block committed as peeked carries the
// render stage's output and one with stale audio dropped carries the queued audio unprocessed.
//
// 16 kHz, periods of 160 samples, inline virtual clock. AI audio: PCM16 ramps, exact as float.

#include <gtest/gtest.h>

#include <memory>
#include <tuple>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "event_log.hpp"

namespace ae {
namespace {

constexpr size_t kPeriod = 160;

EngineConfig inline_config() {
  EngineConfig c = EngineConfig::fast_lane();
  c.clock.virtual_mode = VirtualClockMode::kInline;
  c.sink.memory_capacity_ms = 10000;
  return c;
}

// Distinct values per sample, each v / 32768 exactly as float.
std::vector<float> ramp(size_t n, int base) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(base + static_cast<int>(i)) / 32768.0f;
  return v;
}

std::vector<int16_t> pcm_of(const std::vector<float>& f) {
  std::vector<int16_t> v(f.size());
  for (size_t i = 0; i < f.size(); ++i) v[i] = static_cast<int16_t>(f[i] * 32768.0f);
  return v;
}

std::vector<float> drain_sink(AudioEngine& e) {
  std::vector<float> out(64 * kPeriod);
  out.resize(e.read_played_audio(out.data(), out.size()));
  return out;
}

// A started engine with its events logged, one silent tick run and its output drained.
struct LoggedEngine {
  std::unique_ptr<AudioEngine> e = AudioEngine::create(inline_config());
  test::EventLog log;
  bool ok = false;
  LoggedEngine() {
    log.attach(*e);
    ok = e->start().ok() && e->advance_ticks(1).ok();
    (void)drain_sink(*e);
  }
};

// Doubles the block: tells processed from unprocessed audio apart.
class Doubler : public AudioProcessor {
 public:
  Status prepare(int, size_t) override { return ok_status(); }
  void process(float* mono, size_t num_frames, const ProcessContext&) noexcept override {
    for (size_t i = 0; i < num_frames; ++i) mono[i] *= 2.0f;
  }
  void reset() noexcept override {}
  const char* name() const noexcept override { return "doubler"; }
};

// Item 5 plays one period and is interrupted; then 100 samples of it (stale) and 320 of item 6 are queued
// straight into the playback queue, as a producer racing the interruption would leave them, and three more ticks
// run. Returns the sink's samples of those four ticks.
std::vector<float> play_stale_then_fresh(AudioEngine& e, const std::vector<float>& first,
                                         const std::vector<float>& fresh) {
  const auto pcm = pcm_of(first);
  EXPECT_TRUE(e.queue_playback(pcm.data(), pcm.size() * sizeof(int16_t), 5).ok());
  EXPECT_TRUE(e.advance_ticks(1).ok());
  EXPECT_TRUE(e.interrupt_playback().ok());
  const std::vector<float> stale(100, 0.5f);
  EXPECT_EQ(e.get_playback_queue().try_write(stale.data(), stale.size(), 5), stale.size());
  EXPECT_EQ(e.get_playback_queue().try_write(fresh.data(), fresh.size(), 6), fresh.size());
  EXPECT_TRUE(e.advance_ticks(3).ok());
  return drain_sink(e);
}

TEST(EngineCommit, StaleHeadOfABlockIsDroppedAndTheNextItemStartsTheBlock) {
  LoggedEngine rig;
  ASSERT_TRUE(rig.ok);
  auto& e = rig.e;
  auto& log = rig.log;
  const auto first = ramp(3200, 1000);
  const auto fresh = ramp(320, 7000);
  const auto out = play_stale_then_fresh(*e, first, fresh);
  // Tick 1: item 5. Tick 2: item 6's first 60 samples from the block's first sample on, then silence (the
  // block's stale head took the place of the rest). Ticks 3 and 4: the rest of item 6, then silence.
  std::vector<float> want(first.begin(), first.begin() + kPeriod);
  want.insert(want.end(), fresh.begin(), fresh.begin() + 60);
  want.insert(want.end(), 100, 0.0f);
  want.insert(want.end(), fresh.begin() + 60, fresh.end());
  want.insert(want.end(), 60, 0.0f);
  ASSERT_EQ(out.size(), want.size());
  for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], want[i]) << i;
  EXPECT_EQ(e->get_metrics().stale_samples_dropped, 100);
  EXPECT_EQ(e->played_samples_total(), static_cast<int64_t>(kPeriod + fresh.size()));
  ASSERT_TRUE(e->wait_until_dispatched(2000));
  int started_6 = 0;
  for (const auto& ev : log.of(AudioEventType::kPlaybackStarted)) {
    if (ev.playback.item_id != 6) continue;
    ++started_6;
    EXPECT_EQ(ev.t_samples, static_cast<int64_t>(2 * kPeriod));  // the third tick's first sample
  }
  EXPECT_EQ(started_6, 1);
}

TEST(EngineCommit, RenderStageOutputOnlyForBlocksCommittedAsPeeked) {
  auto e = AudioEngine::create(inline_config());
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(e->add_processor(std::make_shared<Doubler>(), ProcessingStage::kRender).ok());
  // The processor's fade-in passes over silent blocks.
  ASSERT_TRUE(e->advance_ticks(4).ok());
  (void)drain_sink(*e);
  const auto first = ramp(3200, 1000);
  const auto fresh = ramp(320, 7000);
  const auto out = play_stale_then_fresh(*e, first, fresh);
  // Tick 1: item 5 doubled. Tick 2 (stale head dropped, not committed as peeked): item 6 unprocessed. Tick 3:
  // doubled. Tick 4: item 6's last 100 samples doubled (committed as peeked; the padding is silence).
  std::vector<float> want;
  for (size_t i = 0; i < kPeriod; ++i) want.push_back(2.0f * first[i]);
  want.insert(want.end(), fresh.begin(), fresh.begin() + 60);
  want.insert(want.end(), 100, 0.0f);
  for (size_t i = 60; i < fresh.size(); ++i) want.push_back(2.0f * fresh[i]);
  want.insert(want.end(), 60, 0.0f);
  ASSERT_EQ(out.size(), want.size());
  for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], want[i]) << i;
  EXPECT_EQ(e->get_metrics().stale_samples_dropped, 100);
}

// Items whose boundaries fall on block boundaries: a block wholly inside an item is committed without looking at
// items at all (PlaybackQueue::consume_within_item), so the next block must still see the next item start on its
// first sample, and the item's played count must include the blocks committed that way.
TEST(EngineCommit, ItemsEndingOnBlockBoundariesCompleteSampleExact) {
  LoggedEngine rig;
  ASSERT_TRUE(rig.ok);
  auto& e = rig.e;
  auto& log = rig.log;
  const auto a = ramp(2 * kPeriod, 1000);
  const auto b = ramp(3 * kPeriod, 5000);
  const auto pa = pcm_of(a), pb = pcm_of(b);
  ASSERT_TRUE(e->queue_playback(pa.data(), pa.size() * sizeof(int16_t), 1).ok());
  ASSERT_TRUE(e->queue_playback(pb.data(), pb.size() * sizeof(int16_t), 2).ok());
  ASSERT_TRUE(e->advance_ticks(6).ok());
  const auto out = drain_sink(*e);
  std::vector<float> want(a);
  want.insert(want.end(), b.begin(), b.end());
  want.insert(want.end(), kPeriod, 0.0f);
  ASSERT_EQ(out.size(), want.size());
  for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], want[i]) << i;
  EXPECT_EQ(e->played_samples_total(), static_cast<int64_t>(a.size() + b.size()));
  ASSERT_TRUE(e->wait_until_dispatched(2000));
  using Ev = std::tuple<AudioEventType, int64_t, uint64_t, int64_t>;
  std::vector<Ev> got;
  for (const auto& ev : log.events) {
    if (ev.type == AudioEventType::kPlaybackStarted || ev.type == AudioEventType::kPlaybackComplete) {
      got.emplace_back(ev.type, ev.t_samples, ev.playback.item_id, ev.playback.samples);
    }
  }
  const int64_t p = static_cast<int64_t>(kPeriod);
  const std::vector<Ev> expected{{AudioEventType::kPlaybackStarted, p, 1, 0},
                                 {AudioEventType::kPlaybackComplete, 3 * p, 1, 2 * p},
                                 {AudioEventType::kPlaybackStarted, 3 * p, 2, 0},
                                 {AudioEventType::kPlaybackComplete, 6 * p, 2, 3 * p}};
  EXPECT_EQ(got, expected);
  EXPECT_EQ(e->get_metrics().playback_underruns, 0);
}

// consume() takes exactly what pull() takes (count, item, item start) from the same queue contents; the samples
// are those peek() showed.
TEST(PlaybackQueueConsume, MatchesPullStepByStep) {
  PlaybackQueue pulled(1024, 8), consumed(1024, 8);
  const auto a = ramp(100, 100), b = ramp(50, 300), c = ramp(30, 500);
  for (PlaybackQueue* q : {&pulled, &consumed}) {
    ASSERT_EQ(q->try_write(a.data(), a.size(), 1), a.size());
    ASSERT_EQ(q->try_write(b.data(), b.size(), 2, 3), b.size());
    ASSERT_EQ(q->try_write(c.data(), c.size(), 1), c.size());
  }
  std::vector<float> from_pull(64), from_peek(64);
  std::vector<uint64_t> items;
  for (size_t max : {40u, 40u, 40u, 64u, 7u, 64u, 64u, 64u}) {
    uint64_t item_p = 99, item_c = 98;
    bool started_p = false, started_c = true;
    const size_t peeked = consumed.peek(from_peek.data(), max);
    const size_t kp = pulled.pull(from_pull.data(), max, item_p, started_p);
    const size_t kc = consumed.consume(max, item_c, started_c);
    ASSERT_EQ(kc, kp) << max;
    EXPECT_EQ(item_c, item_p);
    EXPECT_EQ(started_c, started_p);
    ASSERT_LE(kc, peeked);
    for (size_t i = 0; i < kc; ++i) ASSERT_EQ(from_peek[i], from_pull[i]) << i;
    if (kc > 0) items.push_back(item_c);
    EXPECT_EQ(consumed.read_position(), pulled.read_position());
  }
  // 100 of item 1 in three pieces (40, 40, 20: the next item's mark ends the third), 50 of item 2 in one, 30 of
  // item 1 in two (7, 23); then nothing.
  EXPECT_EQ(items, (std::vector<uint64_t>{1, 1, 1, 2, 1, 1}));
  EXPECT_EQ(consumed.queued_samples(), 0u);
}

}  // namespace
}  // namespace ae
