#include "pulse_server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "test_support.hpp"

namespace ae::test {
namespace {

// Runs `args` in a child whose stdout goes to `out_path` and stderr to `err_path`; the child dies with the test.
pid_t spawn(std::vector<std::string> args, const std::string& out_path, const std::string& err_path) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out >= 0) dup2(out, 1);
    if (err >= 0) dup2(err, 2);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

void terminate(pid_t& pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 300; ++i) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  pid = -1;
}

}  // namespace

bool PulseServer::available() {
  return system("command -v pulseaudio >/dev/null 2>&1 && command -v pactl >/dev/null 2>&1 && "
                "command -v parec >/dev/null 2>&1") == 0;
}

PulseServer::PulseServer(int sink_rate_hz) : sink_rate_hz_(sink_rate_hz) {
  setenv("XDG_RUNTIME_DIR", dir_.c_str(), 1);
  setenv("PULSE_RUNTIME_PATH", (dir_ + "/pulse").c_str(), 1);
  setenv("PULSE_SERVER", ("unix:" + dir_ + "/native").c_str(), 1);
}

PulseServer::~PulseServer() {
  // The server and its recorder go before temp_ removes the directory they write in.
  stop();
}

bool PulseServer::start(int timeout_ms) {
  if (server_pid_ > 0) return true;
  const std::string log = dir_ + "/server.log";
  server_pid_ = spawn({"pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
                       "--use-pid-file=no", "--disable-shm=yes",
                       "--load=module-native-protocol-unix auth-anonymous=1 socket=" + dir_ + "/native",
                       "--load=module-null-sink sink_name=ae_null rate=" + std::to_string(sink_rate_hz_) +
                           " channels=1"},
                      log, log);
  if (server_pid_ < 0) {
    why_ = "cannot fork pulseaudio";
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool up = false;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(server_pid_, &status, WNOHANG) == server_pid_) {
      server_pid_ = -1;
      std::ifstream f(log);
      why_ = "pulseaudio exited: " + std::string(std::istreambuf_iterator<char>(f), {});
      return false;
    }
    if (run_command("pactl info >/dev/null 2>&1") == 0) {
      up = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!up) {
    why_ = "pulseaudio did not answer within " + std::to_string(timeout_ms) + " ms";
    stop();
    return false;
  }
  recorder_pid_ = spawn({"parec", "--latency-msec=5", "-d", "ae_null.monitor", "--raw", "--format=s16le",
                         "--channels=1", "--rate=" + std::to_string(sink_rate_hz_)},
                        dir_ + "/monitor.raw", dir_ + "/parec.log");
  // The recorder must be attached before the sink restarts, so that the sink picks its short latency.
  for (int i = 0; i < 100 && run_command("pactl list short source-outputs 2>/dev/null | grep -q .") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (run_command("pactl suspend-sink ae_null 1 && pactl suspend-sink ae_null 0") != 0) {
    why_ = "pactl could not suspend and resume the null sink";
    stop();
    return false;
  }
  return true;
}

void PulseServer::stop() {
  terminate(recorder_pid_);
  terminate(server_pid_);
}

void PulseServer::kill_now() {
  if (server_pid_ > 0) {
    ::kill(server_pid_, SIGKILL);
    int status = 0;
    waitpid(server_pid_, &status, 0);
    server_pid_ = -1;
  }
  terminate(recorder_pid_);
}

std::vector<float> PulseServer::recorded() const {
  std::ifstream f(dir_ + "/monitor.raw", std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), {});
  std::vector<float> out(bytes.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int16_t v;
    std::memcpy(&v, bytes.data() + 2 * i, 2);
    out[i] = static_cast<float>(v) / 32768.0f;
  }
  return out;
}

}  // namespace ae::test
