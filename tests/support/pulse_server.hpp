#pragma once
// A private PulseAudio server for tests: `pulseaudio -n` with only the native protocol (anonymous, on a socket in
// a temporary directory) and one null sink, started in a fixture and stopped after. PortAudio has no native
// PulseAudio host API on Debian: it reaches the server through its ALSA host API and ALSA's pulse plugin
// (devices "pulse" and "default"), which, like pactl and parec, find the server through PULSE_SERVER.
//
// An idle null sink renders in blocks of up to 2 s. start() attaches a recorder to the sink's monitor asking for
// 5 ms of latency and suspends and resumes the sink, so that it runs in short blocks from then on; the recorder
// keeps what the sink played (mono PCM16 at the sink's rate) for the test to read.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace ae::test {

class PulseServer {
 public:
  // Exports PULSE_SERVER (and XDG_RUNTIME_DIR, PULSE_RUNTIME_PATH) for a server private to this process.
  explicit PulseServer(int sink_rate_hz = 44100);
  ~PulseServer();
  PulseServer(const PulseServer&) = delete;
  PulseServer& operator=(const PulseServer&) = delete;

  // Starts the server and the monitor recorder; waits until pactl answers, up to `timeout_ms`. False (with why())
  // on failure.
  bool start(int timeout_ms = 8000);
  // Stops the recorder, then the server (SIGTERM, then SIGKILL after 3 s).
  void stop();
  // SIGKILL, as a crash would; waits for the process to exit. start() may be called again (same socket).
  void kill_now();
  const std::string& why() const { return why_; }
  int sink_rate_hz() const { return sink_rate_hz_; }

  // What the sink played since start(), as recorded from its monitor: mono, [-1, 1], at sink_rate_hz().
  std::vector<float> recorded() const;

  // True when pulseaudio, pactl and parec exist on this machine.
  static bool available();

 private:
  int sink_rate_hz_;
  TempDir temp_;
  std::string dir_ = temp_.path();
  std::string why_;
  pid_t server_pid_ = -1;
  pid_t recorder_pid_ = -1;
};

}  // namespace ae::test
