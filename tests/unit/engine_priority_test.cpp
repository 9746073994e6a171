// Playback priorities on the virtual clock, exact in samples: kNext plays after the item now playing and ahead of
// the queue; kInterject holds the playing item at a tick boundary with the barge-in fade, plays, and the held item
// resumes from its very next sample with a fade-in; the events, their positions and every item's played count;
// interruptions, barge-ins and flushes while the urgent lane plays; stale audio; names and validation; and an
// audio thread that neither allocates nor locks through all of it.
//
// 16 kHz, periods of 160 samples, fade 5 ms = 80 samples (conversation_rig.hpp). The main items are PCM16 values
// 1000..2999 (ai_pcm), the urgent ones -1000..-2999, so every output sample says where it came from.

#include <gtest/gtest.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "audioengine/realtime.hpp"
#include "conversation_rig.hpp"

namespace ae {
namespace {

using test::ai_float;
using test::ai_pcm;
using test::ConversationRig;
using test::conversation_config;
using test::ToneUser;

constexpr int64_t kPeriod = test::kConvPeriod;
constexpr int64_t kFade = 80;

std::vector<int16_t> urgent_pcm(size_t n) {
  std::vector<int16_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<int16_t>(-1000 - static_cast<int>(i % 2000));
  return v;
}

// The barge-in fade-out's gain for the k-th faded sample, and the resume fade-in's, computed as the engine does.
float fade_out_gain(int64_t k) { return 1.0f + (-1.0f / static_cast<float>(kFade + 1)) * static_cast<float>(k + 1); }
float fade_in_gain(int64_t k) { return (1.0f / static_cast<float>(kFade + 1)) * static_cast<float>(k + 1); }

// A playback-side event as (type, t_samples, item, samples) for order comparisons.
using Ev = std::tuple<AudioEventType, int64_t, uint64_t, int64_t>;

std::vector<Ev> playback_events(ConversationRig& r) {
  std::vector<Ev> out;
  std::lock_guard lock(r.log.mutex);
  for (const AudioEvent& ev : r.log.events) {
    switch (ev.type) {
      case AudioEventType::kPlaybackStarted:
      case AudioEventType::kPlaybackComplete:
      case AudioEventType::kPlaybackPaused:
      case AudioEventType::kPlaybackResumed:
      case AudioEventType::kQueueDrained:
        out.emplace_back(ev.type, ev.t_samples, ev.playback.item_id, ev.playback.samples);
        break;
      case AudioEventType::kInterrupt:
        out.emplace_back(ev.type, ev.t_samples, ev.interrupt.item_id, ev.interrupt.played_samples);
        break;
      default:
        break;
    }
  }
  return out;
}

std::string describe(const std::vector<Ev>& evs) {
  std::string s;
  for (const auto& [type, t, item, samples] : evs) {
    s += std::string(to_string(type)) + "(t=" + std::to_string(t) + ", item=" + std::to_string(item) +
         ", samples=" + std::to_string(samples) + ")\n";
  }
  return s;
}

void expect_events(ConversationRig& r, const std::vector<Ev>& expected) {
  const auto got = playback_events(r);
  EXPECT_EQ(got, expected) << "got:\n" << describe(got) << "expected:\n" << describe(expected);
}

void append(std::vector<float>& out, const std::vector<int16_t>& pcm, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) out.push_back(ai_float(pcm[i]));
}

void expect_output(const std::vector<float>& got, const std::vector<float>& expected) {
  ASSERT_GE(got.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(got[i], expected[i]) << "output sample " << i;
  }
  for (size_t i = expected.size(); i < got.size(); ++i) {
    ASSERT_EQ(got[i], 0.0f) << "output sample " << i << " after the last item";
  }
}

// ---- the queue's item runs ----------------------------------------------------------------------------------

// head_run says which item the next sample belongs to, with its tag, whether it starts there and how many of its
// samples are queued before the next item; it consumes nothing, and pull() agrees with it.
TEST(EnginePriority, QueueHeadRunDescribesTheItemAtTheReadPosition) {
  PlaybackQueue q(1024, 16);
  PlaybackQueue::ItemMark head{};
  bool starts = false;
  EXPECT_EQ(q.head_run(head, starts), 0u);
  std::vector<float> x(100, 0.25f), out(100);
  ASSERT_EQ(q.try_write(x.data(), 30, 1, 3), 30u);
  ASSERT_EQ(q.try_write(x.data(), 20, 1, 3), 20u);  // same id and tag: the same item
  ASSERT_EQ(q.try_write(x.data(), 40, 1, 2), 40u);  // another tag: a new item with the same id
  ASSERT_EQ(q.try_write(x.data(), 10, 5, 0), 10u);
  EXPECT_EQ(q.head_run(head, starts), 50u);
  EXPECT_TRUE(starts);
  EXPECT_EQ(head.item_id, 1u);
  EXPECT_EQ(head.tag, 3);
  EXPECT_EQ(head.start_position, 0u);
  EXPECT_EQ(q.head_run(head, starts), 50u);  // nothing consumed
  uint64_t item = 0;
  bool started = false;
  EXPECT_EQ(q.pull(out.data(), 20, item, started), 20u);
  EXPECT_TRUE(started);
  EXPECT_EQ(item, 1u);
  EXPECT_EQ(q.head_run(head, starts), 30u);
  EXPECT_FALSE(starts);
  EXPECT_EQ(head.tag, 3);
  EXPECT_EQ(q.pull(out.data(), 100, item, started), 30u);  // stops at the next item
  EXPECT_FALSE(started);
  EXPECT_EQ(q.head_run(head, starts), 40u);
  EXPECT_TRUE(starts);
  EXPECT_EQ(head.item_id, 1u);
  EXPECT_EQ(head.tag, 2);
  EXPECT_EQ(head.start_position, 50u);
  EXPECT_EQ(q.pull(out.data(), 100, item, started), 40u);
  EXPECT_TRUE(started);
  EXPECT_EQ(q.head_run(head, starts), 10u);
  EXPECT_EQ(head.item_id, 5u);
  EXPECT_EQ(head.tag, 0);
  // A flush past the start of an item that head_run already looked at: the item after it is described next.
  ASSERT_EQ(q.try_write(x.data(), 10, 6, 0), 10u);
  q.request_discard_oldest(12);
  EXPECT_EQ(q.apply_requests().discarded_samples, 12u);
  EXPECT_EQ(q.head_run(head, starts), 8u);
  EXPECT_FALSE(starts);
  EXPECT_EQ(head.item_id, 6u);
  EXPECT_EQ(q.pull(out.data(), 100, item, started), 8u);
  EXPECT_EQ(item, 6u);
  EXPECT_FALSE(started);
}

// ---- kNext ---------------------------------------------------------------------------------------------------

// A plays, B is queued; U (kNext) plays when A's audio ends and before B; the output is A, U, B back to back.
TEST(EnginePriority, NextPlaysAfterTheItemNowPlayingAheadOfTheQueue) {
  ConversationRig r(conversation_config());
  const auto a = ai_pcm(1000), b = ai_pcm(800), u = urgent_pcm(500);
  r.ai(a, 1);
  r.ai(b, 2);
  r.run_to(2 * kPeriod);
  r.ai(u, 9, PlaybackPriority::kNext);
  r.run_to(20 * kPeriod);
  std::vector<float> expected;
  append(expected, a, 0, a.size());
  append(expected, u, 0, u.size());
  append(expected, b, 0, b.size());
  expect_output(r.sink(), expected);
  using T = AudioEventType;
  expect_events(r, {{T::kPlaybackStarted, 0, 1, 0},
                    {T::kPlaybackComplete, 1000, 1, 1000},
                    {T::kPlaybackStarted, 1000, 9, 0},
                    {T::kPlaybackComplete, 1500, 9, 500},
                    {T::kPlaybackStarted, 1500, 2, 0},
                    {T::kPlaybackComplete, 2300, 2, 800},
                    {T::kQueueDrained, 2300, 2, 2300}});
  // On the virtual clock the sink is the listener: play-out is delivery.
  for (const AudioEvent& ev : r.of(AudioEventType::kPlaybackComplete)) {
    EXPECT_EQ(ev.playback.played_out_at_samples, ev.t_samples);
  }
  EXPECT_FALSE(r.e->is_playing_audio());
}

// Two kNext items keep their order between themselves, both ahead of the queued B; with nothing playing a kNext
// item simply plays.
TEST(EnginePriority, NextItemsKeepTheirOrderAndPlayAtOnceWhenIdle) {
  ConversationRig r(conversation_config());
  const auto a = ai_pcm(400), b = ai_pcm(300), u1 = urgent_pcm(200), u2 = urgent_pcm(250);
  r.ai(u1, 8, PlaybackPriority::kNext);
  r.run_to(2 * kPeriod);
  r.ai(a, 1);
  r.ai(b, 2);
  r.run_to(3 * kPeriod);
  r.ai(u1, 9, PlaybackPriority::kNext);
  r.ai(u2, 10, PlaybackPriority::kNext);
  r.run_to(20 * kPeriod);
  std::vector<float> expected;
  append(expected, u1, 0, u1.size());
  expected.resize(2 * kPeriod, 0.0f);  // idle until A is queued
  append(expected, a, 0, a.size());
  append(expected, u1, 0, u1.size());
  append(expected, u2, 0, u2.size());
  append(expected, b, 0, b.size());
  expect_output(r.sink(), expected);
  using T = AudioEventType;
  const int64_t a0 = 2 * kPeriod;
  expect_events(r, {{T::kPlaybackStarted, 0, 8, 0},
                    {T::kPlaybackComplete, 200, 8, 200},
                    {T::kQueueDrained, 200, 8, 200},
                    {T::kPlaybackStarted, a0, 1, 0},
                    {T::kPlaybackComplete, a0 + 400, 1, 400},
                    {T::kPlaybackStarted, a0 + 400, 9, 0},
                    {T::kPlaybackComplete, a0 + 600, 9, 200},
                    {T::kPlaybackStarted, a0 + 600, 10, 0},
                    {T::kPlaybackComplete, a0 + 850, 10, 250},
                    {T::kPlaybackStarted, a0 + 850, 2, 0},
                    {T::kPlaybackComplete, a0 + 1150, 2, 300},
                    {T::kQueueDrained, a0 + 1150, 2, 200 + 1150}});
}

// The answer's queued audio ends while a kNext item waits: the urgent item plays there, and the answer's audio
// that arrives meanwhile plays after it as the same item, reported started again with its count so far.
TEST(EnginePriority, NextTakesTheGapOfAnAnswerThatRanDryAndTheAnswerGoesOnAfterIt) {
  ConversationRig r(conversation_config());
  const auto a = ai_pcm(720), u = urgent_pcm(300);
  const std::vector<int16_t> a1(a.begin(), a.begin() + 400), a2(a.begin() + 400, a.end());
  r.ai(a1, 1);
  r.run_to(kPeriod);
  r.ai(u, 9, PlaybackPriority::kNext);
  r.run_to(3 * kPeriod);
  r.ai(a2, 1);  // the rest of the answer, while the urgent item plays
  r.run_to(10 * kPeriod);
  std::vector<float> expected;
  append(expected, a, 0, 400);
  append(expected, u, 0, u.size());
  append(expected, a, 400, a.size());
  expect_output(r.sink(), expected);
  using T = AudioEventType;
  expect_events(r, {{T::kPlaybackStarted, 0, 1, 0},
                    {T::kPlaybackComplete, 400, 1, 400},
                    {T::kPlaybackStarted, 400, 9, 0},
                    {T::kPlaybackComplete, 700, 9, 300},
                    {T::kPlaybackStarted, 700, 1, 400},
                    {T::kPlaybackComplete, 1020, 1, 720},
                    {T::kQueueDrained, 1020, 1, 1020}});
  EXPECT_EQ(r.e->get_metrics().stale_samples_dropped, 0);
}

// ---- kInterject ----------------------------------------------------------------------------------------------

// A is held at the next tick boundary after an 80-sample fade, U plays, A resumes from its next sample fading in,
// then B: the output is A with U spliced in, nothing lost or repeated; every position and count is exact.
TEST(EnginePriority, InterjectHoldsTheItemAndResumesItExactly) {
  ConversationRig r(conversation_config());
  const auto a = ai_pcm(3200), b = ai_pcm(400), u = urgent_pcm(500);
  r.ai(a, 1);
  r.ai(b, 2);
  r.run_to(3 * kPeriod);
  r.ai(u, 9, PlaybackPriority::kInterject);
  r.run_to(40 * kPeriod);
  const int64_t held_at = 3 * kPeriod + kFade;  // 560: A's samples played, faded ones included
  const int64_t resumed_at = held_at + 500;     // 1060
  const int64_t a_end = resumed_at + (3200 - held_at);
  std::vector<float> expected;
  append(expected, a, 0, 3 * kPeriod);
  for (int64_t k = 0; k < kFade; ++k) expected.push_back(ai_float(a[static_cast<size_t>(3 * kPeriod + k)]) * fade_out_gain(k));
  append(expected, u, 0, u.size());
  for (int64_t k = held_at; k < 3200; ++k) {
    const float g = k - held_at < kFade ? fade_in_gain(k - held_at) : 1.0f;
    expected.push_back(ai_float(a[static_cast<size_t>(k)]) * g);
  }
  append(expected, b, 0, b.size());
  expect_output(r.sink(), expected);
  using T = AudioEventType;
  expect_events(r, {{T::kPlaybackStarted, 0, 1, 0},
                    {T::kPlaybackPaused, held_at, 1, held_at},
                    {T::kPlaybackStarted, held_at, 9, 0},
                    {T::kPlaybackComplete, resumed_at, 9, 500},
                    {T::kPlaybackResumed, resumed_at, 1, held_at},
                    {T::kPlaybackComplete, a_end, 1, 3200},
                    {T::kPlaybackStarted, a_end, 2, 0},
                    {T::kPlaybackComplete, a_end + 400, 2, 400},
                    {T::kQueueDrained, a_end + 400, 2, 3200 + 500 + 400}});
  EXPECT_EQ(r.e->get_metrics().stale_samples_dropped, 0);
  EXPECT_FALSE(r.e->is_playback_paused());  // an interjection is not a barge-in pause
}

// The answer keeps streaming while the interjection plays: its audio is kept and plays after the resume, counted
// in the same item.
TEST(EnginePriority, AudioArrivingForTheHeldItemIsKept) {
  ConversationRig r(conversation_config());
  const auto a = ai_pcm(1600), u = urgent_pcm(1000);
  const auto a_more = ai_pcm(2000);  // values continue A's pattern from 1600 on: a distinct slice
  r.ai(a, 1);
  r.run_to(2 * kPeriod);
  r.ai(u, 9, PlaybackPriority::kInterject);
  r.run_to(4 * kPeriod);
  const std::vector<int16_t> tail(a_more.begin() + 1600, a_more.end());
  r.ai(tail, 1);  // more of A while U plays
  r.run_to(30 * kPeriod);
  const int64_t held_at = 2 * kPeriod + kFade;
  std::vector<float> expected;
  append(expected, a, 0, 2 * kPeriod);
  for (int64_t k = 0; k < kFade; ++k) expected.push_back(ai_float(a[static_cast<size_t>(2 * kPeriod + k)]) * fade_out_gain(k));
  append(expected, u, 0, u.size());
  for (int64_t k = held_at; k < 2000; ++k) {
    const float g = k - held_at < kFade ? fade_in_gain(k - held_at) : 1.0f;
    expected.push_back(ai_float(a_more[static_cast<size_t>(k)]) * g);
  }
  expect_output(r.sink(), expected);
  using T = AudioEventType;
  const int64_t resumed_at = held_at + 1000;
  expect_events(r, {{T::kPlaybackStarted, 0, 1, 0},
                    {T::kPlaybackPaused, held_at, 1, held_at},
                    {T::kPlaybackStarted, held_at, 9, 0},
                    {T::kPlaybackComplete, resumed_at, 9, 1000},
                    {T::kPlaybackResumed, resumed_at, 1, held_at},
                    {T::kPlaybackComplete, resumed_at + 2000 - held_at, 1, 2000},
                    {T::kQueueDrained, resumed_at + 2000 - held_at, 1, 3000}});
  EXPECT_EQ(r.e->get_metrics().stale_samples_dropped, 0);
}

// An item that ends within the fade is not cut: it plays out and the interjection follows, without a pause; with
// nothing playing the interjection plays at once.
TEST(EnginePriority, InterjectNeedsNoFadeWhenTheItemEndsWithinItOrNothingPlays) {
  ConversationRig r(conversation_config());
  const auto a = ai_pcm(400), u = urgent_pcm(300);
  r.ai(a, 1);
  r.run_to(2 * kPeriod);  // 80 samples of A left: no more than the fade
  r.ai(u, 9, PlaybackPriority::kInterject);
  r.run_to(6 * kPeriod);
  r.ai(u, 10, PlaybackPriority::kInterject);
  r.run_to(10 * kPeriod);
  std::vector<float> expected;
  append(expected, a, 0, a.size());
  append(expected, u, 0, u.size());
  expected.resize(6 * kPeriod, 0.0f);
  append(expected, u, 0, u.size());
  expect_output(r.sink(), expected);
  using T = AudioEventType;
  expect_events(r, {{T::kPlaybackStarted, 0, 1, 0},
                    {T::kPlaybackComplete, 400, 1, 400},
                    {T::kPlaybackStarted, 400, 9, 0},
                    {T::kPlaybackComplete, 700, 9, 300},
                    {T::kQueueDrained, 700, 9, 700},
                    {T::kPlaybackStarted, 6 * kPeriod, 10, 0},
                    {T::kPlaybackComplete, 6 * kPeriod + 300, 10, 300},
                    {T::kQueueDrained, 6 * kPeriod + 300, 10, 1000}});
}

// An urgent item queued in pieces stays one item in its lane, also when the later pieces come with kNormal.
TEST(EnginePriority, AnUrgentItemStreamedInPiecesStaysOneItem) {
  ConversationRig r(conversation_config());
  const auto a = ai_pcm(2000), u = urgent_pcm(600);
  r.ai(a, 1);
  r.run_to(kPeriod);
  const std::vector<int16_t> u1(u.begin(), u.begin() + 300), u2(u.begin() + 300, u.end());
  r.ai(u1, 9, PlaybackPriority::kInterject);
  r.ai(u2, 9);
  r.run_to(30 * kPeriod);
  const int64_t held_at = kPeriod + kFade;
  using T = AudioEventType;
  expect_events(r, {{T::kPlaybackStarted, 0, 1, 0},
                    {T::kPlaybackPaused, held_at, 1, held_at},
                    {T::kPlaybackStarted, held_at, 9, 0},
                    {T::kPlaybackComplete, held_at + 600, 9, 600},
                    {T::kPlaybackResumed, held_at + 600, 1, held_at},
                    {T::kPlaybackComplete, 2600, 1, 2000},
                    {T::kQueueDrained, 2600, 1, 2600}});
}

// ---- cuts while the urgent lane plays ------------------------------------------------------------------------

// interrupt_playback during an interjection cuts both items: the result names the interjection (what plays) and
// the held item with its exact counts; later audio of either is stale; a new item starts afresh.
TEST(EnginePriority, InterruptDuringAnInterjectionCutsBothAndReportsBoth) {
  ConversationRig r(conversation_config());
  const auto a = ai_pcm(3200), u = urgent_pcm(1600), c = ai_pcm(320);
  r.ai(a, 1);
  r.run_to(3 * kPeriod);
  r.ai(u, 9, PlaybackPriority::kInterject);
  r.run_to(5 * kPeriod);
  const int64_t held_at = 3 * kPeriod + kFade;  // 560
  auto res = r.e->interrupt_playback(InterruptReason::kUser);
  ASSERT_TRUE(res.ok()) << res.message();
  EXPECT_TRUE(res->was_playing);
  EXPECT_EQ(res->item_id, 9u);
  EXPECT_EQ(res->played_samples, 5 * kPeriod - held_at);  // 240
  EXPECT_DOUBLE_EQ(res->played_ms, 15.0);
  EXPECT_EQ(res->held_item_id, 1u);
  EXPECT_EQ(res->held_played_samples, held_at);
  EXPECT_DOUBLE_EQ(res->held_played_ms, 35.0);
  EXPECT_EQ(res->flushed_samples, (1600 - 240) + (3200 - held_at));
  EXPECT_EQ(res->at_sample, 5 * kPeriod);
  // Later audio for either item is stale; a new item plays from its start.
  r.ai(a, 1);
  r.ai(u, 9);
  r.ai(c, 3);
  r.run_to(10 * kPeriod);
  EXPECT_EQ(r.e->get_metrics().stale_samples_dropped, 3200 + 1600);
  std::vector<float> expected;
  append(expected, a, 0, 3 * kPeriod);
  for (int64_t k = 0; k < kFade; ++k) expected.push_back(ai_float(a[static_cast<size_t>(3 * kPeriod + k)]) * fade_out_gain(k));
  append(expected, u, 0, 240);
  append(expected, c, 0, c.size());
  expect_output(r.sink(), expected);
  using T = AudioEventType;
  expect_events(r, {{T::kPlaybackStarted, 0, 1, 0},
                    {T::kPlaybackPaused, held_at, 1, held_at},
                    {T::kPlaybackStarted, held_at, 9, 0},
                    {T::kInterrupt, 5 * kPeriod, 9, 240},
                    {T::kPlaybackStarted, 5 * kPeriod, 3, 0},
                    {T::kPlaybackComplete, 5 * kPeriod + 320, 3, 320},
                    {T::kQueueDrained, 5 * kPeriod + 320, 3, 240 + held_at + 320}});
}

// A barge-in during an interjection: the interjection fades out in the decision tick and both items are cut; the
// INTERRUPT reports the interjection's exact played count; the held item's count is its PLAYBACK_PAUSED's.
TEST(EnginePriority, BargeInDuringAnInterjectionCutsBoth) {
  ConversationRig r(conversation_config());
  const ToneUser user({500, 1000, 1500});
  const int64_t onset = user.bursts[0].first;  // 8000
  const auto a = ai_pcm(32000), u = urgent_pcm(16000);
  r.ai(a, 1);
  r.user(user);
  r.run_to(3 * kPeriod);
  r.ai(u, 9, PlaybackPriority::kInterject);
  r.run_to(user.size());
  const int64_t held_at = 3 * kPeriod + kFade;
  const int64_t silent = onset + 960 + kFade;  // the decision tick's head fades out
  const auto ints = r.of(AudioEventType::kInterrupt);
  ASSERT_EQ(ints.size(), 1u);
  EXPECT_EQ(ints[0].interrupt.reason, InterruptReason::kBargeIn);
  EXPECT_EQ(ints[0].interrupt.item_id, 9u);
  EXPECT_EQ(ints[0].t_samples, silent);
  EXPECT_EQ(ints[0].interrupt.played_samples, silent - held_at);
  EXPECT_EQ(ints[0].interrupt.flushed_samples, (16000 - (silent - held_at)) + (32000 - held_at));
  const auto paused = r.of(AudioEventType::kPlaybackPaused);
  ASSERT_EQ(paused.size(), 1u);
  EXPECT_EQ(paused[0].playback.item_id, 1u);
  EXPECT_EQ(paused[0].playback.samples, held_at);
  EXPECT_TRUE(r.of(AudioEventType::kPlaybackResumed).empty());
  const auto out = r.sink();
  ASSERT_EQ(static_cast<int64_t>(out.size()), user.size());
  for (int64_t i = silent; i < user.size(); ++i) ASSERT_EQ(out[static_cast<size_t>(i)], 0.0f) << i;
  EXPECT_EQ(out[static_cast<size_t>(silent - 1)] != 0.0f, true);
  // Neither item comes back.
  r.ai(a, 1);
  r.ai(u, 9);
  EXPECT_EQ(r.e->get_metrics().stale_samples_dropped, 32000 + 16000);
}

// A flush during an interjection empties both lanes: the interjection completes where it stopped, then the held
// item (it has nothing left), then the queue is drained.
TEST(EnginePriority, FlushDuringAnInterjectionEmptiesBothLanes) {
  ConversationRig r(conversation_config());
  const auto a = ai_pcm(3200), u = urgent_pcm(1600);
  r.ai(a, 1);
  r.run_to(3 * kPeriod);
  r.ai(u, 9, PlaybackPriority::kInterject);
  r.run_to(5 * kPeriod);
  EXPECT_EQ(r.e->flush_playback_queue(), static_cast<size_t>((1600 - 240) + (3200 - 560)) * 2);
  r.run_to(8 * kPeriod);
  using T = AudioEventType;
  const int64_t held_at = 560, t = 5 * kPeriod;
  expect_events(r, {{T::kPlaybackStarted, 0, 1, 0},
                    {T::kPlaybackPaused, held_at, 1, held_at},
                    {T::kPlaybackStarted, held_at, 9, 0},
                    {T::kPlaybackComplete, t, 9, 240},
                    {T::kPlaybackComplete, t, 1, held_at},
                    {T::kQueueDrained, t, 1, t}});
  EXPECT_FALSE(r.e->is_playing_audio());
  EXPECT_EQ(r.e->get_queue_depths().playback_samples, 0u);
  // Nothing is stale after a flush: A may go on.
  const auto more = ai_pcm(160);
  r.ai(more, 1);
  r.run_to(9 * kPeriod);
  EXPECT_EQ(r.e->get_metrics().stale_samples_dropped, 0);
}

// kReplace during an interjection cuts both lanes (an INTERRUPT with reason flush naming the interjection) and
// plays the replacement next.
TEST(EnginePriority, ReplaceDuringAnInterjectionCutsBothLanes) {
  ConversationRig r(conversation_config());
  const auto a = ai_pcm(3200), u = urgent_pcm(1600), x = ai_pcm(160);
  r.ai(a, 1);
  r.run_to(3 * kPeriod);
  r.ai(u, 9, PlaybackPriority::kInterject);
  r.run_to(5 * kPeriod);
  r.ai(x, 4, PlaybackPriority::kReplace);
  r.run_to(8 * kPeriod);
  const auto ints = r.of(AudioEventType::kInterrupt);
  ASSERT_EQ(ints.size(), 1u);
  EXPECT_EQ(ints[0].interrupt.reason, InterruptReason::kFlush);
  EXPECT_EQ(ints[0].interrupt.item_id, 9u);
  EXPECT_EQ(ints[0].interrupt.played_samples, 240);
  const auto out = r.sink();
  std::vector<float> expected;
  append(expected, a, 0, 3 * kPeriod);
  for (int64_t k = 0; k < kFade; ++k) expected.push_back(ai_float(a[static_cast<size_t>(3 * kPeriod + k)]) * fade_out_gain(k));
  append(expected, u, 0, 240);
  append(expected, x, 0, x.size());
  expect_output(out, expected);
}

// ---- names, validation ---------------------------------------------------------------------------------------

TEST(EnginePriority, NamesRoundTripAndBadValuesAreNamed) {
  for (const PlaybackPriority p : {PlaybackPriority::kNormal, PlaybackPriority::kReplace, PlaybackPriority::kNext,
                                   PlaybackPriority::kInterject}) {
    auto parsed = parse_playback_priority(to_string(p));
    ASSERT_TRUE(parsed.ok()) << to_string(p);
    EXPECT_EQ(*parsed, p);
  }
  EXPECT_STREQ(to_string(PlaybackPriority::kNext), "next");
  EXPECT_STREQ(to_string(PlaybackPriority::kInterject), "interject");
  EXPECT_STREQ(to_string(static_cast<PlaybackPriority>(17)), "unknown");
  auto upper = parse_playback_priority("INTERJECT");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(*upper, PlaybackPriority::kInterject);
  auto bad = parse_playback_priority("urgent");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), Error::kInvalidArgument);
  EXPECT_NE(bad.message().find("\"urgent\""), std::string::npos) << bad.message();
  EXPECT_NE(bad.message().find("normal, replace, next, interject"), std::string::npos) << bad.message();
  EXPECT_FALSE(parse_playback_priority("").ok());
  EXPECT_FALSE(parse_playback_priority("nextt").ok());

  ConversationRig r(conversation_config());
  const auto pcm = ai_pcm(160);
  const Status st = r.e->queue_playback(pcm.data(), pcm.size() * 2, 1, static_cast<PlaybackPriority>(7));
  EXPECT_EQ(st.error(), Error::kInvalidArgument);
  EXPECT_NE(st.message().find("priority = 7"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("interject (3)"), std::string::npos) << st.message();
  EXPECT_EQ(r.e->get_queue_depths().playback_samples, 0u);
}

