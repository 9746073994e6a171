// Endpointing, speech-only capture delivery with prefix padding, and VAD on/off on the engine's live capture path,
// on the virtual clock and exact in samples. The user is a pattern of tone bursts (0.5 amplitude, -9 dBFS) over a
// quiet background (about -80 dBFS), cut on the 10 ms period grid, so the energy VAD's probability is exactly 1 in
// tone periods and 0 elsewhere: every onset, end and endpoint is known to the sample. One case uses espeak-ng.
//
// 16 kHz, periods of 160 samples; VAD defaults: min_speech 64 ms (confirmed in the 7th period, 1120 samples after
// the onset), min_silence 300 ms (4800 samples, 30 periods), prefix padding 300 ms (4800 samples); endpoint
// defaults: silence timeout 800 ms (12800 samples), min utterance 200 ms, max utterance 30 s.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>
#include <utility>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "audioengine/speech_synth.hpp"
#include "conversation_rig.hpp"
#include "event_log.hpp"

namespace ae {
namespace {

constexpr int kRate = 16000;
constexpr int64_t kPeriod = 160;
constexpr int64_t kConfirm = 1120;        // min_speech 1024 samples, rounded up to whole periods
constexpr int64_t kMinSilence = 4800;     // 300 ms
constexpr int64_t kTimeout = 12800;       // 800 ms
constexpr int64_t kPad = 4800;            // 300 ms

constexpr int64_t ms(int64_t v) { return v * kRate / 1000; }

// A user: alternating background and tone runs, in milliseconds, starting with background.
using Pattern = test::ToneUser;

EngineConfig base_config(VirtualClockMode mode = VirtualClockMode::kInline) {
  EngineConfig c = EngineConfig::fast_lane();
  c.clock.virtual_mode = mode;
  c.queues.capture_capacity_ms = 60000;
  c.queues.chunk_queue_capacity_ms = 60000;
  c.sink.memory_capacity_ms = 1000;
  return c;
}

struct Rig {
  std::unique_ptr<AudioEngine> e;
  test::EventLog log;

  explicit Rig(const EngineConfig& c, bool capture = false) : e(AudioEngine::create(c)) {
    log.attach(*e);
    EXPECT_TRUE(e->start().ok());
    if (capture) {
      EXPECT_TRUE(e->start_capture().ok());
    }
  }
  void play(const Pattern& p) { ASSERT_TRUE(e->inject_test_audio(p.samples).ok()); }
  // Runs the clock to `sample` (a whole number of periods) and waits until the events reached the log.
  void run_to(int64_t sample) {
    ASSERT_EQ(sample % kPeriod, 0);
    ASSERT_TRUE(e->advance_ticks((sample - e->now_samples()) / kPeriod).ok());
    ASSERT_TRUE(e->wait_until_dispatched(2000));
  }
  std::vector<AudioEvent> endpoints() { return log.of(AudioEventType::kEndpoint); }
  std::vector<CaptureChunk> chunks() {
    std::vector<CaptureChunk> out;
    CaptureChunk c;
    while (e->try_read_chunk(c)) out.push_back(c);
    return out;
  }
};

// One burst: ENDPOINT exactly the timeout after the segment's end, carrying the utterance bounds, the padded start
// and the reason; the chunk in which it was decided carries the flag; the state goes in -> trailing -> idle.
TEST(EngineEndpoint, SilenceTimeoutEndsTheTurnExactly) {
  Rig r(base_config(), true);
  const Pattern p({500, 1000, 2000});
  const auto [onset, end] = p.bursts[0];
  r.play(p);
  r.run_to(onset + kConfirm);
  EXPECT_EQ(r.e->get_endpoint_state(), EndpointState::kInUtterance);
  r.run_to(end + kMinSilence);
  EXPECT_EQ(r.e->get_endpoint_state(), EndpointState::kTrailingSilence);
  r.run_to(end + kTimeout - kPeriod);
  EXPECT_TRUE(r.endpoints().empty());
  r.run_to(p.size());
  const auto eps = r.endpoints();
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0].t_samples, end + kTimeout);
  EXPECT_EQ(eps[0].vad.endpoint_reason, EndpointReason::kSilence);
  EXPECT_EQ(eps[0].vad.speech_start_sample, onset);
  EXPECT_EQ(eps[0].vad.speech_end_sample, end);
  EXPECT_EQ(eps[0].vad.padded_start_sample, onset - kPad);
  const auto starts = r.log.of(AudioEventType::kVadSpeechStart);
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].vad.padded_start_sample, onset - kPad);  // kAll delivery: where the padded speech begins
  EXPECT_EQ(r.e->get_endpoint_state(), EndpointState::kIdle);
  EXPECT_EQ(r.e->get_metrics().endpoints, 1);
  int flagged = 0;
  for (const auto& c : r.chunks()) {
    if (!c.info.endpoint) continue;
    ++flagged;
    EXPECT_EQ(c.info.start_sample + c.info.num_frames, end + kTimeout);
  }
  EXPECT_EQ(flagged, 1);
}

