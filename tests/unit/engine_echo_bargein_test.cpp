// Barge-in with the AI's own echo in the microphone, on the virtual clock: the engine's output is fed back into
// its capture through a room (60 ms delay, reverberation) by run_conversation, so the echo stops when the engine
// interrupts. With the echo canceller on (and with it the barge-in's echo gate), minutes of loud AI speech with a
// silent user interrupt nothing; with both off, the echo interrupts the AI. A user talking over the AI interrupts
// it exactly once, within 150 ms of the true onset of the speech, measured in samples; the echo gate does not
// change that latency when there is no echo. With the VAD on the canceller's gentler copy (EchoCancellerConfig::
// vad_copy) the quiet user under a loud echo interrupts within the target too, and the echo-only runs stay quiet.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <optional>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "audioengine/echo_canceller.hpp"
#include "audioengine/realtime.hpp"
#include "audioengine/speech_synth.hpp"
#include "conversation/simulated_conversation.hpp"

namespace ae {
namespace {

constexpr int kRate = 16000;
constexpr double kLatencyTargetMs = 150.0;

// Sanitized builds run far slower (measured on the echo-only run: 30 s of audio took 17 s under ASan, 54 s under
// TSan): a shorter stretch keeps each test under half a minute there, while the release build runs two minutes
// (in 10 s).
#if defined(__SANITIZE_THREAD__)
constexpr int64_t kEchoOnlyMs = 15000;
#elif defined(__SANITIZE_ADDRESS__)
constexpr int64_t kEchoOnlyMs = 30000;
#else
constexpr int64_t kEchoOnlyMs = 120000;
#endif
// Enough AI audio for the tests that stop it: the echo or the user interrupts it within its first seconds.
constexpr int64_t kAnswerMs = 9000;

std::string model_path() { return std::string(AE_SOURCE_DIR) + "/third_party_cache/vad-web/silero_vad_v5.onnx"; }

double rms(const std::vector<float>& x) {
  double e = 0;
  for (float v : x) e += static_cast<double>(v) * v;
  return std::sqrt(e / static_cast<double>(std::max<size_t>(1, x.size())));
}

void scale_to_rms_dbfs(std::vector<float>& x, double dbfs) {
  const double g = std::pow(10.0, dbfs / 20.0) / std::max(rms(x), 1e-12);
  for (float& v : x) v = static_cast<float>(v * g);
}

// The AI's long answer: sentences with 300 ms pauses, repeated until `length_ms`, loud (-16 dBFS RMS with its
// pauses, peaks near full scale).
const std::vector<float>& ai_answer(int64_t length_ms) {
  static std::vector<float> cache;
  const auto length = static_cast<size_t>(length_ms * kRate / 1000);
  if (cache.size() >= length) return cache;
  const char* const lines[] = {
      "Tomorrow in Paris it will be mostly sunny in the morning, with clouds building in the afternoon.",
      "I found four restaurants near you that are open until midnight, two of them with a terrace.",
      "Your appointment has been moved to Thursday at three in the afternoon, at the same address.",
      "The train to Lyon leaves at eight fifteen from platform seven and arrives just before eleven.",
  };
  SpeechOptions voice;
  voice.voice = "en";
  voice.sample_rate_hz = kRate;
  std::vector<std::vector<float>> clips;
  for (const char* line : lines) {
    auto s = synthesize_speech(line, voice);
    if (!s.ok()) return cache;
    clips.push_back(std::move(*s));
  }
  cache.clear();
  for (size_t k = 0; cache.size() < length; ++k) {
    const auto& c = clips[k % clips.size()];
    cache.insert(cache.end(), c.begin(), c.end());
    cache.insert(cache.end(), kRate * 3 / 10, 0.0f);
  }
  scale_to_rms_dbfs(cache, -16.0);
  return cache;
}

// The user's utterance, another voice, at `level_dbfs` RMS, starting `onset_ms` into a silent track.
std::vector<float> user_track(int64_t onset_ms, double level_dbfs, int64_t* true_onset_sample) {
  SpeechOptions voice;
  voice.voice = "en+f3";
  voice.pitch = 70;
  voice.words_per_minute = 160;
  voice.sample_rate_hz = kRate;
  // Synthesized once per process: espeak-ng's output varies slightly from call to call within a process, and
  // runs compared with each other must hear the same words.
  static Result<std::vector<float>> clip =
      synthesize_speech("Wait, stop. That is not what I asked for, I wanted the blue one.", voice);
  if (!clip.ok()) return {};
  auto s = std::make_optional(*clip);
  scale_to_rms_dbfs(*s, level_dbfs);
  const auto at = static_cast<size_t>(onset_ms * kRate / 1000);
  std::vector<float> x(at, 0.0f);
  x.insert(x.end(), s->begin(), s->end());
  *true_onset_sample = static_cast<int64_t>(at) + first_loud_sample(*s, 0.01f);
  return x;
}

// The echo canceller as these tests tune it: the render-to-microphone delay given (a device engine knows its
// output and input latency; here it is the room's 60 ms) and the most aggressive suppression. With the default
// (delay-agnostic, adaptive suppression) the residual echo of the first seconds of an answer is speech to the VAD
// and the AI interrupts itself within 250 ms of its first word (see the disabled tests below).
EchoCancellerConfig tuned_echo_canceller() {
  EchoCancellerConfig ec;
  ec.stream_delay_ms = 60;
  ec.delay_agnostic = false;
  ec.suppression = EchoSuppression::kHigh;
  return ec;
}

struct Setup {
  VadAlgorithm vad = VadAlgorithm::kSilero;
  bool aec = true;
  EchoCancellerConfig echo_canceller = tuned_echo_canceller();
  EchoGateMode echo_gate = EchoGateMode::kAuto;
  float echo_gate_max_coupling_db = BargeInConfig{}.echo_gate_max_coupling_db;
  EchoGateMode vad_echo_gate = EchoGateMode::kAuto;
  bool speech_only = false;  // speech-only capture delivery, capturing from the start (chunks kept for 20 s)
  int echo_gate_min_near_end_ms = BargeInConfig{}.echo_gate_min_near_end_ms;
};

std::unique_ptr<AudioEngine> make_engine(const Setup& setup) {
  EngineConfig c = EngineConfig::fast_lane();
  c.clock.virtual_mode = VirtualClockMode::kInline;
  c.vad.algorithm = setup.vad;
  c.sink.memory_capacity_ms = 1000;
  c.queues.capture_capacity_ms = 10000;  // room for the injected stretches of the tests that inject
  c.barge_in.echo_gate = setup.echo_gate;
  c.barge_in.echo_gate_max_coupling_db = setup.echo_gate_max_coupling_db;
  c.barge_in.vad_echo_gate = setup.vad_echo_gate;
  c.barge_in.echo_gate_min_near_end_ms = setup.echo_gate_min_near_end_ms;
  if (setup.speech_only) {
    c.audio.capture_delivery = CaptureDelivery::kSpeechOnly;
    c.queues.chunk_queue_capacity_ms = 20000;
  }
  auto engine = AudioEngine::create(c);
  if (!engine->initialize().ok()) return nullptr;
  if (setup.aec && !engine->enable_echo_cancellation(setup.echo_canceller).ok()) return nullptr;
  if (setup.speech_only && (!engine->start().ok() || !engine->start_capture().ok())) return nullptr;
  return engine;
}

ConversationScript echo_script() {
  ConversationScript s;
  s.ai_at_ms = 500;
  s.echo_enabled = true;
  s.echo.delay_ms = 60;
  s.echo.gain = 0.7;  // -3 dB
  s.echo.rt60_ms = 150;
  return s;
}

class EchoBargeIn : public ::testing::TestWithParam<VadAlgorithm> {
 protected:
  void SetUp() override {
    ASSERT_EQ(setenv("AE_SILERO_MODEL", model_path().c_str(), 1), 0);
    ASSERT_FALSE(ai_answer(kEchoOnlyMs).empty()) << "espeak-ng could not synthesize the AI's answer";
  }
};

std::string name_of(const ::testing::TestParamInfo<VadAlgorithm>& info) { return to_string(info.param); }

// The utterances the endpointer closed, "[start, end) ms" each, for a failure message.
std::string endpoints_of(const ConversationOutcome& r) {
  std::string out = "endpoints:";
  for (const AudioEvent& ev : r.events) {
    if (ev.type != AudioEventType::kEndpoint) continue;
    out += " [" + std::to_string(r.ms(ev.vad.speech_start_sample)) + ", " + std::to_string(r.ms(ev.vad.speech_end_sample)) + ")";
  }
  return out;
}

// Minutes of loud AI speech, the user silent, the echo canceller on: no interruption, and the whole answer is
// played. The echo gate holds back every VAD segment the residual echo starts (BargeInConfig::vad_echo_gate,
// on with the canceller): no VAD_SPEECH_START and no ENDPOINT reach the application, the segments the VAD's
// segmenter started on the echo are counted as vetoed. `no_vad_segment`: the segmenter starts none at all (the
// canceller alone keeps the echo from the VAD).
// `echo_gain`: the echo path's RMS gain, reverberation included (room_response). `mic_peak`, when given, receives the microphone's peak over the run (full scale 1).
void expect_echo_only_is_quiet(const Setup& setup, bool no_vad_segment, double rt60_ms = 150, double echo_gain = 0.7,
                               float* mic_peak = nullptr, ConversationOutcome* outcome = nullptr,
                               int64_t length_ms = kEchoOnlyMs) {
  ASSERT_EQ(setenv("AE_SILERO_MODEL", model_path().c_str(), 1), 0);
  auto engine = make_engine(setup);
  ASSERT_NE(engine, nullptr);
  ConversationScript s = echo_script();
  s.echo.rt60_ms = rt60_ms;
  s.echo.gain = echo_gain;
  s.ai = ai_answer(kEchoOnlyMs);
  ASSERT_GE(s.ai.size(), static_cast<size_t>(length_ms * kRate / 1000));
  s.ai.resize(static_cast<size_t>(length_ms * kRate / 1000));
  const auto t_start = std::chrono::steady_clock::now();
  auto r = run_conversation(*engine, s);
  ASSERT_TRUE(r.ok()) << r.message();
  const EngineMetrics m = engine->get_metrics();
  float peak = 0.0f;
  for (float v : r->mic) peak = std::max(peak, std::fabs(v));
  if (mic_peak != nullptr) *mic_peak = peak;
  std::printf("echo only, %s, AEC on, gain %.2f, rt60 %.0f ms: microphone peak %.2f; %.0f s of audio in %.1f s; %d VAD "
              "segments, %lld vetoed, %d ENDPOINTs, %lld runs held back by the echo gate\n",
              to_string(setup.vad), echo_gain, rt60_ms, peak, length_ms / 1000.0,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count(), r->vad_speech_starts,
              static_cast<long long>(m.vad_echo_vetoed_segments), r->user_turns,
              static_cast<long long>(m.barge_in_echo_gated_runs));
  // The echo really is in the microphone, and loud: within a few dB of the output.
  const int64_t a = r->ai_start_sample;
  ASSERT_EQ(a, 500 * kRate / 1000);
  const auto len = static_cast<int64_t>(s.ai.size());
  std::vector<float> played(r->played.begin() + a, r->played.begin() + a + len);
  std::vector<float> echo(r->echo.begin() + a, r->echo.begin() + a + len);
  EXPECT_GT(20.0 * std::log10(rms(echo) / rms(played)), -6.0);
  if (no_vad_segment) {
    EXPECT_EQ(m.vad_echo_vetoed_segments, 0);
  }
  if (setup.vad_echo_gate != EchoGateMode::kOff) {
    EXPECT_EQ(r->vad_speech_starts, 0);
    EXPECT_EQ(r->user_turns, 0) << endpoints_of(*r);
    EXPECT_EQ(m.vad_speech_starts, 0);
  }
  if (!r->interrupts.empty()) ADD_FAILURE() << "first interruption at " << r->ms(r->interrupts[0].event.t_samples) << " ms";
  // Played in full: every sample of the answer reached the sink, in place.
  EXPECT_EQ(r->ai_queued_samples, len);
  EXPECT_EQ(played, s.ai);
  EXPECT_EQ(m.interruptions, 0);
  if (outcome != nullptr) *outcome = std::move(*r);
}

TEST(EchoBargeInSilero, EchoOnlyWithEchoCancellerStartsNoSpeechAndNeverInterrupts) {
  expect_echo_only_is_quiet({VadAlgorithm::kSilero, true, tuned_echo_canceller()}, true);
}

// The canceller's defaults (delay-agnostic, adaptive suppression): its residual echo of the first words is speech
// to Silero (a VAD segment starts), but the echo gate finds no near-end energy behind it and nothing interrupts.
TEST(EchoBargeInSilero, EchoOnlyWithDefaultEchoCancellerNeverInterrupts) {
  expect_echo_only_is_quiet({VadAlgorithm::kSilero, true, EchoCancellerConfig{}}, false);
}

// The gentlest suppression (the canceller keeps the near end in double talk, the echo gate handles the residual
// echo it lets through), as `audioengine simulate` runs it.
EchoCancellerConfig gentle_echo_canceller() {
  EchoCancellerConfig ec;
  ec.suppression = EchoSuppression::kLow;
  ec.stream_delay_ms = 60;
  ec.delay_agnostic = false;
  return ec;
}
TEST(EchoBargeInSilero, EchoOnlyWithGentleEchoCancellerNeverInterrupts) {
  expect_echo_only_is_quiet({VadAlgorithm::kSilero, true, gentle_echo_canceller()}, false);
}

// Reverberation as long as the echo gate's envelope assumes at its defaults (the weight of past render falls
// 60 dB over 300 ms: an rt60 of 300 ms): the echo's tail in the AI's pauses stays explained, nothing interrupts.
TEST(EchoBargeInSilero, EchoOnlyUnderLongerReverberationNeverInterrupts) {
  expect_echo_only_is_quiet({VadAlgorithm::kSilero, true, gentle_echo_canceller()}, false, 300);
}

// The learnt coupling capped at 0 dB (BargeInConfig::echo_gate_max_coupling_db; what lets a user through a
// louder reverberant echo in tests/integration/simulate_cli.sh): the echo at gain 0.7, 150 ms of reverberation,
// still never interrupts, with the canceller's defaults and with its gentlest suppression.
TEST(EchoBargeInSilero, EchoOnlyWithTheCouplingCappedNeverInterrupts) {
  expect_echo_only_is_quiet({VadAlgorithm::kSilero, true, EchoCancellerConfig{}, EchoGateMode::kAuto, 0.0f}, false);
  expect_echo_only_is_quiet({VadAlgorithm::kSilero, true, gentle_echo_canceller(), EchoGateMode::kAuto, 0.0f}, false);
}

// Reverberation longer than the envelope assumes (rt60 500 ms, the canceller's defaults): at the path's gain the
// tail in the AI's pauses stays under what the gate learnt, nothing interrupts.
TEST(EchoBargeInSilero, EchoOnlyUnderReverberationLongerThanTheTailNeverInterrupts) {
  expect_echo_only_is_quiet({VadAlgorithm::kSilero, true, EchoCancellerConfig{}}, false, 500);
}

// The WebRTC and energy detectors hear the residual echo as speech nearly all the time, so the echo gate alone
// decides; it keeps the AI from interrupting itself.
TEST(EchoBargeInEnergy, EchoOnlyWithEchoCancellerStartsNoSpeechAndNeverInterrupts) {
  expect_echo_only_is_quiet({VadAlgorithm::kEnergy, true, tuned_echo_canceller()}, true);
}
TEST(EchoBargeInWebRtc, EchoOnlyWithDefaultEchoCancellerNeverInterrupts) {
  expect_echo_only_is_quiet({VadAlgorithm::kWebRtc, true, EchoCancellerConfig{}}, false);
}

// The same two minutes with the echo as loud as the microphone takes without clipping (gain 0.6, rt60 150 ms:
// the echo within 5 dB of the output, its peak under full scale; at 0.7 it peaks at 1.02): with the WebRTC and the energy detectors, whose
// runs cover nearly all of the AI's speech, the echo gate alone keeps the AI from interrupting itself, with the
// canceller's defaults and tuned.
void expect_unclipped_echo_is_quiet(const Setup& setup) {
  float peak = 0.0f;
  expect_echo_only_is_quiet(setup, false, 150, 0.6, &peak);
  EXPECT_LT(peak, 1.0f) << "the scenario must not clip the microphone";
}
TEST(EchoBargeInWebRtc, EchoOnlyWithoutClippingNeverInterrupts) {
  expect_unclipped_echo_is_quiet({VadAlgorithm::kWebRtc, true, EchoCancellerConfig{}});
  expect_unclipped_echo_is_quiet({VadAlgorithm::kWebRtc, true, tuned_echo_canceller()});
}
TEST(EchoBargeInEnergy, EchoOnlyWithoutClippingNeverInterrupts) {
  expect_unclipped_echo_is_quiet({VadAlgorithm::kEnergy, true, EchoCancellerConfig{}});
  expect_unclipped_echo_is_quiet({VadAlgorithm::kEnergy, true, tuned_echo_canceller()});
}

// The same without the echo canceller: the echo alone is speech to the VAD and the AI interrupts itself. Every
// such interruption is false (no user speech behind it) and the AI's answer stops there.
TEST_P(EchoBargeIn, EchoOnlyWithoutEchoCancellerInterruptsTheAi) {
  auto engine = make_engine({GetParam(), false, tuned_echo_canceller(), EchoGateMode::kOff});
  ASSERT_NE(engine, nullptr);
  ConversationScript s = echo_script();
  s.ai = ai_answer(kEchoOnlyMs);
  s.ai.resize(static_cast<size_t>(kAnswerMs * kRate / 1000));
  auto r = run_conversation(*engine, s);
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_GE(r->interrupts.size(), 1u);
  const SimulatedInterrupt& first = r->interrupts[0];
  EXPECT_EQ(first.event.interrupt.reason, InterruptReason::kBargeIn);
  EXPECT_EQ(first.onset_sample, -1) << "the user track is silent";
  EXPECT_TRUE(first.false_interruption);
  EXPECT_EQ(r->false_interruptions, static_cast<int>(r->interrupts.size()));
  // The AI stopped: less than its answer was played, and from the interruption on the output is silent, so the
  // echo stopped too.
  EXPECT_LT(first.event.interrupt.played_samples, static_cast<int64_t>(s.ai.size()));
  EXPECT_EQ(first.event.interrupt.played_samples, first.event.t_samples - r->ai_start_sample);
  for (size_t i = static_cast<size_t>(first.event.t_samples); i < r->played.size(); ++i) {
    ASSERT_EQ(r->played[i], 0.0f) << i;
  }
  const size_t quiet_from = static_cast<size_t>(first.event.t_samples + 60 * kRate / 1000 + 150 * kRate / 1000);
  for (size_t i = quiet_from; i < r->echo.size(); ++i) ASSERT_EQ(r->echo[i], 0.0f) << i;
}

// The user talks over the AI: one interruption, from the user, within 150 ms of the true onset; the output is
// silent from the INTERRUPT's sample on, which is exactly played_samples after the AI started.
// `user_turn_only`: of the ENDPOINTs, exactly one must close after the user's onset (the user's speech is one
// turn); others, closing residual echo the VAD heard before the user spoke, are printed, not failed.
void expect_one_timely_barge_in(const Setup& setup, bool echo, int64_t* latency_samples = nullptr,
                                bool user_turn_only = false, double rt60_ms = 150,
                                ConversationOutcome* outcome = nullptr, int64_t* onset_sample = nullptr) {
  ASSERT_EQ(setenv("AE_SILERO_MODEL", model_path().c_str(), 1), 0);
  auto engine = make_engine(setup);
  ASSERT_NE(engine, nullptr);
  ConversationScript s = echo_script();
  s.echo_enabled = echo;
  s.echo.rt60_ms = rt60_ms;
  s.ai = ai_answer(kEchoOnlyMs);
  s.ai.resize(static_cast<size_t>(kAnswerMs * kRate / 1000));
  int64_t onset = -1;
  s.user = user_track(6000, -22.0, &onset);
  ASSERT_GT(onset, 0);
  if (onset_sample != nullptr) *onset_sample = onset;
  auto r = run_conversation(*engine, s);
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_EQ(r->interrupts.size(), 1u)
      << (r->interrupts.empty() ? std::string("none") : "first at " + std::to_string(r->ms(r->interrupts[0].event.t_samples)) + " ms")
      << ", echo-gated runs " << engine->get_metrics().barge_in_echo_gated_runs;
  const SimulatedInterrupt& in = r->interrupts[0];
  EXPECT_EQ(in.event.interrupt.reason, InterruptReason::kBargeIn);
  EXPECT_EQ(in.onset_sample, onset);
  EXPECT_EQ(in.latency_samples, in.event.t_samples - onset);
  std::printf("barge-in, %s, AEC %s, echo %s: latency %.2f ms (%lld samples) from the true onset\n",
              to_string(setup.vad), setup.aec ? "on" : "off", echo ? "on" : "off", in.latency_ms,
              static_cast<long long>(in.latency_samples));
  EXPECT_GT(in.latency_samples, 0);
  EXPECT_LE(in.latency_ms, kLatencyTargetMs);
  EXPECT_FALSE(in.false_interruption);
  if (user_turn_only) {
    int after_onset = 0;
    for (const AudioEvent& ev : r->events) {
      after_onset += ev.type == AudioEventType::kEndpoint && ev.vad.speech_end_sample > onset;
    }
    std::printf("%d ENDPOINTs, %s\n", r->user_turns, endpoints_of(*r).c_str());
    EXPECT_EQ(after_onset, 1) << endpoints_of(*r);
  } else {
    EXPECT_EQ(r->user_turns, 1) << endpoints_of(*r);
  }
  EXPECT_EQ(r->false_interruptions, 0);
  EXPECT_EQ(in.event.interrupt.played_samples, in.event.t_samples - r->ai_start_sample);
  for (size_t i = static_cast<size_t>(in.event.t_samples); i < r->played.size(); ++i) {
    ASSERT_EQ(r->played[i], 0.0f) << i;
  }
  if (latency_samples != nullptr) *latency_samples = in.latency_samples;
  if (outcome != nullptr) *outcome = std::move(*r);
}

// Without an echo path the latency is the detector's own: onset to confirmation (min_speech_ms and the model's
// frames) plus nothing else, since the confirming tick plays silence.
TEST_P(EchoBargeIn, UserOverTheAiWithoutEchoInterruptsOnceWithinTheLatencyTarget) {
  expect_one_timely_barge_in({GetParam(), false}, false);
}

// The echo gate must not cost a clear near-end talker anything: with the canceller on and no echo path, the
// barge-in comes at the same sample with the gate (auto: on with the canceller) as without it.
TEST_P(EchoBargeIn, EchoGateKeepsTheLatencyWithoutEcho) {
  int64_t gated = -1;
  int64_t ungated = -2;
  expect_one_timely_barge_in({GetParam(), true, EchoCancellerConfig{}, EchoGateMode::kAuto}, false, &gated);
  expect_one_timely_barge_in({GetParam(), true, EchoCancellerConfig{}, EchoGateMode::kOff}, false, &ungated);
  EXPECT_EQ(gated, ungated);
}

EchoCancellerConfig with_vad_copy(EchoCancellerConfig ec) {
  ec.vad_copy = true;
  return ec;
}
// The canceller as it was before the copy was on by default: the barge-in hears the VAD's processed capture.
EchoCancellerConfig without_vad_copy(EchoCancellerConfig ec) {
  ec.vad_copy = false;
  return ec;
}

// The acceptance target with the echo path and the echo canceller at its defaults (the barge-in on its copy), the
// user 3 dB below the echo of the AI at the microphone (gain 0.7, rt60 150 ms): one interruption, the user's,
// exactly 2157 samples (134.81 ms) after the onset, and the user's speech is one turn.
TEST(EchoBargeInSilero, UserOverTheAiWithEchoCancellerInterruptsOnceWithinTheLatencyTarget) {
  int64_t latency = -1;
  expect_one_timely_barge_in({VadAlgorithm::kSilero, true, EchoCancellerConfig{}}, true, &latency, true);
  EXPECT_EQ(latency, 2157);
}

// The same without the copy (the default before): fails. The interruption is the user's, but 844.81 ms after the
// onset (not the first phrase's run), and the endpointer splits the user in 2 turns. With the former, louder echo
// (the reverberant tail unnormalised, ~13 dB over the output) Silero did not hear the user on the canceller's
// output at all. The simulate scenario in tests/integration/simulate_cli.sh (the user louder than the echo)
// meets the target without the copy too, with reverberation as well.
TEST(EchoBargeInSilero, DISABLED_UserOverTheAiWithoutVadCopyInterruptsOnceWithinTheLatencyTarget) {
  expect_one_timely_barge_in({VadAlgorithm::kSilero, true, without_vad_copy(EchoCancellerConfig{})}, true);
}

// What the VAD told the application before `before_sample`: its speech starts and ends and the ENDPOINTs, with their
// samples, "type@t[start, end)" each.
std::vector<std::string> vad_events_before(const ConversationOutcome& r, int64_t before_sample) {
  std::vector<std::string> out;
  for (const AudioEvent& ev : r.events) {
    if (ev.t_samples >= before_sample) continue;
    if (ev.type != AudioEventType::kVadSpeechStart && ev.type != AudioEventType::kVadSpeechEnd &&
        ev.type != AudioEventType::kEndpoint) {
      continue;
    }
    out.push_back(std::string(to_string(ev.type)) + "@" + std::to_string(ev.t_samples) + "[" +
                  std::to_string(ev.vad.speech_start_sample) + ", " + std::to_string(ev.vad.speech_end_sample) + ")");
  }
  return out;
}

// The quiet user (3 dB under the echo) with the canceller's gentler copy (EchoCancellerConfig::vad_copy, kLow)
// heard by the barge-in's own detector: one interruption, the user's, exactly 2157 samples (134.81 ms) after the
// onset, with the detector started from a reset when the AI began. The VAD hears the processed capture as with the
// copy off: until the onset it tells the application exactly what it tells it without the copy, which is nothing
// (the segments the unconverged default canceller's own residual echo of the answer's first 2 s starts are held
// back by the VAD's echo gate and dropped; with that gate off one closes an ENDPOINT, [630, 2550) ms, [630, 830)
// ms without reverberation, none with the tuned canceller), and after the onset the user's speech is one turn
// ([6710, 10460) ms: the VAD hears the user only once the interruption has silenced the echo). The same sample in each case: (a) the echo without reverberation,
// (b) the canceller's defaults (adaptive suppression), (c) the user 3 dB under the echo, and the tuned canceller.
void expect_vad_copy_barge_in(const EchoCancellerConfig& canceller, double rt60_ms, int64_t expected_latency_samples) {
  ConversationOutcome with_copy;
  ConversationOutcome without_copy;
  int64_t latency = -1;
  int64_t onset = -1;
  expect_one_timely_barge_in({VadAlgorithm::kSilero, true, with_vad_copy(canceller)}, true, &latency, true, rt60_ms,
                             &with_copy, &onset);
  EXPECT_EQ(latency, expected_latency_samples);
  ASSERT_GT(onset, 0);
  auto engine = make_engine({VadAlgorithm::kSilero, true, without_vad_copy(canceller)});
  ASSERT_NE(engine, nullptr);
  ConversationScript s = echo_script();
  s.echo.rt60_ms = rt60_ms;
  s.ai = ai_answer(kEchoOnlyMs);
  s.ai.resize(static_cast<size_t>(kAnswerMs * kRate / 1000));
  int64_t same_onset = -1;
  s.user = user_track(6000, -22.0, &same_onset);
  ASSERT_EQ(same_onset, onset);
  auto r = run_conversation(*engine, s);
  ASSERT_TRUE(r.ok()) << r.message();
  without_copy = std::move(*r);
  EXPECT_EQ(vad_events_before(with_copy, onset), vad_events_before(without_copy, onset));
  EXPECT_TRUE(vad_events_before(with_copy, onset).empty()) << vad_events_before(with_copy, onset).front();
  std::printf("before the onset: %zu VAD events with the copy, %zu without; %s\n",
              vad_events_before(with_copy, onset).size(), vad_events_before(without_copy, onset).size(),
              endpoints_of(with_copy).c_str());
}

TEST(EchoBargeInSilero, UserOverTheAiWithVadCopyInterruptsOnceWithinTheLatencyTarget) {
  expect_vad_copy_barge_in(EchoCancellerConfig{}, 150, 2157);
}
TEST(EchoBargeInSilero, UserOverTheAiWithVadCopyWithoutReverberationInterruptsOnceWithinTheLatencyTarget) {
  expect_vad_copy_barge_in(EchoCancellerConfig{}, 0, 2157);
}
TEST(EchoBargeInSilero, UserOverTheAiWithVadCopyAndTunedCancellerInterruptsOnceWithinTheLatencyTarget) {
  expect_vad_copy_barge_in(tuned_echo_canceller(), 150, 2157);
}

// Echo only: with the copy on, the VAD's events are exactly those without it (the copy reaches the barge-in's
// detector only); with the tuned canceller there are none at all, and no ENDPOINT. 30 s (15 s under TSan).
TEST(EchoBargeInSilero, VadCopyLeavesTheVadAsWithoutIt) {
  const int64_t length_ms = std::min<int64_t>(kEchoOnlyMs, 30000);
  for (const EchoCancellerConfig& canceller :
       {EchoCancellerConfig{}, tuned_echo_canceller(), gentle_echo_canceller()}) {
    ConversationOutcome with_copy;
    ConversationOutcome without_copy;
    expect_echo_only_is_quiet({VadAlgorithm::kSilero, true, with_vad_copy(canceller)}, false, 150, 0.7, nullptr,
                              &with_copy, length_ms);
    expect_echo_only_is_quiet({VadAlgorithm::kSilero, true, without_vad_copy(canceller)}, false, 150, 0.7, nullptr,
                              &without_copy, length_ms);
    EXPECT_EQ(vad_events_before(with_copy, INT64_MAX), vad_events_before(without_copy, INT64_MAX));
    EXPECT_EQ(with_copy.vad_speech_starts, without_copy.vad_speech_starts);
    EXPECT_EQ(with_copy.user_turns, without_copy.user_turns);
  }
}
TEST(EchoBargeInSilero, EchoOnlyWithVadCopyAndTunedCancellerStartsNoSpeechAndNeverInterrupts) {
  ConversationOutcome r;
  expect_echo_only_is_quiet({VadAlgorithm::kSilero, true, with_vad_copy(tuned_echo_canceller())}, true, 150, 0.7,
                            nullptr, &r);
  EXPECT_EQ(r.user_turns, 0);
}

// Echo only with the VAD on the copy: the copy's residual echo starts VAD segments, the echo gate (on the
// suppressed capture) holds every run back, nothing interrupts; with the WebRTC detector as well.
TEST(EchoBargeInSilero, EchoOnlyWithVadCopyNeverInterrupts) {
  expect_echo_only_is_quiet({VadAlgorithm::kSilero, true, with_vad_copy(EchoCancellerConfig{})}, false);
  expect_echo_only_is_quiet({VadAlgorithm::kSilero, true, with_vad_copy(tuned_echo_canceller())}, false);
  expect_echo_only_is_quiet({VadAlgorithm::kSilero, true, with_vad_copy(gentle_echo_canceller())}, false, 300);
}
TEST(EchoBargeInWebRtc, EchoOnlyWithVadCopyNeverInterrupts) {
  expect_echo_only_is_quiet({VadAlgorithm::kWebRtc, true, with_vad_copy(EchoCancellerConfig{})}, false);
}
TEST(EchoBargeInEnergy, EchoOnlyWithVadCopyNeverInterrupts) {
  expect_echo_only_is_quiet({VadAlgorithm::kEnergy, true, with_vad_copy(tuned_echo_canceller())}, false);
}

// Reverberation longer than the gate's tail (rt60 500 ms) with the canceller's defaults and the copy: the VAD
// hears the copy's residual echo often (33 VAD segments in 2 minutes) and carries a run on the room's tail into
// the AI's pauses, past the gate's window; the gate's floor holds there too (EchoGate: without render in the
// window only processed power above -60 dBFS is near-end), so all 55 runs are held back. Before that floor, the
// gate opened in such a pause and one run interrupted the AI at 114.085 s.
TEST(EchoBargeInSilero, EchoOnlyWithVadCopyUnderReverberationLongerThanTheTailNeverInterrupts) {
  expect_echo_only_is_quiet({VadAlgorithm::kSilero, true, with_vad_copy(EchoCancellerConfig{})}, false, 500);
}

// The default canceller's residual echo starts VAD segments; with the VAD's echo gate off they reach the
// application as speech (the old behaviour), with it (auto: on with the canceller) the very same segments are
// held back and dropped: none is published, each is counted.
TEST(EchoBargeInSilero, VadEchoGateVetoesTheSegmentsTheEchoStarts) {
  ConversationOutcome off;
  ConversationOutcome on;
  ae::Setup setup{VadAlgorithm::kSilero, true, EchoCancellerConfig{}};
  setup.vad_echo_gate = EchoGateMode::kOff;
  ASSERT_EQ(setenv("AE_SILERO_MODEL", model_path().c_str(), 1), 0);
  auto engine_off = make_engine(setup);
  ASSERT_NE(engine_off, nullptr);
  ConversationScript s = echo_script();
  s.ai = ai_answer(kEchoOnlyMs);
  auto r_off = run_conversation(*engine_off, s);
  ASSERT_TRUE(r_off.ok()) << r_off.message();
  setup.vad_echo_gate = EchoGateMode::kAuto;
  auto engine_on = make_engine(setup);
  ASSERT_NE(engine_on, nullptr);
  auto r_on = run_conversation(*engine_on, s);
  ASSERT_TRUE(r_on.ok()) << r_on.message();
  std::printf("echo only, default canceller: VAD echo gate off: %d VAD segments, %d ENDPOINTs (%s); on: %d, %d, %lld "
              "vetoed\n",
              r_off->vad_speech_starts, r_off->user_turns, endpoints_of(*r_off).c_str(), r_on->vad_speech_starts,
              r_on->user_turns, static_cast<long long>(engine_on->get_metrics().vad_echo_vetoed_segments));
  EXPECT_GT(r_off->vad_speech_starts, 0);
  EXPECT_EQ(engine_off->get_metrics().vad_echo_vetoed_segments, 0);
  EXPECT_EQ(r_on->vad_speech_starts, 0);
  EXPECT_EQ(r_on->user_turns, 0) << endpoints_of(*r_on);
  EXPECT_EQ(engine_on->get_metrics().vad_echo_vetoed_segments, r_off->vad_speech_starts);
  EXPECT_EQ(r_on->interrupts.size(), 0u);
}

// The quiet user of the scenario above, speech-only delivery on: what the engine told the application and
// delivered to it.
struct QuietUserRun {
  ConversationOutcome r;
  std::vector<CaptureChunk> chunks;
  EngineMetrics metrics;
  int64_t onset = -1;
};
void run_user_over_the_ai(const Setup& setup, double level_dbfs, double echo_gain, QuietUserRun* out) {
  ASSERT_EQ(setenv("AE_SILERO_MODEL", model_path().c_str(), 1), 0);
  auto engine = make_engine(setup);
  ASSERT_NE(engine, nullptr);
  ConversationScript s = echo_script();
  s.echo.gain = echo_gain;
  s.ai = ai_answer(kEchoOnlyMs);
  s.ai.resize(static_cast<size_t>(kAnswerMs * kRate / 1000));
  s.user = user_track(6000, level_dbfs, &out->onset);
  ASSERT_GT(out->onset, 0);
  auto r = run_conversation(*engine, s);
  ASSERT_TRUE(r.ok()) << r.message();
  out->r = std::move(*r);
  CaptureChunk chunk;
  while (engine->try_read_chunk(chunk)) out->chunks.push_back(chunk);
  out->metrics = engine->get_metrics();
  EXPECT_EQ(out->metrics.chunks_dropped, 0);
}

// The first VAD_SPEECH_START at or after `from_sample`; nullptr when none.
const AudioEvent* first_speech_start(const ConversationOutcome& r, int64_t from_sample) {
  for (const AudioEvent& ev : r.events) {
    if (ev.type == AudioEventType::kVadSpeechStart && ev.t_samples >= from_sample) return &ev;
  }
  return nullptr;
}

// The delivered chunks are one contiguous stretch from `from_sample` on; returns its end.
int64_t contiguous_from(const std::vector<CaptureChunk>& chunks, int64_t from_sample) {
  int64_t at = from_sample;
  for (const CaptureChunk& c : chunks) {
    EXPECT_EQ(c.info.start_sample, at);
    at = c.info.start_sample + c.info.num_frames;
  }
  return at;
}

// The quiet user (3 dB under the echo, rt60 150 ms, the canceller's defaults, the barge-in on its copy): before
// the user's onset the VAD tells the application nothing and delivers nothing (with the VAD's echo gate off, the
// unconverged canceller's residual echo of the answer's first 2 s closes an ENDPOINT [630, 2550) ms and is
// delivered as speech); the user's own segment starts at the same sample either way and is delivered from its
// padded start on.
TEST(EchoBargeInSilero, VadEchoGateKeepsTheEchoBeforeTheQuietUserFromTheApplication) {
  ae::Setup setup{VadAlgorithm::kSilero, true, with_vad_copy(EchoCancellerConfig{})};
  setup.speech_only = true;
  QuietUserRun on;
  run_user_over_the_ai(setup, -22.0, 0.7, &on);
  setup.vad_echo_gate = EchoGateMode::kOff;
  QuietUserRun off;
  run_user_over_the_ai(setup, -22.0, 0.7, &off);
  ASSERT_EQ(on.onset, off.onset);
  const auto before_on = vad_events_before(on.r, on.onset);
  const auto before_off = vad_events_before(off.r, off.onset);
  std::printf("before the onset: %zu VAD events with the VAD's echo gate, %zu without (%s); %lld vetoed\n",
              before_on.size(), before_off.size(), endpoints_of(off.r).c_str(),
              static_cast<long long>(on.metrics.vad_echo_vetoed_segments));
  EXPECT_TRUE(before_on.empty()) << before_on.front();
  const bool echo_endpoint = std::any_of(before_off.begin(), before_off.end(), [](const std::string& e) {
    return e.rfind("ENDPOINT@", 0) == 0 && e.find("[10080, 40800)") != std::string::npos;
  });
  EXPECT_TRUE(echo_endpoint) << ::testing::PrintToString(before_off);
  EXPECT_GE(on.metrics.vad_echo_vetoed_segments, 1);
  const AudioEvent* user_on = first_speech_start(on.r, on.onset);
  const AudioEvent* user_off = first_speech_start(off.r, off.onset);
  ASSERT_NE(user_on, nullptr);
  ASSERT_NE(user_off, nullptr);
  EXPECT_EQ(user_on->vad.speech_start_sample, user_off->vad.speech_start_sample);
  EXPECT_EQ(user_on->vad.speech_start_sample, 107360);  // 6710 ms: once the interruption silenced the echo
  EXPECT_EQ(user_on->t_samples, user_off->t_samples);
  ASSERT_EQ(on.r.interrupts.size(), 1u);
  EXPECT_EQ(on.r.interrupts[0].latency_samples, 2157);
  // Delivered: the user's speech from its padded start, nothing earlier; without the gate the echo's too.
  ASSERT_FALSE(on.chunks.empty());
  EXPECT_EQ(on.chunks.front().info.start_sample, user_on->vad.padded_start_sample);
  EXPECT_EQ(user_on->vad.padded_start_sample, 107360 - 4800);
  EXPECT_GT(contiguous_from(on.chunks, user_on->vad.padded_start_sample), user_on->t_samples);
  ASSERT_FALSE(off.chunks.empty());
  EXPECT_LT(off.chunks.front().info.start_sample, on.onset);
}

// A segment held until its run shows near-end energy is published with its original start, and speech-only
// delivery gives it from its padded start, sample for sample what it delivers with the VAD's echo gate off: the
// user 6 dB over the output (echo at gain 0.5, gentlest canceller), 200 ms of near-end periods asked for (the
// segmenter confirms speech after 64 ms, so the segment is held for at least 136 ms).
TEST(EchoBargeInSilero, VadEchoGateDeliversAHeldSegmentFromItsPaddedStart) {
  ae::Setup setup{VadAlgorithm::kSilero, true, gentle_echo_canceller()};
  setup.speech_only = true;
  setup.echo_gate_min_near_end_ms = 200;
  QuietUserRun on;
  run_user_over_the_ai(setup, -10.0, 0.5, &on);
  setup.vad_echo_gate = EchoGateMode::kOff;
  QuietUserRun off;
  run_user_over_the_ai(setup, -10.0, 0.5, &off);
  const AudioEvent* user_on = first_speech_start(on.r, on.onset - 4800);
  const AudioEvent* user_off = first_speech_start(off.r, off.onset - 4800);
  ASSERT_NE(user_on, nullptr);
  ASSERT_NE(user_off, nullptr);
  std::printf("the user's segment from %lld: published at %lld held, %lld not\n",
              static_cast<long long>(user_on->vad.speech_start_sample), static_cast<long long>(user_on->t_samples),
              static_cast<long long>(user_off->t_samples));
  EXPECT_EQ(user_on->vad.speech_start_sample, user_off->vad.speech_start_sample);
  EXPECT_EQ(user_on->vad.speech_start_sample, 97120);  // 6070 ms
  EXPECT_EQ(user_off->t_samples, 98240);               // 64 ms of speech and the period's end: 6140 ms
  EXPECT_EQ(user_on->t_samples, 100480);               // held for 140 ms: 6280 ms
  EXPECT_GE(user_on->t_samples - user_off->t_samples, 136 * kRate / 1000);
  EXPECT_EQ(on.metrics.prefix_truncated_samples, 0);
  // What both delivered from the user's padded start on is the same audio, chunk for chunk.
  auto from = [](const std::vector<CaptureChunk>& chunks, int64_t at) {
    std::vector<float> x;
    for (const CaptureChunk& c : chunks) {
      if (c.info.start_sample >= at) x.insert(x.end(), c.samples.begin(), c.samples.end());
    }
    return x;
  };
  const int64_t padded = user_on->vad.padded_start_sample;
  EXPECT_EQ(padded, user_on->vad.speech_start_sample - 4800);
  const std::vector<float> held = from(on.chunks, padded);
  const std::vector<float> direct = from(off.chunks, padded);
  ASSERT_GT(held.size(), static_cast<size_t>(user_on->t_samples - padded));
  EXPECT_EQ(held, direct);
  bool delivered_at_padded = false;
  for (const CaptureChunk& c : on.chunks) delivered_at_padded |= c.info.start_sample == padded;
  EXPECT_TRUE(delivered_at_padded);
}

// The VAD's echo hold on the audio thread: the ticks of the echo-only answer's first 4 s, in which the default
// canceller's residual echo starts three segments that are held and dropped, neither allocate nor lock.
TEST(EchoBargeInSilero, VadEchoHoldNeitherAllocatesNorLocks) {
  if (!rt::probe_installed()) GTEST_SKIP() << "the real-time probe is not linked (sanitizer build)";
  ASSERT_EQ(setenv("AE_SILERO_MODEL", model_path().c_str(), 1), 0);
  auto engine = make_engine({VadAlgorithm::kSilero, true, EchoCancellerConfig{}});
  ASSERT_NE(engine, nullptr);
  ConversationScript s = echo_script();
  s.ai = ai_answer(kEchoOnlyMs);
  s.ai.resize(static_cast<size_t>(4 * kRate));
  rt::reset_violation_counts();
  auto r = run_conversation(*engine, s);
  ASSERT_TRUE(r.ok()) << r.message();
  const auto counts = rt::violation_counts();
  EXPECT_EQ(counts.allocations, 0u);
  EXPECT_EQ(counts.mutex_locks, 0u);
  EXPECT_EQ(engine->get_metrics().vad_echo_vetoed_segments, 3);  // all three of the 2-minute run
  EXPECT_EQ(r->vad_speech_starts, 0);
}

// The quiet user over the AI's echo (gain 0.7, rt60 150 ms) on `engine`: one interruption, the user's, exactly
// `latency_samples` after the onset.
void expect_quiet_user_interrupts_at(AudioEngine& engine, int64_t latency_samples) {
  ConversationScript s = echo_script();
  s.ai = ai_answer(kEchoOnlyMs);
  s.ai.resize(static_cast<size_t>(kAnswerMs * kRate / 1000));
  int64_t onset = -1;
  s.user = user_track(6000, -22.0, &onset);
  ASSERT_GT(onset, 0);
  auto r = run_conversation(engine, s);
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_EQ(r->interrupts.size(), 1u);
  EXPECT_EQ(r->interrupts[0].onset_sample, onset);
  EXPECT_EQ(r->interrupts[0].latency_samples, latency_samples);
  EXPECT_FALSE(r->interrupts[0].false_interruption);
}

// Has the started engine `e` play the first `len` samples of the AI's answer, its quiet echo (0.3) in the
// microphone 60 ms later, and runs 10 ticks.
void play_with_echo(AudioEngine& e, size_t len) {
  const std::vector<float>& ai = ai_answer(kEchoOnlyMs);
  ASSERT_GE(ai.size(), len);
  std::vector<float> mic(len, 0.0f);
  for (size_t i = 960; i < len; ++i) mic[i] = 0.3f * ai[i - 960];
  ASSERT_TRUE(e.queue_playback(ai.data(), len * sizeof(float), AudioFormat{kRate, 1, SampleType::kFloat32}).ok());
  ASSERT_TRUE(e.inject_test_audio(mic).ok());
  ASSERT_TRUE(e.advance_ticks(10).ok());
}

// A run-time VAD change replaces the barge-in's detector too: an engine made with the energy detector and switched
// to Silero before its first tick interrupts the quiet user at the sample an engine made with Silero does.
TEST(EchoBargeInSilero, RunTimeVadChangeSwapsTheBargeInDetectorToo) {
  ASSERT_EQ(setenv("AE_SILERO_MODEL", model_path().c_str(), 1), 0);
  auto engine = make_engine({VadAlgorithm::kEnergy, true, with_vad_copy(EchoCancellerConfig{})});
  ASSERT_NE(engine, nullptr);
  VadConfig v = EngineConfig::fast_lane().vad;
  v.algorithm = VadAlgorithm::kSilero;
  ASSERT_TRUE(engine->enable_vad(v).ok());
  expect_quiet_user_interrupts_at(*engine, 2157);
}

// `ticks` ticks of `engine` neither allocate nor lock on the audio thread; `what` names the case on failure.
void expect_ticks_neither_allocate_nor_lock(AudioEngine& engine, int ticks, const char* what) {
  rt::reset_violation_counts();
  ASSERT_TRUE(engine.advance_ticks(ticks).ok()) << what;
  const auto counts = rt::violation_counts();
  EXPECT_EQ(counts.allocations, 0u) << what;
  EXPECT_EQ(counts.mutex_locks, 0u) << what;
}

// The barge-in's own detector on the audio thread (Silero, the copy on): the ticks in which the AI plays, so that
// the detector hears the copy (from a reset as the AI starts), and the tick that swaps in both detectors after a
// run-time VAD change (enable_vad makes them on this thread) neither allocate nor lock.
TEST(EchoBargeInSilero, BargeInDetectorNeitherAllocatesNorLocks) {
  if (!rt::probe_installed()) GTEST_SKIP() << "the real-time probe is not linked (sanitizer build)";
  ASSERT_EQ(setenv("AE_SILERO_MODEL", model_path().c_str(), 1), 0);
  auto e = make_engine({VadAlgorithm::kSilero, true, with_vad_copy(EchoCancellerConfig{})});
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(e->start_capture().ok());
  play_with_echo(*e, 2 * kRate);
  VadConfig v = EngineConfig::fast_lane().vad;
  v.algorithm = VadAlgorithm::kSilero;
  ASSERT_TRUE(e->enable_vad(v).ok());
  expect_ticks_neither_allocate_nor_lock(*e, 100, "after the run-time VAD change");
  EXPECT_TRUE(e->is_playing_audio());
  EXPECT_EQ(e->get_metrics().interruptions, 0);
}

// The barge-in's own detector exists only while a WebRTC canceller writes its copy (with Silero a second model
// otherwise runs for nothing): made at initialize() when the config asks for the copy, posted when echo
// cancellation or its copy is switched at run time, dropped when it goes; none for the Speex canceller, which
// writes no copy, nor with the VAD off.
TEST(BargeInDetector, MadeOnlyWhileTheCancellerWritesItsCopy) {
  auto engine = make_engine({VadAlgorithm::kEnergy, false});
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(engine->start().ok());
  EXPECT_EQ(engine->get_resource_status().vad_detectors, 1);
  ASSERT_TRUE(engine->enable_echo_cancellation(without_vad_copy(EchoCancellerConfig{})).ok());
  EXPECT_EQ(engine->get_resource_status().vad_detectors, 1);
  ASSERT_TRUE(engine->advance_ticks(2).ok());
  ASSERT_TRUE(engine->enable_echo_cancellation(with_vad_copy(EchoCancellerConfig{})).ok());
  EXPECT_EQ(engine->get_resource_status().vad_detectors, 2);
  ASSERT_TRUE(engine->advance_ticks(2).ok());
  EchoCancellerConfig speex = with_vad_copy(EchoCancellerConfig{});
  speex.implementation = EchoImplementation::kSpeex;
  ASSERT_TRUE(engine->enable_echo_cancellation(speex).ok());
  EXPECT_EQ(engine->get_resource_status().vad_detectors, 1);
  ASSERT_TRUE(engine->enable_echo_cancellation(with_vad_copy(EchoCancellerConfig{})).ok());
  EXPECT_EQ(engine->get_resource_status().vad_detectors, 2);
  ASSERT_TRUE(engine->disable_echo_cancellation().ok());
  EXPECT_EQ(engine->get_resource_status().vad_detectors, 1);
  ASSERT_TRUE(engine->advance_ticks(2).ok());
  ASSERT_TRUE(engine->enable_echo_cancellation(EchoCancellerConfig{}).ok());  // the copy is on by default
  EXPECT_EQ(engine->get_resource_status().vad_detectors, 2);

  EngineConfig c = EngineConfig::fast_lane();
  c.clock.virtual_mode = VirtualClockMode::kInline;
  c.echo.enabled = true;
  c.echo.canceller = with_vad_copy(EchoCancellerConfig{});
  auto with_copy = AudioEngine::create(c);
  ASSERT_TRUE(with_copy->initialize().ok());
  EXPECT_EQ(with_copy->get_resource_status().vad_detectors, 2);
  c.vad.enabled = false;
  auto without_vad = AudioEngine::create(c);
  ASSERT_TRUE(without_vad->initialize().ok());
  EXPECT_EQ(without_vad->get_resource_status().vad_detectors, 0);
  c.vad.enabled = true;
  c.audio.sample_rate_hz = 48000;  // the canceller runs at 16 kHz behind resamplers there: no copy
  auto resampled = AudioEngine::create(c);
  ASSERT_TRUE(resampled->initialize().ok());
  EXPECT_EQ(resampled->get_resource_status().vad_detectors, 1);
}

// The canceller's copy switched on at run time brings the barge-in's own detector with it: an engine made with the
// canceller without the copy (no second detector) and given the copy before its first tick interrupts the quiet
// user at the sample an engine made with the copy does.
TEST(EchoBargeInSilero, RunTimeCopySwitchBringsTheBargeInDetector) {
  ASSERT_EQ(setenv("AE_SILERO_MODEL", model_path().c_str(), 1), 0);
  auto engine = make_engine({VadAlgorithm::kSilero, true, without_vad_copy(EchoCancellerConfig{})});
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->get_resource_status().vad_detectors, 1);
  ASSERT_TRUE(engine->enable_echo_cancellation(with_vad_copy(EchoCancellerConfig{})).ok());
  EXPECT_EQ(engine->get_resource_status().vad_detectors, 2);
  expect_quiet_user_interrupts_at(*engine, 2157);
}

// The ticks that take the barge-in's detector in and out after echo cancellation's copy is switched at run time
// (Silero, the AI playing) neither allocate nor lock.
TEST(EchoBargeInSilero, CopySwitchNeitherAllocatesNorLocks) {
  if (!rt::probe_installed()) GTEST_SKIP() << "the real-time probe is not linked (sanitizer build)";
  ASSERT_EQ(setenv("AE_SILERO_MODEL", model_path().c_str(), 1), 0);
  auto e = make_engine({VadAlgorithm::kSilero, true, without_vad_copy(EchoCancellerConfig{})});
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(e->start().ok());
  play_with_echo(*e, 3 * kRate);
  for (bool copy : {true, false}) {
    ASSERT_TRUE(e->enable_echo_cancellation(copy ? with_vad_copy(EchoCancellerConfig{})
                                                 : without_vad_copy(EchoCancellerConfig{})).ok());
    ASSERT_EQ(e->get_resource_status().vad_detectors, copy ? 2 : 1);
    expect_ticks_neither_allocate_nor_lock(*e, 100, copy ? "copy on" : "copy off");
  }
  EXPECT_TRUE(e->is_playing_audio());
}

// The delay line: without reverberation the echo is the played output, delayed and scaled, sample for sample, and
// the microphone is the user's track plus it.
TEST(RunConversation, EchoIsThePlayedOutputDelayedAndScaled) {
  EngineConfig c = EngineConfig::fast_lane();
  c.clock.virtual_mode = VirtualClockMode::kInline;
  c.barge_in.enabled = false;
  auto engine = AudioEngine::create(c);
  ASSERT_TRUE(engine->initialize().ok());
  ConversationScript s;
  s.ai = ai_answer(kAnswerMs);
  s.ai.resize(3 * kRate);
  s.user.assign(4 * kRate, 0.0f);
  for (size_t i = 0; i < s.user.size(); ++i) s.user[i] = 0.001f * static_cast<float>(i % 7);
  s.ai_at_ms = 205;  // rounded up to the period: 210 ms
  s.echo_enabled = true;
  s.echo.delay_ms = 60;
  s.echo.gain = 0.5;
  auto r = run_conversation(*engine, s);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->ai_start_sample, 210 * kRate / 1000);
  const size_t d = 60 * kRate / 1000;
  ASSERT_EQ(r->played.size(), r->echo.size());
  for (size_t t = 0; t < r->echo.size(); ++t) {
    const float want = t >= d ? 0.5f * r->played[t - d] : 0.0f;
    ASSERT_EQ(r->echo[t], want) << t;
    ASSERT_EQ(r->mic[t], (t < s.user.size() ? s.user[t] : 0.0f) + want) << t;
  }
  EXPECT_TRUE(r->interrupts.empty());
  // An echo delay shorter than one period cannot be simulated: named in the error.
  s.echo.delay_ms = 5;
  auto bad = run_conversation(*engine, s);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), Error::kInvalidArgument);
  EXPECT_NE(bad.message().find("echo.delay_ms = 5"), std::string::npos) << bad.message();
}