TEST(EnginePriority, PlaybackEventFactoryDefaultsPlayOutToDelivery) {
  const AudioEvent a = make_playback_event(AudioEventType::kPlaybackComplete, 700, 16000, 3, 400);
  EXPECT_EQ(a.playback.played_out_at_samples, 700);
  const AudioEvent b = make_playback_event(AudioEventType::kPlaybackComplete, 700, 16000, 3, 400, 1500);
  EXPECT_EQ(b.playback.played_out_at_samples, 1500);
  EXPECT_EQ(b.playback.samples, 400);
}

// ---- the audio thread ----------------------------------------------------------------------------------------

// The urgent lane has a capacity of its own (queues.urgent_capacity_ms), apart from the answer's: an urgent item
// beyond it meets the overflow policy there and the drop is counted, while the main queue still takes a whole
// answer of the same length.
TEST(EnginePriority, TheUrgentLaneHasItsOwnCapacity) {
  EngineConfig c = conversation_config();
  c.queues.urgent_capacity_ms = 100;  // 1600 samples at 16 kHz; the ring rounds up to 2048
  c.queues.playback_overflow = OverflowPolicy::kDropNewest;
  ConversationRig r(c);
  const auto u = urgent_pcm(4000), a = ai_pcm(4000);
  r.ai(u, 9, PlaybackPriority::kNext);
  EXPECT_EQ(r.e->get_metrics().playback_dropped_samples, 4000 - 2048);
  r.ai(a, 1);
  EXPECT_EQ(r.e->get_metrics().playback_dropped_samples, 4000 - 2048);

  c.queues.urgent_capacity_ms = 5;
  const auto issues = validate_config(c);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].field, "queues.urgent_capacity_ms");
}

