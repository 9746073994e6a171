// WebRtcVad against the WebRTC library called directly (its C VAD functions and AudioProcessing's
// voice_detection()), on real speech with digital silence and noise around it, for every frame size, every rate
// the engine may run at, and in the engine itself.

#include <gtest/gtest.h>

#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "audioengine/vad_stream.hpp"
#include "audioengine/webrtc_vad.hpp"
#include "event_log.hpp"
#include "test_support.hpp"
#include "vad/webrtc/vad_library.hpp"

namespace ae {
namespace {

constexpr const char* kSpeechFile = "/usr/share/sounds/alsa/Front_Center.wav";  // "Front center", 48 kHz

// The spoken clip, resampled to `rate_hz` with the project's soxr resampler.
std::vector<float> speech_at(int rate_hz) {
  const auto wav = test::read_audio_file(kSpeechFile);
  EXPECT_EQ(wav.channels, 1);
  if (wav.sample_rate_hz == rate_hz) return wav.samples;
  ResamplerConfig rc;
  rc.input_rate_hz = wav.sample_rate_hz;
  rc.output_rate_hz = rate_hz;
  rc.kind = ResamplerKind::kSoxr;
  rc.max_input_frames = wav.samples.size();
  auto r = Resampler::create(rc);
  EXPECT_TRUE(r.ok()) << r.message();
  std::vector<float> out((*r)->max_output_frames(wav.samples.size()) + (*r)->max_flush_frames());
  size_t n = (*r)->process(wav.samples.data(), wav.samples.size(), out.data(), out.size());
  n += (*r)->flush(out.data() + n, out.size() - n);
  out.resize(n);
  return out;
}

// Uniform noise of the given peak amplitude (a fixed generator: the same on every run).
std::vector<float> noise(size_t n, float peak, uint32_t seed) {
  std::vector<float> x(n);
  for (auto& s : x) {
    seed = seed * 1664525u + 1013904223u;
    s = (static_cast<float>(seed >> 8) / 16777216.0f * 2.0f - 1.0f) * peak;
  }
  return x;
}

// Digital silence and white noise (-59 dBFS RMS) around the clip: 0.5 s silence, 0.5 s noise, 0.5 s silence,
// the clip, 1 s silence, 0.5 s noise, 0.5 s silence.
struct TestSignal {
  int rate_hz = 0;
  std::vector<float> samples;
  size_t speech_begin = 0;  // first sample of the clip
  size_t speech_end = 0;    // one past its last
  std::vector<std::pair<size_t, size_t>> silences;  // [begin, end) of each digital silence
};

TestSignal test_signal(int rate_hz) {
  const auto half = static_cast<size_t>(rate_hz / 2);
  TestSignal t;
  t.rate_hz = rate_hz;
  auto add_silence = [&](size_t n) {
    t.silences.emplace_back(t.samples.size(), t.samples.size() + n);
    t.samples.insert(t.samples.end(), n, 0.0f);
  };
  auto add = [&](const std::vector<float>& x) { t.samples.insert(t.samples.end(), x.begin(), x.end()); };
  add_silence(half);
  add(noise(half, 0.002f, 11));
  add_silence(half);
  t.speech_begin = t.samples.size();
  add(speech_at(rate_hz));
  t.speech_end = t.samples.size();
  add_silence(2 * half);
  add(noise(half, 0.002f, 12));
  add_silence(half);
  return t;
}

std::vector<int16_t> to_pcm16(const std::vector<float>& x) {
  std::vector<int16_t> pcm(x.size());
  encode_samples(x.data(), x.size(), SampleType::kPcm16, pcm.data());
  return pcm;
}

// The library's C VAD over consecutive 10 ms frames: one decision (0 or 1) per frame.
std::vector<int> library_decisions(const std::vector<float>& x, int rate_hz, int mode) {
  const auto pcm = to_pcm16(x);
  const auto frame = static_cast<size_t>(rate_hz / 100);
  VadInst* vad = WebRtcVad_Create();
  EXPECT_NE(vad, nullptr);
  EXPECT_EQ(WebRtcVad_Init(vad), 0);
  EXPECT_EQ(WebRtcVad_set_mode(vad, mode), 0);
  std::vector<int> out;
  for (size_t i = 0; i + frame <= pcm.size(); i += frame) {
    const int d = WebRtcVad_Process(vad, rate_hz, pcm.data() + i, frame);
    EXPECT_GE(d, 0);
    out.push_back(d);
  }
  WebRtcVad_Free(vad);
  return out;
}

// AudioProcessing with only voice_detection() enabled, fed 10 ms int16 AudioFrames: one decision per frame.
std::vector<int> apm_decisions(const std::vector<float>& x, int rate_hz, webrtc::VoiceDetection::Likelihood l) {
  const auto pcm = to_pcm16(x);
  const auto frame = static_cast<size_t>(rate_hz / 100);
  std::unique_ptr<webrtc::AudioProcessing> apm(webrtc::AudioProcessing::Create());
  EXPECT_EQ(apm->voice_detection()->Enable(true), 0);
  EXPECT_EQ(apm->voice_detection()->set_likelihood(l), 0);
  EXPECT_EQ(apm->voice_detection()->set_frame_size_ms(10), 0);
  webrtc::AudioFrame f;
  std::vector<int> out;
  for (size_t i = 0; i + frame <= pcm.size(); i += frame) {
    f.sample_rate_hz_ = rate_hz;
    f.num_channels_ = 1;
    f.samples_per_channel_ = frame;
    std::copy_n(pcm.data() + i, frame, f.data_);
    EXPECT_EQ(apm->ProcessStream(&f), 0);
    out.push_back(apm->voice_detection()->stream_has_voice() ? 1 : 0);
  }
  return out;
}

std::unique_ptr<WebRtcVad> prepared(int aggressiveness, int rate_hz, size_t max_frames) {
  auto v = WebRtcVad::create(aggressiveness);
  EXPECT_TRUE(v.ok()) << v.message();
  EXPECT_TRUE((*v)->prepare(rate_hz, max_frames).ok());
  return std::move(v.value());
}

// Our detector over 10 ms frames: its probability per frame, which must then be exactly 0 or 1.
std::vector<int> detector_decisions(WebRtcVad& vad, const std::vector<float>& x, int rate_hz) {
  const auto frame = static_cast<size_t>(rate_hz / 100);
  std::vector<int> out;
  for (size_t i = 0; i + frame <= x.size(); i += frame) {
    const float p = vad.process(x.data() + i, frame);
    EXPECT_TRUE(p == 0.0f || p == 1.0f) << p;
    out.push_back(p == 1.0f ? 1 : 0);
  }
  return out;
}

int count_voiced(const std::vector<int>& d, size_t first_frame, size_t end_frame) {
  int n = 0;
  for (size_t i = first_frame; i < std::min(end_frame, d.size()); ++i) n += d[i];
  return n;
}

TEST(WebRtcVad, DecisionsEqualTheLibraryCalledDirectlyAtEveryRateAndMode) {
  for (int rate : {8000, 16000, 32000, 48000}) {
    const auto t = test_signal(rate);
    for (int mode = 0; mode <= 3; ++mode) {
      const auto want = library_decisions(t.samples, rate, mode);
      auto vad = prepared(mode, rate, static_cast<size_t>(rate / 100));
      EXPECT_EQ(vad->processing_rate_hz(), rate);
      EXPECT_EQ(vad->sub_frame_samples(), static_cast<size_t>(rate / 100));
      const auto got = detector_decisions(*vad, t.samples, rate);
      ASSERT_EQ(got, want) << rate << " Hz, mode " << mode;
      EXPECT_EQ(vad->sub_frames_processed(), static_cast<int64_t>(want.size()));
      EXPECT_GT(count_voiced(want, 0, want.size()), 10) << rate << " Hz, mode " << mode;
    }
  }
}

// At 8 and 16 kHz AudioProcessing's voice_detection() runs the same VAD on the same 16-bit frames, its likelihood
// being the mode: kVeryLowLikelihood (enum 0) = aggressiveness 3 ... kHighLikelihood (3) = aggressiveness 0.
TEST(WebRtcVad, DecisionsEqualAudioProcessingVoiceDetectionAt8And16kHz) {
  using L = webrtc::VoiceDetection;
  for (int rate : {8000, 16000}) {
    const auto t = test_signal(rate);
    for (auto l : {L::kVeryLowLikelihood, L::kLowLikelihood, L::kModerateLikelihood, L::kHighLikelihood}) {
      const int aggressiveness = 3 - static_cast<int>(l);
      auto vad = prepared(aggressiveness, rate, static_cast<size_t>(rate / 100));
      const auto want = apm_decisions(t.samples, rate, l);
      ASSERT_EQ(detector_decisions(*vad, t.samples, rate), want) << rate << " Hz, likelihood " << l;
      EXPECT_GT(count_voiced(want, 0, want.size()), 10);
    }
  }
  // The engine's default is the module's own default likelihood.
  std::unique_ptr<webrtc::AudioProcessing> apm(webrtc::AudioProcessing::Create());
  EXPECT_EQ(3 - static_cast<int>(apm->voice_detection()->likelihood()), VadConfig{}.webrtc_aggressiveness);
}

// With the default aggressiveness: no voiced 10 ms frame in the leading digital silence; in the others only the
// library's hangover, a run at the start of the silence that ends within 200 ms; and voiced frames in the clip.
TEST(WebRtcVad, SpeechIsFoundInTheClipAndNotInDigitalSilence) {
  for (int rate : {8000, 16000, 48000}) {
    const auto t = test_signal(rate);
    auto vad = prepared(VadConfig{}.webrtc_aggressiveness, rate, static_cast<size_t>(rate / 100));
    const auto d = detector_decisions(*vad, t.samples, rate);
    const size_t frame = static_cast<size_t>(rate / 100);
    const size_t hangover_frames = 20;  // 200 ms
    for (size_t k = 0; k < t.silences.size(); ++k) {
      const size_t first = (t.silences[k].first + frame - 1) / frame, end = t.silences[k].second / frame;
      size_t run = 0;
      while (first + run < end && d[first + run] == 1) ++run;
      if (k == 0) {
        EXPECT_EQ(run, 0u) << rate;
      }
      EXPECT_LE(run, hangover_frames) << rate << " Hz, silence " << k;
      EXPECT_EQ(count_voiced(d, first + run, end), 0) << rate << " Hz, silence " << k;
    }
    // "Front center" is spoken over ~0.8 s of the 1.43 s clip: at least 40 voiced 10 ms frames.
    EXPECT_GE(count_voiced(d, t.speech_begin / frame, t.speech_end / frame + 1), 40) << rate;
  }
}

// Frames of 10, 20 and 30 ms, shorter than 10 ms and odd sizes: every call returns exactly the fraction of the
// library's decisions on the sub-frames completed during the call, or the previous decision when none completed.
TEST(WebRtcVad, EveryFrameSizeReturnsTheShareOfVoicedSubFramesItCompleted) {
  constexpr int kRate = 16000;
  const auto t = test_signal(kRate);
  const auto want = library_decisions(t.samples, kRate, 2);
  const std::vector<std::vector<size_t>> patterns = {{160}, {320}, {480}, {1}, {77}, {159}, {161}, {333},
                                                      {1001}, {7, 500, 160, 13, 1600, 2, 479}};
  for (const auto& pattern : patterns) {
    const size_t max_frames = *std::max_element(pattern.begin(), pattern.end());
    auto vad = prepared(2, kRate, max_frames);
    size_t pos = 0, k = 0;
    int last = 0;
    while (pos < t.samples.size()) {
      const size_t n = std::min(pattern[k++ % pattern.size()], t.samples.size() - pos);
      const size_t first = pos / 160, end = (pos + n) / 160;  // sub-frames completed: [first, end)
      const float p = vad->process(t.samples.data() + pos, n);
      pos += n;
      float expect;
      if (end == first) {
        expect = static_cast<float>(last);
      } else {
        expect = static_cast<float>(count_voiced(want, first, end)) / static_cast<float>(end - first);
        last = want[end - 1];
      }
      ASSERT_EQ(p, expect) << "pattern starting " << pattern[0] << ", call ending at sample " << pos;
    }
    EXPECT_EQ(vad->sub_frames_processed(), static_cast<int64_t>(want.size()));
  }
}

// Rates the library does not take are resampled (SpeexDSP) to the nearest one; the decisions are those of the
// library on the audio the same resampler makes, and the clip is still found.
TEST(WebRtcVad, OtherRatesAreResampledToTheNearestLibraryRate) {
  EXPECT_EQ(WebRtcVad::processing_rate_for(11025), 8000);
  EXPECT_EQ(WebRtcVad::processing_rate_for(22050), 16000);
  EXPECT_EQ(WebRtcVad::processing_rate_for(24000), 16000);  // a tie goes to the lower rate
  EXPECT_EQ(WebRtcVad::processing_rate_for(44100), 48000);
  EXPECT_EQ(WebRtcVad::processing_rate_for(96000), 48000);
  EXPECT_EQ(WebRtcVad::processing_rate_for(16000), 16000);
  for (int rate : {11025, 22050, 24000, 44100}) {
    const auto t = test_signal(rate);
    const size_t frame = static_cast<size_t>(rate / 100);  // 10 ms of input (441 samples at 44.1 kHz...)
    auto vad = prepared(2, rate, frame);
    const int target = WebRtcVad::processing_rate_for(rate);
    EXPECT_EQ(vad->processing_rate_hz(), target);
    EXPECT_GT(vad->resampler_delay_ms(), 0.0);

    ResamplerConfig rc;
    rc.input_rate_hz = rate;
    rc.output_rate_hz = target;
    rc.kind = ResamplerKind::kSpeex;
    rc.max_input_frames = frame;
    auto r = Resampler::create(rc);
    ASSERT_TRUE(r.ok()) << r.message();
    std::vector<float> resampled, block((*r)->max_output_frames(frame));
    std::vector<float> probabilities;
    for (size_t i = 0; i + frame <= t.samples.size(); i += frame) {
      const size_t got = (*r)->process(t.samples.data() + i, frame, block.data(), block.size());
      resampled.insert(resampled.end(), block.begin(), block.begin() + static_cast<ptrdiff_t>(got));
      probabilities.push_back(vad->process(t.samples.data() + i, frame));
    }
    const auto want = library_decisions(resampled, target, 2);
    ASSERT_EQ(vad->sub_frames_processed(), static_cast<int64_t>(want.size())) << rate;
    // Replay the sub-frame bookkeeping: call k completes the sub-frames its output reaches.
    size_t out_pos = 0, done = 0;
    int last = 0;
    (*r)->reset();
    for (size_t k = 0; k < probabilities.size(); ++k) {
      out_pos += (*r)->process(t.samples.data() + k * frame, frame, block.data(), block.size());
      const size_t end = out_pos / static_cast<size_t>(target / 100);
      float expect = static_cast<float>(last);
      if (end > done) {
        expect = static_cast<float>(count_voiced(want, done, end)) / static_cast<float>(end - done);
        last = want[end - 1];
        done = end;
      }
      ASSERT_EQ(probabilities[k], expect) << rate << " Hz, call " << k;
    }
    const size_t sub = static_cast<size_t>(target / 100);
    const auto to_out = [&](size_t in) { return in * static_cast<size_t>(target) / static_cast<size_t>(rate) / sub; };
    EXPECT_EQ(count_voiced(want, 0, to_out(t.silences[0].second)), 0) << rate;
    EXPECT_GE(count_voiced(want, to_out(t.speech_begin), to_out(t.speech_end) + 1), 40) << rate;
  }
}

TEST(WebRtcVad, PrepareRejectsBadRatesAndSizesByName) {
  auto v = WebRtcVad::create(2);
  ASSERT_TRUE(v.ok());
  WebRtcVad& vad = **v;
  const std::vector<float> x(480, 0.5f);
  EXPECT_EQ(vad.process(x.data(), x.size()), 0.0f);  // not prepared
  EXPECT_EQ(vad.processing_rate_hz(), 0);
  for (int rate : {-16000, 0, 7999, 192001}) {
    const Status st = vad.prepare(rate, 160);
    EXPECT_EQ(st.error(), Error::kInvalidArgument) << rate;
    EXPECT_NE(st.message().find("sample_rate_hz = " + std::to_string(rate)), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("8000..192000"), std::string::npos) << st.message();
  }
  for (size_t frames : {size_t{0}, size_t{16001}}) {
    const Status st = vad.prepare(16000, frames);
    EXPECT_EQ(st.error(), Error::kInvalidArgument) << frames;
    EXPECT_NE(st.message().find("max_frames = " + std::to_string(frames)), std::string::npos) << st.message();
  }
  EXPECT_EQ(vad.process(x.data(), x.size()), 0.0f);  // still not prepared
  EXPECT_EQ(vad.sub_frames_processed(), 0);
  ASSERT_TRUE(vad.prepare(16000, 160).ok());
  EXPECT_EQ(vad.process(x.data(), 0), 0.0f);
  EXPECT_EQ(vad.process(nullptr, 160), 0.0f);
  EXPECT_EQ(vad.sub_frames_processed(), 0);
}

TEST(WebRtcVad, ResetStartsOverLikeAFreshDetector) {
  for (int rate : {16000, 32000}) {
    const auto t = test_signal(rate);
    auto fresh = prepared(3, rate, 480);
    const auto want = detector_decisions(*fresh, t.samples, rate);
    auto used = prepared(3, rate, 480);
    used->process(t.samples.data() + t.speech_begin, 333);  // learn speech, leave a partial sub-frame
    EXPECT_GT(used->sub_frames_processed(), 0);
    used->reset();
    EXPECT_EQ(used->sub_frames_processed(), 0);
    EXPECT_FALSE(used->last_decision());
    EXPECT_EQ(detector_decisions(*used, t.samples, rate), want) << rate;
    // prepare() again also starts over.
    ASSERT_TRUE(used->prepare(rate, 480).ok());
    EXPECT_EQ(detector_decisions(*used, t.samples, rate), want) << rate;
  }
}

TEST(WebRtcVad, ProcessAndResetNeitherAllocateNorLock) {
  if (!rt::probe_installed()) GTEST_SKIP() << "real-time probe not installed (sanitizer build)";
  for (int rate : {16000, 44100}) {
    const auto t = test_signal(rate);
    auto vad = prepared(2, rate, 1001);
    rt::reset_violation_counts();
    float sum = 0;
    {
      rt::ScopedAudioThread audio;
      for (size_t pos = 0; pos + 1001 <= t.samples.size(); pos += 1001) sum += vad->process(&t.samples[pos], 1001);
      vad->reset();
      sum += vad->process(t.samples.data(), 77);
    }
    EXPECT_EQ(rt::violation_counts().allocations, 0u) << rate;
    EXPECT_EQ(rt::violation_counts().mutex_locks, 0u) << rate;
    EXPECT_GT(sum, 1.0f) << rate;  // speech was seen: the calls did work
  }
}

// The segments that overlap the clip lie within it and the 300 ms after it (the library's hangover) and cover at
// least 400 ms of it ("Front center" may be one segment or two).
bool segments_fit_the_clip(const std::vector<VadSegment>& segments, const TestSignal& t) {
  const auto begin = static_cast<int64_t>(t.speech_begin), end = static_cast<int64_t>(t.speech_end);
  int64_t covered = 0;
  for (const auto& s : segments) {
    if (s.end_sample <= begin || s.start_sample >= end) continue;
    if (s.start_sample < begin || s.end_sample > end + t.rate_hz * 3 / 10) return false;
    covered += std::min(s.end_sample, end) - s.start_sample;
  }
  return covered >= t.rate_hz * 4 / 10;
}

TEST(WebRtcVad, MakeVadAndVadStreamBuildItWithTheConfiguredAggressiveness) {
  VadConfig c;
  c.algorithm = VadAlgorithm::kWebRtc;
  c.webrtc_aggressiveness = 3;
  auto v = make_vad(c);
  ASSERT_TRUE(v.ok()) << v.message();
  ASSERT_EQ((*v)->algorithm(), VadAlgorithm::kWebRtc);
  auto* w = dynamic_cast<WebRtcVad*>(v->get());
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->aggressiveness(), 3);

