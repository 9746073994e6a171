// Barge-in on the virtual clock, exact in samples: confirmation after barge_in.min_speech_ms, the fade-out and the
// silence that follows it, played_ms against what the memory sink received, the triggering speech delivered with
// its prefix, stale audio, push-to-talk, and the pause / duck recovery modes with a cough and with real speech.
//
// The user (conversation_rig.hpp) speaks in tone bursts on the period grid, so the run of a barge-in starts at the
// burst's first sample. Defaults: min_speech 64 ms = 1024 samples, confirmed at the end of the 7th period of the
// run (decision tick [onset + 960, onset + 1120)); fade 5 ms = 80 samples.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <thread>
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
constexpr int64_t kFade = 80;               // 5 ms
constexpr int64_t kDecision = 960;          // decision tick start, after the onset (default min_speech)
constexpr int64_t kPad = 4800;              // vad.prefix_padding_ms 300 ms

// The fade's gain for the k-th faded sample, computed as the engine does.
float ramp_gain(float from, float to, int64_t k) {
  const float step = (to - from) / static_cast<float>(kFade + 1);
  return from + step * static_cast<float>(k + 1);
}

// Barge-in confirmed after 500 ms, resumed after 300 ms of quiet, with `recovery`.
EngineConfig recovery_config(BargeInRecovery recovery) {
  EngineConfig c = conversation_config();
  c.barge_in.recovery = recovery;
  c.barge_in.min_speech_ms = 500;
  c.barge_in.resume_after_ms = 300;
  return c;
}

// Speech over the AI: the queue is flushed in the decision tick; the head of that tick's block fades out over
// 80 samples, everything after is exactly 0 (silent within one period of the decision); played_samples equals the
// samples the sink received for the item, faded ones included; the interrupt latency is the distance from the
// onset to the first silent sample.
TEST(EngineBargeIn, ConfirmedSpeechFadesOutAndReportsExactPlayedSamples) {
  ConversationRig r(conversation_config());
  const ToneUser u({500, 1000, 1500});
  const int64_t onset = u.bursts[0].first;
  const auto pcm = ai_pcm(32000);
  r.ai(pcm, 7);
  r.user(u);
  r.run_to(u.size());
  const auto ints = r.of(AudioEventType::kInterrupt);
  ASSERT_EQ(ints.size(), 1u);
  const int64_t decided = onset + kDecision;
  const int64_t silent = decided + kFade;
  EXPECT_EQ(ints[0].t_samples, silent);
  EXPECT_EQ(ints[0].interrupt.reason, InterruptReason::kBargeIn);
  EXPECT_EQ(ints[0].interrupt.item_id, 7u);
  EXPECT_EQ(ints[0].interrupt.played_samples, silent);
  EXPECT_EQ(ints[0].interrupt.flushed_samples, 32000 - silent);
  const auto out = r.sink();
  ASSERT_EQ(static_cast<int64_t>(out.size()), u.size());
  for (int64_t i = 0; i < decided; ++i) ASSERT_EQ(out[i], ai_float(pcm[i])) << i;
  for (int64_t k = 0; k < kFade; ++k) {
    ASSERT_FLOAT_EQ(out[decided + k], ai_float(pcm[decided + k]) * ramp_gain(1.0f, 0.0f, k)) << k;
    ASSERT_NE(out[decided + k], 0.0f);
  }
  int64_t nonzero_samples = 0;
  for (float s : out) nonzero_samples += s != 0.0f ? 1 : 0;
  EXPECT_EQ(nonzero_samples, ints[0].interrupt.played_samples);  // what the sink received is what was reported
  for (int64_t i = silent; i < u.size(); ++i) ASSERT_EQ(out[i], 0.0f) << i;
  auto w = r.e->wait_for_interrupt(1000);
  ASSERT_TRUE(w.ok()) << w.message();
  EXPECT_EQ(w->played_samples, silent);
  EXPECT_DOUBLE_EQ(w->played_ms, 1000.0 * static_cast<double>(silent) / 16000.0);
  EXPECT_DOUBLE_EQ(w->audio_flushed_ms, 1000.0 * static_cast<double>(32000 - silent) / 16000.0);
  EXPECT_EQ(w->at_sample, silent);
  EXPECT_EQ(r.e->wait_for_interrupt(0).error(), Error::kTimeout);  // each INTERRUPT is returned once
  const LatencyStats lat = r.e->get_interrupt_latency();
  EXPECT_EQ(lat.count, 1);
  EXPECT_EQ(lat.last_samples, silent - onset);
  EXPECT_DOUBLE_EQ(lat.last_ms, 1000.0 * static_cast<double>(silent - onset) / 16000.0);
  const ConversationMetrics m = r.e->get_conversation_metrics();
  EXPECT_EQ(m.interruptions, 1);
  EXPECT_EQ(m.barge_ins, 1);
  EXPECT_EQ(m.false_interruptions, 0);
}

