// audioengine simulate: a conversation from two files on the virtual clock, with the AI's echo fed back into the
// microphone through a delay line (run_conversation), and the events and barge-in latencies it produced.

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "audioengine/echo_canceller.hpp"
#include "audioengine/file_io.hpp"
#include "audioengine/silero_vad.hpp"
#include "cli.hpp"
#include "conversation/simulated_conversation.hpp"

namespace ae::cli {
namespace {

// "low", "moderate", "high", and "adaptive" when `adaptive_allowed`; nullopt for anything else.
std::optional<EchoSuppression> suppression_named(const std::string& name, bool adaptive_allowed) {
  if (name == "low") return EchoSuppression::kLow;
  if (name == "moderate") return EchoSuppression::kModerate;
  if (name == "high") return EchoSuppression::kHigh;
  if (name == "adaptive" && adaptive_allowed) return EchoSuppression::kAdaptive;
  return std::nullopt;
}

constexpr const char* kHelp =
    "usage: audioengine simulate --mic MIC.wav --ai AI.wav [--ai-at MS] [--echo-delay-ms D --echo-gain G]\n"
    "                            [--echo-rt60 S] [--aec on|off] [--echo-gate auto|on|off]\n"
    "                            [--echo-gate-fall-db DB] [--echo-gate-max-coupling-db DB]\n"
    "                            [--echo-gate-bands N]\n"
    "                            [--aec-suppression low|moderate|high|adaptive]\n"
    "                            [--vad-copy off|low|moderate|high]\n"
    "                            [--vad energy|webrtc|silero] [--json]\n\n"
    "Runs a conversation on the virtual clock (16 kHz, 10 ms periods, no sound card): MIC.wav is the user's\n"
    "microphone from time 0, AI.wav the AI's answer, queued at --ai-at. The microphone the engine captures is\n"
    "the user's file plus the echo of what the engine actually played, delayed by D ms and scaled by G: when the\n"
    "engine interrupts the AI, its echo stops too. Files are converted to mono 16 kHz.\n\n"
    "options:\n"
    "  --mic FILE            the user's microphone track (WAV, FLAC, Ogg)\n"
    "  --ai FILE             the AI's answer\n"
    "  --ai-at MS            when the answer starts playing (default 0; rounded up to a 10 ms period)\n"
    "  --echo-delay-ms D     speaker-to-microphone delay, 10..2000 ms (default 60 when an echo option is given)\n"
    "  --echo-gain G         the echo path's RMS gain relative to the output, reverberation included, 0..10\n"
    "                        (default 0.5 when an echo option is given); without --echo-delay-ms, --echo-gain\n"
    "                        and --echo-rt60 there is no echo\n"
    "  --echo-rt60 S         room reverberation time in seconds, 0..2 (default 0: the direct path only)\n"
    "  --aec on|off          the WebRTC echo canceller on the microphone (default on), told the echo delay,\n"
    "                        gentlest suppression (the echo gate handles its residual echo)\n"
    "  --aec-suppression S   the canceller's suppression: low (default), moderate, high, or adaptive (the\n"
    "                        canceller's own default: high while only the AI talks, low in double talk)\n"
    "  --vad-copy S          what the barge-in's detector hears: low (default), moderate or high a copy with that\n"
    "                        echo suppression, before noise suppression and gain (a second canceller unless it\n"
    "                        is --aec-suppression); off the processed capture; the VAD's events, the delivered\n"
    "                        audio and the echo gate keep the processed capture\n"
    "  --echo-gate MODE      the barge-in's echo gate: a VAD run interrupts the AI only with near-end energy the\n"
    "                        echo does not explain; auto (default) while the canceller is on, on, or off\n"
    "  --echo-gate-fall-db DB  how far the weight of past render falls over the gate's 300 ms tail, 0..120 dB\n"
    "                        (default 60; 0: every render period of the tail explains echo at full weight)\n"
    "  --echo-gate-max-coupling-db DB  the most the gate's learnt echo coupling may reach, -20..40 dB\n"
    "                        (default 40: no cap; 0: an echo path no louder than the AI's output)\n"
    "  --echo-gate-bands N   decide in N frequency bands, 100 Hz to 4 kHz, 0..64 (default 0: whole-band)\n"
    "  --vad ALGO            energy, webrtc or silero (default silero when its model is found, else energy)\n"
    "  --model PATH          the Silero model (default $AE_SILERO_MODEL or\n"
    "                        third_party_cache/vad-web/silero_vad_v5.onnx)\n"
    "  --user-onset-ms MS    the true onset of the user's speech; default: found in MIC, the first sample at or\n"
    "                        above --onset-threshold-dbfs (default -40) of the speech going on at the barge-in\n"
    "  --json                one JSON object per event, then a summary line\n\n"
    "Output: each event with its time on the engine timeline (t_ms, from the event's sample position), then a\n"
    "summary: interruptions; false_interruptions (interruptions with no user speech in MIC behind them, or whose\n"
    "utterance never reached an ENDPOINT, i.e. was shorter than the endpointer's min utterance, 200 ms); user_turns\n"
    "(ENDPOINT events); echo_gated_runs (VAD runs the barge-in's echo gate held back); vad_echo_vetoed_segments\n"
    "(VAD segments only the AI's echo started, held back and dropped); interrupt_latency_ms (per interruption\n"
    "with user speech: from the true onset to the first silent output sample, exact in samples). An INTERRUPT\n"
    "carries speech_run_samples: how far back from it the confirming speech run began.\n"
    "Exit status: 0 success, 1 a file cannot be read or the run failed, 2 bad usage.\n";

bool file_exists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0;
}

std::string ms_text(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", ms);  // exact: one sample at 16 kHz is 0.0625 ms
  return buf;
}

// The event as one JSON object: type and time, plus what the type carries.
std::string event_json(const AudioEvent& ev, const ConversationOutcome& r, const SimulatedInterrupt* in) {
  const auto ms = [&](int64_t samples) { return ms_text(r.ms(samples)); };
  std::string s = "{\"t_ms\":" + ms(ev.t_samples) + ",\"type\":\"" + to_string(ev.type) + "\"";
  switch (ev.type) {
    case AudioEventType::kVadSpeechStart:
    case AudioEventType::kVadSpeechEnd:
      s += ",\"speech_start_ms\":" + ms(ev.vad.speech_start_sample);
      if (ev.vad.speech_end_sample >= 0) s += ",\"speech_end_ms\":" + ms(ev.vad.speech_end_sample);
      s += ",\"probability\":" + ms_text(ev.vad.probability);
      break;
    case AudioEventType::kEndpoint:
      s += std::string(",\"reason\":\"") + to_string(ev.vad.endpoint_reason) + "\",\"utterance_start_ms\":" +
           ms(ev.vad.speech_start_sample) + ",\"utterance_end_ms\":" + ms(ev.vad.speech_end_sample);
      break;
    case AudioEventType::kInterrupt:
      s += std::string(",\"reason\":\"") + to_string(ev.interrupt.reason) + "\",\"item_id\":" +
           std::to_string(ev.interrupt.item_id) + ",\"played_ms\":" + ms(ev.interrupt.played_samples) +
           ",\"audio_flushed_ms\":" + ms(ev.interrupt.flushed_samples) +
           ",\"speech_run_samples\":" + std::to_string(ev.interrupt.speech_run_samples);
      if (in != nullptr) {
        s += ",\"onset_ms\":" + (in->onset_sample >= 0 ? ms(in->onset_sample) : std::string("null")) +
             ",\"latency_ms\":" + (in->onset_sample >= 0 ? ms_text(in->latency_ms) : std::string("null")) +
             ",\"false_interruption\":" + (in->false_interruption ? "true" : "false");
      }
      break;
    case AudioEventType::kPlaybackStarted:
    case AudioEventType::kPlaybackComplete:
      s += ",\"item_id\":" + std::to_string(ev.playback.item_id) + ",\"samples\":" + std::to_string(ev.playback.samples);
      break;
    default:
      break;
  }
  return s + "}";
}

}  // namespace