// A 500 ms pause inside the turn (shorter than the timeout) keeps one utterance from the first onset to the last
// end.
TEST(EngineEndpoint, PausesShorterThanTheTimeoutStayInOneUtterance) {
  Rig r(base_config());
  const Pattern p({500, 500, 500, 500, 1500});
  r.play(p);
  r.run_to(p.size());
  ASSERT_EQ(r.log.of(AudioEventType::kVadSpeechEnd).size(), 2u);
  const auto eps = r.endpoints();
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0].vad.speech_start_sample, p.bursts[0].first);
  EXPECT_EQ(eps[0].vad.speech_end_sample, p.bursts[1].second);
  EXPECT_EQ(eps[0].t_samples, p.bursts[1].second + kTimeout);
}

// 150 ms of tone is speech for the VAD (above min_speech) but shorter than min_utterance: no ENDPOINT.
TEST(EngineEndpoint, MinUtteranceSuppressesACough) {
  Rig r(base_config());
  const Pattern p({500, 150, 1500});
  r.play(p);
  r.run_to(p.size());
  EXPECT_EQ(r.log.of(AudioEventType::kVadSpeechStart).size(), 1u);
  EXPECT_EQ(r.log.of(AudioEventType::kVadSpeechEnd).size(), 1u);
  EXPECT_TRUE(r.endpoints().empty());
  EXPECT_EQ(r.e->get_endpoint_state(), EndpointState::kIdle);
}

// max_utterance 1 s over 2.5 s of speech: cuts at onset + 1 s and + 2 s (speech goes on, so each cut opens the
// next utterance); the last piece reaches max_utterance (onset + 3 s) before its silence timeout would, and ends at
// the speech's end.
TEST(EngineEndpoint, MaxUtteranceCutsALongTurn) {
  EngineConfig c = base_config();
  c.endpoint.max_utterance_ms = 1000;
  Rig r(c);
  const Pattern p({500, 2500, 1500});
  const auto [onset, end] = p.bursts[0];
  r.play(p);
  r.run_to(p.size());
  const auto eps = r.endpoints();
  ASSERT_EQ(eps.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(eps[i].vad.endpoint_reason, EndpointReason::kMaxUtterance);
    EXPECT_EQ(eps[i].vad.speech_start_sample, onset + i * ms(1000));
    EXPECT_EQ(eps[i].vad.speech_end_sample, onset + (i + 1) * ms(1000));
    EXPECT_EQ(eps[i].t_samples, onset + (i + 1) * ms(1000));
  }
  ASSERT_LT(onset + ms(3000), end + kTimeout);
  EXPECT_EQ(eps[2].vad.endpoint_reason, EndpointReason::kMaxUtterance);
  EXPECT_EQ(eps[2].vad.speech_start_sample, onset + ms(2000));
  EXPECT_EQ(eps[2].vad.speech_end_sample, end);
  EXPECT_EQ(eps[2].t_samples, onset + ms(3000));
}

// Between ticks (inline clock) force_endpoint() ends the utterance at now; the user still speaks, so the next
// utterance opens at the same sample and ends with the silence.
TEST(EngineEndpoint, ForceEndpointBetweenTicks) {
  Rig r(base_config());
  EXPECT_FALSE(r.e->force_endpoint());  // nothing to end
  const Pattern p({500, 1000, 1500});
  const auto [onset, end] = p.bursts[0];
  r.play(p);
  const int64_t at = onset + ms(400);
  r.run_to(at);
  EXPECT_TRUE(r.e->force_endpoint());
  EXPECT_EQ(r.e->get_endpoint_state(), EndpointState::kInUtterance);
  r.run_to(p.size());
  const auto eps = r.endpoints();
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(eps[0].vad.endpoint_reason, EndpointReason::kForced);
  EXPECT_EQ(eps[0].t_samples, at);
  EXPECT_EQ(eps[0].vad.speech_start_sample, onset);
  EXPECT_EQ(eps[0].vad.speech_end_sample, at);
  EXPECT_EQ(eps[1].vad.endpoint_reason, EndpointReason::kSilence);
  EXPECT_EQ(eps[1].vad.speech_start_sample, at);
  EXPECT_EQ(eps[1].vad.speech_end_sample, end);
}

