// audioengine devices: the host APIs and sound devices PortAudio sees, with their capabilities.
#include <cstdio>
#include <string>

#include "audioengine/devices.hpp"
#include "cli.hpp"

#if defined(__SANITIZE_THREAD__)
// PortAudio's ALSA host API loads ALSA's PulseAudio plugin, whose libpulse threads synchronise in ways
// ThreadSanitizer cannot see (uninstrumented atomics): its reports are about libpulse's own state, not ours.
extern "C" const char* __tsan_default_suppressions() {
  return "race:libpulse.so.0\nrace:libpulsecommon-16.1.so\n";
}
#endif

#if defined(__SANITIZE_ADDRESS__)
// ALSA plugins that PortAudio's ALSA host API loads (dlopen) allocate in their initialisers and are unloaded
// before exit: LeakSanitizer reports those as leaks of an unknown module. Not ours.
// The slow unwinder sees through those libraries' frames, so the suppression can match.
extern "C" const char* __lsan_default_suppressions() { return "leak:snd_dlopen\n"; }
extern "C" const char* __asan_default_options() { return "fast_unwind_on_malloc=0"; }
#endif

namespace ae::cli {

int cmd_devices(const std::vector<std::string>& argv) {
  Args args = Args::parse(argv, {"json", "help", "rates"});
  if (args.has("help")) {
    std::printf(
        "usage: audioengine devices [--json] [--rates]\n\n"
        "Lists PortAudio's host APIs (ALSA, JACK, ...) and their capture and playback devices: id, name,\n"
        "channels, default rate and latencies. Use the id or the name with duplex and latency-test.\n\n"
        "  --rates  also probe which common sample rates each device accepts (slower)\n"
        "  --json   print one JSON object instead of text\n");
    return kExitOk;
  }
  if (auto bad = args.unknown({"json", "rates"}); !bad.empty()) {
    return fail("devices", "unknown option " + bad[0], kExitUsage);
  }
  if (!args.parse_error().empty()) return fail("devices", args.parse_error(), kExitUsage);
  if (!args.positionals().empty()) return fail("devices", "unexpected argument '" + args.positionals()[0] + "'", kExitUsage);
  auto apis = list_host_apis();
  if (!apis.ok()) return fail("devices", apis.message());
  auto devs = list_devices(args.has("rates"));
  if (!devs.ok()) return fail("devices", devs.message());
  if (args.has("json")) {
    std::string j = "{\"host_apis\":[";
    for (size_t i = 0; i < apis->size(); ++i) {
      const auto& h = (*apis)[i];
      if (i) j += ',';
      char buf[256];
      std::snprintf(buf, sizeof buf,
                    "\"device_count\":%d,\"default_input_device\":%d,\"default_output_device\":%d,\"is_default\":%s}",
                    h.device_count, h.default_input_device, h.default_output_device, h.is_default ? "true" : "false");
      j += "{\"index\":" + std::to_string(h.index) + ",\"name\":\"" + json_escape(h.name) + "\"," + buf;
    }
    j += "],\"devices\":[";
    for (size_t i = 0; i < devs->size(); ++i) {
      const auto& d = (*devs)[i];
      if (i) j += ',';
      char buf[512];
      std::snprintf(buf, sizeof buf,
                    "\"max_input_channels\":%d,\"max_output_channels\":%d,\"default_sample_rate_hz\":%.0f,"
                    "\"default_low_input_latency_ms\":%.3f,\"default_low_output_latency_ms\":%.3f,"
                    "\"default_high_input_latency_ms\":%.3f,\"default_high_output_latency_ms\":%.3f,"
                    "\"is_default_input\":%s,\"is_default_output\":%s",
                    d.max_input_channels, d.max_output_channels, d.default_sample_rate_hz,
                    d.default_low_input_latency_ms, d.default_low_output_latency_ms, d.default_high_input_latency_ms,
                    d.default_high_output_latency_ms, d.is_default_input ? "true" : "false",
                    d.is_default_output ? "true" : "false");
      j += "{\"id\":" + std::to_string(d.id) + ",\"name\":\"" + json_escape(d.name) + "\",\"host_api\":\"" +
           json_escape(d.host_api) + "\"," + buf + ",\"supported_rates_hz\":[";
      for (size_t k = 0; k < d.supported_rates_hz.size(); ++k) {
        if (k != 0) j += ',';
        j += std::to_string(d.supported_rates_hz[k]);
      }
      j += "]}";
    }
    j += "]}";
    std::printf("%s\n", j.c_str());
    return kExitOk;
  }
  for (const auto& h : *apis) {
    std::printf("%s%s (%d devices)\n", h.name.c_str(), h.is_default ? " [default]" : "", h.device_count);
    for (const auto& d : *devs) {
      if (d.host_api_index != h.index) continue;
      std::printf("  %3d  %-32s in %2d  out %2d  %6.0f Hz  latency in %.1f ms, out %.1f ms%s%s\n", d.id, d.name.c_str(),
                  d.max_input_channels, d.max_output_channels, d.default_sample_rate_hz,
                  d.default_low_input_latency_ms, d.default_low_output_latency_ms,
                  d.is_default_input ? "  [default input]" : "", d.is_default_output ? "  [default output]" : "");
      if (!d.supported_rates_hz.empty()) {
        std::printf("       rates:");
        for (int r : d.supported_rates_hz) std::printf(" %d", r);
        std::printf("\n");
      }
    }
  }
  return kExitOk;
}

}  // namespace ae::cli
