// The engine with VadConfig::algorithm = kSilero on the virtual clock: its VAD events are exactly those of the
// native Silero detector and the segmenter run offline over the same 10 ms frames; at rates without a model it
// runs on resampled audio.

#include <gtest/gtest.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "audioengine/silero_vad.hpp"
#include "event_log.hpp"
#include "test_support.hpp"

namespace ae {
namespace {

constexpr size_t kPeriod = 160;  // 10 ms at 16 kHz

std::string model_path() { return std::string(AE_SOURCE_DIR) + "/third_party_cache/vad-web/silero_vad_v5.onnx"; }

EngineConfig silero_config() {
  EngineConfig c = EngineConfig::fast_lane();
  c.clock.virtual_mode = VirtualClockMode::kInline;
  c.sink.memory_capacity_ms = 60000;
  c.queues.capture_capacity_ms = 20000;
  c.vad.algorithm = VadAlgorithm::kSilero;
  return c;
}

using test::EventLog;

// 1 s of a quiet room, the committed speech clip, 1 s of the quiet room again.
std::vector<float> test_signal() {
  std::vector<float> room(16000);
  uint32_t seed = 7;
  for (auto& s : room) {
    seed = seed * 1664525u + 1013904223u;
    s = (static_cast<float>(seed >> 8) / 16777216.0f - 0.5f) * 0.002f;
  }
  const auto speech = test::read_audio_file(std::string(AE_TEST_DATA_DIR) + "/silero/speech_16k.wav");
  std::vector<float> x = room;
  x.insert(x.end(), speech.samples.begin(), speech.samples.end());
  x.insert(x.end(), room.begin(), room.end());
  x.resize(x.size() / kPeriod * kPeriod);
  return x;
}

TEST(EngineSilero, VadEventsEqualTheDetectorAndSegmenterRunOffline) {
  ASSERT_EQ(setenv("AE_SILERO_MODEL", model_path().c_str(), 1), 0);
  const EngineConfig c = silero_config();
  const auto x = test_signal();

  // Offline: the same detector and segmenter over the same 10 ms frames.
  auto vad = SileroVad::create(model_path());
  ASSERT_TRUE(vad.ok()) << vad.message() << " (run scripts/setup.sh)";
  ASSERT_TRUE((*vad)->prepare(16000, kPeriod).ok());
  VadSegmenter seg;
  seg.configure(c.vad, 16000);
  std::vector<VadDecision> starts, ends;
  std::vector<int64_t> start_ticks, end_ticks;
  for (size_t i = 0; i < x.size(); i += kPeriod) {
    const float p = (*vad)->process(&x[i], kPeriod);
    const auto d = seg.update(p, static_cast<int64_t>(i), kPeriod);
    if (d.speech_started) { starts.push_back(d); start_ticks.push_back(static_cast<int64_t>(i)); }
    if (d.speech_ended) { ends.push_back(d); end_ticks.push_back(static_cast<int64_t>(i)); }
  }
  ASSERT_GE(starts.size(), 1u);
  ASSERT_GE(ends.size(), 1u);
  // The speech clip starts at 1 s (after 0.5 s of leading silence in the clip itself); the model needs at most a
  // chunk (512 samples) plus min_speech to confirm.
  EXPECT_GE(starts[0].speech_start_sample, 16000);
  EXPECT_LE(starts[0].speech_start_sample, 16000 + 8000 + 1024);

  auto e = AudioEngine::create(c);
  ASSERT_TRUE(e->start().ok());
  EventLog log;
  log.attach(*e);
  ASSERT_TRUE(e->inject_test_audio(x).ok());
  ASSERT_TRUE(e->advance(static_cast<int64_t>(x.size() / 16)).ok());
  ASSERT_TRUE(e->wait_until_dispatched(2000));
  const auto ev_starts = log.of(AudioEventType::kVadSpeechStart);
  const auto ev_ends = log.of(AudioEventType::kVadSpeechEnd);
  ASSERT_EQ(ev_starts.size(), starts.size());
  ASSERT_EQ(ev_ends.size(), ends.size());
  for (size_t k = 0; k < starts.size(); ++k) {
    EXPECT_EQ(ev_starts[k].vad.speech_start_sample, starts[k].speech_start_sample) << k;
    EXPECT_EQ(ev_starts[k].t_samples, start_ticks[k] + static_cast<int64_t>(kPeriod)) << k;
    EXPECT_FLOAT_EQ(ev_starts[k].vad.probability, starts[k].probability) << k;
  }
  for (size_t k = 0; k < ends.size(); ++k) {
    EXPECT_EQ(ev_ends[k].vad.speech_end_sample, ends[k].speech_end_sample) << k;
    EXPECT_EQ(ev_ends[k].t_samples, end_ticks[k] + static_cast<int64_t>(kPeriod)) << k;
  }
  EXPECT_EQ(e->get_vad_state(), VadState::kSilence);
  EXPECT_TRUE(e->shutdown().ok());
}

// An engine at a rate without a model (the quality preset's 24 kHz) runs Silero on resampled audio: the speech in
// the test signal is found, once, where it is.
TEST(EngineSilero, RatesWithoutAModelRunOnResampledAudio) {
  ASSERT_EQ(setenv("AE_SILERO_MODEL", model_path().c_str(), 1), 0);
  EngineConfig c = silero_config();
  c.audio.sample_rate_hz = 24000;
  c.audio.chunk_duration_ms = 20;
  auto e = AudioEngine::create(c);
  ASSERT_TRUE(e->start().ok());
  EventLog log;
  log.attach(*e);
  const auto x16 = test_signal();
  ASSERT_TRUE(e->inject_test_audio(x16.data(), x16.size() * sizeof(float), AudioFormat{16000, 1, SampleType::kFloat32})
                  .ok());
  ASSERT_TRUE(e->advance(static_cast<int64_t>(x16.size() / 16)).ok());
  ASSERT_TRUE(e->wait_until_dispatched(2000));
  const auto starts = log.of(AudioEventType::kVadSpeechStart);
  ASSERT_GE(starts.size(), 1u);
  // The clip starts 1 s in, after its own 0.5 s of leading silence: the bound of the 16 kHz test above, at
  // 24 kHz, plus one 20 ms period (the grid the onset is dated on here).
  EXPECT_GE(starts[0].vad.speech_start_sample, 24000);
  EXPECT_LE(starts[0].vad.speech_start_sample, 24000 + 12000 + 1536 + 480);
  EXPECT_EQ(starts[0].sample_rate_hz, 24000);
  EXPECT_TRUE(e->shutdown().ok());
}

TEST(EngineSilero, AMissingModelFailsInitializeWithTheSetupHint) {
  ASSERT_EQ(setenv("AE_SILERO_MODEL", "/nonexistent/silero_vad_v5.onnx", 1), 0);
  auto e = AudioEngine::create(silero_config());
  auto st = e->initialize();
  EXPECT_EQ(st.error(), Error::kIo);
  EXPECT_NE(st.message().find("setup.sh"), std::string::npos) << st.message();
  ASSERT_EQ(unsetenv("AE_SILERO_MODEL"), 0);
}

// process_vad() over held audio in uneven pieces gives the frames and events of a VadStream fed all at once;
// get_vad_events() drains; disable_vad() stops it. The live capture VAD is not involved (no bus events).
TEST(EngineHeldVad, ProcessVadMatchesAVadStreamAndDrainsEvents) {
  ASSERT_EQ(setenv("AE_SILERO_MODEL", model_path().c_str(), 1), 0);
  auto e = AudioEngine::create(silero_config());
  EXPECT_EQ(e->process_vad(std::vector<float>(160, 0.0f)).error(), Error::kNotInitialized);
  VadConfig vc;
  vc.algorithm = VadAlgorithm::kSilero;
  ASSERT_TRUE(e->enable_vad(vc).ok());
  const auto x = test_signal();
  auto ref = VadStream::create(vc, 16000, kPeriod);
  ASSERT_TRUE(ref.ok()) << ref.message();
  (*ref)->process(x);
  std::vector<VadFrame> frames;
  for (size_t i = 0; i < x.size(); i += 1000) {
    auto got = e->process_vad(std::span<const float>(x).subspan(i, std::min<size_t>(1000, x.size() - i)));
    ASSERT_TRUE(got.ok());
    frames.insert(frames.end(), got->begin(), got->end());
  }
  ASSERT_EQ(frames.size(), (*ref)->frames().size());
  for (size_t k = 0; k < frames.size(); ++k) {
    ASSERT_EQ(frames[k].start_sample, (*ref)->frames()[k].start_sample);
    ASSERT_EQ(frames[k].probability, (*ref)->frames()[k].probability) << k;
    ASSERT_EQ(frames[k].state, (*ref)->frames()[k].state) << k;
  }
  const auto want = (*ref)->take_events();
  const auto events = e->get_vad_events();
  ASSERT_GE(want.size(), 2u);
  ASSERT_EQ(events.size(), want.size());
  for (size_t k = 0; k < events.size(); ++k) {
    EXPECT_EQ(events[k].type, want[k].type);
    EXPECT_EQ(events[k].t_samples, want[k].t_samples);
    EXPECT_EQ(events[k].vad.speech_start_sample, want[k].vad.speech_start_sample);
  }
  EXPECT_TRUE(e->get_vad_events().empty());
  e->disable_vad();
  EXPECT_EQ(e->process_vad(x).error(), Error::kNotInitialized);
  VadConfig bad;
  bad.activation_threshold = 2.0f;
  auto st = e->enable_vad(bad);
  EXPECT_EQ(st.error(), Error::kInvalidConfig);
  EXPECT_NE(st.message().find("vad.activation_threshold"), std::string::npos) << st.message();
}

// Endpointing on the held-audio stream: the ENDPOINT event spans the sentence's VAD segments and comes exactly
// the timeout after the last one's end (rounded up to the 10 ms frame).
TEST(EngineHeldVad, EndpointAfterTheSentence) {
  ASSERT_EQ(setenv("AE_SILERO_MODEL", model_path().c_str(), 1), 0);
  auto e = AudioEngine::create(silero_config());
  EXPECT_EQ(e->configure_endpointing({}).error(), Error::kNotInitialized);
  EXPECT_EQ(e->set_endpoint_timeout(500).error(), Error::kNotInitialized);
  EXPECT_FALSE(e->force_endpoint());
  VadConfig vc;
  vc.algorithm = VadAlgorithm::kSilero;
  ASSERT_TRUE(e->enable_vad(vc).ok());
  ASSERT_TRUE(e->configure_endpointing({}).ok());
  ASSERT_TRUE(e->set_endpoint_timeout(600).ok());
  const auto x = test_signal();  // 1 s room, sentence (4.2 s with its own 0.5 s margins), 1 s room
  ASSERT_TRUE(e->process_vad(x).ok());
  int64_t first_start = -1, last_end = -1;
  std::vector<AudioEvent> endpoints;
  for (const auto& ev : e->get_vad_events()) {
    if (ev.type == AudioEventType::kVadSpeechStart && first_start < 0) first_start = ev.vad.speech_start_sample;
    if (ev.type == AudioEventType::kVadSpeechEnd) last_end = ev.vad.speech_end_sample;
    if (ev.type == AudioEventType::kEndpoint) endpoints.push_back(ev);
  }
  ASSERT_EQ(endpoints.size(), 1u);
  EXPECT_EQ(endpoints[0].vad.speech_start_sample, first_start);
  EXPECT_EQ(endpoints[0].vad.speech_end_sample, last_end);
  EXPECT_EQ(endpoints[0].t_samples, (last_end + 600 * 16 + 159) / 160 * 160);
  EXPECT_EQ(e->get_endpoint_state(), EndpointState::kIdle);
}

}  // namespace
}  // namespace ae
