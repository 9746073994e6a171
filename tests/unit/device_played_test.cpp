// What an interruption reports the user heard: on the virtual clock nothing is pending between the engine and the
// listener (heard at the decision == played, the speaker silent where the output went silent); on a real sound
// server (a private JACK server, dummy driver, its output looped to its input) the device's own timestamps say how
// much output was still ahead of the DAC, and the loopback capture shows where the tone really stopped.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <thread>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "audioengine/devices.hpp"
#include "conversation_rig.hpp"
#include "jack_loop_fixture.hpp"
#include "jack_server.hpp"
#include "loopback.hpp"

#include "sound_server_sanitizers.hpp"

namespace ae {
namespace {

// ---- virtual clock ------------------------------------------------------------------------------------------

TEST(PlayedVirtual, VirtualClockHasNothingPendingAndTheEventAgreesWithTheResult) {
  EngineConfig c = test::conversation_config();
  test::ConversationRig r(c);
  ASSERT_NE(r.e->virtual_clock(), nullptr);
  EXPECT_EQ(r.e->virtual_clock()->output_pending_samples(), 0);
  r.ai(test::ai_pcm(16000), 5);
  r.run_to(13 * test::kConvPeriod);
  auto res = r.e->interrupt_playback(InterruptReason::kUser);
  ASSERT_TRUE(res.ok()) << res.message();
  EXPECT_EQ(res->played_samples, 13 * test::kConvPeriod);
  EXPECT_EQ(res->heard_at_decision_samples, res->played_samples);
  EXPECT_DOUBLE_EQ(res->heard_at_decision_ms, res->played_ms);
  EXPECT_EQ(res->in_device_samples, 0);
  EXPECT_EQ(res->output_silent_at_samples, res->at_sample);
  ASSERT_TRUE(r.e->wait_until_dispatched(2000));
  const auto ints = r.of(AudioEventType::kInterrupt);
  ASSERT_EQ(ints.size(), 1u);
  EXPECT_EQ(ints[0].interrupt.played_samples, res->played_samples);
  EXPECT_EQ(ints[0].interrupt.heard_at_decision_samples, res->played_samples);
  EXPECT_EQ(ints[0].interrupt.output_silent_at_samples, res->at_sample);
  auto w = r.e->wait_for_interrupt(1000);
  ASSERT_TRUE(w.ok()) << w.message();
  EXPECT_EQ(w->heard_at_decision_samples, res->played_samples);
  EXPECT_EQ(w->in_device_samples, 0);
  EXPECT_EQ(w->output_silent_at_samples, res->at_sample);
}

// A barge-in cuts inside a tick, with the fade: on the virtual clock the faded head counts as heard at once.
TEST(PlayedVirtual, BargeInInsideATickReportsTheFadedHeadAsHeard) {
  test::ConversationRig r(test::conversation_config());
  const test::ToneUser u({500, 1000, 1500});
  r.ai(test::ai_pcm(32000), 7);
  r.user(u);
  r.run_to(u.size());
  const auto ints = r.of(AudioEventType::kInterrupt);
  ASSERT_EQ(ints.size(), 1u);
  const int64_t silent = ints[0].t_samples;
  EXPECT_EQ(silent % test::kConvPeriod, 80);  // inside the decision tick: the 5 ms fade at 16 kHz
  EXPECT_EQ(ints[0].interrupt.played_samples, silent);
  EXPECT_EQ(ints[0].interrupt.heard_at_decision_samples, silent);
  EXPECT_EQ(ints[0].interrupt.output_silent_at_samples, silent);
}

TEST(PlayedVirtual, InterruptEventFactoryDefaultsMeanNothingPending) {
  const AudioEvent a = make_interrupt_event(500, 16000, InterruptReason::kUser, 10, 300, 2);
  EXPECT_EQ(a.interrupt.heard_at_decision_samples, 300);
  EXPECT_EQ(a.interrupt.output_silent_at_samples, 500);
  const AudioEvent b = make_interrupt_event(500, 16000, InterruptReason::kBargeIn, 10, 300, 2, 120, 980);
  EXPECT_EQ(b.interrupt.heard_at_decision_samples, 120);
  EXPECT_EQ(b.interrupt.output_silent_at_samples, 980);
  EXPECT_EQ(b.interrupt.played_samples, 300);
}

// ---- JACK dummy server ----------------------------------------------------------------------------------------

constexpr int kServerRateHz = test::JackLoopFixture::kServerRateHz;
constexpr int kServerPeriodFrames = test::JackLoopFixture::kServerPeriodFrames;

// A tone that never crosses zero (an offset sine): every sample the device plays, faded ones included, is
// non-zero, so the loopback capture shows exactly where the tone begins and ends.
std::vector<int16_t> offset_tone(size_t n, int rate_hz) {
  std::vector<int16_t> v(n);
  for (size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / rate_hz;
    v[i] = static_cast<int16_t>(std::lround(8000.0 + 4000.0 * std::sin(2.0 * M_PI * 500.0 * t)));
  }
  return v;
}

class JackPlayed : public test::JackLoopFixture {
 protected:
  JackPlayed() : JackLoopFixture("aeplayed") {}