// With ticks running by themselves (real-time virtual clock) force_endpoint() goes through the tick's epoch and
// waits for its acknowledgement; the ENDPOINT lands on a tick boundary and keeps the utterance's exact onset.
TEST(EngineEndpoint, ForceEndpointWhileTicksRunLive) {
  Rig r(base_config(VirtualClockMode::kRealtime));
  const Pattern p({100, 20000});
  r.play(p);  // the clock already runs: the onset lies wherever the injection met the timeline
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (r.e->get_endpoint_state() != EndpointState::kInUtterance && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(r.e->get_endpoint_state(), EndpointState::kInUtterance);
  EXPECT_TRUE(r.e->force_endpoint(2000));
  auto ev = r.e->wait_for_endpoint(2000);
  ASSERT_TRUE(ev.ok()) << ev.message();
  auto start = r.e->wait_for_event(AudioEventType::kVadSpeechStart, 2000, uint64_t{0});
  ASSERT_TRUE(start.has_value());
  EXPECT_EQ(ev->vad.endpoint_reason, EndpointReason::kForced);
  EXPECT_EQ(ev->vad.speech_start_sample, start->vad.speech_start_sample);
  EXPECT_EQ(ev->vad.speech_end_sample, ev->t_samples);
  EXPECT_EQ(ev->t_samples % kPeriod, 0);
  EXPECT_GE(ev->t_samples, start->t_samples);
}

// set_endpoint_timeout() in the middle of the trailing silence: the utterance in progress ends under the new
// timeout, exactly.
TEST(EngineEndpoint, SetEndpointTimeoutAtRunTime) {
  Rig r(base_config());
  const Pattern p({500, 1000, 2000});
  const auto [onset, end] = p.bursts[0];
  r.play(p);
  r.run_to(end + kMinSilence);
  ASSERT_EQ(r.e->get_endpoint_state(), EndpointState::kTrailingSilence);
  ASSERT_TRUE(r.e->set_endpoint_timeout(400).ok());
  EXPECT_EQ(r.e->config().endpoint.silence_timeout_ms, 400);
  r.run_to(p.size());
  const auto eps = r.endpoints();
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0].t_samples, end + ms(400));
  EXPECT_EQ(eps[0].vad.speech_start_sample, onset);
  // Clamped to the valid range.
  ASSERT_TRUE(r.e->set_endpoint_timeout(5).ok());
  EXPECT_EQ(r.e->config().endpoint.silence_timeout_ms, 100);
}

// configure_endpointing() on the live path: validated, hot, and enabled = false stops ENDPOINT events.
TEST(EngineEndpoint, ConfigureEndpointingOnTheLivePath) {
  Rig r(base_config());
  EndpointConfig bad;
  bad.silence_timeout_ms = 5;
  auto st = r.e->configure_endpointing(bad);
  EXPECT_EQ(st.error(), Error::kInvalidConfig);
  EXPECT_NE(st.message().find("endpoint.silence_timeout_ms"), std::string::npos) << st.message();
  EndpointConfig ec;
  ec.silence_timeout_ms = 500;
  ASSERT_TRUE(r.e->configure_endpointing(ec).ok());
  const Pattern p({500, 1000, 1500, 1000, 1500});
  r.play(p);
  r.run_to(p.bursts[1].first);
  auto eps = r.endpoints();
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0].t_samples, p.bursts[0].second + ms(500));
  ec.enabled = false;
  ASSERT_TRUE(r.e->configure_endpointing(ec).ok());
  r.run_to(p.size());
  EXPECT_EQ(r.endpoints().size(), 1u);
  EXPECT_EQ(r.log.of(AudioEventType::kVadSpeechEnd).size(), 2u);
  EXPECT_EQ(r.e->get_endpoint_state(), EndpointState::kIdle);
  // validate_config names the engine field too.
  EngineConfig c = base_config();
  c.endpoint.adaptive_max_timeout_ms = 50;
  const auto issues = validate_config(c);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].field, "endpoint.adaptive_max_timeout_ms");
}

