#pragma once
// A private JACK server for tests: `jackd -n NAME -d dummy -r RATE -p PERIOD`, started in a fixture and stopped
// after. The dummy driver runs the graph on a timer, so the server is a real sound server without hardware.
// Every client of this process (PortAudio's JACK host API, jack_connect, jack_lsp) finds it through
// JACK_DEFAULT_SERVER, and JACK_NO_START_SERVER keeps a client from starting another one.

#include <sys/types.h>

#include <string>
#include <vector>

namespace ae::test {

class JackServer {
 public:
  // Names the server uniquely for this process ("ae_<pid>_<n>") and exports the environment above.
  JackServer(int sample_rate_hz = 48000, int period_frames = 480);
  ~JackServer();
  JackServer(const JackServer&) = delete;
  JackServer& operator=(const JackServer&) = delete;

  // Starts jackd and waits until it answers (jack_lsp), up to `timeout_ms`. False (with why()) on failure.
  bool start(int timeout_ms = 5000);
  // SIGKILL, as a crash would; waits for the process to exit. A killed server keeps its slot in JACK's server
  // registry (a handful of slots per machine): start() it again under the same name and stop() it to free it.
  void kill_now();
  // SIGSTOP / SIGCONT: the server hangs (no callbacks, no answers) and resumes.
  void freeze();
  void thaw();
  // SIGTERM and wait.
  void stop();
  bool running() const { return pid_ > 0; }
  const std::string& name() const { return name_; }
  const std::string& why() const { return why_; }

  // The ports of `client` ("client:port"), by jack_lsp. Empty on failure.
  std::vector<std::string> ports(const std::string& client) const;
  // jack_connect / jack_disconnect; true on success.
  bool connect(const std::string& from, const std::string& to) const;
  bool disconnect(const std::string& from, const std::string& to) const;
  // Waits until `client` has at least `min_ports` ports, up to `timeout_ms`.
  bool wait_for_ports(const std::string& client, size_t min_ports, int timeout_ms) const;
  // Connects each output port of `client` to its input port of the same number (out_1 -> in_1, ...) and
  // removes any connection to the server's own system ports: a loop through the server.
  bool loop_client(const std::string& client) const;

  // True when jackd exists on this machine.
  static bool available();

 private:
  int sample_rate_hz_;
  int period_frames_;
  std::string name_;
  std::string why_;
  std::string log_path_;
  pid_t pid_ = -1;
};

}  // namespace ae::test
