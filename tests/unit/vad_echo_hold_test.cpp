// VadEchoHold on a real segmenter, period by period, exact in samples: it passes every decision through while the
// echo gate is open, holds a segment the echo alone started, publishes it with its original start once its run
// shows enough near-end periods, and drops it (counted by the caller) when it ends held.

#include <gtest/gtest.h>

#include <vector>

#include "audioengine/vad.hpp"
#include "engine/vad_echo_hold.hpp"

namespace ae {
namespace {

constexpr int kRate = 16000;
constexpr size_t kPeriod = 160;

struct Period {
  float p;         // the VAD's probability
  bool deciding;   // render in the gate's window
  bool near_end;   // the gate's verdict
};

struct HoldRun {
  std::vector<VadDecision> raw, published;
  int vetoed = 0;
};

// Feeds `periods` through a segmenter (min_speech 64 ms: 7 periods; min_silence 300 ms: 30) and the hold
// (20 ms of near-end: 320 samples).
HoldRun run(const std::vector<Period>& periods, bool vetoing = true) {
  VadConfig c;
  VadSegmenter seg;
  seg.configure(c, kRate);
  VadEchoHold hold;
  hold.configure(320, c.deactivation_threshold);
  HoldRun r;
  int64_t t = 0;
  for (const Period& x : periods) {
    const VadDecision raw = seg.update(x.p, t, kPeriod);
    bool vetoed = false;
    r.raw.push_back(raw);
    r.published.push_back(
        hold.filter(raw, seg.pending_start_sample(), vetoing, x.deciding, x.near_end, kPeriod, &vetoed));
    r.vetoed += vetoed;
    t += static_cast<int64_t>(kPeriod);
  }
  return r;
}

std::vector<Period> repeat(Period x, int count) { return std::vector<Period>(static_cast<size_t>(count), x); }
std::vector<Period> operator+(std::vector<Period> a, const std::vector<Period>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

bool same(const VadDecision& a, const VadDecision& b) {
  return a.state == b.state && a.speech_started == b.speech_started && a.speech_ended == b.speech_ended &&
         a.speech_start_sample == b.speech_start_sample && a.speech_end_sample == b.speech_end_sample &&
         a.probability == b.probability;
}

TEST(VadEchoHold, PassesEverythingWhileTheGateIsOpen) {
  // Two segments, one with near-end periods, one without: with no render in the window neither is held.
  const auto periods = repeat({0.1f, false, false}, 5) + repeat({0.9f, false, false}, 20) +
                       repeat({0.1f, false, false}, 40) + repeat({0.9f, false, true}, 20) +
                       repeat({0.1f, false, false}, 40);
  for (bool vetoing : {true, false}) {
    const HoldRun r = run(periods, vetoing);
    int starts = 0;
    for (size_t i = 0; i < periods.size(); ++i) {
      EXPECT_TRUE(same(r.raw[i], r.published[i])) << i;
      starts += r.published[i].speech_started;
    }
    EXPECT_EQ(starts, 2);
    EXPECT_EQ(r.vetoed, 0);
  }
}

TEST(VadEchoHold, DropsASegmentOnlyTheEchoStarted) {
  const auto periods = repeat({0.1f, true, false}, 5) + repeat({0.9f, true, false}, 50) + repeat({0.1f, true, false}, 40);
  const HoldRun r = run(periods);
  int raw_starts = 0;
  int raw_ends = 0;
  for (size_t i = 0; i < periods.size(); ++i) {
    raw_starts += r.raw[i].speech_started;
    raw_ends += r.raw[i].speech_ended;
    EXPECT_FALSE(r.published[i].speech_started) << i;
    EXPECT_FALSE(r.published[i].speech_ended) << i;
    EXPECT_EQ(r.published[i].state, VadState::kSilence) << i;
    EXPECT_EQ(r.published[i].speech_start_sample, -1) << i;
    EXPECT_EQ(r.published[i].speech_end_sample, -1) << i;
  }
  EXPECT_EQ(raw_starts, 1);
  EXPECT_EQ(raw_ends, 1);
  EXPECT_EQ(r.vetoed, 1);
}

TEST(VadEchoHold, PublishesAHeldSegmentWithItsOriginalStartOnceNearEndShows) {
  // Speech from period 5 (sample 800); the segmenter starts it at period 11; near-end from period 20 on: the 2nd
  // near-end period (20 ms) is period 21, which publishes the start with sample 800.
  const auto periods = repeat({0.1f, true, false}, 5) + repeat({0.9f, true, false}, 15) +
                       repeat({0.9f, true, true}, 10) + repeat({0.1f, true, false}, 40);
  const HoldRun r = run(periods);
  ASSERT_TRUE(r.raw[11].speech_started);
  for (size_t i = 0; i < 21; ++i) {
    EXPECT_FALSE(r.published[i].speech_started) << i;
    EXPECT_EQ(r.published[i].state, VadState::kSilence) << i;
  }
  EXPECT_TRUE(r.published[21].speech_started);
  EXPECT_EQ(r.published[21].state, VadState::kSpeaking);
  EXPECT_EQ(r.published[21].speech_start_sample, 800);
  // From then on the segment is the segmenter's: it ends where the segmenter ends it.
  for (size_t i = 22; i < periods.size(); ++i) EXPECT_TRUE(same(r.raw[i], r.published[i])) << i;
  EXPECT_EQ(r.vetoed, 0);
}

TEST(VadEchoHold, CountsTheNearEndPeriodsBeforeTheSegmentStarted) {
  // Near-end in the run's first two periods, before the segmenter confirms it: published as it starts.
  const auto periods = repeat({0.1f, true, false}, 5) + repeat({0.9f, true, true}, 2) +
                       repeat({0.9f, true, false}, 20) + repeat({0.1f, true, false}, 40);
  const HoldRun r = run(periods);
  for (size_t i = 0; i < periods.size(); ++i) EXPECT_TRUE(same(r.raw[i], r.published[i])) << i;
  // Near-end periods of an abandoned run do not count for the next one.
  const auto abandoned = repeat({0.9f, true, true}, 2) + repeat({0.1f, true, false}, 1) +
                         repeat({0.9f, true, false}, 20) + repeat({0.1f, true, false}, 40);
  const HoldRun a = run(abandoned);
  EXPECT_EQ(a.vetoed, 1);
}

TEST(VadEchoHold, ReleasesAHeldSegmentWhenTheVetoIsSwitchedOff) {
  VadConfig c;
  VadSegmenter seg;
  seg.configure(c, kRate);
  VadEchoHold hold;
  hold.configure(320, c.deactivation_threshold);
  bool vetoed = false;
  int64_t t = 0;
  for (int i = 0; i < 10; ++i, t += kPeriod) {
    const VadDecision raw = seg.update(0.9f, t, kPeriod);
    (void)hold.filter(raw, seg.pending_start_sample(), true, true, false, kPeriod, &vetoed);
  }
  ASSERT_TRUE(hold.held());
  EXPECT_EQ(hold.published(VadState::kSpeaking), VadState::kSilence);
  const VadDecision raw = seg.update(0.9f, t, kPeriod);
  const VadDecision out = hold.filter(raw, seg.pending_start_sample(), false, true, false, kPeriod, &vetoed);
  EXPECT_TRUE(out.speech_started);
  EXPECT_EQ(out.speech_start_sample, 0);
  EXPECT_FALSE(hold.held());
  hold.reset();
  EXPECT_FALSE(hold.held());
}

}  // namespace
}  // namespace ae
