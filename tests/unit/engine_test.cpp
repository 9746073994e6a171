// The AudioEngine facade on the virtual clock: lifecycle, playback accounting, interruption, barge-in, chunks,
// overflow policies, config updates, stream buffers. Timing is asserted exactly, in samples.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "audioengine/speech_synth.hpp"
#include "event_log.hpp"
#include "test_support.hpp"

namespace ae {
namespace {

constexpr int kRate = 16000;
constexpr size_t kPeriod = 160;  // 10 ms at 16 kHz

EngineConfig inline_config() {
  EngineConfig c = EngineConfig::fast_lane();
  c.clock.virtual_mode = VirtualClockMode::kInline;
  c.sink.memory_capacity_ms = 60000;
  return c;
}

std::unique_ptr<AudioEngine> started(const EngineConfig& c) {
  auto e = AudioEngine::create(c);
  EXPECT_TRUE(e->start().ok());
  return e;
}

// PCM16 values that survive int16 -> float -> int16 exactly, distinct per sample.
std::vector<int16_t> ramp_pcm(size_t n, int16_t base = 1000) {
  std::vector<int16_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<int16_t>(base + static_cast<int>(i % 2000));
  return v;
}

std::vector<float> drain_sink(AudioEngine& e) {
  std::vector<float> out;
  std::vector<float> buf(4096);
  size_t n;
  while ((n = e.read_played_audio(buf.data(), buf.size())) > 0) out.insert(out.end(), buf.begin(), buf.begin() + static_cast<long>(n));
  return out;
}

using test::EventLog;

TEST(EngineLifecycle, InitializeStartShutdownAreIdempotent) {
  auto e = AudioEngine::create(inline_config());
  EXPECT_FALSE(e->is_initialized());
  ASSERT_TRUE(e->initialize().ok());
  ASSERT_TRUE(e->initialize().ok());
  EXPECT_TRUE(e->is_initialized());
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(e->start().ok());
  EXPECT_TRUE(e->is_running());
  ASSERT_TRUE(e->shutdown().ok());
  ASSERT_TRUE(e->shutdown().ok());
  EXPECT_FALSE(e->is_initialized());
  EXPECT_FALSE(e->is_running());
  // And it comes back.
  ASSERT_TRUE(e->start().ok());
  EXPECT_TRUE(e->advance(100).ok());
  EXPECT_EQ(e->now_samples(), 1600);
}

TEST(EngineLifecycle, InvalidConfigNamesEveryBadField) {
  EngineConfig c = inline_config();
  c.audio.sample_rate_hz = 7;
  c.queues.playback_capacity_ms = -5;
  c.events.dispatch_interval_us = 0;
  auto e = AudioEngine::create(c);
  Status st = e->initialize();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error(), Error::kInvalidConfig);
  EXPECT_NE(st.message().find("audio.sample_rate_hz = 7"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("queues.playback_capacity_ms = -5"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("events.dispatch_interval_us = 0"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("valid: 8000..48000"), std::string::npos) << st.message();
  auto issues = validate_config(c);
  EXPECT_EQ(issues.size(), 3u);
}

TEST(EngineLifecycle, PresetsValidate) {
  for (const EngineConfig& c : {EngineConfig::fast_lane(), EngineConfig::quality(), EngineConfig::telephony(),
                                EngineConfig::wideband(), EngineConfig{}}) {
    EXPECT_TRUE(validate_config(c).empty()) << format_config_issues(validate_config(c));
  }
  EXPECT_EQ(EngineConfig::telephony().audio.sample_rate_hz, 8000);
  EXPECT_EQ(EngineConfig::telephony().audio.chunk_sample_type, SampleType::kMulaw);
  EXPECT_EQ(EngineConfig::fast_lane().audio.chunk_duration_ms, 10);
}

TEST(EngineLifecycle, CallsBeforeInitializeFailClearly) {
  auto e = AudioEngine::create(inline_config());
  std::vector<int16_t> pcm(160);
  Status st = e->queue_playback(pcm.data(), pcm.size() * 2);
  EXPECT_EQ(st.error(), Error::kNotInitialized);
  EXPECT_EQ(e->interrupt_playback().error(), Error::kNotInitialized);
  EXPECT_EQ(e->advance(10).error(), Error::kNotRunning);
}

TEST(EngineLifecycle, ResourceStatusReportsThreadsAndBuffers) {
  EngineConfig c = inline_config();
  c.clock.virtual_mode = VirtualClockMode::kStepped;
  auto e = started(c);
  ResourceStatus s = e->get_resource_status();
  EXPECT_TRUE(s.initialized);
  EXPECT_TRUE(s.running);
  EXPECT_EQ(s.clock_mode, "stepped");
  ASSERT_EQ(s.threads.size(), 2u);
  EXPECT_EQ(s.threads[0], "ae-audio");
  EXPECT_EQ(s.threads[1], "ae-events");
  // The playback queue alone holds 60 s of float samples.
  EXPECT_GE(s.audio_buffer_bytes, 60u * kRate * sizeof(float));
  // The threads really carry those names.
  int found = 0;
  for (const auto& name : {"ae-audio", "ae-events"}) {
    std::string cmd = "grep -qx " + std::string(name) + " /proc/" + std::to_string(getpid()) + "/task/*/comm";
    if (test::run_command(cmd) == 0) ++found;
  }
  EXPECT_EQ(found, 2);
}

TEST(EnginePlayback, PlayedAudioIsExactlyWhatWasQueued) {
  auto e = started(inline_config());
  auto pcm = ramp_pcm(1000);
  ASSERT_TRUE(e->queue_playback(pcm.data(), pcm.size() * 2, 1).ok());
  ASSERT_TRUE(e->advance(100).ok());  // 10 ticks = 1600 samples, of which 1000 are audio
  auto out = drain_sink(*e);
  ASSERT_EQ(out.size(), 1600u);
  for (size_t i = 0; i < 1000; ++i) ASSERT_EQ(out[i], pcm[i] / 32768.0f) << i;
  for (size_t i = 1000; i < 1600; ++i) ASSERT_EQ(out[i], 0.0f) << i;
  EXPECT_EQ(e->played_samples_total(), 1000);
  EXPECT_FALSE(e->is_playing_audio());
}

TEST(EnginePlayback, InterruptReportsPlayedAndFlushedExactly) {
  auto e = started(inline_config());
  EventLog log;
  log.attach(*e);
  auto pcm = ramp_pcm(8000);  // 500 ms
  ASSERT_TRUE(e->queue_playback(pcm.data(), pcm.size() * 2, 42).ok());
  ASSERT_TRUE(e->advance(130).ok());  // 13 ticks
  EXPECT_TRUE(e->is_playing_audio());
  auto r = e->interrupt_playback();
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_TRUE(r->was_playing);
  EXPECT_EQ(r->item_id, 42u);
  EXPECT_EQ(r->played_samples, 13 * 160);
  EXPECT_EQ(r->flushed_samples, 8000 - 13 * 160);
  EXPECT_DOUBLE_EQ(r->played_ms, 130.0);
  EXPECT_DOUBLE_EQ(r->audio_flushed_ms, 500.0 - 130.0);
  EXPECT_EQ(r->at_sample, 13 * 160);
  ASSERT_TRUE(e->advance(50).ok());
  auto out = drain_sink(*e);
  ASSERT_EQ(out.size(), 18u * 160);
  // The played part is the queued audio, and the output is silent from the very next tick.
  for (size_t i = 0; i < 13 * 160; ++i) ASSERT_EQ(out[i], pcm[i] / 32768.0f) << i;
  for (size_t i = 13 * 160; i < out.size(); ++i) ASSERT_EQ(out[i], 0.0f) << i;
  EXPECT_EQ(e->played_samples_total(), 13 * 160);
  ASSERT_TRUE(e->wait_until_dispatched(2000));
  auto ints = log.of(AudioEventType::kInterrupt);
  ASSERT_EQ(ints.size(), 1u);
  EXPECT_EQ(ints[0].interrupt.played_samples, 13 * 160);
  EXPECT_EQ(ints[0].interrupt.flushed_samples, 8000 - 13 * 160);
  EXPECT_EQ(ints[0].interrupt.item_id, 42u);
  EXPECT_EQ(ints[0].interrupt.reason, InterruptReason::kUser);
}

TEST(EnginePlayback, AudioForAnInterruptedItemIsDroppedAndCounted) {
  auto e = started(inline_config());
  auto pcm = ramp_pcm(3200);
  ASSERT_TRUE(e->queue_playback(pcm.data(), pcm.size() * 2, 5).ok());
  ASSERT_TRUE(e->advance(50).ok());
  ASSERT_TRUE(e->interrupt_playback().ok());
  // The speech API streams on for item 5: never played.
  ASSERT_TRUE(e->queue_playback(pcm.data(), 1600 * 2, 5).ok());
  ASSERT_TRUE(e->advance(200).ok());
  EXPECT_EQ(e->played_samples_total(), 800);
  EXPECT_EQ(e->get_metrics().stale_samples_dropped, 1600);
  // A new item plays normally.
  ASSERT_TRUE(e->queue_playback(pcm.data(), 320 * 2, 6).ok());
  ASSERT_TRUE(e->advance(50).ok());
  EXPECT_EQ(e->played_samples_total(), 800 + 320);
}

TEST(EnginePlayback, PlayedPositionIsPerItem) {
  auto e = started(inline_config());
  EventLog log;
  log.attach(*e);
  auto pcm = ramp_pcm(400);
  ASSERT_TRUE(e->queue_playback(pcm.data(), 400 * 2, 1).ok());
  ASSERT_TRUE(e->queue_playback(pcm.data(), 400 * 2, 2).ok());
  ASSERT_TRUE(e->advance(60).ok());  // 960 samples: item 1 (400) + item 2 (400) + silence
  ASSERT_TRUE(e->queue_playback(pcm.data(), 400 * 2, 3).ok());
  ASSERT_TRUE(e->advance(10).ok());  // 160 of item 3
  auto r = e->interrupt_playback();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->item_id, 3u);
  EXPECT_EQ(r->played_samples, 160);
  EXPECT_EQ(r->flushed_samples, 240);
  ASSERT_TRUE(e->wait_until_dispatched(2000));
  auto starts = log.of(AudioEventType::kPlaybackStarted);
  ASSERT_EQ(starts.size(), 3u);
  EXPECT_EQ(starts[0].playback.item_id, 1u);
  EXPECT_EQ(starts[0].t_samples, 0);
  EXPECT_EQ(starts[1].playback.item_id, 2u);
  EXPECT_EQ(starts[1].t_samples, 400);
  EXPECT_EQ(starts[2].playback.item_id, 3u);
  EXPECT_EQ(starts[2].t_samples, 960);
  auto done = log.of(AudioEventType::kPlaybackComplete);
  ASSERT_EQ(done.size(), 2u);  // one per item: item 1 where item 2 begins, item 2 where the queue ran dry
  EXPECT_EQ(done[0].playback.item_id, 1u);
  EXPECT_EQ(done[0].playback.samples, 400);
  EXPECT_EQ(done[0].t_samples, 400);
  EXPECT_EQ(done[1].playback.item_id, 2u);
  EXPECT_EQ(done[1].playback.samples, 400);
  EXPECT_EQ(done[1].t_samples, 800);
  auto drained = log.of(AudioEventType::kQueueDrained);
  ASSERT_EQ(drained.size(), 1u);
  EXPECT_EQ(drained[0].t_samples, 800);
  EXPECT_EQ(drained[0].playback.samples, 800);
}

TEST(EnginePlayback, FlushReturnsExactBytesBetweenTicks) {
  auto e = started(inline_config());
  auto pcm = ramp_pcm(1000);
  ASSERT_TRUE(e->queue_playback(pcm.data(), pcm.size() * 2).ok());
  ASSERT_TRUE(e->advance(20).ok());
  EXPECT_EQ(e->flush_playback_queue(), (1000u - 320u) * 2u);
  EXPECT_EQ(e->get_queue_depths().playback_samples, 0u);
  EXPECT_EQ(e->get_metrics().flushed_samples, 680);
  EXPECT_EQ(e->flush_playback_queue(), 0u);
}

TEST(EnginePlayback, StopPlaybackSilencesUntilPlayAudio) {
  auto e = started(inline_config());
  auto pcm = ramp_pcm(800);
  ASSERT_TRUE(e->queue_playback(pcm.data(), pcm.size() * 2).ok());
  ASSERT_TRUE(e->stop_playback().ok());
  ASSERT_TRUE(e->queue_playback(pcm.data(), pcm.size() * 2).ok());
  ASSERT_TRUE(e->advance(100).ok());
  EXPECT_EQ(e->played_samples_total(), 0);
  ASSERT_TRUE(e->play_audio(pcm.data(), 160 * 2).ok());
  ASSERT_TRUE(e->advance(100).ok());
  EXPECT_EQ(e->played_samples_total(), 800 + 160);
}

TEST(EnginePlayback, OverflowPolicies) {
  EngineConfig c = inline_config();
  c.queues.playback_capacity_ms = 100;  // 1600 samples -> ring of 2048
  {
    c.queues.playback_overflow = OverflowPolicy::kDropNewest;
    auto e = started(c);
    const size_t cap = e->get_playback_queue().capacity_samples();
    auto pcm = ramp_pcm(cap + 500);
    EXPECT_TRUE(e->queue_playback(pcm.data(), pcm.size() * 2).ok());
    EXPECT_EQ(e->get_metrics().playback_dropped_samples, 500);
    EXPECT_EQ(e->get_queue_depths().playback_samples, cap);
  }
  {
    c.queues.playback_overflow = OverflowPolicy::kDropOldest;
    auto e = started(c);
    const size_t cap = e->get_playback_queue().capacity_samples();
    auto pcm = ramp_pcm(cap);
    ASSERT_TRUE(e->queue_playback(pcm.data(), pcm.size() * 2).ok());
    auto more = ramp_pcm(300, -5000);
    ASSERT_TRUE(e->queue_playback(more.data(), more.size() * 2).ok());
    EXPECT_EQ(e->get_metrics().playback_dropped_samples, 300);
    ASSERT_TRUE(e->advance(static_cast<int64_t>(cap / 16) + 20).ok());
    auto out = drain_sink(*e);
    // The oldest 300 went; the newest made it, in order.
    ASSERT_GE(out.size(), cap);
    EXPECT_EQ(out[0], pcm[300] / 32768.0f);
    EXPECT_EQ(out[cap - 300], more[0] / 32768.0f);
    EXPECT_EQ(out[cap - 1], more[299] / 32768.0f);
  }
  {
    c.queues.playback_overflow = OverflowPolicy::kBlockProducer;
    auto e = started(c);
    const size_t cap = e->get_playback_queue().capacity_samples();
    auto pcm = ramp_pcm(cap + 10);
    // Nothing would ever make room between manual ticks: the call fails at once, naming the queue and policy.
    Status st = e->queue_playback(pcm.data(), pcm.size() * 2);
    EXPECT_EQ(st.error(), Error::kQueueFull);
    EXPECT_NE(st.message().find("block_producer"), std::string::npos);
    EXPECT_EQ(e->get_metrics().playback_dropped_samples, 10);
    EXPECT_FALSE(e->play_audio_sync(pcm.data(), 160 * 2));
  }
}

TEST(EnginePlayback, BlockProducerWaitsForTheFreeRunningClock) {
  EngineConfig c = inline_config();
  c.clock.virtual_mode = VirtualClockMode::kRealtime;
  c.queues.playback_capacity_ms = 100;
  c.queues.playback_overflow = OverflowPolicy::kBlockProducer;
  auto e = started(c);
  auto pcm = ramp_pcm(e->get_playback_queue().capacity_samples() + 800);  // 50 ms more than fits
  EXPECT_TRUE(e->queue_playback(pcm.data(), pcm.size() * 2).ok());
  EXPECT_EQ(e->get_metrics().playback_dropped_samples, 0);
}

TEST(EngineCapture, ChunksCarryTheInjectedAudioTickByTick) {
  auto e = started(inline_config());
  ASSERT_TRUE(e->start_capture().ok());
  auto pcm = ramp_pcm(480, -3000);
  ASSERT_TRUE(e->inject_test_audio(pcm.data(), pcm.size() * 2, AudioFormat{kRate, 1, SampleType::kPcm16}).ok());
  ASSERT_TRUE(e->advance(40).ok());
  CaptureChunk chunk;
  std::vector<int16_t> got;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(e->try_read_chunk(chunk)) << i;
    EXPECT_EQ(chunk.info.sequence, static_cast<uint64_t>(i));
    EXPECT_EQ(chunk.info.start_sample, i * 160);
    EXPECT_EQ(chunk.info.num_frames, 160);
    ASSERT_EQ(chunk.data.size(), 320u);
    const auto* s = reinterpret_cast<const int16_t*>(chunk.data.data());
    got.insert(got.end(), s, s + 160);
  }
  EXPECT_FALSE(e->try_read_chunk(chunk));
  for (size_t i = 0; i < 480; ++i) ASSERT_EQ(got[i], pcm[i]) << i;
  for (size_t i = 480; i < 640; ++i) ASSERT_EQ(got[i], 0) << i;
  EXPECT_EQ(e->get_metrics().source_idle_samples, 160);
  ASSERT_TRUE(e->stop_capture().ok());
  ASSERT_TRUE(e->advance(40).ok());
  EXPECT_FALSE(e->try_read_chunk(chunk));
}

TEST(EngineCapture, InjectedAudioIsConvertedToTheEngineFormat) {
  auto e = started(inline_config());
  ASSERT_TRUE(e->start_capture().ok());
  // 100 ms of 48 kHz stereo 1 kHz tone -> 1600 samples at 16 kHz mono.
  auto tone = test::sine(1000, 48000, 4800, 0.5);
  std::vector<int16_t> stereo(9600);
  for (size_t i = 0; i < 4800; ++i) stereo[2 * i] = stereo[2 * i + 1] = static_cast<int16_t>(tone[i] * 32767);
  ASSERT_TRUE(e->inject_test_audio(stereo.data(), stereo.size() * 2, AudioFormat{48000, 2, SampleType::kPcm16}).ok());
  const size_t queued = e->get_queue_depths().capture_samples;
  EXPECT_NEAR(static_cast<double>(queued), 1600.0, 40.0);
  // Odd byte counts are rejected with the reason.
  Status st = e->inject_test_audio(stereo.data(), 3, AudioFormat{48000, 2, SampleType::kPcm16});
  EXPECT_EQ(st.error(), Error::kInvalidArgument);
  EXPECT_NE(st.message().find("num_bytes = 3"), std::string::npos) << st.message();
}

TEST(EngineCapture, TelephonyChunksAreMulaw) {
  EngineConfig c = EngineConfig::telephony();
  c.clock.virtual_mode = VirtualClockMode::kInline;
  auto e = started(c);
  ASSERT_TRUE(e->start_capture().ok());
  std::vector<float> x(160, 0.25f);
  ASSERT_TRUE(e->inject_test_audio(x).ok());
  ASSERT_TRUE(e->advance(20).ok());
  CaptureChunk chunk;
  ASSERT_TRUE(e->try_read_chunk(chunk));
  EXPECT_EQ(chunk.format.sample_type, SampleType::kMulaw);
  ASSERT_EQ(chunk.data.size(), 160u);
  EXPECT_EQ(chunk.data[0], linear_to_ulaw(8192));
}

TEST(EngineBargeIn, SpeechDuringPlaybackSilencesTheSameTick) {
  EngineConfig c = inline_config();
  c.queues.capture_capacity_ms = 10000;
  auto e = started(c);
  EventLog log;
  log.attach(*e);
  ASSERT_TRUE(e->start_capture().ok());
  auto ai = ramp_pcm(16000 * 3);  // 3 s of AI audio
  ASSERT_TRUE(e->queue_playback(ai.data(), ai.size() * 2, 9).ok());
  // 1 s of quiet room, then the user speaks.
  std::vector<float> mic(16000, 0.0f);
  uint32_t seed = 1;
  for (auto& s : mic) {
    seed = seed * 1664525u + 1013904223u;
    s = (static_cast<float>(seed >> 8) / 16777216.0f - 0.5f) * 0.002f;
  }
  auto speech = synthesize_speech("Stop, please wait a moment.", SpeechOptions{});
  ASSERT_TRUE(speech.ok()) << speech.message();
  mic.insert(mic.end(), speech->begin(), speech->end());
  ASSERT_TRUE(e->inject_test_audio(mic).ok());
  ASSERT_TRUE(e->advance(2000).ok());
  ASSERT_TRUE(e->wait_until_dispatched(2000));
  auto starts = log.of(AudioEventType::kVadSpeechStart);
  ASSERT_GE(starts.size(), 1u);
  auto ints = log.of(AudioEventType::kInterrupt);
  ASSERT_EQ(ints.size(), 1u);
  // The decision is taken in the tick that ends at the VAD event's time; that tick's output fades out over its
  // first barge_in.fade_out_ms (5 ms = 80 samples, which reach the sink and count as played) and is silent after.
  const int64_t decision_tick_start = starts[0].t_samples - static_cast<int64_t>(kPeriod);
  const int64_t silent_from = decision_tick_start + 80;
  EXPECT_EQ(ints[0].t_samples, silent_from);
  EXPECT_EQ(ints[0].interrupt.reason, InterruptReason::kBargeIn);
  EXPECT_EQ(ints[0].interrupt.played_samples, silent_from);
  EXPECT_EQ(ints[0].interrupt.item_id, 9u);
  EXPECT_EQ(ints[0].interrupt.flushed_samples, static_cast<int64_t>(ai.size()) - silent_from);
  auto out = drain_sink(*e);
  for (size_t i = 0; i < static_cast<size_t>(silent_from); ++i) ASSERT_NE(out[i], 0.0f) << i;
  for (size_t i = static_cast<size_t>(silent_from); i < out.size(); ++i) ASSERT_EQ(out[i], 0.0f) << i;
  // The onset the VAD reports lies after the true start of the speech clip and before the decision.
  EXPECT_GE(starts[0].vad.speech_start_sample, 16000 - 160);
  EXPECT_LE(starts[0].vad.speech_start_sample, decision_tick_start);
  EXPECT_EQ(e->get_metrics().barge_ins, 1);
}

TEST(EngineBargeIn, DisabledBargeInKeepsPlaying) {
  EngineConfig c = inline_config();
  c.barge_in.enabled = false;
  auto e = started(c);
  auto ai = ramp_pcm(16000);
  ASSERT_TRUE(e->queue_playback(ai.data(), ai.size() * 2, 1).ok());
  auto speech = synthesize_speech("Hello there, can you hear me?", SpeechOptions{});
  ASSERT_TRUE(speech.ok());
  ASSERT_TRUE(e->inject_test_audio(*speech).ok());
  ASSERT_TRUE(e->advance(1200).ok());
  EXPECT_GE(e->get_metrics().vad_speech_starts, 1);
  EXPECT_EQ(e->get_metrics().interruptions, 0);
  EXPECT_EQ(e->played_samples_total(), 16000);
}

TEST(EngineConfigUpdate, HotAndColdSettingsAreReported) {
  auto e = started(inline_config());
  EngineConfig c = e->config();
  c.vad.activation_threshold = 0.7f;
  c.barge_in.enabled = false;
  c.audio.sample_rate_hz = 24000;
  auto r = e->update_config(c);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_NE(std::find(r->applied.begin(), r->applied.end(), "vad.activation_threshold"), r->applied.end());
  EXPECT_NE(std::find(r->applied.begin(), r->applied.end(), "barge_in.enabled"), r->applied.end());
  ASSERT_EQ(r->needs_restart.size(), 1u);
  EXPECT_EQ(r->needs_restart[0], "audio.sample_rate_hz");
  EXPECT_EQ(e->config().audio.sample_rate_hz, kRate);  // still running at the old rate
  EXPECT_FALSE(e->config().barge_in.enabled);
  ASSERT_TRUE(e->shutdown().ok());
  ASSERT_TRUE(e->start().ok());
  EXPECT_EQ(e->config().audio.sample_rate_hz, 24000);
  EXPECT_EQ(e->period_frames(), 240u);
  c.vad.activation_threshold = 3.0f;
  auto bad = e->update_config(c);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("vad.activation_threshold"), std::string::npos) << bad.message();
}

TEST(EngineConfigUpdate, ConfigureFastLaneValidates) {
  auto e = started(inline_config());
  EXPECT_TRUE(e->configure_fast_lane(50, 0.6f, 200).ok());
  EXPECT_FLOAT_EQ(e->config().vad.activation_threshold, 0.6f);
  EXPECT_EQ(e->config().vad.min_speech_ms, 200);
  Status st = e->configure_fast_lane(50, 1.5f, 200);
  EXPECT_EQ(st.error(), Error::kInvalidArgument);
  EXPECT_NE(st.message().find("vad_threshold"), std::string::npos);
}

TEST(EngineEvents, EmitEventReachesSubscribersInOrder) {
  EngineConfig c = inline_config();
  auto e = started(c);
  EventLog log;
  log.attach(*e);
  std::atomic<int> custom{0};
  auto id = e->subscribe(AudioEventType::kCustom, [&](const AudioEvent& ev) { custom += static_cast<int>(ev.custom.code); });
  ASSERT_TRUE(e->advance(30).ok());
  AudioEvent ev{};
  ev.type = AudioEventType::kCustom;
  ev.custom.code = 5;
  ASSERT_TRUE(e->emit_event(ev).ok());
  ASSERT_TRUE(e->wait_until_dispatched(2000));
  EXPECT_EQ(custom.load(), 5);
  auto customs = log.of(AudioEventType::kCustom);
  ASSERT_EQ(customs.size(), 1u);
  EXPECT_EQ(customs[0].t_samples, 480);
  EXPECT_TRUE(e->unsubscribe(id));
  ASSERT_TRUE(e->emit_event(ev).ok());
  ASSERT_TRUE(e->wait_until_dispatched(2000));
  EXPECT_EQ(custom.load(), 5);
  auto found = e->wait_for_event(AudioEventType::kCustom, 1000, 0);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->custom.code, 5);
}