// The cut of a full-scale sine (at its peak, where a hard cut steps by 1.0): with the 5 ms fade no sample-to-
// sample step exceeds the tone's own largest step, 2 sin(pi 440 / 16000) = 0.1727, plus 1/81 of full scale for
// the ramp (0.19 in all); without a fade the step is the full peak.
TEST(EngineBargeIn, FadeOutRemovesTheClickOfAFullScaleSine) {
  for (const int fade_ms : {5, 0}) {
    SCOPED_TRACE(fade_ms);
    EngineConfig c = conversation_config();
    c.barge_in.fade_out_ms = fade_ms;
    ConversationRig r(c);
    const ToneUser u({500, 500, 500});
    const int64_t decided = u.bursts[0].first + kDecision;
    std::vector<float> tone(32000);
    for (size_t i = 0; i < tone.size(); ++i) {
      tone[i] = static_cast<float>(std::cos(2.0 * M_PI * 440.0 * (static_cast<double>(i) - static_cast<double>(decided)) / 16000.0));
    }
    ASSERT_TRUE(r.e->queue_playback(tone.data(), tone.size() * sizeof(float),
                                    AudioFormat{16000, 1, SampleType::kFloat32}, 3)
                    .ok());
    r.user(u);
    r.run_to(u.size());
    ASSERT_EQ(r.of(AudioEventType::kInterrupt).size(), 1u);
    const auto out = r.sink();
    const int64_t fade = fade_ms * 16;
    ASSERT_GT(out[decided - 1], 0.98f);  // the cut is at the tone's peak, cos(2 pi 440 / 16000) = 0.985
    float max_step = 0.0f;
    for (int64_t i = decided - 2; i < decided + fade + 2; ++i) max_step = std::max(max_step, std::fabs(out[i + 1] - out[i]));
    if (fade > 0) {
      EXPECT_LE(max_step, 0.19f);
      EXPECT_NE(out[decided + fade - 1], 0.0f);
    } else {
      EXPECT_GE(max_step, 0.98f);
    }
    for (int64_t i = decided + fade; i < u.size(); ++i) ASSERT_EQ(out[i], 0.0f) << i;
  }
}

