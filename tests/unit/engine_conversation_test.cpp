// Turn-taking on the virtual clock, exact in samples: the state sequence of a scripted conversation, overlaps,
// response latency, forced turn changes, push-to-talk, waiting for a change, playback items (replace priority,
// drain), and the tracker's own arithmetic.
//
// The user (conversation_rig.hpp) speaks in tone bursts on the period grid. VAD defaults: speech confirmed 1120
// samples after the onset, ended 300 ms (4800 samples) after the burst; ENDPOINT 800 ms (12800 samples) after it.

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <utility>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "conversation_rig.hpp"

namespace ae {
namespace {

using test::ai_float;
using test::ai_pcm;
using test::ConversationRig;
using test::conversation_config;
using test::ToneUser;

constexpr int64_t kPeriod = test::kConvPeriod;
constexpr int64_t kConfirm = 1120;
constexpr int64_t kMinSilence = 4800;
constexpr int64_t kEndpointTimeout = 12800;

using Transition = std::pair<ConversationState, ConversationState>;

std::vector<std::pair<int64_t, Transition>> turn_changes(ConversationRig& r) {
  std::vector<std::pair<int64_t, Transition>> out;
  for (const auto& ev : r.of(AudioEventType::kTurnChanged)) {
    out.push_back({ev.t_samples, {static_cast<ConversationState>(ev.state.from), static_cast<ConversationState>(ev.state.to)}});
  }
  return out;
}

// The user speaks, the turn ends (ENDPOINT), the AI answers 200 ms after the ENDPOINT, the user barges in: every
// TURN_CHANGED at the end of the period that decided it, the response latency the known sample distance.
TEST(EngineConversation, ScriptedScenarioStateSequence) {
  ConversationRig r(conversation_config());
  const ToneUser u({500, 1000, 2000, 500, 1500});
  const auto [on1, end1] = u.bursts[0];
  const auto [on2, end2] = u.bursts[1];
  r.user(u);
  const int64_t endpoint = end1 + kEndpointTimeout;
  const int64_t answer = endpoint + 3200;
  r.run_to(answer);
  EXPECT_EQ(r.e->get_conversation_state(), ConversationState::kIdle);
  ASSERT_EQ(r.of(AudioEventType::kEndpoint).size(), 1u);
  EXPECT_EQ(r.of(AudioEventType::kEndpoint)[0].t_samples, endpoint);
  r.ai(ai_pcm(32000), 1);
  r.run_to(answer + kPeriod);
  EXPECT_EQ(r.e->get_conversation_state(), ConversationState::kAiSpeaking);
  r.run_to(u.size());
  using S = ConversationState;
  const std::vector<std::pair<int64_t, Transition>> expected = {
      {on1 + kConfirm, {S::kIdle, S::kUserSpeaking}},
      {end1 + kMinSilence, {S::kUserSpeaking, S::kIdle}},
      {answer + kPeriod, {S::kIdle, S::kAiSpeaking}},
      {on2 + kConfirm, {S::kAiSpeaking, S::kUserSpeaking}},  // barge-in and VAD onset in the same period
      {end2 + kMinSilence, {S::kUserSpeaking, S::kIdle}},
  };
  EXPECT_EQ(turn_changes(r), expected);
  const ConversationMetrics m = r.e->get_conversation_metrics();
  EXPECT_EQ(m.user_turns, 2);
  EXPECT_EQ(m.ai_turns, 1);
  EXPECT_EQ(m.overlaps, 0);
  EXPECT_EQ(m.interruptions, 1);
  EXPECT_EQ(m.barge_ins, 1);
  EXPECT_EQ(m.turn_changes, 5);
  ASSERT_EQ(m.response_latency.count, 1);
  EXPECT_EQ(m.response_latency.last_samples, answer - endpoint);
  EXPECT_DOUBLE_EQ(m.response_latency.last_ms, 200.0);
  EXPECT_DOUBLE_EQ(m.response_latency.p50_ms, 200.0);
  EXPECT_DOUBLE_EQ(m.response_latency.max_ms, 200.0);
}

// Without barge-in the user talking over the AI is an overlap; the AI's turn ends where its audio ran out.
TEST(EngineConversation, OverlapWhenTheAiIsNotInterrupted) {
  EngineConfig c = conversation_config();
  ASSERT_TRUE(AudioEngine::create(c)->enable_barge_in_detection(false).ok());  // before initialize: stored
  c.barge_in.enabled = false;
  ConversationRig r(c);
  const ToneUser u({500, 500, 1500});
  const auto [onset, end] = u.bursts[0];
  r.ai(ai_pcm(24000), 1);
  r.user(u);
  r.run_to(u.size() + 16000);
  using S = ConversationState;
  const std::vector<std::pair<int64_t, Transition>> expected = {
      {kPeriod, {S::kIdle, S::kAiSpeaking}},
      {onset + kConfirm, {S::kAiSpeaking, S::kOverlap}},
      {end + kMinSilence, {S::kOverlap, S::kAiSpeaking}},
      {24000 + kPeriod, {S::kAiSpeaking, S::kIdle}},
  };
  EXPECT_EQ(turn_changes(r), expected);
  EXPECT_EQ(r.e->get_conversation_metrics().overlaps, 1);
  EXPECT_EQ(r.e->get_conversation_metrics().interruptions, 0);
}

// force_turn_change: the user's turn interrupts the AI (reason user) and holds without speech; IDLE ends it; the
// AI's side cannot be forced on without audio; bad values are rejected.
TEST(EngineConversation, ForceTurnChangeMovesTheFloor) {
  ConversationRig r(conversation_config());
  r.ai(ai_pcm(16000), 3);
  r.run_to(1600);
  auto s = r.e->force_turn_change(ConversationState::kUserSpeaking);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(*s, ConversationState::kUserSpeaking);
  r.run_to(3200);
  EXPECT_EQ(r.e->get_conversation_state(), ConversationState::kUserSpeaking);
  const auto ints = r.of(AudioEventType::kInterrupt);
  ASSERT_EQ(ints.size(), 1u);
  EXPECT_EQ(ints[0].interrupt.reason, InterruptReason::kUser);
  EXPECT_EQ(ints[0].interrupt.played_samples, 1600);
  EXPECT_EQ(r.e->force_turn_change(ConversationState::kIdle).value(), ConversationState::kIdle);
  EXPECT_EQ(r.e->force_turn_change(ConversationState::kAiSpeaking).value(), ConversationState::kIdle);
  EXPECT_EQ(r.e->force_turn_change(static_cast<ConversationState>(9)).error(), Error::kInvalidArgument);
  using S = ConversationState;
  const std::vector<std::pair<int64_t, Transition>> expected = {
      {kPeriod, {S::kIdle, S::kAiSpeaking}},
      {1600, {S::kAiSpeaking, S::kUserSpeaking}},
      {3200, {S::kUserSpeaking, S::kIdle}},
  };
  ASSERT_TRUE(r.e->wait_until_dispatched(2000));
  EXPECT_EQ(turn_changes(r), expected);
  EXPECT_EQ(r.e->get_conversation_metrics().interruptions, 1);
  EXPECT_EQ(r.e->get_conversation_metrics().barge_ins, 0);
}

// Push-to-talk: the button is the user's turn, whatever the microphone hears; invalid modes are rejected.
TEST(EngineConversation, PushToTalkGivesTheUserTheTurn) {
  ConversationRig r(conversation_config());
  EXPECT_EQ(r.e->set_turn_taking_mode(static_cast<TurnTakingMode>(5)).error(), Error::kInvalidArgument);
  ASSERT_TRUE(r.e->set_turn_taking_mode(TurnTakingMode::kManual).ok());
  EXPECT_EQ(r.e->get_turn_taking_mode(), TurnTakingMode::kManual);
  const ToneUser u({200, 500, 300});
  r.user(u);
  r.run_to(u.size());
  EXPECT_EQ(r.e->get_conversation_state(), ConversationState::kIdle);  // speech without the button
  ASSERT_TRUE(r.e->set_push_to_talk(true).ok());
  r.run_to(u.size() + kPeriod);
  EXPECT_EQ(r.e->get_conversation_state(), ConversationState::kUserSpeaking);
  ASSERT_TRUE(r.e->set_push_to_talk(false).ok());
  r.run_to(u.size() + 2 * kPeriod);
  EXPECT_EQ(r.e->get_conversation_state(), ConversationState::kIdle);
  const auto changes = turn_changes(r);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].first, u.size() + kPeriod);
  EXPECT_EQ(changes[1].first, u.size() + 2 * kPeriod);
}

