#include <audioengine/realtime.hpp>
#include <audioengine/vad.hpp>
#include <gtest/gtest.h>

#include <cstdint>
#include <tuple>
#include <vector>

namespace ae {
namespace {

constexpr float kHigh = 0.9f;     // above activation (0.5)
constexpr float kBetween = 0.4f;  // between deactivation (0.35) and activation
constexpr float kLow = 0.1f;      // below deactivation
constexpr int64_t kOrigin = 12345;  // timeline position of frame 0: positions are not frame-aligned

struct Outcome {
  std::vector<size_t> start_frames;  // frame indices that reported speech_started
  std::vector<size_t> end_frames;
  std::vector<int64_t> start_samples;
  std::vector<int64_t> end_samples;
  VadState final_state = VadState::kSilence;
};

// Feeds one probability per frame, frame k starting at kOrigin + k * frame.
Outcome run(VadSegmenter& seg, const std::vector<float>& probabilities, size_t frame) {
  Outcome o;
  for (size_t k = 0; k < probabilities.size(); ++k) {
    const int64_t start = kOrigin + static_cast<int64_t>(k * frame);
    const VadDecision d = seg.update(probabilities[k], start, frame);
    EXPECT_FLOAT_EQ(d.probability, probabilities[k]);
    EXPECT_EQ(d.state, seg.state());
    if (d.speech_started) {
      o.start_frames.push_back(k);
      o.start_samples.push_back(d.speech_start_sample);
      EXPECT_EQ(d.state, VadState::kSpeaking);
    }
    if (d.speech_ended) {
      o.end_frames.push_back(k);
      o.end_samples.push_back(d.speech_end_sample);
      EXPECT_EQ(d.state, VadState::kSilence);
    }
  }
  o.final_state = seg.state();
  return o;
}

void append(std::vector<float>& v, float p, size_t count) { v.insert(v.end(), count, p); }

// Frames needed for a run of whole frames to last at least `samples`: ceil(samples / frame), at least 1.
size_t frames_for(int64_t samples, size_t frame) {
  const size_t n = static_cast<size_t>((samples + static_cast<int64_t>(frame) - 1) / static_cast<int64_t>(frame));
  return n == 0 ? 1 : n;
}

class VadSegmenterTest : public ::testing::TestWithParam<std::tuple<int, size_t>> {
 protected:
  void SetUp() override {
    rate_ = std::get<0>(GetParam());
    frame_ = std::get<1>(GetParam());
    seg_.configure(config_, rate_);
    // round(ms * rate / 1000), computed here independently of the implementation.
    min_speech_ = static_cast<int64_t>(config_.min_speech_ms * static_cast<double>(rate_) / 1000.0 + 0.5);
    min_silence_ = static_cast<int64_t>(config_.min_silence_ms * static_cast<double>(rate_) / 1000.0 + 0.5);
  }
  int64_t frame_start(size_t k) const { return kOrigin + static_cast<int64_t>(k * frame_); }

