#pragma once
// Sound devices through PortAudio: which host APIs and devices exist, and what the device layer reports about
// the streams it opened (rates, periods, latency of each step, xruns, failures and recoveries).
//
// The device layer opens the streams described by EngineConfig::device when clock.source is kDevice. Its
// callback is the engine's clock: it converts the device's input to mono float at the engine rate, runs one
// engine tick each time a full engine period is available (through DeviceClock::drive) and converts the
// engine's output back to the device format. Device and engine periods need not match: a small FIFO on each
// side absorbs the difference. The callback allocates nothing, takes no lock, logs nothing.

#include <cstdint>
#include <string>
#include <vector>

#include "audioengine/result.hpp"

namespace ae {

// The device layer's state, carried as StateEventData::from / ::to in kStateChanged events it causes.
enum class DeviceState : int32_t {
  kStopped = 0,
  kRunning = 1,
  kFailed = 2,     // a stream failed or stalled; recovery (if enabled) is under way
};
const char* to_string(DeviceState state) noexcept;

struct HostApiInfo {
  int index = -1;
  std::string name;                // e.g. "ALSA", "JACK Audio Connection Kit"
  int device_count = 0;
  int default_input_device = -1;   // device id, -1 when none
  int default_output_device = -1;
  bool is_default = false;
};

struct DeviceInfo {
  int id = -1;                     // PortAudio device index, valid until the device list changes
  std::string name;
  std::string host_api;
  int host_api_index = -1;
  int max_input_channels = 0;
  int max_output_channels = 0;
  double default_sample_rate_hz = 0;
  double default_low_input_latency_ms = 0;
  double default_low_output_latency_ms = 0;
  double default_high_input_latency_ms = 0;
  double default_high_output_latency_ms = 0;
  bool is_default_input = false;   // the default of its host API
  bool is_default_output = false;
  std::vector<int> supported_rates_hz;  // among 8000..192000 common rates, probed with Pa_IsFormatSupported
};

// Host APIs PortAudio has in this process. Error kIo when PortAudio cannot initialize.
// Thread: control. RT-safe: no.
Result<std::vector<HostApiInfo>> list_host_apis();
// Every device of every host API, with its capabilities. `probe_rates` probes supported_rates_hz (slower).
// Thread: control. RT-safe: no.
Result<std::vector<DeviceInfo>> list_devices(bool probe_rates = false);
// The device named by `id_or_name` ("" = the default) on host API `host_api` ("" = PortAudio's default host
// API; else a case-insensitive name or prefix, e.g. "jack", "alsa"), with input (`for_capture`) or output
// channels. A number is a device id; otherwise an exact name match is preferred, then a substring.
// Errors: kInvalidArgument naming the host API or device and listing the valid ones; kIo when PortAudio fails.
// Thread: control. RT-safe: no.
Result<DeviceInfo> find_device(const std::string& host_api, const std::string& id_or_name, bool for_capture);

// One direction of an open device stream, and the latency of each step of its path.
struct DeviceStreamInfo {
  bool open = false;
  bool shares_stream = false;         // capture and playback run in one full-duplex stream (one clock)
  int device_id = -1;
  std::string device_name;
  std::string host_api;
  int sample_rate_hz = 0;             // the device's rate
  int channels = 0;
  int period_frames = 0;              // device frames per callback (0: variable)
  double device_latency_ms = 0;       // what the host API reports for the stream (Pa_GetStreamInfo)
  double converter_delay_ms = 0;      // resampler delay between device rate and engine rate
  double fifo_latency_ms = 0;         // period adaptation FIFO: audio held between device and engine periods
  double engine_period_ms = 0;        // one engine period (capture waits for a full one; playback is one ahead)
  double total_latency_ms = 0;        // the sum of the above
};

struct DuplexStreams {
  DeviceStreamInfo capture;
  DeviceStreamInfo playback;
};

// Counters of the device layer since the engine started. Thread: any (a snapshot). RT-safe: no.
struct DeviceStats {
  int64_t callbacks = 0;               // device callbacks run (of the stream that drives the ticks)
  int64_t ticks = 0;                   // engine ticks driven
  int64_t xruns = 0;                   // callbacks the host API flagged with an over- or underflow
  // The callback's own cost (wall clock, start to return). An xrun with callback_max_us well under the period
  // came from the server or the machine running late (a descheduled thread), not from the engine's work.
  int64_t callback_max_us = 0;         // the longest single callback
  int64_t callbacks_over_period = 0;   // callbacks that took longer than the audio they carried
  int64_t captured_samples = 0;        // device input converted to the engine rate and queued for ticks
  int64_t consumed_samples = 0;        // of those, given to engine ticks (ticks * period in full/capture modes)
  int64_t fifo_samples = 0;            // captured, not yet consumed (kept across a reopen)
  int64_t played_frames = 0;           // device frames written to the playback device
  int64_t playback_fifo_underflow_frames = 0;  // output frames the engine had not produced in time (silence)
  int64_t drift_dropped_samples = 0;   // two-stream mode: capture samples dropped to follow the playback clock
  int64_t drift_inserted_samples = 0;  // two-stream mode: silence inserted when the capture side ran late
  int64_t failures = 0;                // streams that failed or stalled
  int64_t reopens = 0;                 // successful reopens after a failure
  bool running = false;
  bool failed = false;                 // failed and not (yet) recovered
  std::string last_error;
};

}  // namespace ae