int cmd_simulate(const std::vector<std::string>& argv) {
  const char* cmd = "simulate";
  Args args = Args::parse(argv, {"json", "help"});
  if (args.has("help")) {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  if (!args.parse_error().empty()) return fail(cmd, args.parse_error(), kExitUsage);
  if (auto bad = args.unknown({"json", "mic", "ai", "ai-at", "echo-delay-ms", "echo-gain", "echo-rt60", "aec", "echo-gate",
                               "echo-gate-fall-db", "echo-gate-max-coupling-db", "echo-gate-bands",
                               "aec-suppression", "vad-copy", "vad",
                               "model", "user-onset-ms", "onset-threshold-dbfs"});
      !bad.empty()) {
    return fail(cmd, "unknown option " + bad[0] + " (see audioengine simulate --help)", kExitUsage);
  }
  if (!args.positionals().empty()) {
    return fail(cmd, "unexpected argument '" + args.positionals()[0] + "' (see audioengine simulate --help)",
                kExitUsage);
  }
  const auto mic_path = args.get("mic");
  const auto ai_path = args.get("ai");
  if (!mic_path || mic_path->empty()) return fail(cmd, "--mic FILE is required (the user's microphone track)", kExitUsage);
  if (!ai_path || ai_path->empty()) return fail(cmd, "--ai FILE is required (the AI's answer)", kExitUsage);
  const auto ai_at = number_option(args, cmd, "ai-at", 0, 0, 3600000);
  const auto delay = number_option(args, cmd, "echo-delay-ms", 60, 10, 2000);
  const auto gain = number_option(args, cmd, "echo-gain", 0.5, 0, 10);
  const auto rt60 = number_option(args, cmd, "echo-rt60", 0, 0, 2);
  const auto onset = number_option(args, cmd, "user-onset-ms", -1, 0, 3600000);
  const auto threshold = number_option(args, cmd, "onset-threshold-dbfs", -40, -120, 0);
  const auto gate_fall = number_option(args, cmd, "echo-gate-fall-db", 60, 0, 120);
  const auto gate_bands = number_option(args, cmd, "echo-gate-bands", 0, 0, 64);
  const auto gate_max_coupling = number_option(args, cmd, "echo-gate-max-coupling-db", 40, -20, 40);
  if (!ai_at || !delay || !gain || !rt60 || !onset || !threshold || !gate_fall || !gate_bands || !gate_max_coupling) {
    return kExitUsage;
  }
  const std::string aec_text = args.get("aec").value_or("on");
  if (aec_text != "on" && aec_text != "off") {
    return fail(cmd, "--aec '" + aec_text + "' is not valid; valid: on, off", kExitUsage);
  }
  const std::string suppression_text = args.get("aec-suppression").value_or("low");
  const auto suppression = suppression_named(suppression_text, true);
  if (!suppression) {
    return fail(cmd, "--aec-suppression '" + suppression_text + "' is not valid; valid: low, moderate, high, adaptive",
                kExitUsage);
  }
  const std::string copy_text = args.get("vad-copy").value_or("low");
  const auto copy_suppression = suppression_named(copy_text == "off" ? "low" : copy_text, false);
  if (!copy_suppression) {
    return fail(cmd, "--vad-copy '" + copy_text + "' is not valid; valid: off, low, moderate, high", kExitUsage);
  }
  const std::string gate_text = args.get("echo-gate").value_or("auto");
  EchoGateMode gate_mode = EchoGateMode::kAuto;
  if (gate_text == "on") {
    gate_mode = EchoGateMode::kOn;
  } else if (gate_text == "off") {
    gate_mode = EchoGateMode::kOff;
  } else if (gate_text != "auto") {
    return fail(cmd, "--echo-gate '" + gate_text + "' is not valid; valid: auto, on, off", kExitUsage);
  }
  if (auto model = args.get("model")) setenv("AE_SILERO_MODEL", model->c_str(), 1);
  const std::string model_path = SileroVad::default_model_path();
  std::string vad_text = args.get("vad").value_or(file_exists(model_path) ? "silero" : "energy");
  VadAlgorithm vad;
  if (vad_text == "energy") {
    vad = VadAlgorithm::kEnergy;
  } else if (vad_text == "webrtc") {
    vad = VadAlgorithm::kWebRtc;
  } else if (vad_text == "silero") {
    vad = VadAlgorithm::kSilero;
    if (!file_exists(model_path)) {
      return fail(cmd, "the Silero model " + model_path + " is missing: run scripts/setup.sh or give --model PATH");
    }
  } else {
    return fail(cmd, "--vad '" + vad_text + "' is not valid; valid: energy, webrtc, silero", kExitUsage);
  }

  EngineConfig config = EngineConfig::fast_lane();
  config.clock.virtual_mode = VirtualClockMode::kInline;
  config.vad.algorithm = vad;
  config.sink.memory_capacity_ms = 1000;
  config.barge_in.echo_gate = gate_mode;
  config.barge_in.echo_gate_tail_fall_db = static_cast<float>(*gate_fall);
  config.barge_in.echo_gate_bands = static_cast<int>(*gate_bands);
  config.barge_in.echo_gate_max_coupling_db = static_cast<float>(*gate_max_coupling);
  config.barge_in.echo_gate_min_bands =
      std::min(config.barge_in.echo_gate_min_bands, std::max(1, config.barge_in.echo_gate_bands));
  const int rate = config.audio.sample_rate_hz;
  auto user = AudioFileReader::read_all(*mic_path, rate, 1);
  if (!user.ok()) return fail(cmd, "--mic: " + user.message());
  auto ai = AudioFileReader::read_all(*ai_path, rate, 1);
  if (!ai.ok()) return fail(cmd, "--ai: " + ai.message());

  ConversationScript script;
  script.user = std::move(*user);
  script.ai = std::move(*ai);
  script.ai_at_ms = static_cast<int64_t>(*ai_at);
  script.echo_enabled = args.has("echo-delay-ms") || args.has("echo-gain") || args.has("echo-rt60");
  script.echo.delay_ms = static_cast<int>(*delay);
  script.echo.gain = *gain;
  script.echo.rt60_ms = *rt60 * 1000.0;
  script.user_onset_ms = *onset;
  script.onset_threshold_dbfs = *threshold;

  auto engine = AudioEngine::create(config);
  if (auto st = engine->initialize(); !st.ok()) return fail(cmd, st.message());
  if (aec_text == "on") {
    // The canceller told the echo delay, as a device engine knows its output and input latency, with its gentlest
    // suppression: it keeps the user's first syllables in double talk (the default suppression removes 50 to
    // 70 ms of them), and the barge-in's echo gate keeps the residual echo it lets through from interrupting.
    EchoCancellerConfig ec;
    ec.suppression = *suppression;
    ec.vad_copy = copy_text != "off";
    ec.vad_copy_suppression = *copy_suppression;
    if (script.echo_enabled) {
      ec.stream_delay_ms = std::min(500, script.echo.delay_ms);
      ec.delay_agnostic = false;
    }
    if (auto st = engine->enable_echo_cancellation(ec); !st.ok()) return fail(cmd, st.message());
  }
  const bool json = args.has("json");
  Progress progress(cmd);
  auto r = run_conversation(*engine, script, [&](double f) { progress.update(f); });
  progress.finish();
  const EngineMetrics metrics = engine->get_metrics();
  const int64_t gated_runs = metrics.barge_in_echo_gated_runs;
  const int64_t vetoed_segments = metrics.vad_echo_vetoed_segments;
  (void)engine->shutdown();
  if (!r.ok()) return fail(cmd, r.message(), r.error() == Error::kInvalidArgument ? kExitUsage : kExitFailure);

  std::vector<double> latencies;
  for (const auto& in : r->interrupts) {
    if (in.onset_sample >= 0) latencies.push_back(in.latency_ms);
  }
  size_t next_interrupt = 0;
  if (!json) {
    std::printf("audioengine simulate: %.1f s on the virtual clock, VAD %s, echo %s, AEC %s\n\n",
                r->ms(static_cast<int64_t>(r->played.size())) / 1000.0, to_string(vad),
                script.echo_enabled ? "on" : "off", aec_text.c_str());
  }
  for (const AudioEvent& ev : r->events) {
    const SimulatedInterrupt* in = nullptr;
    if (ev.type == AudioEventType::kInterrupt && next_interrupt < r->interrupts.size()) {
      in = &r->interrupts[next_interrupt++];
    }
    if (json) {
      std::printf("%s\n", event_json(ev, *r, in).c_str());
      continue;
    }
    std::printf("  %9.1f ms  %-17s", ev.t_ms(), to_string(ev.type));
    if (in != nullptr) {
      std::printf("  %s, %.1f ms played, %.1f ms flushed", to_string(ev.interrupt.reason),
                  r->ms(ev.interrupt.played_samples), r->ms(ev.interrupt.flushed_samples));
      if (in->onset_sample >= 0) std::printf(", %.1f ms after the user's onset", in->latency_ms);
      if (in->false_interruption) std::printf(" (false interruption)");
    }
    std::printf("\n");
  }
  std::string lat;
  for (double v : latencies) lat += (lat.empty() ? "" : ",") + ms_text(v);
  if (json) {
    std::printf("{\"summary\":{\"interruptions\":%zu,\"false_interruptions\":%d,\"user_turns\":%d,"
                "\"vad_speech_starts\":%d,\"echo_gated_runs\":%lld,\"vad_echo_vetoed_segments\":%lld,"
                "\"interrupt_latency_ms\":[%s],\"ai_start_ms\":%s,\"duration_ms\":%s}}\n",
                r->interrupts.size(), r->false_interruptions, r->user_turns, r->vad_speech_starts,
                static_cast<long long>(gated_runs), static_cast<long long>(vetoed_segments), lat.c_str(),
                r->ai_start_sample >= 0 ? ms_text(r->ms(r->ai_start_sample)).c_str() : "null",
                ms_text(r->ms(static_cast<int64_t>(r->played.size()))).c_str());
    return kExitOk;
  }
  std::printf("\nsummary\n");
  std::printf("  interruptions        %zu (%d false)\n", r->interrupts.size(), r->false_interruptions);
  std::printf("  user turns           %d\n", r->user_turns);
  std::printf("  echo-gated runs      %lld\n", static_cast<long long>(gated_runs));
  std::printf("  echo-vetoed segments %lld\n", static_cast<long long>(vetoed_segments));
  std::printf("  interrupt latency    %s\n", latencies.empty() ? "-" : (lat + " ms from the user's onset").c_str());
  return kExitOk;
}

}  // namespace ae::cli