// wait_for_turn_change returns the state of a change published after the call; kTimeout when none comes.
TEST(EngineConversation, WaitForTurnChangeReturnsTheNewState) {
  ConversationRig r(conversation_config());
  EXPECT_EQ(r.e->wait_for_turn_change(0).error(), Error::kTimeout);
  auto waiter = std::async(std::launch::async, [&] { return r.e->wait_for_turn_change(10000); });
  // Toggle until the waiter has seen a change: it may have started waiting after any of them.
  bool user = true;
  while (waiter.wait_for(std::chrono::milliseconds(1)) != std::future_status::ready) {
    ASSERT_TRUE(r.e->force_turn_change(user ? ConversationState::kUserSpeaking : ConversationState::kIdle).ok());
    user = !user;
  }
  auto got = waiter.get();
  ASSERT_TRUE(got.ok()) << got.message();
  EXPECT_TRUE(*got == ConversationState::kUserSpeaking || *got == ConversationState::kIdle);
}

// Replace priority: the urgent item cuts the playing one (INTERRUPT with reason flush and its exact position) and
// plays next; drain_queues reports when the sink received everything.
TEST(EnginePlaybackItems, ReplaceCutsThePlayingItemAndDrainWaitsForTheSink) {
  ConversationRig r(conversation_config());
  r.ai(ai_pcm(16000), 1);
  EXPECT_EQ(r.e->drain_queues(0).error(), Error::kTimeout);
  r.run_to(1600);
  const auto alert = ai_pcm(800);
  r.ai(alert, 2, PlaybackPriority::kReplace);
  ASSERT_TRUE(r.e->wait_until_dispatched(2000));
  const auto ints = r.of(AudioEventType::kInterrupt);
  ASSERT_EQ(ints.size(), 1u);
  EXPECT_EQ(ints[0].interrupt.reason, InterruptReason::kFlush);
  EXPECT_EQ(ints[0].interrupt.item_id, 1u);
  EXPECT_EQ(ints[0].interrupt.played_samples, 1600);
  EXPECT_EQ(ints[0].interrupt.flushed_samples, 14400);
  r.run_to(3200);
  EXPECT_TRUE(r.e->drain_queues(0).ok());
  const auto out = r.sink();
  for (int64_t i = 0; i < 800; ++i) ASSERT_EQ(out[1600 + i], ai_float(alert[i])) << i;
  for (int64_t i = 2400; i < 3200; ++i) ASSERT_EQ(out[i], 0.0f) << i;
  const auto done = r.of(AudioEventType::kPlaybackComplete);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].playback.item_id, 2u);
  EXPECT_EQ(done[0].t_samples, 2400);
  const auto drained = r.of(AudioEventType::kQueueDrained);
  ASSERT_EQ(drained.size(), 1u);
  EXPECT_EQ(drained[0].t_samples, 2400);
  EXPECT_EQ(r.e->get_conversation_metrics().interruptions, 0);  // a flush is not an interruption
  const auto bad = r.e->queue_playback(alert.data(), 2, 3, static_cast<PlaybackPriority>(7));
  EXPECT_EQ(bad.error(), Error::kInvalidArgument);
}