  // Plays a 2 s tone, interrupts it after about `after_ms`, and collects the loopback capture until well after
  // the cut. Returns the result; `cap` holds the capture, `origin` the tone's first sample on the timeline.
  InterruptResult play_and_cut(int rate_hz, int after_ms, test::Captured& cap, int64_t& origin) {
    InterruptResult res;
    EXPECT_TRUE(engine_->start_capture().ok());
    EXPECT_TRUE(wait_for_timeline(engine_->now_samples() + rate_hz / 10, 3000));
    const auto tone = offset_tone(static_cast<size_t>(2 * rate_hz), rate_hz);
    EXPECT_TRUE(engine_->queue_playback(tone.data(), tone.size() * 2, 9).ok());
    auto started = engine_->wait_for_event(AudioEventType::kPlaybackStarted, 3000, 0);
    EXPECT_TRUE(started.has_value());
    if (!started) return res;
    origin = started->t_samples;
    EXPECT_TRUE(wait_for_timeline(origin + static_cast<int64_t>(after_ms) * rate_hz / 1000, 3000));
    auto r = engine_->interrupt_playback(InterruptReason::kUser, 2000);
    EXPECT_TRUE(r.ok()) << r.message();
    if (!r.ok()) return res;
    res = *r;
    const int64_t until = res.at_sample + rate_hz / 5;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (static_cast<int64_t>(cap.samples.size()) < until && std::chrono::steady_clock::now() < deadline) {
      test::drain(*engine_, cap);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    test::drain(*engine_, cap);
    EXPECT_GE(static_cast<int64_t>(cap.samples.size()), until);
    return res;
  }

};

// First and one-past-last timeline positions from `from` where |x| exceeds `threshold`.
std::pair<int64_t, int64_t> tone_span(const std::vector<float>& x, int64_t from, float threshold) {
  int64_t first = -1, last = -1;
  for (int64_t i = std::max<int64_t>(0, from); i < static_cast<int64_t>(x.size()); ++i) {
    if (std::fabs(x[static_cast<size_t>(i)]) > threshold) {
      if (first < 0) first = i;
      last = i;
    }
  }
  return {first, last + 1};
}

// Same rate as the server, one callback per tick: the loop is bit-exact, so the capture shows every played
// sample. What the device played is exactly what the engine delivered for the item (nothing recalled), and the
// pending output the device's timestamps report is the output side of the measured round trip.
TEST_F(JackPlayed, DeviceTimestampsGivePendingOutputAndTheToneStopsWherePlayedSamplesSay) {
  start_looped(config(kServerRateHz));
  test::Captured cap;
  int64_t origin = 0;
  const InterruptResult res = play_and_cut(kServerRateHz, 600, cap, origin);
  ASSERT_TRUE(res.was_playing);
  const int64_t pending = res.output_silent_at_samples - res.at_sample;
  const auto [first, end] = tone_span(cap.samples, origin, 0.0f);
  ASSERT_GE(first, 0) << "the tone never came back";
  const int64_t round_trip = first - origin;
  const int64_t heard_total = end - first;
  const double out_latency_samples = streams_.playback.total_latency_ms * kServerRateHz / 1000.0;
  std::printf("jack 48k: played %lld, heard at decision %lld, in device %lld, pending %lld, reported output "
              "latency %.1f samples, round trip %lld, tone captured for %lld\n",
              static_cast<long long>(res.played_samples), static_cast<long long>(res.heard_at_decision_samples),
              static_cast<long long>(res.in_device_samples), static_cast<long long>(pending), out_latency_samples,
              static_cast<long long>(round_trip), static_cast<long long>(heard_total));
  // Everything delivered for the item played out, and nothing more: played_samples is what the user heard.
  EXPECT_EQ(heard_total, res.played_samples);
  EXPECT_LE(res.played_samples, 2 * kServerRateHz);
  // The pending output is a real delay, no more than the stream's output latency plus one period. JACK's
  // timestamps put the DAC one period beyond what the loop shows (the port's latency and PortAudio's buffering
  // both count the cycle): the output side of the measured round trip is within one period of it.
  EXPECT_GT(pending, 0);
  EXPECT_LE(static_cast<double>(pending), out_latency_samples + kServerPeriodFrames);
  EXPECT_LE(pending, round_trip + kServerPeriodFrames);
  EXPECT_EQ(res.in_device_samples, res.played_samples - res.heard_at_decision_samples);
  EXPECT_GE(res.heard_at_decision_samples, 0);
  EXPECT_LT(res.heard_at_decision_samples, res.played_samples);
  // The device ticks by itself, so the cut is applied inside a tick, with the fade; what was not heard then is
  // the pending output.
  EXPECT_NE(res.at_sample % engine_->period_frames(), 0);
  EXPECT_EQ(res.in_device_samples, pending);
  // The event carries the same figures.
  auto w = engine_->wait_for_interrupt(1000);
  ASSERT_TRUE(w.ok()) << w.message();
  EXPECT_EQ(w->heard_at_decision_samples, res.heard_at_decision_samples);
  EXPECT_EQ(w->output_silent_at_samples, res.output_silent_at_samples);
}

// A 16 kHz engine on the 48 kHz server with half-period device blocks: the FIFO and both resamplers lie between
// the tick and the DAC; the pending figure includes them and the tone still stops within one period of where
// played_samples says.
TEST_F(JackPlayed, ResampledPathCountsFifoAndConverterInThePendingOutput) {
  EngineConfig c = config(16000);
  c.device.period_frames = 240;
  start_looped(c);
  test::Captured cap;
  int64_t origin = 0;
  const InterruptResult res = play_and_cut(16000, 600, cap, origin);
  ASSERT_TRUE(res.was_playing);
  const int64_t pending = res.output_silent_at_samples - res.at_sample;
  // Resampled twice, the tone's edges ring a little: the loud part marks it.
  const auto [first, end] = tone_span(cap.samples, origin, 0.05f);
  ASSERT_GE(first, 0) << "the tone never came back";
  const int64_t heard_total = end - first;
  const double out_latency_samples = streams_.playback.total_latency_ms * 16000 / 1000.0;
  const int64_t period = engine_->period_frames();
  std::printf("jack 16k: played %lld, heard at decision %lld, pending %lld, reported output latency %.1f "
              "samples, tone captured for %lld\n",
              static_cast<long long>(res.played_samples), static_cast<long long>(res.heard_at_decision_samples),
              static_cast<long long>(pending), out_latency_samples, static_cast<long long>(heard_total));
  EXPECT_NEAR(static_cast<double>(heard_total), static_cast<double>(res.played_samples), static_cast<double>(period));
  EXPECT_GE(static_cast<double>(pending),
            streams_.playback.converter_delay_ms * 16.0 - 1.0);  // the converter's delay at least
  // As at 48 kHz, JACK's timestamps count one server period (160 engine samples) beyond the reported latency;
  // the output FIFO's level at the tick moves within one engine period.
  EXPECT_LE(static_cast<double>(pending), out_latency_samples + 160.0 + static_cast<double>(period));
  EXPECT_EQ(res.in_device_samples, std::min(pending, res.played_samples));
  EXPECT_EQ(res.heard_at_decision_samples, res.played_samples - res.in_device_samples);
}

// PLAYBACK_COMPLETE on a device: t_samples is where the sink took the item's last sample, exact (the tone's
// length after its start); played_out_at_samples adds the output still ahead of the DAC, so it is where the last
// sample leaves the speaker. The loop shows it: the captured tone ends one round trip after its last delivered
// sample, and the play-out position lies in that round trip, its output side (within the period by which JACK's
// timestamps lead the loop, as for interruptions above).
TEST_F(JackPlayed, PlaybackCompleteCarriesWhereTheLastSampleLeavesTheSpeaker) {
  start_looped(config(kServerRateHz));
  ASSERT_TRUE(engine_->start_capture().ok());
  ASSERT_TRUE(wait_for_timeline(engine_->now_samples() + kServerRateHz / 10, 3000));
  const auto tone = offset_tone(static_cast<size_t>(kServerRateHz * 3 / 10), kServerRateHz);
  ASSERT_TRUE(engine_->queue_playback(tone.data(), tone.size() * 2, 11).ok());
  auto started = engine_->wait_for_event(AudioEventType::kPlaybackStarted, 3000, 0);
  ASSERT_TRUE(started.has_value());
  auto complete = engine_->wait_for_event(AudioEventType::kPlaybackComplete, 3000, started->sequence);
  ASSERT_TRUE(complete.has_value());
  ASSERT_EQ(complete->playback.item_id, 11u);
  const int64_t origin = started->t_samples;
  const int64_t delivered_end = complete->t_samples;
  const int64_t played_out = complete->playback.played_out_at_samples;
  EXPECT_EQ(delivered_end - origin, static_cast<int64_t>(tone.size()));
  EXPECT_EQ(complete->playback.samples, static_cast<int64_t>(tone.size()));
  test::Captured cap;
  const int64_t until = played_out + kServerRateHz / 5;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (static_cast<int64_t>(cap.samples.size()) < until && std::chrono::steady_clock::now() < deadline) {
    test::drain(*engine_, cap);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  test::drain(*engine_, cap);
  ASSERT_GE(static_cast<int64_t>(cap.samples.size()), until);
  const auto [first, end] = tone_span(cap.samples, origin, 0.0f);
  ASSERT_GE(first, 0) << "the tone never came back";
  const int64_t round_trip = first - origin;
  const int64_t pending = played_out - delivered_end;
  std::printf("jack 48k complete: delivered end %lld, played out %lld (pending %lld), captured end %lld, "
              "round trip %lld, output latency %.1f samples\n",
              static_cast<long long>(delivered_end), static_cast<long long>(played_out),
              static_cast<long long>(pending), static_cast<long long>(end), static_cast<long long>(round_trip),
              streams_.playback.total_latency_ms * kServerRateHz / 1000.0);
  // The whole tone came back, one round trip late: the delivery position is exact.
  EXPECT_EQ(end - first, static_cast<int64_t>(tone.size()));
  EXPECT_EQ(end - delivered_end, round_trip);
  // The play-out position is later than the delivery, by the output side of the round trip.
  EXPECT_GT(pending, 0);
  EXPECT_LE(played_out, end + kServerPeriodFrames);
  EXPECT_LE(pending, round_trip + kServerPeriodFrames);
  EXPECT_LE(static_cast<double>(pending),
            streams_.playback.total_latency_ms * kServerRateHz / 1000.0 + kServerPeriodFrames);
}

}  // namespace
}  // namespace ae