// Adaptive timeout: three 400 ms pauses inside the turn make the timeout 1.5 x 400 = 600 ms (instead of the
// configured 800); with adaptive_min_timeout_ms 700 it is clamped up to 700.
TEST(EngineEndpoint, AdaptiveTimeoutFollowsTheUsersPauses) {
  for (const auto& [min_ms, want_ms] : {std::pair{500, 600}, std::pair{700, 700}}) {
    EngineConfig c = base_config();
    c.endpoint.adaptive = true;
    c.endpoint.adaptive_min_timeout_ms = min_ms;
    Rig r(c);
    const Pattern p({500, 300, 400, 300, 400, 300, 400, 300, 2000});
    r.play(p);
    r.run_to(p.size());
    const auto eps = r.endpoints();
    ASSERT_EQ(eps.size(), 1u) << min_ms;
    EXPECT_EQ(eps[0].vad.speech_start_sample, p.bursts[0].first);
    EXPECT_EQ(eps[0].vad.speech_end_sample, p.bursts[3].second);
    EXPECT_EQ(eps[0].t_samples, p.bursts[3].second + ms(want_ms)) << min_ms;
  }
  // Before three pauses are known the configured timeout applies.
  EngineConfig c = base_config();
  c.endpoint.adaptive = true;
  Rig r(c);
  const Pattern p({500, 300, 400, 300, 2000});
  r.play(p);
  r.run_to(p.size());
  const auto eps = r.endpoints();
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0].t_samples, p.bursts[1].second + kTimeout);
}

// wait_for_endpoint() returns each ENDPOINT once, in order, then kTimeout.
TEST(EngineEndpoint, WaitForEndpointReturnsEachOnce) {
  Rig r(base_config());
  EXPECT_EQ(r.e->wait_for_endpoint(10).error(), Error::kTimeout);
  const Pattern p({500, 500, 1500, 500, 1500});
  r.play(p);
  r.run_to(p.size());
  auto first = r.e->wait_for_endpoint(1000);
  ASSERT_TRUE(first.ok()) << first.message();
  EXPECT_EQ(first->t_samples, p.bursts[0].second + kTimeout);
  auto second = r.e->wait_for_endpoint(1000);
  ASSERT_TRUE(second.ok()) << second.message();
  EXPECT_EQ(second->t_samples, p.bursts[1].second + kTimeout);
  EXPECT_EQ(r.e->wait_for_endpoint(20).error(), Error::kTimeout);
  auto fresh = AudioEngine::create(base_config());
  EXPECT_EQ(fresh->wait_for_endpoint(0).error(), Error::kNotInitialized);
}

// Concatenates chunks that must be contiguous on the timeline; returns their first sample.
int64_t concat(const std::vector<CaptureChunk>& chunks, size_t from, size_t to, std::vector<float>& out) {
  const int64_t first = chunks[from].info.start_sample;
  int64_t next = first;
  for (size_t i = from; i < to; ++i) {
    EXPECT_EQ(chunks[i].info.start_sample, next) << i;
    next += chunks[i].info.num_frames;
    out.insert(out.end(), chunks[i].samples.begin(), chunks[i].samples.end());
  }
  return first;
}

