// VadStream: offline VAD over held audio, frame by frame, with events and segments exact in samples.

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "audioengine/silero_vad.hpp"
#include "audioengine/vad_stream.hpp"
#include "test_support.hpp"

namespace ae {
namespace {

std::vector<float> square_bursts() {
  // 0.5 s silence, 0.5 s loud tone, 1 s silence, 0.3 s tone, 1 s silence at 16 kHz.
  std::vector<float> x;
  auto silence = [&](double s) { x.insert(x.end(), static_cast<size_t>(s * 16000), 0.0f); };
  auto tone = [&](double s) {
    auto t = test::sine(300, 16000, static_cast<size_t>(s * 16000), 0.5);
    x.insert(x.end(), t.begin(), t.end());
  };
  silence(0.5); tone(0.5); silence(1.0); tone(0.3); silence(1.0);
  return x;
}

// The stream's events and segments are those of the detector and segmenter stepped by hand over the same frames,
// whatever sizes the audio arrives in.
TEST(VadStream, MatchesDetectorAndSegmenterSteppedByHandForAnyInputSplit) {
  VadConfig c;
  c.energy_floor_dbfs = -40.0f;
  const auto x = square_bursts();
  const size_t frame = 160;
  auto ref_vad = make_energy_vad(c);
  ASSERT_TRUE(ref_vad->prepare(16000, frame).ok());
  VadSegmenter seg;
  seg.configure(c, 16000);
  std::vector<std::pair<int64_t, int64_t>> ref_segments;
  std::vector<int64_t> ref_start_times;
  for (size_t i = 0; i + frame <= x.size(); i += frame) {
    const auto d = seg.update(ref_vad->process(&x[i], frame), static_cast<int64_t>(i), frame);
    if (d.speech_started) ref_start_times.push_back(static_cast<int64_t>(i + frame));
    if (d.speech_ended) ref_segments.emplace_back(d.speech_start_sample, d.speech_end_sample);
  }
  ASSERT_EQ(ref_segments.size(), 2u);

  for (size_t split : {size_t{1}, size_t{97}, size_t{160}, size_t{1000}, x.size()}) {
    auto s = VadStream::create(c, 16000, frame);
    ASSERT_TRUE(s.ok()) << s.message();
    for (size_t i = 0; i < x.size(); i += split) {
      (*s)->process(std::span<const float>(x).subspan(i, std::min(split, x.size() - i)));
    }
    EXPECT_EQ((*s)->position_samples(), static_cast<int64_t>(x.size() / frame * frame)) << split;
    EXPECT_EQ((*s)->frames().size(), x.size() / frame);
    const auto segs = (*s)->segments();
    ASSERT_EQ(segs.size(), ref_segments.size()) << split;
    for (size_t k = 0; k < segs.size(); ++k) {
      EXPECT_EQ(segs[k].start_sample, ref_segments[k].first);
      EXPECT_EQ(segs[k].end_sample, ref_segments[k].second);
      EXPECT_EQ(segs[k].padded_start_sample, std::max<int64_t>(0, ref_segments[k].first - 300 * 16));
    }
    const auto ev = (*s)->take_events();
    ASSERT_EQ(ev.size(), 4u);
    EXPECT_EQ(ev[0].type, AudioEventType::kVadSpeechStart);
    EXPECT_EQ(ev[0].t_samples, ref_start_times[0]);
    EXPECT_EQ(ev[0].vad.speech_start_sample, ref_segments[0].first);
    EXPECT_EQ(ev[1].type, AudioEventType::kVadSpeechEnd);
    EXPECT_EQ(ev[1].vad.speech_end_sample, ref_segments[0].second);
    EXPECT_TRUE((*s)->take_events().empty());
  }
}

TEST(VadStream, TheOpenSegmentIsReportedWithoutAnEnd) {
  VadConfig c;
  auto s = VadStream::create(c, 16000, 160);
  ASSERT_TRUE(s.ok());
  std::vector<float> x(8000, 0.0f);
  auto tone = test::sine(300, 16000, 8000, 0.5);
  x.insert(x.end(), tone.begin(), tone.end());
  (*s)->process(x);
  ASSERT_EQ((*s)->state(), VadState::kSpeaking);
  const auto segs = (*s)->segments();
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(segs[0].end_sample, -1);
  EXPECT_EQ(segs[0].start_sample, 8000);  // the tone starts on a frame boundary
  (*s)->reset();
  EXPECT_EQ((*s)->position_samples(), 0);
  EXPECT_TRUE((*s)->segments().empty());
  EXPECT_TRUE((*s)->frames().empty());
}

TEST(VadStream, SileroFindsTheSpokenSentence) {
  ASSERT_EQ(setenv("AE_SILERO_MODEL", (std::string(AE_SOURCE_DIR) + "/third_party_cache/vad-web/silero_vad_v5.onnx").c_str(), 1), 0);
  VadConfig c;
  c.algorithm = VadAlgorithm::kSilero;
  auto s = VadStream::create(c, 16000, 320);
  ASSERT_TRUE(s.ok()) << s.message() << " (run scripts/setup.sh)";
  EXPECT_EQ((*s)->detector().algorithm(), VadAlgorithm::kSilero);
  const auto wav = test::read_audio_file(std::string(AE_TEST_DATA_DIR) + "/silero/speech_16k.wav");
  (*s)->process(wav.samples);
  const auto segs = (*s)->segments();
  ASSERT_GE(segs.size(), 1u);
  // The clip is 0.5 s of silence, the sentence, 0.5 s of silence; Silero reports within a 32 ms chunk plus the
  // 64 ms minimum speech of the true bounds.
  EXPECT_GE(segs.front().start_sample, 8000 - 512);
  EXPECT_LE(segs.front().start_sample, 8000 + 4000);
  ASSERT_NE(segs.back().end_sample, -1);
  EXPECT_GE(segs.back().end_sample, static_cast<int64_t>(wav.samples.size()) - 8000 - 8000);
}

TEST(VadStream, BadArgumentsAreNamed) {
  VadConfig c;
  EXPECT_EQ(VadStream::create(c, 16000, 0).error(), Error::kInvalidArgument);
  c.min_speech_ms = -1;
  auto bad = VadStream::create(c, 16000, 160);
  EXPECT_EQ(bad.error(), Error::kInvalidConfig);
  EXPECT_NE(bad.message().find("vad.min_speech_ms"), std::string::npos) << bad.message();
  VadConfig w;
  w.algorithm = VadAlgorithm::kWebRtc;
  w.webrtc_aggressiveness = 4;
  auto bad_mode = VadStream::create(w, 16000, 160);
  EXPECT_EQ(bad_mode.error(), Error::kInvalidConfig);
  EXPECT_NE(bad_mode.message().find("vad.webrtc_aggressiveness"), std::string::npos) << bad_mode.message();
}

// Two tone bursts 1 s apart with an 800 ms timeout are two utterances; with a 1500 ms timeout, one. ENDPOINT
// events carry the bounds of the segments and come exactly timeout samples after the last segment's end (rounded
// up to the frame end).
TEST(VadStream, EndpointEventsCarryTheUtteranceBounds) {
  VadConfig c;
  c.energy_floor_dbfs = -40.0f;
  const auto x = square_bursts();
  for (int timeout_ms : {800, 1500}) {
    auto s = VadStream::create(c, 16000, 160);
    ASSERT_TRUE(s.ok());
    EndpointConfig ec;
    ec.silence_timeout_ms = timeout_ms;
    ASSERT_TRUE((*s)->configure_endpointing(ec).ok());
    (*s)->process(x);
    std::vector<AudioEvent> endpoints;
    for (const auto& ev : (*s)->take_events()) {
      if (ev.type == AudioEventType::kEndpoint) endpoints.push_back(ev);
    }
    const auto segs = (*s)->segments();
    ASSERT_EQ(segs.size(), 2u);
    const int64_t timeout = timeout_ms * 16;
    auto frame_end_after = [](int64_t t) { return (t + 159) / 160 * 160; };
    if (timeout_ms == 800) {
      ASSERT_EQ(endpoints.size(), 2u);
      for (size_t k = 0; k < 2; ++k) {
        EXPECT_EQ(endpoints[k].vad.speech_start_sample, segs[k].start_sample);
        EXPECT_EQ(endpoints[k].vad.speech_end_sample, segs[k].end_sample);
        EXPECT_EQ(endpoints[k].t_samples, frame_end_after(segs[k].end_sample + timeout));
      }
    } else {
      // The second burst ends 1 s before the file does: the 1500 ms timeout has not run out.
      EXPECT_TRUE(endpoints.empty());
      EXPECT_EQ((*s)->endpoint_state(), EndpointState::kTrailingSilence);
      ASSERT_TRUE((*s)->force_endpoint());
      const auto forced = (*s)->take_events();
      ASSERT_EQ(forced.size(), 1u);
      EXPECT_EQ(forced[0].type, AudioEventType::kEndpoint);
      EXPECT_EQ(forced[0].vad.speech_start_sample, segs[0].start_sample);
      EXPECT_EQ(forced[0].vad.speech_end_sample, segs[1].end_sample);
      EXPECT_EQ(forced[0].t_samples, (*s)->position_samples());
      EXPECT_FALSE((*s)->force_endpoint());
    }
  }
  auto s = VadStream::create(c, 16000, 160);
  EndpointConfig bad;
  bad.silence_timeout_ms = 0;
  EXPECT_EQ((*s)->configure_endpointing(bad).error(), Error::kInvalidConfig);
}

}  // namespace
}  // namespace ae