void count_on_audio_thread(const AudioEvent&, void* user) {
  if (rt::is_audio_thread()) static_cast<std::atomic<int>*>(user)->fetch_add(1);
}

TEST(EngineEvents, RealtimeCallbackRunsOnTheAudioThread) {
  EngineConfig c = inline_config();
  c.clock.virtual_mode = VirtualClockMode::kStepped;
  auto e = started(c);
  std::atomic<int> n{0};
  e->set_realtime_event_callback(count_on_audio_thread, &n);
  auto pcm = ramp_pcm(320);
  ASSERT_TRUE(e->queue_playback(pcm.data(), pcm.size() * 2, 1).ok());
  ASSERT_TRUE(e->advance(50).ok());
  // PLAYBACK_STARTED, PLAYBACK_COMPLETE, QUEUE_DRAINED and TURN_CHANGED twice (to AI_SPEAKING and back to
  // IDLE), all published by ae-audio.
  EXPECT_EQ(n.load(), 5);
}

TEST(EngineStreamBuffers, OverflowUnderflowAndReadiness) {
  auto e = started(inline_config());
  StreamBufferConfig bc;
  bc.format = AudioFormat{kRate, 1, SampleType::kPcm16};
  bc.capacity_ms = 100;
  bc.ready_threshold_ms = 40;
  bc.overflow = OverflowPolicy::kDropNewest;
  auto id = e->create_stream_buffer(bc);
  ASSERT_TRUE(id.ok());
  StreamBuffer* b = e->get_stream_buffer(*id);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(e->wait_for_buffer_ready(*id, 10).error(), Error::kTimeout);
  auto pcm = ramp_pcm(2000);
  EXPECT_EQ(b->write(pcm.data(), 2000), 1600u);
  ASSERT_TRUE(e->wait_for_buffer_ready(*id, 10).ok());
  std::vector<int16_t> got(1700);
  EXPECT_EQ(b->read(got.data(), 1700), 1600u);
  for (size_t i = 0; i < 1600; ++i) ASSERT_EQ(got[i], pcm[i]);
  auto st = e->get_buffer_status(*id);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->overflow_frames, 400);
  EXPECT_EQ(st->underflow_frames, 100);
  EXPECT_EQ(e->get_metrics().buffer_overflow_samples, 400);
  b->write(pcm.data(), 100);
  EXPECT_EQ(e->flush_buffers(), 100u);
  bc.ready_threshold_ms = 500;
  auto bad = e->create_stream_buffer(bc);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("ready_threshold_ms = 500"), std::string::npos);
}