// Speech-only delivery: each utterance arrives from onset - prefix padding (305 ms: the first chunk is 80 samples,
// the rest on the period grid) through the chunk in which its ENDPOINT was decided, bit-exact with the injected
// samples; everything else is held back and counted.
TEST(EngineEndpoint, SpeechOnlyDeliveryStartsAtThePaddedOnset) {
  EngineConfig c = base_config();
  c.audio.capture_delivery = CaptureDelivery::kSpeechOnly;
  c.vad.prefix_padding_ms = 305;
  const int64_t pad = ms(305);
  Rig r(c, true);
  const Pattern p({1000, 500, 3000, 300, 1500});
  r.play(p);
  r.run_to(p.size());
  const auto chunks = r.chunks();
  const auto eps = r.endpoints();
  ASSERT_EQ(eps.size(), 2u);
  // Split the chunks into utterances at the endpoint flag.
  size_t begin = 0;
  int64_t delivered = 0;
  for (size_t u = 0; u < 2; ++u) {
    size_t end = begin;
    while (end < chunks.size() && !chunks[end].info.endpoint) ++end;
    ASSERT_LT(end, chunks.size()) << u;
    ++end;  // the ENDPOINT chunk is the last one delivered
    std::vector<float> got;
    const int64_t from = concat(chunks, begin, end, got);
    const int64_t onset = p.bursts[u].first;
    EXPECT_EQ(from, onset - pad) << u;
    EXPECT_EQ(chunks[begin].info.num_frames, 80) << u;
    EXPECT_EQ(from + static_cast<int64_t>(got.size()), eps[u].t_samples) << u;
    ASSERT_TRUE(std::equal(got.begin(), got.end(), p.samples.begin() + from)) << u;
    // The chunk that confirmed the speech carries the flag, at its tick's position.
    int started = 0;
    for (size_t i = begin; i < end; ++i) {
      if (!chunks[i].info.speech_started) continue;
      ++started;
      EXPECT_EQ(chunks[i].info.start_sample + kPeriod, onset + kConfirm);
    }
    EXPECT_EQ(started, 1) << u;
    delivered += static_cast<int64_t>(got.size());
    begin = end;
  }
  EXPECT_EQ(begin, chunks.size());
  const auto m = r.e->get_metrics();
  EXPECT_EQ(m.speech_gated_samples, p.size() - delivered);
  EXPECT_EQ(m.prefix_truncated_samples, 0);
  EXPECT_EQ(m.chunks_dropped, 0);
}

// With endpointing off, speech-only delivery follows the VAD segment: through the VAD_SPEECH_END chunk.
TEST(EngineEndpoint, SpeechOnlyDeliveryWithoutEndpointingFollowsTheSegment) {
  EngineConfig c = base_config();
  c.audio.capture_delivery = CaptureDelivery::kSpeechOnly;
  c.endpoint.enabled = false;
  Rig r(c, true);
  const Pattern p({1000, 500, 1000});
  const auto [onset, end] = p.bursts[0];
  r.play(p);
  r.run_to(p.size());
  const auto chunks = r.chunks();
  ASSERT_FALSE(chunks.empty());
  std::vector<float> got;
  EXPECT_EQ(concat(chunks, 0, chunks.size(), got), onset - kPad);
  EXPECT_TRUE(chunks.back().info.speech_ended);
  EXPECT_EQ(chunks.back().info.start_sample + kPeriod, end + kMinSilence);
  ASSERT_TRUE(std::equal(got.begin(), got.end(), p.samples.begin() + (onset - kPad)));
  EXPECT_TRUE(r.endpoints().empty());
}

// A prefix padding raised at run time beyond what the history was sized for (at initialize) is delivered as far
// as the history goes; the rest is counted.
TEST(EngineEndpoint, PaddingBeyondTheHistoryIsCounted) {
  EngineConfig c = base_config();
  c.audio.capture_delivery = CaptureDelivery::kSpeechOnly;
  c.vad.prefix_padding_ms = 100;
  Rig r(c, true);
  EngineConfig hot = r.e->config();
  hot.vad.prefix_padding_ms = 2000;
  ASSERT_TRUE(r.e->update_config(hot).ok());
  const Pattern p({2000, 500, 1500});
  const auto onset = p.bursts[0].first;
  r.play(p);
  r.run_to(p.size());
  const auto chunks = r.chunks();
  ASSERT_FALSE(chunks.empty());
  // History: 100 ms + the longer of min_speech (64 ms) and the VAD's echo hold (1 s) + two periods = 18240
  // samples, ending with the confirming period.
  const int64_t held_from = onset + kConfirm - (ms(1100) + 2 * kPeriod);
  EXPECT_EQ(chunks.front().info.start_sample, held_from);
  EXPECT_EQ(r.e->get_metrics().prefix_truncated_samples, held_from - (onset - ms(2000)));
}