// The room's impulse response carries the configured gain as its energy gain, reverberation included (an echo
// path is no amplifier): the gain scales one decaying shape, fixed by the seed.
TEST(RoomResponse, EnergyGainIsTheConfiguredGainSquared) {
  for (double rt60_ms : {50.0, 150.0, 300.0, 500.0}) {
    for (double gain : {0.1, 0.7, 2.0}) {
      EchoPathConfig path;
      path.gain = gain;
      path.rt60_ms = rt60_ms;
      const std::vector<float> h = room_response(path, kRate);
      ASSERT_EQ(h.size(), static_cast<size_t>(0.6 * rt60_ms * kRate / 1000.0)) << rt60_ms;
      double energy = 0.0;
      for (float v : h) energy += static_cast<double>(v) * v;
      EXPECT_NEAR(energy, gain * gain, 1e-5 * gain * gain) << "gain " << gain << ", rt60 " << rt60_ms << " ms";
      // The gain scales one shape (the direct-to-reverberant ratio does not depend on it), and the tail decays:
      // its last 10 % of taps carries far less energy than its first 10 %.
      EchoPathConfig unit = path;
      unit.gain = 1.0;
      const std::vector<float> shape = room_response(unit, kRate);
      ASSERT_EQ(shape.size(), h.size());
      double head = 0.0;
      double last = 0.0;
      const size_t n = h.size();
      for (size_t k = 0; k < n; ++k) {
        ASSERT_NEAR(h[k], gain * shape[k], 1e-6 * gain) << k;
        if (k >= 1 && k <= n / 10) head += static_cast<double>(h[k]) * h[k];
        if (k >= n - n / 10) last += static_cast<double>(h[k]) * h[k];
      }
      EXPECT_LT(last, 1e-2 * head) << rt60_ms;
      // The tail carries most of the energy at these reverberation times: the direct tap alone is not the gain.
      EXPECT_LT(h[0], 0.5 * gain) << rt60_ms;
    }
  }
  EchoPathConfig a;
  a.gain = 0.7;
  a.rt60_ms = 150;
  EchoPathConfig b = a;
  b.seed = 2;
  const std::vector<float> ha = room_response(a, kRate);
  EXPECT_EQ(ha, room_response(a, kRate));
  EXPECT_NE(ha, room_response(b, kRate));
}