TEST(ConversationTracker, CountsTurnsOverlapsAndLatencies) {
  ConversationTracker t;
  ConversationTracker::Change c{};
  EXPECT_FALSE(t.update(false, false, c));
  ASSERT_TRUE(t.update(true, false, c));
  EXPECT_EQ(c.from, ConversationState::kIdle);
  EXPECT_EQ(c.to, ConversationState::kUserSpeaking);
  t.on_endpoint(1000);
  ASSERT_TRUE(t.update(false, true, c));  // both inputs changed in one tick
  t.on_ai_started(1500);
  t.on_ai_started(9000);  // no ENDPOINT before it: not a response
  ASSERT_TRUE(t.update(true, true, c));
  EXPECT_EQ(c.to, ConversationState::kOverlap);
  const ConversationMetrics m = t.metrics(1000);
  EXPECT_EQ(m.user_turns, 2);
  EXPECT_EQ(m.ai_turns, 1);
  EXPECT_EQ(m.overlaps, 1);
  EXPECT_EQ(m.turn_changes, 3);
  EXPECT_EQ(m.response_latency.count, 1);
  EXPECT_DOUBLE_EQ(m.response_latency.last_ms, 500.0);
  t.reset();
  EXPECT_EQ(t.state(), ConversationState::kIdle);
  EXPECT_EQ(t.metrics(1000).user_turns, 0);
}

TEST(ConversationTracker, LatencyStatsAreExact) {
  LatencyRecorder rec;
  EXPECT_EQ(rec.stats(1000).count, 0);
  EXPECT_EQ(rec.stats(1000).last_samples, -1);
  for (int64_t v : {50, 10, 40, 20, 30}) rec.record(v);
  const LatencyStats s = rec.stats(1000);
  EXPECT_EQ(s.count, 5);
  EXPECT_EQ(s.last_samples, 30);
  EXPECT_DOUBLE_EQ(s.mean_ms, 30.0);
  EXPECT_DOUBLE_EQ(s.p50_ms, 30.0);
  EXPECT_DOUBLE_EQ(s.max_ms, 50.0);
  // The median covers the last kWindow measurements only.
  for (size_t i = 0; i < LatencyStats::kWindow; ++i) rec.record(7);
  EXPECT_DOUBLE_EQ(rec.stats(1000).p50_ms, 7.0);
  EXPECT_DOUBLE_EQ(rec.stats(1000).max_ms, 50.0);
  EXPECT_STREQ(to_string(ConversationState::kOverlap), "overlap");
  EXPECT_STREQ(to_string(TurnTakingMode::kManual), "manual");
}

}  // namespace
}  // namespace ae