TEST(EngineShutdown, ShutdownUnderLoadDoesNotHang) {
  EngineConfig c = inline_config();
  c.clock.virtual_mode = VirtualClockMode::kFreeRun;
  auto e = AudioEngine::create(c);
  ASSERT_TRUE(e->initialize().ok());
  // The callback owns what it uses: a dispatcher abandoned at the deadline may still be running it.
  auto release = std::make_shared<std::atomic<bool>>(false);
  // A subscriber that blocks the dispatcher for a long time, while ticks run flat out and events pile up.
  e->subscribe_all([release](const AudioEvent&) {
    while (!release->load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  });
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(e->start_capture().ok());
  auto pcm = ramp_pcm(1600);
  for (int i = 0; i < 50; ++i) (void)e->queue_playback(pcm.data(), pcm.size() * 2, static_cast<uint64_t>(i + 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto t0 = std::chrono::steady_clock::now();
  Status st = e->shutdown(300);
  const auto took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(took_ms, 3000) << "shutdown must honour its deadline";
  EXPECT_EQ(st.error(), Error::kTimeout) << st.message();
  EXPECT_GT(e->get_metrics().ticks, 100);
  release->store(true);
  // Once the subscriber lets go, a second shutdown completes.
  EXPECT_TRUE(e->shutdown(5000).ok());
}

TEST(EngineShutdown, CallbacksMayCallTheEngineWhileItShutsDown) {
  EngineConfig c = inline_config();
  c.clock.virtual_mode = VirtualClockMode::kStepped;
  auto e = started(c);
  std::atomic<bool> in_callback{false};
  std::atomic<int> accepted{0};
  auto pcm = ramp_pcm(160);
  e->subscribe(AudioEventType::kCustom, [&](const AudioEvent&) {
    in_callback = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    // Takes the control mutex: shutdown must not be holding it while it waits for this callback.
    if (e->queue_playback(pcm.data(), pcm.size() * 2).ok()) ++accepted;
  });
  AudioEvent ev{};
  ev.type = AudioEventType::kCustom;
  ASSERT_TRUE(e->emit_event(ev).ok());
  while (!in_callback.load()) std::this_thread::yield();
  Status st = e->shutdown(5000);
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(accepted.load(), 1);
}

TEST(EngineLifecycle, SubscriptionsMadeBeforeInitializeAndAcrossRestartsDeliver) {
  auto e = AudioEngine::create(inline_config());
  std::atomic<int> seen{0};
  const SubscriptionId id = e->subscribe(AudioEventType::kPlaybackStarted, [&](const AudioEvent&) { ++seen; });
  EXPECT_NE(id, 0u);
  EXPECT_EQ(e->subscribe(AudioEventType::kPlaybackStarted, EventCallback{}), 0u);
  auto pcm = ramp_pcm(160);
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(e->start().ok());
    ASSERT_TRUE(e->queue_playback(pcm.data(), pcm.size() * 2, static_cast<uint64_t>(round + 1)).ok());
    ASSERT_TRUE(e->advance(20).ok());
    ASSERT_TRUE(e->wait_until_dispatched(2000));
    ASSERT_TRUE(e->shutdown().ok());
  }
  EXPECT_EQ(seen.load(), 2);
  EXPECT_TRUE(e->unsubscribe(id));
  EXPECT_FALSE(e->unsubscribe(id));
}

TEST(EngineReset, ClearsStateKeepsSubscriptions) {
  auto e = started(inline_config());
  std::atomic<int> starts{0};
  e->subscribe(AudioEventType::kPlaybackStarted, [&](const AudioEvent&) { ++starts; });
  auto pcm = ramp_pcm(1600);
  ASSERT_TRUE(e->queue_playback(pcm.data(), pcm.size() * 2, 1).ok());
  ASSERT_TRUE(e->advance(30).ok());
  ASSERT_TRUE(e->reset().ok());
  EXPECT_EQ(e->now_samples(), 0);
  EXPECT_EQ(e->get_queue_depths().playback_samples, 0u);
  EXPECT_EQ(e->get_metrics().ticks, 0);
  ASSERT_TRUE(e->queue_playback(pcm.data(), pcm.size() * 2, 2).ok());
  ASSERT_TRUE(e->advance(30).ok());
  ASSERT_TRUE(e->wait_until_dispatched(2000));
  EXPECT_EQ(starts.load(), 2);
}

}  // namespace
}  // namespace ae