// disable_vad() stops the live VAD (no events, state silence, no barge-in); enable_vad() brings it back, also on
// an engine that started with the VAD off (the detector is built on the control thread and swapped in).
TEST(EngineEndpoint, DisableVadStopsEventsAndEnableVadRestoresThem) {
  for (bool start_enabled : {true, false}) {
    EngineConfig c = base_config();
    c.vad.enabled = start_enabled;
    Rig r(c);
    const Pattern p({500, 500, 1500});
    if (start_enabled) {
      r.play(p);
      r.run_to(p.size());
      EXPECT_EQ(r.log.of(AudioEventType::kVadSpeechStart).size(), 1u);
      EXPECT_EQ(r.endpoints().size(), 1u);
      r.e->disable_vad();
      EXPECT_FALSE(r.e->config().vad.enabled);
    }
    const size_t before = r.log.of(AudioEventType::kVadSpeechStart).size();
    const int64_t t1 = r.e->now_samples();
    r.play(p);
    r.run_to(t1 + p.bursts[0].first + ms(200));
    EXPECT_EQ(r.e->get_vad_state(), VadState::kSilence);
    r.run_to(t1 + p.size());
    EXPECT_EQ(r.log.of(AudioEventType::kVadSpeechStart).size(), before) << start_enabled;
    ASSERT_TRUE(r.e->enable_vad(VadConfig{}).ok());
    EXPECT_TRUE(r.e->config().vad.enabled);
    const int64_t t2 = r.e->now_samples();
    r.play(p);
    r.run_to(t2 + p.bursts[0].first + kConfirm);
    EXPECT_EQ(r.e->get_vad_state(), VadState::kSpeaking);
    r.run_to(t2 + p.size());
    const auto starts = r.log.of(AudioEventType::kVadSpeechStart);
    ASSERT_EQ(starts.size(), before + 1) << start_enabled;
    EXPECT_EQ(starts.back().vad.speech_start_sample, t2 + p.bursts[0].first);
    const auto eps = r.endpoints();
    ASSERT_FALSE(eps.empty());
    EXPECT_EQ(eps.back().t_samples, t2 + p.bursts[0].second + kTimeout);
  }
}

// Synthesized speech: one ENDPOINT whose bounds are the first VAD onset and the last VAD end, exactly the timeout
// after that end.
TEST(EngineEndpoint, SynthesizedSentenceEndsInOneEndpoint) {
  Rig r(base_config());
  auto speech = synthesize_speech("Could you book a table for two at seven tonight?", SpeechOptions{});
  ASSERT_TRUE(speech.ok()) << speech.message();
  std::vector<float> mic(ms(500), 0.0f);
  mic.insert(mic.end(), speech->begin(), speech->end());
  mic.resize(mic.size() + static_cast<size_t>(ms(2000)), 0.0f);
  ASSERT_TRUE(r.e->inject_test_audio(mic).ok());
  r.run_to((static_cast<int64_t>(mic.size()) / kPeriod) * kPeriod);
  const auto starts = r.log.of(AudioEventType::kVadSpeechStart);
  const auto ends = r.log.of(AudioEventType::kVadSpeechEnd);
  ASSERT_GE(starts.size(), 1u);
  ASSERT_EQ(ends.size(), starts.size());
  const auto eps = r.endpoints();
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0].vad.speech_start_sample, starts.front().vad.speech_start_sample);
  EXPECT_EQ(eps[0].vad.speech_end_sample, ends.back().vad.speech_end_sample);
  EXPECT_EQ(eps[0].t_samples, ends.back().vad.speech_end_sample + kTimeout);
  EXPECT_GE(eps[0].vad.speech_start_sample, ms(500) - kPeriod);
}

