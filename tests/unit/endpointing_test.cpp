// Endpointer on synthetic probability sequences through the real VadSegmenter: every endpoint asserted exactly
// in samples (16 kHz, 10 ms frames of 160 samples; min_speech 0, min_silence 100 ms).

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "audioengine/endpointing.hpp"

namespace ae {
namespace {

constexpr size_t kFrame = 160;

struct Timeline {
  VadSegmenter seg;
  Endpointer ep;
  int64_t next_frame = 0;
  std::vector<std::pair<int64_t, EndpointDecision>> endpoints;  // (frame index, decision)

  explicit Timeline(EndpointConfig ec = {}) {
    VadConfig vc;
    vc.min_speech_ms = 0;
    vc.min_silence_ms = 100;
    seg.configure(vc, 16000);
    ep.configure(ec, 16000);
  }
  // `n` frames of probability p.
  void feed(float p, int n) {
    for (int i = 0; i < n; ++i, ++next_frame) {
      const int64_t start = next_frame * static_cast<int64_t>(kFrame);
      const auto d = seg.update(p, start, kFrame);
      const auto e = ep.update(d, start, kFrame);
      if (e.reason != EndpointReason::kNone) endpoints.emplace_back(next_frame, e);
    }
  }
};

// Speech in frames 10..59: the segment is [1600, 9600); its end is confirmed 100 ms later; the endpoint comes at
// the first frame ending 800 ms (12800 samples) after 9600, i.e. ending at 22400: frame 139.
TEST(Endpointer, SilenceTimeoutCountsFromTheSegmentEnd) {
  Timeline r;
  r.feed(0, 10);
  r.feed(1, 50);
  r.feed(0, 79);  // frames 60..138
  EXPECT_EQ(r.ep.state(), EndpointState::kTrailingSilence);
  EXPECT_TRUE(r.endpoints.empty());
  r.feed(0, 1);  // frame 139
  ASSERT_EQ(r.endpoints.size(), 1u);
  EXPECT_EQ(r.endpoints[0].first, 139);
  EXPECT_EQ(r.endpoints[0].second.reason, EndpointReason::kSilence);
  EXPECT_EQ(r.endpoints[0].second.utterance_start_sample, 1600);
  EXPECT_EQ(r.endpoints[0].second.utterance_end_sample, 9600);
  EXPECT_EQ(r.ep.state(), EndpointState::kIdle);
}

// A 400 ms pause inside the turn does not end it: one utterance [1600, 24000), endpoint at 24000 + 12800.
TEST(Endpointer, PausesShorterThanTheTimeoutStayInOneUtterance) {
  Timeline r;
  r.feed(0, 10);
  r.feed(1, 50);   // frames 10..59
  r.feed(0, 40);   // 60..99
  r.feed(1, 50);   // 100..149 -> ends at 24000
  r.feed(0, 200);
  ASSERT_EQ(r.endpoints.size(), 1u);
  EXPECT_EQ(r.endpoints[0].second.utterance_start_sample, 1600);
  EXPECT_EQ(r.endpoints[0].second.utterance_end_sample, 24000);
  EXPECT_EQ((r.endpoints[0].first + 1) * static_cast<int64_t>(kFrame), 24000 + 12800);
}

TEST(Endpointer, UtterancesShorterThanTheMinimumEndWithoutAnEndpoint) {
  Timeline r;  // min_utterance 200 ms = 3200 samples
  r.feed(0, 10);
  r.feed(1, 19);  // 190 ms
  r.feed(0, 200);
  EXPECT_TRUE(r.endpoints.empty());
  EXPECT_EQ(r.ep.state(), EndpointState::kIdle);
  r.feed(1, 20);  // exactly 200 ms: an utterance
  r.feed(0, 200);
  ASSERT_EQ(r.endpoints.size(), 1u);
  EXPECT_EQ(r.endpoints[0].second.utterance_end_sample - r.endpoints[0].second.utterance_start_sample, 3200);
}

// max 1000 ms: continuous speech from 1600 is cut at 17600, 33600, ...; each cut opens the next utterance. The
// last one ends on silence (200 ms timeout: 41600 + 3200 comes before its max at 49600).
TEST(Endpointer, MaxUtteranceCutsAndReopens) {
  EndpointConfig ec;
  ec.max_utterance_ms = 1000;
  ec.silence_timeout_ms = 200;
  Timeline r(ec);
  r.feed(0, 10);
  r.feed(1, 250);  // frames 10..259, speech until 41600
  ASSERT_EQ(r.endpoints.size(), 2u);
  EXPECT_EQ(r.endpoints[0].second.reason, EndpointReason::kMaxUtterance);
  EXPECT_EQ(r.endpoints[0].second.utterance_start_sample, 1600);
  EXPECT_EQ(r.endpoints[0].second.utterance_end_sample, 17600);
  EXPECT_EQ(r.endpoints[1].second.utterance_start_sample, 17600);
  EXPECT_EQ(r.endpoints[1].second.utterance_end_sample, 33600);
  r.feed(0, 200);
  ASSERT_EQ(r.endpoints.size(), 3u);
  EXPECT_EQ(r.endpoints[2].second.reason, EndpointReason::kSilence);
  EXPECT_EQ(r.endpoints[2].second.utterance_start_sample, 33600);
  EXPECT_EQ(r.endpoints[2].second.utterance_end_sample, 41600);
}

// Max reached during trailing silence: speech [1600, 12800), max 1000 ms reached at 17600 (frame 109), before the
// 800 ms silence timeout (25600); the utterance ends at its speech end, not at the cut.
TEST(Endpointer, MaxUtteranceDuringTrailingSilenceEndsAtTheSpeechEnd) {
  EndpointConfig ec;
  ec.max_utterance_ms = 1000;
  Timeline r(ec);
  r.feed(0, 10);
  r.feed(1, 70);
  r.feed(0, 100);
  ASSERT_EQ(r.endpoints.size(), 1u);
  EXPECT_EQ(r.endpoints[0].first, 109);
  EXPECT_EQ(r.endpoints[0].second.reason, EndpointReason::kMaxUtterance);
  EXPECT_EQ(r.endpoints[0].second.utterance_start_sample, 1600);
  EXPECT_EQ(r.endpoints[0].second.utterance_end_sample, 12800);
  EXPECT_EQ(r.ep.state(), EndpointState::kIdle);
}

TEST(Endpointer, ForceEndsTheUtteranceNowOrAtTheLastSegmentEnd) {
  Timeline r;
  EXPECT_EQ(r.ep.force(0).reason, EndpointReason::kNone);
  r.feed(0, 10);
  r.feed(1, 30);  // speaking, frames 10..39
  auto e = r.ep.force(6400);
  EXPECT_EQ(e.reason, EndpointReason::kForced);
  EXPECT_EQ(e.utterance_start_sample, 1600);
  EXPECT_EQ(e.utterance_end_sample, 6400);
  EXPECT_EQ(r.ep.state(), EndpointState::kIdle);

  Timeline t;
  t.feed(0, 10);
  t.feed(1, 30);
  t.feed(0, 20);  // segment [1600, 6400) closed
  ASSERT_EQ(t.ep.state(), EndpointState::kTrailingSilence);
  e = t.ep.force(9600);
  EXPECT_EQ(e.utterance_end_sample, 6400);
}

// A shorter timeout set while trailing applies at once: 200 ms after 9600 ends at 12800 (frame 79).
TEST(Endpointer, SetTimeoutAppliesToTheUtteranceInProgress) {
  Timeline r;
  r.feed(0, 10);
  r.feed(1, 50);
  r.feed(0, 15);  // frames 60..74; the segment end (9600) was confirmed at frame 69
  r.ep.set_silence_timeout_ms(200);
  EXPECT_EQ(r.ep.silence_timeout_samples(), 3200);
  r.feed(0, 10);
  ASSERT_EQ(r.endpoints.size(), 1u);
  EXPECT_EQ(r.endpoints[0].first, 79);
  r.ep.set_silence_timeout_ms(5);
  EXPECT_EQ(r.ep.silence_timeout_samples(), 1600);  // clamped to 100 ms
}

TEST(Endpointer, ConfigErrorsNameTheField) {
  EXPECT_TRUE(validate_endpoint_config({}).ok());
  EndpointConfig c;
  c.silence_timeout_ms = 50;
  c.max_utterance_ms = 10;
  auto st = validate_endpoint_config(c);
  EXPECT_EQ(st.error(), Error::kInvalidConfig);
  EXPECT_NE(st.message().find("endpoint.silence_timeout_ms"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("endpoint.max_utterance_ms"), std::string::npos) << st.message();
  EXPECT_STREQ(to_string(EndpointReason::kMaxUtterance), "max_utterance");
  EXPECT_STREQ(to_string(EndpointState::kTrailingSilence), "trailing_silence");
}

}  // namespace
}  // namespace ae
