// The smallest useful audioengine program: the AI is talking, the user starts speaking over it, and the engine
// stops the AI by itself (barge-in), telling exactly how much of the answer the user heard.
//
// Everything runs on the virtual clock in inline mode: no sound card is needed, and time only moves when the
// program says so (engine->advance(ms) runs those milliseconds of audio on the calling thread, at CPU speed).
// The "microphone" is audio the program injects; the "speaker" is the engine's memory sink.
//
// Exit status: 0 when the barge-in interrupted the playback, 1 otherwise.

#include <audioengine/audioengine.hpp>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numbers>
#include <vector>

namespace {

constexpr int kSampleRateHz = 16000;

// The AI's answer: `duration_ms` of a 440 Hz tone as PCM16, the engine's default playback format.
std::vector<int16_t> ai_answer(int duration_ms) {
  std::vector<int16_t> pcm(static_cast<size_t>(kSampleRateHz * duration_ms / 1000));
  for (size_t i = 0; i < pcm.size(); ++i) {
    const double t = static_cast<double>(i) / kSampleRateHz;
    pcm[i] = static_cast<int16_t>(8000.0 * std::sin(2.0 * std::numbers::pi * 440.0 * t));
  }
  return pcm;
}

// A stand-in for a voice: a loud 220 Hz tone whose loudness swells 4 times a second, like syllables.
std::vector<float> user_speech(int duration_ms) {
  std::vector<float> mono(static_cast<size_t>(kSampleRateHz * duration_ms / 1000));
  for (size_t i = 0; i < mono.size(); ++i) {
    const double t = static_cast<double>(i) / kSampleRateHz;
    const double envelope = 0.6 + 0.4 * std::sin(2.0 * std::numbers::pi * 4.0 * t);
    mono[i] = static_cast<float>(0.5 * envelope * std::sin(2.0 * std::numbers::pi * 220.0 * t));
  }
  return mono;
}

// A quiet room: low noise the voice activity detector learns as its noise floor.
std::vector<float> room_noise(int duration_ms) {
  std::vector<float> mono(static_cast<size_t>(kSampleRateHz * duration_ms / 1000));
  uint32_t state = 1;
  for (float& s : mono) {
    state = state * 1664525u + 1013904223u;
    s = 0.001f * (static_cast<float>(state >> 8) / 16777216.0f - 0.5f);
  }
  return mono;
}

}  // namespace

int main() {
  // 16 kHz, 10 ms periods, energy VAD with its default settings; barge-in is on by default.
  auto engine = ae::AudioEngine::create_for_fast_lane(kSampleRateHz, 10);

  // Before initialize() every setting may change: run the clock inline, on this thread.
  ae::EngineConfig config = engine->config();
  config.clock.virtual_mode = ae::VirtualClockMode::kInline;
  if (auto updated = engine->update_config(config); !updated.ok()) {
    std::fprintf(stderr, "update_config: %s\n", updated.message().c_str());
    return 1;
  }

  // initialize() validates the config and allocates everything the audio path uses; subscriptions live from then on.
  if (auto status = engine->initialize(); !status.ok()) {
    std::fprintf(stderr, "initialize: %s\n", status.message().c_str());
    return 1;
  }
  // Events are delivered on the engine's "ae-events" thread; keep what the callback needs in atomics.
  std::atomic<bool> interrupted{false};
  std::atomic<int64_t> played_samples{0};
  std::atomic<int64_t> flushed_samples{0};
  engine->subscribe(ae::AudioEventType::kInterrupt, [&](const ae::AudioEvent& event) {
    played_samples = event.interrupt.played_samples;
    flushed_samples = event.interrupt.flushed_samples;
    interrupted = event.interrupt.reason == ae::InterruptReason::kBargeIn;
  });

  if (auto status = engine->start(); !status.ok()) {
    std::fprintf(stderr, "start: %s\n", status.message().c_str());
    return 1;
  }

  // The AI starts a 3 s answer (item 1: positions are reported per item).
  const std::vector<int16_t> answer = ai_answer(3000);
  if (auto status = engine->queue_playback(answer.data(), answer.size() * sizeof(int16_t), 1); !status.ok()) {
    std::fprintf(stderr, "queue_playback: %s\n", status.message().c_str());
    return 1;
  }

  // 500 ms of a quiet room while the AI talks, then the user speaks for 400 ms.
  const std::vector<float> quiet = room_noise(500);
  const std::vector<float> voice = user_speech(400);
  if (!engine->inject_test_audio(quiet).ok() || !engine->inject_test_audio(voice).ok()) {
    std::fprintf(stderr, "inject_test_audio failed\n");
    return 1;
  }
  if (auto status = engine->advance(900); !status.ok()) {
    std::fprintf(stderr, "advance: %s\n", status.message().c_str());
    return 1;
  }

  // Let ae-events deliver what the ticks published, then report.
  engine->wait_until_dispatched(1000);
  const double ms_per_sample = 1000.0 / kSampleRateHz;
  if (!interrupted) {
    std::printf("no barge-in: the AI was not interrupted (VAD state: %s)\n", ae::to_string(engine->get_vad_state()));
    return 1;
  }
  std::printf("INTERRUPT played_ms=%.1f audio_flushed_ms=%.1f\n", static_cast<double>(played_samples) * ms_per_sample,
              static_cast<double>(flushed_samples) * ms_per_sample);
  (void)engine->shutdown();
  return 0;
}