// The audio thread neither allocates nor locks with all of it on: speech-only delivery, adaptive endpointing,
// forced endpoints, timeout changes, VAD off and on (a detector swap) and hot updates, on the stepped clock (the
// ticks run on ae-audio).
TEST(EngineEndpoint, AudioThreadStaysRealTimeSafe) {
  if (!rt::probe_installed()) GTEST_SKIP() << "the real-time probe is not linked (sanitizer build)";
  EngineConfig c = base_config(VirtualClockMode::kStepped);
  c.audio.capture_delivery = CaptureDelivery::kSpeechOnly;
  c.endpoint.adaptive = true;
  Rig r(c, true);
  r.e->set_realtime_chunk_callback([](const ChunkInfo&, const float*, void*) {}, nullptr);
  const Pattern p({500, 300, 400, 300, 400, 300, 400, 300, 1500});
  std::vector<float> all;
  rt::reset_violation_counts();
  for (int round = 0; round < 4; ++round) {
    r.play(p);
    r.run_to(r.e->now_samples() + p.bursts[1].first);
    (void)r.e->force_endpoint();
    ASSERT_TRUE(r.e->set_endpoint_timeout(600 + round * 100).ok());
    r.run_to(r.e->now_samples() + ms(3000));
    r.e->disable_vad();
    ASSERT_TRUE(r.e->advance(200).ok());
    ASSERT_TRUE(r.e->enable_vad(VadConfig{}).ok());
    r.run_to(r.e->now_samples() + ms(1000));
    for (const auto& ch : r.chunks()) all.insert(all.end(), ch.samples.begin(), ch.samples.end());
  }
  const auto counts = rt::violation_counts();
  EXPECT_GE(r.e->get_metrics().endpoints, 8);
  EXPECT_FALSE(all.empty());
  EXPECT_EQ(counts.allocations, 0u);
  EXPECT_EQ(counts.mutex_locks, 0u);
}

// The speech history is kept only while speech-only delivery captures. Switched on at run time (hot), it starts at
// the switch, and what it must hold is still exact: an utterance whose padded onset lies after the switch arrives
// from onset - prefix padding, with nothing truncated; one whose padded onset lies before the switch arrives from
// the switch on, where the every-period delivery stopped (nothing twice, nothing missing).
TEST(EngineEndpoint, SpeechOnlySwitchedOnAtRunTimeDeliversItsPrefixExactly) {
  const Pattern p({1500, 500, 1500});
  const int64_t onset = p.bursts[0].first;  // 24000
  for (const int64_t switch_at : {ms(1000), ms(1400)}) {
    Rig r(base_config(), true);
    r.play(p);
    r.run_to(switch_at);
    const auto before = r.chunks();
    ASSERT_EQ(static_cast<int64_t>(before.size()), switch_at / kPeriod) << switch_at;
    EngineConfig hot = r.e->config();
    hot.audio.capture_delivery = CaptureDelivery::kSpeechOnly;
    ASSERT_TRUE(r.e->update_config(hot).ok());
    r.run_to(p.size());
    const auto after = r.chunks();
    ASSERT_FALSE(after.empty()) << switch_at;
    const int64_t expected_from = std::max(onset - kPad, switch_at);
    std::vector<float> got;
    const int64_t from = concat(after, 0, after.size(), got);
    EXPECT_EQ(from, expected_from) << switch_at;
    EXPECT_TRUE(after.back().info.endpoint) << switch_at;
    EXPECT_EQ(from + static_cast<int64_t>(got.size()), p.bursts[0].second + kTimeout) << switch_at;
    ASSERT_TRUE(std::equal(got.begin(), got.end(), p.samples.begin() + from)) << switch_at;
    const auto m = r.e->get_metrics();
    EXPECT_EQ(m.prefix_truncated_samples, 0) << switch_at;
    EXPECT_EQ(m.speech_gated_samples, p.size() - switch_at - static_cast<int64_t>(got.size())) << switch_at;
  }
}

// Speech-only delivery configured from the start, capture started shortly before the user speaks: the history
// begins with the capture, and the utterance arrives from the capture's first sample (audio from before
// start_capture() is never delivered), nothing counted as truncated.
TEST(EngineEndpoint, SpeechOnlyCaptureStartedBeforeSpeechBeginsAtTheCapture) {
  EngineConfig c = base_config();
  c.audio.capture_delivery = CaptureDelivery::kSpeechOnly;
  Rig r(c);
  const Pattern p({1500, 500, 1500});
  r.play(p);
  const int64_t capture_at = ms(1400);
  r.run_to(capture_at);
  ASSERT_TRUE(r.e->start_capture().ok());
  r.run_to(p.size());
  const auto chunks = r.chunks();
  ASSERT_FALSE(chunks.empty());
  std::vector<float> got;
  EXPECT_EQ(concat(chunks, 0, chunks.size(), got), capture_at);
  EXPECT_EQ(capture_at + static_cast<int64_t>(got.size()), p.bursts[0].second + kTimeout);
  ASSERT_TRUE(std::equal(got.begin(), got.end(), p.samples.begin() + capture_at));
  EXPECT_EQ(r.e->get_metrics().prefix_truncated_samples, 0);
}

}  // namespace
}  // namespace ae
