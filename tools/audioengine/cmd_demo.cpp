// audioengine demo: a voice conversation simulated on the virtual clock.
//
// The program plays the orchestrator: a user speaks (espeak-ng), the engine detects the speech and its end, the
// "AI" answers with streamed audio, and every other answer the user talks over it: the engine interrupts the AI
// in the same tick, reports exactly how much of the answer was played, and drops the audio the speech API keeps
// streaming for the interrupted answer. Ticks run on the engine's own ae-audio thread in stepped mode, as fast as
// the CPU allows (or paced to wall-clock time with --realtime); no sound card is touched.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "audioengine/speech_synth.hpp"
#include "cli.hpp"
#include "conversation/simulated_conversation.hpp"

namespace ae::cli {
namespace {

constexpr const char* kDemoHelp =
    "usage: audioengine demo [--seconds N] [--json] [--realtime] [--verbose]\n\n"
    "Simulates a voice conversation on the virtual clock: a user (espeak-ng) speaks, the AI answers with\n"
    "streamed audio, and every other answer the user barges in. Shows VAD, endpointing, playback, barge-in\n"
    "and the exact amount of AI audio played before each interruption. Needs no sound card.\n\n"
    "options:\n"
    "  --seconds N   length of the conversation in seconds of audio (default 20, 1..3600)\n"
    "  --json        print one JSON object: duration_ms, ticks, user_turns, interruptions,\n"
    "                interrupt_latency_ms, dropped_samples, and more\n"
    "  --realtime    pace the ticks to wall-clock time instead of running as fast as possible\n"
    "  --verbose     print every engine event\n";

const char* const kUserLines[] = {
    "What is the weather like in Paris tomorrow?",
    "Can you book a table for two at eight tonight?",
    "Wait, stop. Make that seven thirty instead.",
    "Great. And remind me to call my sister on Sunday.",
    "No, no. I meant next Sunday, not this one.",
    "Thanks. What time is it in Tokyo right now?",
};
const char* const kAiLines[] = {
    "Tomorrow in Paris it will be mostly sunny in the morning, with clouds building in the afternoon and a high of "
    "twenty two degrees. There is a small chance of a shower around six in the evening.",
    "Sure. I found a table for two at eight o'clock at a bistro near the river. It has very good reviews for its "
    "seafood and its desserts. Shall I confirm the booking under your name?",
    "No problem, I moved the booking to seven thirty. You will get a confirmation message shortly.",
    "Okay, I will remind you to call your sister this Sunday at ten in the morning. I can also add it to your "
    "calendar and send you a second reminder one hour before, if you would like that.",
    "Got it, the reminder is now set for next Sunday.",
    "It is currently a quarter past four in the morning in Tokyo, so it may be a little early to call anyone there.",
};

struct TimelineEntry {
  double t_ms;
  std::string text;
};

}  // namespace

int cmd_demo(const std::vector<std::string>& argv) {
  Args args = Args::parse(argv, {"json", "help", "realtime", "verbose"});
  if (args.has("help")) {
    std::fputs(kDemoHelp, stdout);
    return kExitOk;
  }
  if (auto bad = args.unknown({"json", "realtime", "verbose", "seconds"}); !bad.empty()) {
    return fail("demo", "unknown option " + bad[0] + " (see audioengine demo --help)", kExitUsage);
  }
  if (!args.parse_error().empty()) return fail("demo", args.parse_error(), kExitUsage);
  if (!args.positionals().empty()) return fail("demo", "unexpected argument '" + args.positionals()[0] + "'", kExitUsage);
  const auto seconds_opt = number_option(args, "demo", "seconds", 20, 1, 3600);
  if (!seconds_opt) return kExitUsage;
  const double seconds = *seconds_opt;
  const bool json = args.has("json");
  const bool realtime = args.has("realtime");
  const bool verbose = args.has("verbose");

  EngineConfig config = EngineConfig::fast_lane();
  config.clock.virtual_mode = VirtualClockMode::kStepped;
  // The engine decides the end of the user's turn: ENDPOINT after this much silence (the VAD's own min_silence
  // only bridges pauses inside a phrase).
  config.endpoint.silence_timeout_ms = 800;
  config.sink.memory_capacity_ms = 2000;
  const int rate = config.audio.sample_rate_hz;
  auto engine = AudioEngine::create(config);
  if (auto st = engine->initialize(); !st.ok()) return fail("demo", st.message());

  // Voices: the user and the AI.
  std::vector<std::vector<float>> user_clips;
  std::vector<std::vector<float>> ai_clips;
  SpeechOptions user_voice;
  user_voice.voice = "en-us";
  user_voice.sample_rate_hz = rate;
  SpeechOptions ai_voice;
  ai_voice.voice = "en";
  ai_voice.pitch = 35;
  ai_voice.words_per_minute = 185;
  ai_voice.sample_rate_hz = rate;
  for (const char* line : kUserLines) {
    auto clip = synthesize_speech(line, user_voice);
    if (!clip.ok()) return fail("demo", clip.message());
    user_clips.push_back(std::move(*clip));
  }
  for (const char* line : kAiLines) {
    auto clip = synthesize_speech(line, ai_voice);
    if (!clip.ok()) return fail("demo", clip.message());
    ai_clips.push_back(std::move(*clip));
  }

  std::mutex events_mutex;
  std::deque<AudioEvent> events;
  engine->subscribe_all([&](const AudioEvent& ev) {
    std::lock_guard lock(events_mutex);
    events.push_back(ev);
  });
  if (auto st = engine->start(); !st.ok()) return fail("demo", st.message());
  (void)engine->start_capture();

  // The conversation, as the orchestrator sees it.
  const int64_t total_ms = static_cast<int64_t>(seconds * 1000.0);
  constexpr int64_t kStepMs = 100;        // the orchestrator reacts every 100 ms, like a network round
  constexpr int64_t kThinkMs = 300;       // time the "speech API" takes to start answering
  constexpr int64_t kBargeInAfterMs = 1500;
  constexpr int64_t kStaleStreamMs = 300;  // the API keeps streaming this long after an interruption
  const size_t step_samples = static_cast<size_t>(rate * kStepMs / 1000);
  const size_t chunk_samples = step_samples * 2;  // the API streams faster than real time

  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 0.001f);  // about -60 dBFS room noise
  std::vector<float> mic(step_samples);
  std::vector<int16_t> pcm(chunk_samples);
  std::vector<float> sink(static_cast<size_t>(rate));
  CaptureChunk chunk;