  const auto t = test_signal(16000);
  auto stream = VadStream::create(c, 16000, 320);
  ASSERT_TRUE(stream.ok()) << stream.message();
  (*stream)->process(t.samples);
  const auto segments = (*stream)->segments();
  std::string listed;
  for (const auto& s : segments) listed += " [" + std::to_string(s.start_sample) + ", " + std::to_string(s.end_sample) + ")";
  EXPECT_TRUE(segments_fit_the_clip(segments, t)) << "speech [" << t.speech_begin << ", " << t.speech_end << "), segments" << listed;
}

TEST(WebRtcVad, ABadAggressivenessIsNamedWithItsRange) {
  for (int bad : {-1, 4}) {
    VadConfig c;
    c.algorithm = VadAlgorithm::kWebRtc;
    c.webrtc_aggressiveness = bad;
    const Status st = validate_vad_config(c);
    EXPECT_EQ(st.error(), Error::kInvalidConfig);
    EXPECT_NE(st.message().find("vad.webrtc_aggressiveness"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(std::to_string(bad)), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("0..3"), std::string::npos) << st.message();
    auto made = make_vad(c);
    EXPECT_EQ(made.error(), Error::kInvalidConfig);
    EXPECT_NE(made.message().find("vad.webrtc_aggressiveness"), std::string::npos) << made.message();
    EngineConfig e = EngineConfig::fast_lane();
    e.vad = c;
    const auto issues = validate_config(e);
    ASSERT_EQ(issues.size(), 1u) << format_config_issues(issues);
    EXPECT_EQ(issues[0].field, "vad.webrtc_aggressiveness");
  }
  VadConfig ok;
  for (int a = 0; a <= 3; ++a) {
    ok.webrtc_aggressiveness = a;
    EXPECT_TRUE(validate_vad_config(ok).ok()) << a;
  }
  // A new aggressiveness makes a new detector: it takes a restart.
  EngineConfig a = EngineConfig::fast_lane(), b = a;
  b.vad.webrtc_aggressiveness = 3;
  const auto u = diff_config(a, b);
  EXPECT_EQ(u.needs_restart, std::vector<std::string>{"vad.webrtc_aggressiveness"});
}

// ---- in the engine ------------------------------------------------------------------------------------------

EngineConfig webrtc_engine_config(int rate_hz) {
  EngineConfig c = EngineConfig::fast_lane();
  c.audio.sample_rate_hz = rate_hz;
  c.clock.virtual_mode = VirtualClockMode::kInline;
  c.sink.memory_capacity_ms = 60000;
  c.queues.capture_capacity_ms = 20000;
  c.vad.algorithm = VadAlgorithm::kWebRtc;
  return c;
}

// The engine's VAD events are exactly those of the detector and segmenter run offline over the same 10 ms
// periods, and they bracket the spoken clip; at 16 kHz (the library's rate) and at 44.1 kHz (resampled).
TEST(EngineWebRtcVad, VadEventsEqualTheDetectorAndSegmenterRunOffline) {
  for (int rate : {16000, 44100}) {
    const EngineConfig c = webrtc_engine_config(rate);
    const auto period = static_cast<size_t>(rate / 100);
    auto t = test_signal(rate);
    t.samples.resize(t.samples.size() / period * period);

    auto vad = prepared(c.vad.webrtc_aggressiveness, rate, period);
    VadSegmenter seg;
    seg.configure(c.vad, rate);
    std::vector<VadDecision> starts, ends;
    std::vector<int64_t> start_ticks, end_ticks;
    for (size_t i = 0; i < t.samples.size(); i += period) {
      const float p = vad->process(&t.samples[i], period);
      const auto d = seg.update(p, static_cast<int64_t>(i), period);
      if (d.speech_started) { starts.push_back(d); start_ticks.push_back(static_cast<int64_t>(i)); }
      if (d.speech_ended) { ends.push_back(d); end_ticks.push_back(static_cast<int64_t>(i)); }
    }
    ASSERT_GE(starts.size(), 1u) << rate;
    ASSERT_EQ(ends.size(), starts.size()) << rate;
    std::vector<VadSegment> segments;
    for (size_t k = 0; k < starts.size(); ++k) {
      segments.push_back({starts[k].speech_start_sample, ends[k].speech_end_sample, 0});
    }
    EXPECT_TRUE(segments_fit_the_clip(segments, t)) << rate;

    auto e = AudioEngine::create(c);
    ASSERT_TRUE(e->start().ok()) << rate;
    test::EventLog log;
    log.attach(*e);
    ASSERT_TRUE(e->inject_test_audio(t.samples).ok());
    ASSERT_TRUE(e->advance(static_cast<int64_t>(t.samples.size() * 1000 / static_cast<size_t>(rate))).ok());
    ASSERT_TRUE(e->wait_until_dispatched(2000));
    const auto ev_starts = log.of(AudioEventType::kVadSpeechStart);
    const auto ev_ends = log.of(AudioEventType::kVadSpeechEnd);
    ASSERT_EQ(ev_starts.size(), starts.size()) << rate;
    ASSERT_EQ(ev_ends.size(), ends.size()) << rate;
    for (size_t k = 0; k < starts.size(); ++k) {
      EXPECT_EQ(ev_starts[k].vad.speech_start_sample, starts[k].speech_start_sample) << k;
      EXPECT_EQ(ev_starts[k].t_samples, start_ticks[k] + static_cast<int64_t>(period)) << k;
      EXPECT_FLOAT_EQ(ev_starts[k].vad.probability, starts[k].probability) << k;
    }
    for (size_t k = 0; k < ends.size(); ++k) {
      EXPECT_EQ(ev_ends[k].vad.speech_end_sample, ends[k].speech_end_sample) << k;
      EXPECT_EQ(ev_ends[k].t_samples, end_ticks[k] + static_cast<int64_t>(period)) << k;
    }
    EXPECT_EQ(e->get_vad_state(), VadState::kSilence);
    EXPECT_TRUE(e->shutdown().ok());
  }
}

TEST(EngineWebRtcVad, ABadAggressivenessFailsInitializeByName) {
  EngineConfig c = webrtc_engine_config(16000);
  c.vad.webrtc_aggressiveness = 9;
  auto e = AudioEngine::create(c);
  const Status st = e->initialize();
  EXPECT_EQ(st.error(), Error::kInvalidConfig);
  EXPECT_NE(st.message().find("vad.webrtc_aggressiveness"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace ae