TEST(RoomResponse, WithoutReverberationIsTheSingleDirectTap) {
  for (double gain : {0.0, 0.5, 0.7, 10.0}) {
    EchoPathConfig path;
    path.gain = gain;
    path.rt60_ms = 0.0;
    EXPECT_EQ(room_response(path, kRate), std::vector<float>{static_cast<float>(gain)}) << gain;
  }
}

// The true onset: the first loud sample of the run going on at the anchor, pauses shorter than the gap bridged;
// none when the track is quiet there.
TEST(FindSpeechOnset, FindsTheFirstLoudSampleOfTheRunAtTheAnchor) {
  std::vector<float> x(10000, 0.0f);
  x[1000] = 0.5f;                        // an earlier run, 3000 quiet samples before the next
  for (size_t i = 4000; i < 4500; ++i) x[i] = (i % 2 == 0) ? 0.2f : -0.2f;
  for (size_t i = 4700; i < 5000; ++i) x[i] = 0.3f;  // 200-sample pause: the same run
  EXPECT_EQ(find_speech_onset(x, 4800, 6000, 0.1f, 300), 4000);
  EXPECT_EQ(find_speech_onset(x, 4800, 6000, 0.1f, 100), 4700);  // a shorter gap splits the run
  EXPECT_EQ(find_speech_onset(x, 4400, 4600, 0.1f, 300), 4000);  // the end bounds the search
  EXPECT_EQ(find_speech_onset(x, 4900, 4600, 0.1f, 300), -1);    // its last loud sample is too long before
  EXPECT_EQ(find_speech_onset(x, 9000, 10000, 0.1f, 300), -1);   // quiet around the anchor
  EXPECT_EQ(find_speech_onset(x, 4800, 6000, 0.6f, 300), -1);    // nothing at the level
  EXPECT_EQ(first_loud_sample(x, 0.25f), 1000);
  EXPECT_EQ(first_loud_sample(x, 0.35f), 1000);
  EXPECT_EQ(first_loud_sample(x, 0.6f), -1);
}

INSTANTIATE_TEST_SUITE_P(Vad, EchoBargeIn,
                         ::testing::Values(VadAlgorithm::kSilero, VadAlgorithm::kWebRtc, VadAlgorithm::kEnergy),
                         name_of);

}  // namespace
}  // namespace ae