// Speech-only delivery: the speech that triggered the barge-in reaches the consumer in full, from the padded
// onset on, sample for sample as injected.
TEST(EngineBargeIn, TriggeringSpeechIsDeliveredWithItsPrefix) {
  EngineConfig c = conversation_config();
  c.audio.capture_delivery = CaptureDelivery::kSpeechOnly;
  ConversationRig r(c, true);
  const ToneUser u({500, 1000, 2000});
  const auto [onset, end] = u.bursts[0];
  r.ai(ai_pcm(32000), 4);
  r.user(u);
  r.run_to(u.size());
  ASSERT_EQ(r.of(AudioEventType::kInterrupt).size(), 1u);
  const auto chunks = r.chunks();
  ASSERT_FALSE(chunks.empty());
  EXPECT_EQ(chunks.front().info.start_sample, onset - kPad);
  int64_t pos = onset - kPad;
  for (const auto& ch : chunks) {
    ASSERT_EQ(ch.info.start_sample, pos);  // contiguous, nothing twice
    for (int32_t i = 0; i < ch.info.num_frames; ++i) ASSERT_EQ(ch.samples[i], u.samples[pos + i]) << pos + i;
    pos += ch.info.num_frames;
  }
  EXPECT_GE(pos, end);  // the whole burst and its padding
  EXPECT_EQ(r.e->get_metrics().prefix_truncated_samples, 0);
}

// Audio that keeps arriving for the interrupted item is dropped and counted, never played; a new item plays.
TEST(EngineBargeIn, StaleAudioOfTheInterruptedItemIsDropped) {
  ConversationRig r(conversation_config());
  const ToneUser u({500, 500, 1500});
  const auto pcm = ai_pcm(16000);
  r.ai(pcm, 7);
  r.user(u);
  r.run_to(u.size());
  const auto ints = r.of(AudioEventType::kInterrupt);
  ASSERT_EQ(ints.size(), 1u);
  const int64_t played = ints[0].interrupt.played_samples;
  (void)r.sink();
  r.ai(pcm, 7);  // the speech API streams on for a moment
  EXPECT_EQ(r.e->get_metrics().stale_samples_dropped, 16000);
  const auto next = ai_pcm(800);
  r.ai(next, 8);
  r.run_to(u.size() + 1600);
  const auto out = r.sink();
  for (int64_t i = 0; i < 800; ++i) ASSERT_EQ(out[i], ai_float(next[i])) << i;
  for (int64_t i = 800; i < 1600; ++i) ASSERT_EQ(out[i], 0.0f) << i;
  const auto starts = r.of(AudioEventType::kPlaybackStarted);
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[1].playback.item_id, 8u);
  EXPECT_EQ(starts[1].t_samples, u.size());
  EXPECT_EQ(r.e->played_samples_total(), played + 800);
}

// A 120 ms cough with min_speech 200 ms and recovery off: no interruption, the AI plays on untouched, and the
// unconfirmed suspicion counts as a false interruption once resume_after_ms passed.
TEST(EngineBargeIn, CoughBelowMinSpeechIsAFalseInterruption) {
  EngineConfig c = conversation_config();
  c.barge_in.min_speech_ms = 200;
  ConversationRig r(c);
  const ToneUser u({500, 120, 1000});
  const auto pcm = ai_pcm(24000);
  r.ai(pcm, 2);
  r.user(u);
  r.run_to(u.size());
  EXPECT_TRUE(r.of(AudioEventType::kInterrupt).empty());
  const auto out = r.sink();
  for (int64_t i = 0; i < 24000; ++i) ASSERT_EQ(out[i], ai_float(pcm[i])) << i;
  EXPECT_EQ(r.e->get_conversation_metrics().false_interruptions, 1);
  EXPECT_EQ(r.e->get_conversation_metrics().interruptions, 0);
}

