// audioengine duplex: capture and playback together through the engine, from and to devices or files, with the
// VAD events printed live.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "audioengine/audioengine.hpp"
#include "audioengine/file_io.hpp"
#include "cli.hpp"

namespace ae::cli {
namespace {
bool is_file(const std::string& s) { return container_for_path(s).ok(); }
}  // namespace

int cmd_duplex(const std::vector<std::string>& argv) {
  const char* kCmd = "duplex";
  Args args = Args::parse(argv, {"json", "help"});
  if (args.has("help")) {
    std::printf(
        "usage: audioengine duplex [--host-api NAME] --input DEV|FILE --output DEV|FILE [--seconds N]\n"
        "                          [--input-host-api NAME] [--output-host-api NAME] [--play FILE]\n"
        "                          [--record DIR] [--rate HZ] [--client-name NAME] [--json]\n\n"
        "Runs capture and playback together through the engine for N seconds (default 10), printing VAD events\n"
        "as they happen and, at the end, the device figures: callbacks, ticks, xruns, FIFO underflows and the\n"
        "latency of each step. A DEV is a device id or name (`audioengine devices`; 'default' for the host API's\n"
        "default); a FILE ends in .wav, .flac or .ogg. Devices on both sides share one full-duplex stream when\n"
        "they are on the same host API; on two host APIs they run on two clocks (the output drives, the input\n"
        "follows, drift counted); a file input is fed in real time; with files on both sides the engine runs on\n"
        "its realtime virtual clock.\n\n"
        "  --host-api NAME     PortAudio host API, case-insensitive: JACK, ALSA, ... (default: PortAudio's)\n"
        "  --input-host-api NAME, --output-host-api NAME\n"
        "                      the host API of one side (default: --host-api)\n"
        "  --play FILE         audio to queue for playback at the start (default: silence)\n"
        "  --record DIR        write DIR/capture_processed.wav and DIR/events.jsonl\n"
        "  --rate HZ           engine rate, 8000..48000 (default 16000)\n"
        "  --client-name NAME  JACK client name (default audioengine)\n"
        "  --json              events as JSON lines, then one JSON summary line\n");
    return kExitOk;
  }
  if (auto bad = args.unknown({"json", "host-api", "input-host-api", "output-host-api", "input", "output",
                               "seconds", "play", "record", "rate", "client-name"});
      !bad.empty()) {
    return fail(kCmd, "unknown option " + bad[0], kExitUsage);
  }
  if (!args.parse_error().empty()) return fail(kCmd, args.parse_error(), kExitUsage);
  if (!args.get("input") || !args.get("output")) return fail(kCmd, "--input and --output are required", kExitUsage);
  const auto seconds_opt = number_option(args, kCmd, "seconds", 10, 0.1, 86400);
  const auto rate_opt = number_option(args, kCmd, "rate", 16000, 8000, 48000);
  if (!seconds_opt || !rate_opt) return kExitUsage;
  const double seconds = *seconds_opt, rate = *rate_opt;
  const std::string input = *args.get("input"), output = *args.get("output");
  const bool in_file = is_file(input), out_file = is_file(output);
  const bool json = args.has("json");

  EngineConfig c = EngineConfig::fast_lane();
  c.audio.sample_rate_hz = static_cast<int>(rate);
  c.audio.chunk_duration_ms = 10;
  c.queues.capture_capacity_ms = 2000;
  c.device.host_api = args.get("host-api").value_or("");
  c.device.capture_host_api = args.get("input-host-api").value_or("");
  c.device.playback_host_api = args.get("output-host-api").value_or("");
  c.device.client_name = args.get("client-name").value_or("audioengine");
  c.device.capture_device = in_file || input == "default" ? "" : input;
  c.device.playback_device = out_file || output == "default" ? "" : output;
  if (in_file && out_file) {
    c.clock.source = ClockSource::kVirtual;
    c.clock.virtual_mode = VirtualClockMode::kRealtime;
  } else {
    c.clock.source = ClockSource::kDevice;
    c.device.duplex_mode = in_file ? DuplexMode::kPlaybackOnly : out_file ? DuplexMode::kCaptureOnly : DuplexMode::kFull;
  }
  std::unique_ptr<AudioFileReader> reader;
  if (in_file) {
    auto r = AudioFileReader::open(input, c.audio.sample_rate_hz, 1);
    if (!r.ok()) return fail(kCmd, r.message());
    reader = std::move(r).value();
  }
  std::unique_ptr<AudioFileWriter> writer, recorder;
  if (out_file) {
    auto w = AudioFileWriter::create(output, AudioFormat{c.audio.sample_rate_hz, 1, SampleType::kPcm16},
                                     c.audio.sample_rate_hz, 1);
    if (!w.ok()) return fail(kCmd, w.message());
    writer = std::move(w).value();
  }
  FILE* events_file = nullptr;
  if (auto dir = args.get("record")) {
    if (std::system(("mkdir -p '" + *dir + "'").c_str()) != 0) return fail(kCmd, "cannot create " + *dir);
    auto w = AudioFileWriter::create(*dir + "/capture_processed.wav",
                                     AudioFormat{c.audio.sample_rate_hz, 1, SampleType::kPcm16}, c.audio.sample_rate_hz, 1);
    if (!w.ok()) return fail(kCmd, w.message());
    recorder = std::move(w).value();
    events_file = std::fopen((*dir + "/events.jsonl").c_str(), "w");
  }

  auto e = AudioEngine::create(c);
  if (auto st = e->initialize(); !st.ok()) return fail(kCmd, st.message(), kExitUsage);
  e->subscribe_all([&](const AudioEvent& ev) {
    if (ev.type != AudioEventType::kVadSpeechStart && ev.type != AudioEventType::kVadSpeechEnd &&
        ev.type != AudioEventType::kError && ev.type != AudioEventType::kStateChanged) {
      return;
    }
    char line[256], detail[96] = "";
    if (ev.type == AudioEventType::kError) {
      std::snprintf(detail, sizeof detail, ",\"code\":\"%s\",\"detail\":%d", to_string(ev.error.code),
                    static_cast<int>(ev.error.detail));
    } else if (ev.type == AudioEventType::kStateChanged) {
      std::snprintf(detail, sizeof detail, ",\"from\":\"%s\",\"to\":\"%s\"",
                    to_string(static_cast<DeviceState>(ev.state.from)), to_string(static_cast<DeviceState>(ev.state.to)));
    }
    std::snprintf(line, sizeof line, "{\"t_ms\":%.1f,\"event\":\"%s\"%s}", ev.t_ms(), to_string(ev.type), detail);
    if (json) std::printf("%s\n", line);
    else std::printf("%9.2f s  %s%s\n", ev.t_ms() / 1000.0, to_string(ev.type), detail);
    std::fflush(stdout);
    if (events_file != nullptr) std::fprintf(events_file, "%s\n", line);
  });
  DuplexStreams streams;
  if (c.clock.source == ClockSource::kDevice) {
    auto s = e->start_full_duplex();
    if (!s.ok()) return fail(kCmd, s.message());
    streams = *s;
  } else if (auto st = e->start(); !st.ok()) {
    return fail(kCmd, st.message());
  }
  if (auto st = e->start_capture(); !st.ok()) return fail(kCmd, st.message());
  if (auto play = args.get("play")) {
    auto pcm = AudioFileReader::read_all(*play, c.audio.sample_rate_hz, 1);
    if (!pcm.ok()) return fail(kCmd, pcm.message());
    if (auto st = e->queue_playback(pcm->data(), pcm->size() * sizeof(float),
                                    AudioFormat{c.audio.sample_rate_hz, 1, SampleType::kFloat32}, 1);
        !st.ok()) {
      return fail(kCmd, st.message());
    }
  }

  const auto t0 = std::chrono::steady_clock::now();
  const auto end = t0 + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  std::vector<float> block(static_cast<size_t>(c.audio.sample_rate_hz / 100));
  CaptureChunk chunk;
  int64_t fed = 0;
  while (std::chrono::steady_clock::now() < end) {
    // A file input is fed as the clock consumes it: at most 50 ms ahead.
    if (reader) {
      const double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      while (fed < static_cast<int64_t>((elapsed_s + 0.05) * c.audio.sample_rate_hz)) {
        const size_t n = reader->read(block.data(), block.size());
        if (n == 0) break;
        (void)e->inject_test_audio(std::span<const float>(block.data(), n));
        fed += static_cast<int64_t>(n);
      }
    }
    while (e->read_chunk(chunk, 5)) {
      if (recorder) (void)recorder->write(chunk.samples.data(), chunk.samples.size());
    }
    if (writer) {
      size_t n;
      while ((n = e->read_played_audio(block.data(), block.size())) > 0) (void)writer->write(block.data(), n);
    }
  }
  const DeviceStats st = e->get_device_stats();
  const EngineMetrics m = e->get_metrics();
  (void)e->shutdown();
  if (writer) (void)writer->close();
  if (recorder) (void)recorder->close();
  if (events_file != nullptr) std::fclose(events_file);
  const double cap_lat = streams.capture.total_latency_ms, play_lat = streams.playback.total_latency_ms;
  if (json) {
    std::printf("{\"seconds\":%.2f,\"ticks\":%lld,\"callbacks\":%lld,\"xruns\":%lld,\"callback_max_us\":%lld,"
                "\"callbacks_over_period\":%lld,\"playback_fifo_underflow_frames\":%lld,\"drift_dropped_samples\":%lld,"
                "\"drift_inserted_samples\":%lld,\"failures\":%lld,\"reopens\":%lld,\"vad_speech_starts\":%lld,\"device_rate_hz\":%d,"
                "\"device_period_frames\":%d,\"capture_latency_ms\":{\"device\":%.3f,\"converter\":%.3f,\"fifo\":%.3f,"
                "\"engine_period\":%.3f,\"total\":%.3f},\"playback_latency_ms\":{\"device\":%.3f,\"converter\":%.3f,"
                "\"fifo\":%.3f,\"total\":%.3f}}\n",
                seconds, static_cast<long long>(m.ticks), static_cast<long long>(st.callbacks),
                static_cast<long long>(st.xruns), static_cast<long long>(st.callback_max_us),
                static_cast<long long>(st.callbacks_over_period), static_cast<long long>(st.playback_fifo_underflow_frames),
                static_cast<long long>(st.drift_dropped_samples), static_cast<long long>(st.drift_inserted_samples),
                static_cast<long long>(st.failures), static_cast<long long>(st.reopens),
                static_cast<long long>(m.vad_speech_starts),
                streams.capture.open ? streams.capture.sample_rate_hz : streams.playback.sample_rate_hz,
                streams.capture.open ? streams.capture.period_frames : streams.playback.period_frames,
                streams.capture.device_latency_ms, streams.capture.converter_delay_ms, streams.capture.fifo_latency_ms,
                streams.capture.engine_period_ms, cap_lat, streams.playback.device_latency_ms,
                streams.playback.converter_delay_ms, streams.playback.fifo_latency_ms, play_lat);
  } else {
    std::printf("%.1f s: %lld ticks, %lld device callbacks (longest %lld us), %lld xruns, %lld playback FIFO underflow "
                "frames\n",
                seconds, static_cast<long long>(m.ticks), static_cast<long long>(st.callbacks),
                static_cast<long long>(st.callback_max_us), static_cast<long long>(st.xruns),
                static_cast<long long>(st.playback_fifo_underflow_frames));
    if (st.failures > 0) {
      std::printf("device failures: %lld, reopens: %lld; last error: %s\n", static_cast<long long>(st.failures),
                  static_cast<long long>(st.reopens), st.last_error.c_str());
    }
    if (streams.capture.open || streams.playback.open) {
      std::printf("latency: capture %.2f ms (device %.2f, converter %.2f, fifo %.2f, period %.2f); playback %.2f ms "
                  "(device %.2f, converter %.2f, fifo %.2f)\n",
                  cap_lat, streams.capture.device_latency_ms, streams.capture.converter_delay_ms,
                  streams.capture.fifo_latency_ms, streams.capture.engine_period_ms, play_lat,
                  streams.playback.device_latency_ms, streams.playback.converter_delay_ms,
                  streams.playback.fifo_latency_ms);
    }
  }
  return st.failures > 0 && st.reopens < st.failures ? kExitFailure : kExitOk;
}

}  // namespace ae::cli
