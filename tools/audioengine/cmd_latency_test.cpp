// audioengine latency-test: plays clicks through the engine and listens for them on the capture side (a loopback
// cable, or the sound server's own routing), and reports the round trip, like JACK's iodelay.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "cli.hpp"

namespace ae::cli {

int cmd_latency_test(const std::vector<std::string>& argv) {
  const char* kCmd = "latency-test";
  Args args = Args::parse(argv, {"json", "help"});
  if (args.has("help")) {
    std::printf(
        "usage: audioengine latency-test [--host-api NAME] [--input DEV] [--output DEV] [--seconds N]\n"
        "                                [--rate HZ] [--json]\n\n"
        "Plays a click every 250 ms and listens for each on the capture device for up to N seconds (default 5).\n"
        "Route the output back to the input first: a loopback cable, or the server's routing (JACK: connect\n"
        "<client>:out_1 to <client>:in_1; the client is named 'audioengine').\n"
        "Prints the round trip (median over the clicks heard), the number of measurements and the xruns\n"
        "counted from the first click heard.\n"
        "Exit status 1 when no click came back.\n\n"
        "  --host-api NAME  PortAudio host API, case-insensitive: JACK, ALSA, ... (default: PortAudio's default)\n"
        "  --input DEV      capture device id or name (default: the host API's default)\n"
        "  --output DEV     playback device id or name (default: the host API's default)\n"
        "  --client-name N  JACK client name (default audioengine)\n"
        "  --rate HZ        engine rate, 8000..48000 (default 48000: the round trip in device frames)\n"
        "  --json           print {\"round_trip_ms\":..,\"measurements\":..,\"xruns\":..} and more\n");
    return kExitOk;
  }
  if (auto bad = args.unknown({"json", "host-api", "input", "output", "seconds", "rate", "client-name"});
      !bad.empty()) {
    return fail(kCmd, "unknown option " + bad[0], kExitUsage);
  }
  if (!args.parse_error().empty()) return fail(kCmd, args.parse_error(), kExitUsage);
  if (!args.positionals().empty()) return fail(kCmd, "unexpected argument '" + args.positionals()[0] + "'", kExitUsage);
  const auto seconds_opt = number_option(args, kCmd, "seconds", 5, 0.5, 3600);
  const auto rate_opt = number_option(args, kCmd, "rate", 48000, 8000, 48000);
  if (!seconds_opt || !rate_opt) return kExitUsage;
  const double seconds = *seconds_opt, rate = *rate_opt;
  EngineConfig c = EngineConfig::fast_lane();
  c.audio.sample_rate_hz = static_cast<int>(rate);
  c.audio.chunk_duration_ms = 10;
  c.barge_in.enabled = false;  // the clicks come back as input
  c.clock.source = ClockSource::kDevice;
  c.device.host_api = args.get("host-api").value_or("");
  c.device.capture_device = args.get("input").value_or("");
  c.device.playback_device = args.get("output").value_or("");
  c.device.client_name = args.get("client-name").value_or("audioengine");
  auto e = AudioEngine::create(c);
  auto streams = e->start_full_duplex();
  if (!streams.ok()) return fail(kCmd, streams.message());
  if (auto st = e->start_capture(); !st.ok()) return fail(kCmd, st.message());

  const int r = c.audio.sample_rate_hz;
  const size_t interval = static_cast<size_t>(r / 4);
  const size_t total = static_cast<size_t>(seconds * r);
  std::vector<int16_t> clicks(total, 0);
  for (size_t at = 0; at + 8 < total; at += interval) {
    for (size_t k = 0; k < 4; ++k) clicks[at + k] = 26000;
  }
  std::vector<float> captured;
  int64_t first = -1;
  if (auto st = e->queue_playback(clicks.data(), clicks.size() * 2, 1); !st.ok()) return fail(kCmd, st.message());
  auto started = e->wait_for_event(AudioEventType::kPlaybackStarted, 3000);
  if (!started) return fail(kCmd, "playback did not start within 3 s (is the device running?)");
  const int64_t origin = started->t_samples;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000) + 1000);
  CaptureChunk chunk;
  // Xruns count from the first click heard: routing the loop (connecting ports) may itself cause one.
  bool heard = false;
  int64_t xruns_base = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!e->read_chunk(chunk, 50)) continue;
    if (!heard && std::any_of(chunk.samples.begin(), chunk.samples.end(), [](float x) { return std::fabs(x) > 0.25f; })) {
      heard = true;
      xruns_base = e->get_device_stats().xruns;
    }
    if (first < 0) first = chunk.info.start_sample;
    captured.resize(static_cast<size_t>(chunk.info.start_sample - first));
    captured.insert(captured.end(), chunk.samples.begin(), chunk.samples.end());
  }
  DeviceStats stats = e->get_device_stats();
  stats.xruns -= xruns_base;
  (void)e->shutdown();
  // Each click i left at origin + i * interval; it is heard at the first sample above the threshold after that.
  std::vector<int64_t> lags;
  for (size_t at = 0; at + 8 < total; at += interval) {
    const int64_t from = origin + static_cast<int64_t>(at) - first;
    for (int64_t k = std::max<int64_t>(from, 0); k < from + static_cast<int64_t>(interval) &&
                                                  k < static_cast<int64_t>(captured.size()); ++k) {
      if (std::fabs(captured[static_cast<size_t>(k)]) > 0.25f) {
        lags.push_back(k - from);
        break;
      }
    }
  }
  std::sort(lags.begin(), lags.end());
  const int64_t median = lags.empty() ? -1 : lags[lags.size() / 2];
  const double rt_ms = lags.empty() ? -1.0 : 1000.0 * static_cast<double>(median) / r;
  const int64_t spread = lags.empty() ? 0 : lags.back() - lags.front();
  if (args.has("json")) {
    std::printf("{\"round_trip_ms\":%.3f,\"round_trip_frames\":%lld,\"spread_frames\":%lld,\"measurements\":%zu,"
                "\"xruns\":%lld,\"callback_max_us\":%lld,\"callbacks_over_period\":%lld,\"sample_rate_hz\":%d,\"device_rate_hz\":%d,\"device_period_frames\":%d,"
                "\"capture_device\":\"%s\",\"playback_device\":\"%s\",\"host_api\":\"%s\"}\n",
                rt_ms, static_cast<long long>(median), static_cast<long long>(spread), lags.size(),
                static_cast<long long>(stats.xruns), static_cast<long long>(stats.callback_max_us),
                static_cast<long long>(stats.callbacks_over_period), r,
                streams->capture.sample_rate_hz,
                streams->capture.period_frames, json_escape(streams->capture.device_name).c_str(),
                json_escape(streams->playback.device_name).c_str(), json_escape(streams->capture.host_api).c_str());
  } else {
    std::printf("round trip: %.3f ms (%lld frames at %d Hz, spread %lld), %zu measurements, %lld xruns\n", rt_ms,
                static_cast<long long>(median), r, static_cast<long long>(spread), lags.size(),
                static_cast<long long>(stats.xruns));
  }
  if (lags.empty()) return fail(kCmd, "no click came back: route the output to the input");
  return kExitOk;
}

}  // namespace ae::cli