  VadConfig config_;
  VadSegmenter seg_;
  int rate_ = 0;
  size_t frame_ = 0;
  int64_t min_speech_ = 0;
  int64_t min_silence_ = 0;
};

TEST_P(VadSegmenterTest, ReportsStartAndEndAtExactSamples) {
  ASSERT_EQ(seg_.min_speech_samples(), min_speech_);
  ASSERT_EQ(seg_.min_silence_samples(), min_silence_);
  const size_t speech_frames = frames_for(min_speech_, frame_);
  const size_t silence_frames = frames_for(min_silence_, frame_);
  constexpr size_t kOnset = 10;
  const size_t speech_len = speech_frames + 25;
  std::vector<float> p;
  append(p, kLow, kOnset);
  append(p, kHigh, speech_len);
  append(p, kLow, silence_frames + 20);

  const Outcome o = run(seg_, p, frame_);
  ASSERT_EQ(o.start_frames.size(), 1u);
  ASSERT_EQ(o.end_frames.size(), 1u);
  // Confirmed on the frame at which the run has lasted min_speech, reported from its first frame.
  EXPECT_EQ(o.start_frames[0], kOnset + speech_frames - 1);
  EXPECT_EQ(o.start_samples[0], frame_start(kOnset));
  // Ended once silence lasted min_silence; the end is the first silent frame's start.
  const size_t first_silent = kOnset + speech_len;
  EXPECT_EQ(o.end_frames[0], first_silent + silence_frames - 1);
  EXPECT_EQ(o.end_samples[0], frame_start(first_silent));
  EXPECT_EQ(o.final_state, VadState::kSilence);
}

TEST_P(VadSegmenterTest, RejectsBlipsShorterThanMinSpeech) {
  const size_t speech_frames = frames_for(min_speech_, frame_);
  if (speech_frames < 2) GTEST_SKIP() << "one frame already lasts min_speech at this size";
  std::vector<float> p;
  append(p, kLow, 5);
  append(p, kHigh, speech_frames - 1);  // one frame short
  append(p, kLow, 1);                   // dips below deactivation: abandoned
  append(p, kHigh, speech_frames - 1);
  append(p, kLow, 30);
  const Outcome o = run(seg_, p, frame_);
  EXPECT_TRUE(o.start_frames.empty());
  EXPECT_EQ(o.final_state, VadState::kSilence);

  // The run after an abandoned one counts from its own first frame.
  seg_.reset();
  std::vector<float> q;
  append(q, kHigh, speech_frames - 1);
  append(q, kLow, 1);
  const size_t second_onset = q.size();
  append(q, kHigh, speech_frames);
  const Outcome o2 = run(seg_, q, frame_);
  ASSERT_EQ(o2.start_frames.size(), 1u);
  EXPECT_EQ(o2.start_frames[0], second_onset + speech_frames - 1);
  EXPECT_EQ(o2.start_samples[0], frame_start(second_onset));
}

TEST_P(VadSegmenterTest, BridgesGapsShorterThanMinSilence) {
  const size_t speech_frames = frames_for(min_speech_, frame_);
  const size_t silence_frames = frames_for(min_silence_, frame_);
  std::vector<float> p;
  append(p, kHigh, speech_frames + 3);
  append(p, kLow, silence_frames - 1);  // one frame short of an end
  append(p, kHigh, 2);
  append(p, kLow, silence_frames - 1);
  append(p, kBetween, 1);  // between the thresholds also cancels the silent run
  const size_t last_speech_end = p.size();
  append(p, kLow, silence_frames);
  const Outcome o = run(seg_, p, frame_);
  ASSERT_EQ(o.start_frames.size(), 1u);
  EXPECT_EQ(o.start_samples[0], frame_start(0));
  ASSERT_EQ(o.end_frames.size(), 1u);
  EXPECT_EQ(o.end_frames[0], p.size() - 1);
  EXPECT_EQ(o.end_samples[0], frame_start(last_speech_end));
}

TEST_P(VadSegmenterTest, HoldsTheStateBetweenTheThresholds) {
  const size_t speech_frames = frames_for(min_speech_, frame_);
  const size_t silence_frames = frames_for(min_silence_, frame_);
  std::vector<float> p;
  append(p, kBetween, 50);  // never starts speech from silence
  const size_t onset = p.size();
  append(p, kHigh, 1);
  append(p, kBetween, speech_frames + silence_frames + 50);  // continues the run, then holds speech
  const Outcome o = run(seg_, p, frame_);
  ASSERT_EQ(o.start_frames.size(), 1u);
  // Frames between the thresholds count towards min_speech once a run has begun.
  EXPECT_EQ(o.start_frames[0], onset + speech_frames - 1);
  EXPECT_EQ(o.start_samples[0], frame_start(onset));
  EXPECT_TRUE(o.end_frames.empty());
  EXPECT_EQ(o.final_state, VadState::kSpeaking);
}

TEST_P(VadSegmenterTest, ZeroDurationsActOnTheFirstFrame) {
  VadConfig c = config_;
  c.min_speech_ms = 0;
  c.min_silence_ms = 0;
  seg_.configure(c, rate_);
  const std::vector<float> p = {kLow, kHigh, kLow, kLow, kHigh};
  const Outcome o = run(seg_, p, frame_);
  EXPECT_EQ(o.start_frames, (std::vector<size_t>{1, 4}));
  EXPECT_EQ(o.start_samples, (std::vector<int64_t>{frame_start(1), frame_start(4)}));
  EXPECT_EQ(o.end_frames, (std::vector<size_t>{2}));
  EXPECT_EQ(o.end_samples, (std::vector<int64_t>{frame_start(2)}));
}

INSTANTIATE_TEST_SUITE_P(RatesAndFrames, VadSegmenterTest,
                         ::testing::Combine(::testing::Values(8000, 16000, 24000, 48000),
                                            ::testing::Values(size_t{160}, size_t{320}, size_t{480})),
                         [](const auto& param_info) {
                           return std::to_string(std::get<0>(param_info.param)) + "Hz_" +
                                  std::to_string(std::get<1>(param_info.param));
                         });

TEST(VadSegmenterFixedTest, HandComputedPositionsAt16kHz) {
  // 64 ms at 16 kHz = 1024 samples = 6.4 frames of 160 -> the 7th frame of the run confirms it.
  // 300 ms = 4800 samples = 30 frames of 160 -> the 30th silent frame ends it.
  VadSegmenter seg;
  seg.configure(VadConfig{}, 16000);
  std::vector<float> p(100, kLow);
  for (size_t k = 20; k < 60; ++k) p[k] = kHigh;
  const Outcome o = run(seg, p, 160);
  EXPECT_EQ(o.start_frames, (std::vector<size_t>{26}));
  EXPECT_EQ(o.start_samples, (std::vector<int64_t>{kOrigin + 3200}));
  EXPECT_EQ(o.end_frames, (std::vector<size_t>{89}));
  EXPECT_EQ(o.end_samples, (std::vector<int64_t>{kOrigin + 9600}));
}

TEST(VadSegmenterFixedTest, DecisionFieldsBeforeAndAfterReset) {
  VadSegmenter seg;
  VadConfig c;
  c.min_speech_ms = 0;
  seg.configure(c, 16000);
  VadDecision d = seg.update(kLow, 0, 160);
  EXPECT_EQ(d.speech_start_sample, -1);
  EXPECT_EQ(d.speech_end_sample, -1);
  EXPECT_EQ(d.state, VadState::kSilence);
  d = seg.update(kHigh, 160, 160);
  EXPECT_TRUE(d.speech_started);
  EXPECT_EQ(d.speech_start_sample, 160);
  d = seg.update(kHigh, 320, 160);  // later frames keep reporting the segment's start
  EXPECT_FALSE(d.speech_started);
  EXPECT_EQ(d.speech_start_sample, 160);
  seg.reset();
  EXPECT_EQ(seg.state(), VadState::kSilence);
  d = seg.update(kLow, 480, 160);
  EXPECT_EQ(d.speech_start_sample, -1);
  EXPECT_STREQ(to_string(VadState::kSpeaking), "speaking");
  EXPECT_STREQ(to_string(VadState::kSilence), "silence");
}

TEST(VadSegmenterFixedTest, UpdateNeitherAllocatesNorLocks) {
  if (!rt::probe_installed()) GTEST_SKIP() << "real-time probe not installed (sanitizer build)";
  VadSegmenter seg;
  seg.configure(VadConfig{}, 16000);
  rt::reset_violation_counts();
  int starts = 0;
  {
    rt::ScopedAudioThread audio;
    for (int k = 0; k < 10000; ++k) {
      const float p = (k / 100) % 2 == 0 ? kHigh : kLow;
      starts += seg.update(p, int64_t{k} * 160, 160).speech_started ? 1 : 0;
    }
  }
  EXPECT_EQ(rt::violation_counts().allocations, 0u);
  EXPECT_EQ(rt::violation_counts().mutex_locks, 0u);
  EXPECT_EQ(starts, 50);
}

}  // namespace
}  // namespace ae