// set_interrupt_threshold: 200 ms of speech at probability >= 0.9; the decision moves to the period in which the
// run reaches 3200 samples. Bad values name their fields.
TEST(EngineBargeIn, InterruptThresholdMovesTheDecision) {
  ConversationRig r(conversation_config());
  ASSERT_TRUE(r.e->set_interrupt_threshold(200, 0.9f).ok());
  const ToneUser u({500, 500, 500});
  r.ai(ai_pcm(24000), 1);
  r.user(u);
  r.run_to(u.size());
  const auto ints = r.of(AudioEventType::kInterrupt);
  ASSERT_EQ(ints.size(), 1u);
  EXPECT_EQ(ints[0].t_samples, u.bursts[0].first + 3200 - kPeriod + kFade);
  const Status bad = r.e->set_interrupt_threshold(-1, 1.5f);
  ASSERT_EQ(bad.error(), Error::kInvalidConfig);
  EXPECT_NE(bad.message().find("barge_in.min_speech_ms = -1"), std::string::npos) << bad.message();
  EXPECT_NE(bad.message().find("barge_in.probability_threshold = 1.5"), std::string::npos) << bad.message();
  EngineConfig c = conversation_config();
  c.barge_in.fade_out_ms = 20;  // longer than the 10 ms period
  c.barge_in.duck_gain = 1.0f;
  const auto issues = validate_config(c);
  ASSERT_EQ(issues.size(), 2u);
  EXPECT_EQ(issues[0].field, "barge_in.fade_out_ms");
  EXPECT_NE(issues[0].valid.find("audio.chunk_duration_ms = 10"), std::string::npos);
  EXPECT_EQ(issues[1].field, "barge_in.duck_gain");
}

// Recovery pause with a cough: the AI fades out at the onset and its queue is held; resume_after_ms of quiet
// after the cough resumes it exactly where it paused (no sample lost or repeated) with a fade-in; played samples
// stay exact across the pause.
TEST(EngineBargeInRecovery, PauseResumesExactlyWhereItPaused) {
  ConversationRig r(recovery_config(BargeInRecovery::kPause));
  const ToneUser u({500, 120, 3500});
  const auto [onset, end] = u.bursts[0];
  const auto pcm = ai_pcm(48000);
  r.ai(pcm, 5);
  r.user(u);
  r.run_to(onset + 2 * kPeriod);
  EXPECT_TRUE(r.e->is_playback_paused());
  EXPECT_TRUE(r.e->is_playing_audio());  // the AI keeps the floor while held
  r.run_to(u.size());
  EXPECT_FALSE(r.e->is_playback_paused());
  const int64_t paused_at = onset + kFade;              // first silent sample
  const int64_t resumed_at = end + 4800;  // resume decided in the tick ending there; the AI plays from the next
  const auto paused = r.of(AudioEventType::kPlaybackPaused);
  const auto resumed = r.of(AudioEventType::kPlaybackResumed);
  ASSERT_EQ(paused.size(), 1u);
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(paused[0].t_samples, onset);
  EXPECT_EQ(paused[0].playback.samples, paused_at);
  EXPECT_EQ(resumed[0].t_samples, resumed_at);
  EXPECT_EQ(resumed[0].playback.samples, paused_at);
  EXPECT_TRUE(r.of(AudioEventType::kInterrupt).empty());
  const auto out = r.sink();
  for (int64_t i = 0; i < onset; ++i) ASSERT_EQ(out[i], ai_float(pcm[i])) << i;
  for (int64_t k = 0; k < kFade; ++k) ASSERT_FLOAT_EQ(out[onset + k], ai_float(pcm[onset + k]) * ramp_gain(1, 0, k));
  for (int64_t i = paused_at; i < resumed_at; ++i) ASSERT_EQ(out[i], 0.0f) << i;
  for (int64_t k = 0; k < kFade; ++k) {
    ASSERT_FLOAT_EQ(out[resumed_at + k], ai_float(pcm[paused_at + k]) * ramp_gain(0, 1, k));
  }
  const int64_t resumed_end = resumed_at + (48000 - paused_at);
  for (int64_t i = resumed_at + kFade; i < resumed_end; ++i) {
    ASSERT_EQ(out[i], ai_float(pcm[paused_at + (i - resumed_at)])) << i;
  }
  const auto done = r.of(AudioEventType::kPlaybackComplete);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].playback.samples, 48000);  // every sample once
  EXPECT_EQ(done[0].t_samples, resumed_end);
  EXPECT_EQ(r.e->get_conversation_metrics().false_interruptions, 1);
  EXPECT_EQ(r.e->get_conversation_metrics().interruptions, 0);
}