  enum class Phase { kUserSpeaking, kWaitEndpoint, kThinking, kAiSpeaking, kPause };
  Phase phase = Phase::kPause;
  int64_t phase_until_ms = 300;
  size_t turn = 0;
  const std::vector<float>* user_clip = nullptr;
  size_t user_pos = 0;
  int64_t user_onset_sample = -1;
  const std::vector<float>* ai_clip = nullptr;
  size_t ai_pos = 0;
  uint64_t ai_item = 0;
  int64_t ai_started_ms = -1;
  bool barge_in_planned = false;
  int64_t stale_until_ms = -1;
  const std::vector<float>* stale_clip = nullptr;
  size_t stale_pos = 0;
  uint64_t stale_item = 0;

  int user_turns = 0;
  int ai_turns = 0;
  std::vector<double> interrupt_latency_ms;
  std::vector<double> played_ms_at_interrupt;
  std::vector<TimelineEntry> timeline;
  int64_t chunks_received = 0;
  int64_t speech_chunks = 0;
  Progress progress("demo");
  const auto wall_start = std::chrono::steady_clock::now();

  auto start_user_turn = [&](int64_t now_ms, bool over_ai) {
    user_clip = &user_clips[turn % user_clips.size()];
    user_pos = 0;
    // The true onset: the clip's first sample at or above -40 dBFS (the room noise, about -60 dBFS, never
    // reaches it), so the latency runs exactly from there to the first silent output sample.
    user_onset_sample = engine->now_samples() + first_loud_sample(*user_clip, 0.01f);
    ++user_turns;
    timeline.push_back({static_cast<double>(now_ms), std::string(over_ai ? "user talks over the AI: \"" : "user: \"") +
                                                         kUserLines[turn % user_clips.size()] + "\""});
  };

