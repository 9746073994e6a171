#include "conversation/simulated_conversation.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <random>
#include <string>

namespace ae {
namespace {

// Playback is kept this far ahead of the output: enough that the queue never runs dry between two ticks, little
// enough that an interruption has something to flush, as with a speech API streaming faster than real time.
constexpr int kAiLeadMs = 500;

Status bad(const std::string& message) { return Status(Error::kInvalidArgument, "run_conversation: " + message); }

Status check_script(const ConversationScript& s, int period_ms) {
  if (s.ai_at_ms < 0) return bad("ai_at_ms = " + std::to_string(s.ai_at_ms) + "; valid: >= 0");
  if (s.duration_ms < -1) return bad("duration_ms = " + std::to_string(s.duration_ms) + "; valid: -1 or >= 0");
  if (s.tail_ms < 0) return bad("tail_ms = " + std::to_string(s.tail_ms) + "; valid: >= 0");
  if (s.onset_gap_ms < 0) return bad("onset_gap_ms = " + std::to_string(s.onset_gap_ms) + "; valid: >= 0");
  if (!(s.onset_threshold_dbfs <= 0.0 && s.onset_threshold_dbfs >= -120.0)) {
    return bad("onset_threshold_dbfs = " + std::to_string(s.onset_threshold_dbfs) + "; valid: [-120, 0]");
  }
  if (!s.echo_enabled) return ok_status();
  if (s.echo.delay_ms < period_ms || s.echo.delay_ms > 2000) {
    return bad("echo.delay_ms = " + std::to_string(s.echo.delay_ms) + "; valid: " + std::to_string(period_ms) +
               "..2000 (at least one engine period: the echo of a tick's output reaches a later tick)");
  }
  if (!(s.echo.gain >= 0.0 && s.echo.gain <= 10.0)) {
    return bad("echo.gain = " + std::to_string(s.echo.gain) + "; valid: [0, 10]");
  }
  if (!(s.echo.rt60_ms >= 0.0 && s.echo.rt60_ms <= 2000.0)) {
    return bad("echo.rt60_ms = " + std::to_string(s.echo.rt60_ms) + "; valid: [0, 2000]");
  }
  return ok_status();
}

}  // namespace

std::vector<float> room_response(const EchoPathConfig& path, int sample_rate_hz) {
  const double rt60_samples = path.rt60_ms * sample_rate_hz / 1000.0;
  const size_t taps = std::max<size_t>(1, static_cast<size_t>(0.6 * rt60_samples));
  // Shape first (direct tap 1, tail at half its amplitude), then one scale for all taps: the direct-to-reverberant
  // ratio stays that of the shape while the energy gain is the configured one. Without it a 150 ms tail carried
  // ~44x the direct path's power and "gain 0.7" made an echo louder than the output.
  std::vector<double> shape(taps, 0.0);
  shape[0] = 1.0;
  std::mt19937 rng(path.seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  for (size_t k = 1; k < taps; ++k) {
    shape[k] = 0.5 * gauss(rng) * std::exp(-6.9 * static_cast<double>(k) / rt60_samples);
  }
  double energy = 0.0;
  for (double v : shape) energy += v * v;
  const double scale = path.gain / std::sqrt(energy);
  std::vector<float> h(taps);
  for (size_t k = 0; k < taps; ++k) h[k] = static_cast<float>(shape[k] * scale);
  return h;
}

int64_t first_loud_sample(std::span<const float> clip, float threshold) noexcept {
  for (size_t i = 0; i < clip.size(); ++i) {
    if (std::fabs(clip[i]) >= threshold) return static_cast<int64_t>(i);
  }
  return -1;
}

int64_t find_speech_onset(std::span<const float> track, int64_t anchor_sample, int64_t end_sample, float threshold,
                          int64_t gap_samples) {
  int64_t j = std::min<int64_t>(end_sample, static_cast<int64_t>(track.size())) - 1;
  while (j >= 0 && std::fabs(track[static_cast<size_t>(j)]) < threshold) --j;
  if (j < 0 || j < anchor_sample - gap_samples) return -1;
  int64_t onset = j;
  int64_t quiet = 0;
  for (int64_t k = j - 1; k >= 0; --k) {
    if (std::fabs(track[static_cast<size_t>(k)]) >= threshold) {
      onset = k;
      quiet = 0;
    } else if (++quiet >= gap_samples) {
      break;
    }
  }
  return onset;
}

Result<ConversationOutcome> run_conversation(AudioEngine& engine, const ConversationScript& script,
                                             const std::function<void(double)>& progress) {
  const EngineConfig& config = engine.config();
  if (!engine.is_initialized()) return bad("the engine is not initialized (call initialize() first)").error_info();
  if (config.clock.source != ClockSource::kVirtual || (config.clock.virtual_mode != VirtualClockMode::kInline &&
                                                       config.clock.virtual_mode != VirtualClockMode::kStepped)) {
    return bad("the engine must run on a virtual clock in inline or stepped mode (clock.virtual_mode = " +
               std::string(to_string(config.clock.virtual_mode)) + ")")
        .error_info();
  }
  const int rate = engine.sample_rate_hz();
  const size_t n = engine.period_frames();
  if (auto st = check_script(script, config.audio.chunk_duration_ms); !st.ok()) return st.error_info();
  if (!engine.is_running()) {
    if (auto st = engine.start(); !st.ok()) return st.error_info();
  }
  auto samples = [rate](int64_t ms) { return ms * rate / 1000; };

  ConversationOutcome out;
  out.sample_rate_hz = rate;
  const auto period = static_cast<int64_t>(n);
  const int64_t ai_start = (samples(script.ai_at_ms) + period - 1) / period * period;
  const auto user_len = static_cast<int64_t>(script.user.size());
  const auto ai_len = static_cast<int64_t>(script.ai.size());
  const int64_t total = script.duration_ms >= 0
                            ? samples(script.duration_ms)
                            : std::max(user_len, ai_len > 0 ? ai_start + ai_len : 0) + samples(script.tail_ms);
  const int64_t num_ticks = (total + period - 1) / period;
  const auto total_samples = static_cast<size_t>(num_ticks * period);

  std::mutex events_mutex;
  std::vector<AudioEvent> events;
  const SubscriptionId sub = engine.subscribe_all([&](const AudioEvent& ev) {
    std::lock_guard lock(events_mutex);
    events.push_back(ev);
  });

  const std::vector<float> h = script.echo_enabled ? room_response(script.echo, rate) : std::vector<float>{};
  const int64_t delay = script.echo_enabled ? samples(script.echo.delay_ms) : 0;
  out.mic.assign(total_samples, 0.0f);
  out.echo.assign(total_samples, 0.0f);
  out.played.reserve(total_samples);
  const int64_t t_base = engine.now_samples();
  const AudioFormat ai_format{rate, 1, SampleType::kFloat32};
  const int64_t lead = samples(kAiLeadMs);
  int64_t ai_pos = 0;
  bool ai_stopped = false;
  Status failure = ok_status();

  for (int64_t tick = 0; tick < num_ticks; ++tick) {
    const int64_t t0 = tick * period;
    // The AI streams its answer from ai_start on, keeping the queue `lead` ahead; once the engine flushed the
    // queue mid-answer (an interruption), it stops, as the orchestrator would.
    if (!ai_stopped && t0 >= ai_start && ai_pos < ai_len) {
      const auto queued = static_cast<int64_t>(engine.get_queue_depths().playback_samples);
      if (ai_pos > 0 && queued == 0) {
        ai_stopped = true;
      } else if (queued < lead) {
        const int64_t k = std::min(ai_len - ai_pos, 2 * lead - queued);
        auto st = engine.queue_playback(script.ai.data() + ai_pos, static_cast<size_t>(k) * sizeof(float), ai_format,
                                        1);
        if (!st.ok()) {
          failure = st;
          break;
        }
        if (ai_pos == 0) out.ai_start_sample = t_base + t0;
        ai_pos += k;
      }
    }
    // The microphone: the user's track plus the echo of what was played `delay` earlier, through the room.
    float* mic = out.mic.data() + t0;
    float* echo = out.echo.data() + t0;
    for (int64_t i = 0; i < period; ++i) {
      const int64_t t = t0 + i;
      float e = 0.0f;
      if (!h.empty()) {
        const int64_t src = t - delay;
        const int64_t kmax = std::min<int64_t>(static_cast<int64_t>(h.size()), src + 1);
        for (int64_t k = 0; k < kmax; ++k) e += h[static_cast<size_t>(k)] * out.played[static_cast<size_t>(src - k)];
      }
      echo[i] = e;
      mic[i] = (t < user_len ? script.user[static_cast<size_t>(t)] : 0.0f) + e;
    }
    if (auto st = engine.inject_test_audio(std::span<const float>(mic, n)); !st.ok()) {
      failure = st;
      break;
    }
    if (auto st = engine.advance_ticks(1); !st.ok()) {
      failure = st;
      break;
    }
    const size_t before = out.played.size();
    out.played.resize(before + n);
    const size_t got = engine.read_played_audio(out.played.data() + before, n);
    if (got != n) {
      failure = Status(Error::kInternal, "run_conversation: the memory sink returned " + std::to_string(got) +
                                             " samples for a period of " + std::to_string(n) +
                                             " (is the engine's sink the memory sink?)");
      break;
    }
    if (progress && tick % 100 == 0) progress(static_cast<double>(tick) / static_cast<double>(num_ticks));
  }
  out.ai_queued_samples = ai_pos;
  engine.wait_until_dispatched(5000);
  engine.unsubscribe(sub);
  if (!failure.ok()) return failure.error_info();
  {
    std::lock_guard lock(events_mutex);
    out.events = std::move(events);
  }
  std::sort(out.events.begin(), out.events.end(),
            [](const AudioEvent& a, const AudioEvent& b) { return a.sequence < b.sequence; });

  // Interruptions: the segment that triggered each, its true onset, its latency, and whether it was a turn.
  const auto threshold = static_cast<float>(std::pow(10.0, script.onset_threshold_dbfs / 20.0));
  const int64_t gap = samples(script.onset_gap_ms);
  const int64_t given_onset = script.user_onset_ms >= 0 ? std::llround(script.user_onset_ms * rate / 1000.0) : -1;
  for (const AudioEvent& ev : out.events) {
    if (ev.type == AudioEventType::kVadSpeechStart) {
      ++out.vad_speech_starts;
    } else if (ev.type == AudioEventType::kEndpoint) {
      ++out.user_turns;
    } else if (ev.type == AudioEventType::kInterrupt) {
      SimulatedInterrupt si;
      si.event = ev;
      // The run that confirmed a barge-in, as the barge-in's detector heard it: with the echo canceller's copy
      // that is not the VAD, whose segment for the same speech may start later (or, hidden by the suppressor
      // until the AI stops, only after the interruption).
      if (ev.interrupt.reason == InterruptReason::kBargeIn && ev.interrupt.speech_run_samples >= 0) {
        si.segment_start_sample = ev.t_samples - ev.interrupt.speech_run_samples;
      }
      const int64_t end = ev.t_samples - t_base;
      if (given_onset >= 0) {
        si.onset_sample = given_onset <= end ? t_base + given_onset : -1;
      } else if (si.segment_start_sample >= 0) {
        const int64_t onset = find_speech_onset(script.user, si.segment_start_sample - t_base, end, threshold, gap);
        si.onset_sample = onset >= 0 ? t_base + onset : -1;
      }
      if (si.onset_sample >= 0) {
        si.latency_samples = ev.t_samples - si.onset_sample;
        si.latency_ms = out.ms(si.latency_samples);
      }
      out.interrupts.push_back(si);
    }
  }
  for (size_t i = 0; i < out.interrupts.size(); ++i) {
    SimulatedInterrupt& si = out.interrupts[i];
    // The utterance the interrupting speech became: the ENDPOINT's utterance holds the run's start, or (the VAD
    // hearing the user only once the echo is gone) began after it, before the next interruption.
    const int64_t next = i + 1 < out.interrupts.size() ? out.interrupts[i + 1].event.t_samples : INT64_MAX;
    if (si.segment_start_sample >= 0) {
      for (const AudioEvent& ev : out.events) {
        if (ev.type == AudioEventType::kEndpoint && ev.vad.speech_start_sample < next &&
            si.segment_start_sample < ev.vad.speech_end_sample) {
          si.ended_in_endpoint = true;
          break;
        }
      }
    }
    si.false_interruption = si.onset_sample < 0 || !si.ended_in_endpoint;
    if (si.false_interruption) ++out.false_interruptions;
  }
  if (progress) progress(1.0);
  return out;
}

}  // namespace ae