// Recovery pause with real speech: the pause holds the AI at the onset, confirmation flushes it; played samples
// are those before the pause, and the interrupt latency is the fade (the output went silent at the pause).
TEST(EngineBargeInRecovery, PauseThenConfirmedSpeechFlushes) {
  ConversationRig r(recovery_config(BargeInRecovery::kPause));
  const ToneUser u({500, 1000, 1000});
  const int64_t onset = u.bursts[0].first;
  r.ai(ai_pcm(48000), 5);
  r.user(u);
  r.run_to(u.size());
  const auto ints = r.of(AudioEventType::kInterrupt);
  ASSERT_EQ(ints.size(), 1u);
  EXPECT_EQ(ints[0].interrupt.played_samples, onset + kFade);
  EXPECT_EQ(ints[0].interrupt.flushed_samples, 48000 - (onset + kFade));
  EXPECT_EQ(ints[0].t_samples, onset + 8000 - kPeriod);  // the decision tick: nothing more played in it
  EXPECT_TRUE(r.of(AudioEventType::kPlaybackResumed).empty());
  const auto out = r.sink();
  for (int64_t i = onset + kFade; i < u.size(); ++i) ASSERT_EQ(out[i], 0.0f) << i;
  EXPECT_EQ(r.e->get_interrupt_latency().last_samples, kFade);
  EXPECT_EQ(r.e->get_conversation_metrics().false_interruptions, 0);
  EXPECT_EQ(r.e->get_conversation_metrics().barge_ins, 1);
  EXPECT_FALSE(r.e->is_playback_paused());
}

// Recovery duck: the AI goes on at duck_gain (samples keep being consumed and counted) and ramps back after a
// cough; nothing is lost.
TEST(EngineBargeInRecovery, DuckLowersTheAiAndRestoresIt) {
  EngineConfig c = recovery_config(BargeInRecovery::kDuck);
  c.barge_in.duck_gain = 0.25f;
  ConversationRig r(c);
  const ToneUser u({500, 120, 3000});
  const auto [onset, end] = u.bursts[0];
  const auto pcm = ai_pcm(48000);
  r.ai(pcm, 6);
  r.user(u);
  r.run_to(u.size());
  const int64_t restore = end + 4800 - kPeriod;  // the resume tick (ending 300 ms after the cough) ramps up
  const auto resumed = r.of(AudioEventType::kPlaybackResumed);
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].t_samples, restore);
  EXPECT_EQ(resumed[0].playback.samples, restore);
  const auto out = r.sink();
  for (int64_t i = 0; i < onset; ++i) ASSERT_EQ(out[i], ai_float(pcm[i])) << i;
  for (int64_t k = 0; k < kFade; ++k) ASSERT_FLOAT_EQ(out[onset + k], ai_float(pcm[onset + k]) * ramp_gain(1, 0.25f, k));
  for (int64_t i = onset + kFade; i < restore; ++i) ASSERT_EQ(out[i], ai_float(pcm[i]) * 0.25f) << i;
  for (int64_t k = 0; k < kFade; ++k) {
    ASSERT_FLOAT_EQ(out[restore + k], ai_float(pcm[restore + k]) * ramp_gain(0.25f, 1, k));
  }
  for (int64_t i = restore + kFade; i < 48000; ++i) ASSERT_EQ(out[i], ai_float(pcm[i])) << i;
  EXPECT_EQ(r.e->get_conversation_metrics().false_interruptions, 1);
  EXPECT_TRUE(r.of(AudioEventType::kInterrupt).empty());
}