  for (int64_t now = 0; now < total_ms; now += kStepMs) {
    // Microphone for the next step: room noise plus the user's speech when they talk.
    for (auto& s : mic) s = noise(rng);
    if (user_clip != nullptr) {
      for (size_t i = 0; i < step_samples && user_pos < user_clip->size(); ++i) mic[i] += (*user_clip)[user_pos++];
      if (user_pos >= user_clip->size()) user_clip = nullptr;
    }
    if (auto st = engine->inject_test_audio(mic); !st.ok()) return fail("demo", st.message());

    // The speech API streams its answer; after an interruption it streams on for a moment (stale audio).
    auto stream = [&](const std::vector<float>& clip, size_t& pos, uint64_t item) {
      const size_t n = std::min(chunk_samples, clip.size() - pos);
      for (size_t i = 0; i < n; ++i) pcm[i] = static_cast<int16_t>(std::lround(clip[pos + i] * 32767.0f));
      pos += n;
      return engine->queue_playback(pcm.data(), n * sizeof(int16_t), item);
    };
    if (phase == Phase::kAiSpeaking && ai_clip != nullptr && ai_pos < ai_clip->size() &&
        engine->get_queue_depths().playback_ms < 1000) {
      if (auto st = stream(*ai_clip, ai_pos, ai_item); !st.ok()) return fail("demo", st.message());
    }
    if (stale_clip != nullptr && now < stale_until_ms && stale_pos < stale_clip->size()) {
      if (auto st = stream(*stale_clip, stale_pos, stale_item); !st.ok()) return fail("demo", st.message());
    }

    if (auto st = engine->advance(kStepMs); !st.ok()) return fail("demo", st.message());
    engine->wait_until_dispatched(1000);
    if (realtime) {
      std::this_thread::sleep_until(wall_start + std::chrono::milliseconds(now + kStepMs));
    }
    // What the orchestrator sends to the speech API, and what the speaker played.
    while (engine->try_read_chunk(chunk)) {
      ++chunks_received;
      if (chunk.info.vad_state == VadState::kSpeaking) ++speech_chunks;
    }
    while (engine->read_played_audio(sink.data(), sink.size()) > 0) {
    }

    std::deque<AudioEvent> batch;
    {
      std::lock_guard lock(events_mutex);
      batch.swap(events);
    }
    for (const AudioEvent& ev : batch) {
      if (verbose && !json) std::printf("  %8.1f ms  %s\n", ev.t_ms(), to_string(ev.type));
      switch (ev.type) {
        case AudioEventType::kVadSpeechStart:
          timeline.push_back({ev.t_ms(), "VAD: speech started (onset at " +
                                             std::to_string(ev.vad.speech_start_sample * 1000 / rate) + " ms)"});
          if (phase == Phase::kUserSpeaking) phase = Phase::kWaitEndpoint;
          break;
        case AudioEventType::kVadSpeechEnd:
          timeline.push_back({ev.t_ms(), "VAD: speech ended"});
          break;
        case AudioEventType::kEndpoint:
          if (phase == Phase::kWaitEndpoint || phase == Phase::kUserSpeaking) {
            timeline.push_back({ev.t_ms(), "endpoint: the user's turn is over"});
            phase = Phase::kThinking;
            phase_until_ms = static_cast<int64_t>(ev.t_ms()) + kThinkMs;
          }
          break;
        case AudioEventType::kInterrupt: {
          const double played = 1000.0 * static_cast<double>(ev.interrupt.played_samples) / rate;
          const double latency = user_onset_sample >= 0
                                     ? 1000.0 * static_cast<double>(ev.t_samples - user_onset_sample) / rate
                                     : 0.0;
          interrupt_latency_ms.push_back(latency);
          played_ms_at_interrupt.push_back(played);
          char buf[200];
          std::snprintf(buf, sizeof buf,
                        "INTERRUPT (%s): AI stopped after %.0f ms of answer %llu, %.0f ms flushed, %.0f ms after "
                        "the user's onset",
                        to_string(ev.interrupt.reason), played, static_cast<unsigned long long>(ev.interrupt.item_id),
                        1000.0 * static_cast<double>(ev.interrupt.flushed_samples) / rate, latency);
          timeline.push_back({ev.t_ms(), buf});
          // The API does not stop at once: it streams on for the interrupted item, which the engine drops.
          stale_clip = ai_clip;
          stale_pos = ai_pos;
          stale_item = ai_item;
          stale_until_ms = now + kStaleStreamMs;
          ai_clip = nullptr;
          phase = Phase::kWaitEndpoint;
          break;
        }
        case AudioEventType::kPlaybackComplete:
          if (phase == Phase::kAiSpeaking && ai_clip != nullptr && ai_pos >= ai_clip->size()) {
            timeline.push_back({ev.t_ms(), "AI finished its answer (" +
                                               std::to_string(ev.playback.samples * 1000 / rate) + " ms played)"});
            ai_clip = nullptr;
            phase = Phase::kPause;
            phase_until_ms = now + 600;
          }
          break;
        default:
          break;
      }
    }

    // The orchestrator's own timeline.
    if (phase == Phase::kPause && now >= phase_until_ms && user_clip == nullptr && now + 2000 < total_ms) {
      start_user_turn(now + kStepMs, false);
      phase = Phase::kUserSpeaking;
    } else if (phase == Phase::kThinking && now >= phase_until_ms) {
      ai_clip = &ai_clips[turn % ai_clips.size()];
      ai_pos = 0;
      ai_item = turn + 1;
      ai_started_ms = now + kStepMs;
      barge_in_planned = (turn % 2) == 0;  // the first answer already shows a barge-in
      ++ai_turns;
      timeline.push_back({static_cast<double>(ai_started_ms), "AI answers (item " + std::to_string(ai_item) + ", " +
                                                                   std::to_string(ai_clip->size() * 1000 / rate) +
                                                                   " ms of audio)"});
      ++turn;
      phase = Phase::kAiSpeaking;
    } else if (phase == Phase::kAiSpeaking && barge_in_planned && user_clip == nullptr &&
               now + kStepMs >= ai_started_ms + kBargeInAfterMs) {
      barge_in_planned = false;
      start_user_turn(now + kStepMs, true);
    }
    if (stale_clip != nullptr && now >= stale_until_ms) stale_clip = nullptr;
    progress.update(static_cast<double>(now + kStepMs) / static_cast<double>(total_ms));
  }
  progress.finish();
  const double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_start).count();
  const EngineMetrics m = engine->get_metrics();
  (void)engine->shutdown();

  const int64_t dropped = m.capture_dropped_samples + m.playback_dropped_samples + m.sink_overwritten_samples +
                          m.chunks_dropped * static_cast<int64_t>(engine->period_frames());
  if (json) {
    auto join = [](const std::vector<double>& values) {
      std::string out;
      char buf[32];
      for (double v : values) {
        std::snprintf(buf, sizeof buf, "%s%.4f", out.empty() ? "" : ",", v);  // 1 sample = 0.0625 ms
        out += buf;
      }
      return out;
    };
    const std::string lat = join(interrupt_latency_ms);
    const std::string played = join(played_ms_at_interrupt);
    std::printf(
        "{\"duration_ms\":%lld,\"ticks\":%lld,\"user_turns\":%d,\"ai_turns\":%d,\"interruptions\":%lld,"
        "\"interrupt_latency_ms\":[%s],\"played_ms_at_interrupt\":[%s],\"dropped_samples\":%lld,"
        "\"stale_samples_dropped\":%lld,\"chunks_delivered\":%lld,\"speech_chunks\":%lld,\"events_dropped\":%lld,"
        "\"audio_thread_allocations\":%lld,\"audio_thread_mutex_locks\":%lld,\"tick_p99_us\":%.2f,"
        "\"wall_ms\":%.1f,\"realtime_factor\":%.1f}\n",
        static_cast<long long>(m.processed_ms), static_cast<long long>(m.ticks), user_turns, ai_turns,
        static_cast<long long>(m.interruptions), lat.c_str(), played.c_str(), static_cast<long long>(dropped),
        static_cast<long long>(m.stale_samples_dropped), static_cast<long long>(chunks_received),
        static_cast<long long>(speech_chunks), static_cast<long long>(m.events_dropped),
        static_cast<long long>(m.audio_thread_allocations), static_cast<long long>(m.audio_thread_mutex_locks),
        m.tick.p99_ns / 1000.0, wall_ms, m.processed_ms / std::max(wall_ms, 1e-3));
    return kExitOk;
  }
  std::printf("audioengine demo: %.1f s of conversation on the virtual clock (%s)\n\n", m.processed_ms / 1000.0,
              realtime ? "paced to wall-clock time" : "as fast as the CPU allows");
  std::stable_sort(timeline.begin(), timeline.end(),
                   [](const TimelineEntry& a, const TimelineEntry& b) { return a.t_ms < b.t_ms; });
  for (const auto& e : timeline) std::printf("  %7.2f s  %s\n", e.t_ms / 1000.0, e.text.c_str());
  std::printf("\nsummary\n");
  std::printf("  user turns           %d\n", user_turns);
  std::printf("  AI answers           %d\n", ai_turns);
  std::printf("  interruptions        %lld", static_cast<long long>(m.interruptions));
  for (size_t i = 0; i < interrupt_latency_ms.size(); ++i) {
    std::printf("%s%.0f ms after onset", i == 0 ? " (" : ", ", interrupt_latency_ms[i]);
  }
  std::printf("%s\n", interrupt_latency_ms.empty() ? "" : ")");
  std::printf("  stale AI audio dropped  %.0f ms (streamed after an interruption, never played)\n",
              1000.0 * static_cast<double>(m.stale_samples_dropped) / rate);
  std::printf("  chunks to the API    %lld (%lld with speech)\n", static_cast<long long>(chunks_received),
              static_cast<long long>(speech_chunks));
  std::printf("  dropped samples      %lld\n", static_cast<long long>(dropped));
  std::printf("  ticks                %lld of %zu samples, p99 %.1f us (budget %.0f ms)\n",
              static_cast<long long>(m.ticks), engine->period_frames(), m.tick.p99_ns / 1000.0, m.tick_budget_ms);
  std::printf("  audio thread         %lld allocations, %lld mutex locks\n",
              static_cast<long long>(m.audio_thread_allocations), static_cast<long long>(m.audio_thread_mutex_locks));
  std::printf("  speed                %.0fx real time (%.0f ms of wall-clock time)\n",
              m.processed_ms / std::max(wall_ms, 1e-3), wall_ms);
  return kExitOk;
}

}  // namespace ae::cli