TEST(EnginePriority, LanesNeitherAllocateNorLockOnTheAudioThread) {
  if (!rt::probe_installed()) GTEST_SKIP() << "the real-time probe is not linked (sanitizer build)";
  EngineConfig c = conversation_config();
  c.clock.virtual_mode = VirtualClockMode::kStepped;
  ConversationRig r(c);
  const ToneUser user({300, 800, 700});
  const auto a = ai_pcm(8000), u = urgent_pcm(1200);
  rt::reset_violation_counts();
  for (uint64_t round = 0; round < 4; ++round) {
    const uint64_t id = 10 * round + 1;
    r.ai(a, id);
    r.ai(a, id + 1);
    ASSERT_TRUE(r.e->advance_ticks(3).ok());
    r.ai(u, id + 2, PlaybackPriority::kInterject);
    ASSERT_TRUE(r.e->advance_ticks(4).ok());
    r.ai(a, id);  // the held item keeps streaming
    r.ai(u, id + 3, PlaybackPriority::kNext);
    ASSERT_TRUE(r.e->advance_ticks(30).ok());
    r.ai(u, id + 4, PlaybackPriority::kInterject);
    ASSERT_TRUE(r.e->advance_ticks(2).ok());
    if (round % 2 == 0) {
      r.user(user);  // a barge-in during the interjection
      ASSERT_TRUE(r.e->advance_ticks(user.size() / kPeriod).ok());
    } else {
      ASSERT_TRUE(r.e->interrupt_playback().ok());
    }
    r.e->flush_playback_queue();
    ASSERT_TRUE(r.e->advance_ticks(5).ok());
    r.sink();
  }
  const auto counts = rt::violation_counts();
  // The events reach the log on ae-events, after the ticks that published them.
  ASSERT_TRUE(r.e->wait_until_dispatched(2000));
  const EngineMetrics m = r.e->get_metrics();
  EXPECT_GE(m.interruptions, 4);
  EXPECT_GE(r.of(AudioEventType::kPlaybackResumed).size(), 4u);
  EXPECT_EQ(counts.allocations, 0u);
  EXPECT_EQ(counts.mutex_locks, 0u);
  EXPECT_EQ(m.audio_thread_allocations, 0);
}

}  // namespace
}  // namespace ae
