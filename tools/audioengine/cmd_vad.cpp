// audioengine vad: voice activity over an audio file, per frame and as speech segments.
#include <sndfile.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "audioengine/silero_vad.hpp"
#include "audioengine/vad_stream.hpp"
#include "cli.hpp"

namespace ae::cli {
namespace {

constexpr const char* kCmd = "vad";

double samples_to_ms(int64_t samples, int rate_hz) { return static_cast<double>(samples) * 1000.0 / rate_hz; }

}  // namespace

int cmd_vad(const std::vector<std::string>& argv) {
  Args args = Args::parse(argv, {"json", "help"});
  if (args.has("help")) {
    std::printf(
        "usage: audioengine vad FILE [--algo energy|webrtc|silero] [--frame-ms 10|20|30] [--aggressiveness 0..3]\n"
        "                         [--model PATH] [--json]\n\n"
        "Runs a voice activity detector over FILE (any file libsndfile reads; channels are averaged) with the\n"
        "engine's default VAD settings and prints the speech segments.\n\n"
        "  --algo ALGO     energy (default), silero (native Silero VAD v5; other rates resampled), webrtc\n"
        "                  (the WebRTC VAD: 8, 16, 32, 48 kHz directly, other rates resampled; p is the share of\n"
        "                  the frame's 10 ms pieces it calls speech)\n"
        "  --aggressiveness N  webrtc only: 0 calls the most frames speech, 3 the fewest (default 2)\n"
        "  --frame-ms MS   analysis frame, as the engine's period (default 10)\n"
        "  --model PATH    silero_vad_v5.onnx (default: $AE_SILERO_MODEL, else\n"
        "                  third_party_cache/vad-web/silero_vad_v5.onnx, fetched by scripts/setup.sh)\n"
        "  --json          one JSON line per frame {\"t_ms\":..,\"p\":..,\"speech\":..}, then\n"
        "                  {\"segments\":[[start_ms,end_ms],...]}\n");
    return kExitOk;
  }
  if (auto bad = args.unknown({"json", "algo", "frame-ms", "aggressiveness", "model"}); !bad.empty()) {
    return fail(kCmd, "unknown option " + bad[0], kExitUsage);
  }
  if (!args.parse_error().empty()) return fail(kCmd, args.parse_error(), kExitUsage);
  if (args.positionals().size() != 1) return fail(kCmd, "expected one FILE (see --help)", kExitUsage);
  const std::string path = args.positionals()[0];

  VadConfig config;
  const std::string algo = args.get("algo").value_or("energy");
  if (algo == "energy") {
    config.algorithm = VadAlgorithm::kEnergy;
  } else if (algo == "silero") {
    config.algorithm = VadAlgorithm::kSilero;
  } else if (algo == "webrtc") {
    config.algorithm = VadAlgorithm::kWebRtc;
  } else {
    return fail(kCmd, "--algo '" + algo + "' is not known; valid: energy, webrtc, silero", kExitUsage);
  }
  double frame_ms = 10;
  if (auto f = args.get("frame-ms")) {
    auto v = parse_number(kCmd, "frame-ms", *f, 1, 1000);
    if (!v) return kExitUsage;
    frame_ms = *v;
  }
  const auto aggressiveness = number_option(args, kCmd, "aggressiveness", config.webrtc_aggressiveness, 0, 3);
  if (!aggressiveness) return kExitUsage;
  if (*aggressiveness != static_cast<int>(*aggressiveness)) {
    return fail(kCmd, "--aggressiveness '" + args.get("aggressiveness").value_or("") +
                          "' is not an integer; valid: 0..3", kExitUsage);
  }
  config.webrtc_aggressiveness = static_cast<int>(*aggressiveness);
  if (auto m = args.get("model")) setenv("AE_SILERO_MODEL", m->c_str(), 1);

  SF_INFO info{};
  SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
  if (file == nullptr) return fail(kCmd, "cannot read '" + path + "': " + sf_strerror(nullptr));
  const int rate = info.samplerate;
  const auto channels = static_cast<size_t>(info.channels);
  const auto frame = static_cast<size_t>(frame_ms * rate / 1000.0 + 0.5);
  auto stream = VadStream::create(config, rate, frame);
  if (!stream.ok()) {
    sf_close(file);
    return fail(kCmd, stream.message());
  }
  std::vector<float> block(4096 * channels), mono(4096);
  size_t printed = 0;
  const bool json = args.has("json");
  auto print_frames = [&] {
    const auto& frames = (*stream)->frames();
    for (; printed < frames.size(); ++printed) {
      const VadFrame& f = frames[printed];
      if (json) {
        std::printf("{\"t_ms\":%.3f,\"p\":%.6f,\"speech\":%s}\n", samples_to_ms(f.start_sample, rate),
                    static_cast<double>(f.probability), f.state == VadState::kSpeaking ? "true" : "false");
      }
    }
  };
  sf_count_t got;
  while ((got = sf_readf_float(file, block.data(), 4096)) > 0) {
    for (sf_count_t i = 0; i < got; ++i) {
      float s = 0;
      for (size_t c = 0; c < channels; ++c) s += block[static_cast<size_t>(i) * channels + c];
      mono[static_cast<size_t>(i)] = s / static_cast<float>(channels);
    }
    (*stream)->process(std::span<const float>(mono.data(), static_cast<size_t>(got)));
    print_frames();
  }
  sf_close(file);

  const auto segments = (*stream)->segments();
  const int64_t end = (*stream)->position_samples();
  if (json) {
    std::string line = "{\"segments\":[";
    for (size_t i = 0; i < segments.size(); ++i) {
      char buf[64];
      const int64_t seg_end = segments[i].end_sample < 0 ? end : segments[i].end_sample;
      std::snprintf(buf, sizeof buf, "%s[%.3f,%.3f]", i ? "," : "", samples_to_ms(segments[i].start_sample, rate),
                    samples_to_ms(seg_end, rate));
      line += buf;
    }
    std::printf("%s]}\n", line.c_str());
  } else {
    std::printf("%s: %s VAD, %zu frames of %zu samples at %d Hz, %zu speech segment(s)\n", path.c_str(),
                to_string(config.algorithm), (*stream)->frames().size(), frame, rate, segments.size());
    for (const auto& s : segments) {
      const int64_t seg_end = s.end_sample < 0 ? end : s.end_sample;
      std::printf("  %10.3f ms .. %10.3f ms%s\n", samples_to_ms(s.start_sample, rate), samples_to_ms(seg_end, rate),
                  s.end_sample < 0 ? " (open at end of file)" : "");
    }
  }
  return kExitOk;
}

}  // namespace ae::cli