// Push-to-talk: speech over the AI does not interrupt it (the VAD never does in manual mode); pressing the button
// does, in the next tick, with the fade.
TEST(EngineBargeIn, PushToTalkPressIsTheBargeInInManualMode) {
  ConversationRig r(conversation_config());
  EXPECT_EQ(r.e->set_push_to_talk(true).error(), Error::kInvalidArgument);  // automatic mode
  ASSERT_TRUE(r.e->set_turn_taking_mode(TurnTakingMode::kManual).ok());
  const ToneUser u({500, 500, 500});
  r.ai(ai_pcm(40000), 9);
  r.user(u);
  r.run_to(u.size());
  EXPECT_TRUE(r.of(AudioEventType::kInterrupt).empty());
  ASSERT_TRUE(r.e->set_push_to_talk(true).ok());
  r.run_to(u.size() + kPeriod);
  const auto ints = r.of(AudioEventType::kInterrupt);
  ASSERT_EQ(ints.size(), 1u);
  EXPECT_EQ(ints[0].interrupt.reason, InterruptReason::kBargeIn);
  EXPECT_EQ(ints[0].interrupt.played_samples, u.size() + kFade);
  EXPECT_EQ(r.e->get_interrupt_latency().last_samples, kFade);  // from the press's tick to silence
}

}  // namespace
}  // namespace ae

namespace ae {
namespace {

// Ticks that run by themselves (real-time virtual clock): interrupt_playback() and force_turn_change() take effect
// in the next tick, with the fade; played_samples still equals what the sink received for the item. The recovery
// and push-to-talk paths run on the audio thread without allocating or locking.
TEST(EngineBargeInLive, InterruptInTheNextTickFadesAndCountsExactly) {
  EngineConfig c = conversation_config();
  c.clock.virtual_mode = VirtualClockMode::kRealtime;
  c.barge_in.recovery = BargeInRecovery::kPause;
  c.barge_in.min_speech_ms = 200;
  auto e = AudioEngine::create(c);
  ASSERT_TRUE(e->start().ok());
  rt::reset_violation_counts();
  const auto pcm = ai_pcm(32000);
  ASSERT_TRUE(e->queue_playback(pcm.data(), pcm.size() * 2, 4).ok());
  const ToneUser cough({100, 60, 400});  // pauses and resumes the AI on the audio thread
  ASSERT_TRUE(e->inject_test_audio(cough.samples).ok());
  while (e->played_samples_total() < 12000) std::this_thread::yield();
  auto r = e->interrupt_playback(InterruptReason::kUser, 2000);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->item_id, 4u);
  EXPECT_EQ(r->played_samples + r->flushed_samples, 32000);
  // The sink: the item (paused once by the cough, the pause silent) up to the cut, then only zeros.
  std::vector<float> out(32000 * 2);
  size_t got = 0;
  while (got < static_cast<size_t>(r->at_sample) + kPeriod) {
    got += e->read_played_audio(out.data() + got, out.size() - got);
  }
  int64_t nonzero = 0;
  for (size_t i = 0; i < got; ++i) nonzero += out[i] != 0.0f ? 1 : 0;
  EXPECT_EQ(nonzero, r->played_samples);
  EXPECT_NE(out[static_cast<size_t>(r->at_sample) - 1], 0.0f);
  for (size_t i = static_cast<size_t>(r->at_sample); i < got; ++i) ASSERT_EQ(out[i], 0.0f) << i;
  EXPECT_EQ(e->get_conversation_metrics().false_interruptions, 1);
  ASSERT_TRUE(e->set_turn_taking_mode(TurnTakingMode::kManual).ok());
  ASSERT_TRUE(e->set_push_to_talk(true).ok());
  auto s = e->force_turn_change(ConversationState::kIdle, 2000);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(*s, ConversationState::kIdle);
  ASSERT_TRUE(e->shutdown().ok());
  const auto counts = rt::violation_counts();
  if (rt::probe_installed()) {
    EXPECT_EQ(counts.allocations, 0u);
    EXPECT_EQ(counts.mutex_locks, 0u);
  }
}

}  // namespace
}  // namespace ae
