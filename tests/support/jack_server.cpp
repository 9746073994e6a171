#include "jack_server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

extern char** environ;

namespace ae::test {
namespace {

std::string capture_output(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[512];
  while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
  pclose(p);
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

bool JackServer::available() { return access("/usr/bin/jackd", X_OK) == 0 || system("command -v jackd >/dev/null 2>&1") == 0; }

JackServer::JackServer(int sample_rate_hz, int period_frames)
    : sample_rate_hz_(sample_rate_hz), period_frames_(period_frames) {
  static std::atomic<int> counter{0};
  name_ = "ae_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
  log_path_ = "/tmp/" + name_ + ".log";
  setenv("JACK_DEFAULT_SERVER", name_.c_str(), 1);
  setenv("JACK_NO_START_SERVER", "1", 1);
  setenv("JACK_NO_AUDIO_RESERVATION", "1", 1);
}

JackServer::~JackServer() {
  stop();
  unlink(log_path_.c_str());
}

bool JackServer::start(int timeout_ms) {
  if (pid_ > 0) return true;
  const std::string rate = std::to_string(sample_rate_hz_);
  const std::string period = std::to_string(period_frames_);
  std::vector<std::string> args = {"jackd", "-n", name_, "-d", "dummy", "-r", rate, "-p", period};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    // The server stops with the test process, even when the test is killed; SIGTERM lets it release its slot in
    // JACK's server registry (a killed server keeps it, and the registry holds only a few).
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    const int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execvp("jackd", argv.data());
    _exit(127);
  }
  if (pid_ < 0) {
    pid_ = -1;
    why_ = "cannot fork jackd";
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      why_ = "jackd exited: " + capture_output("cat " + log_path_);
      return false;
    }
    if (!ports("system").empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  why_ = "jackd did not answer within " + std::to_string(timeout_ms) + " ms";
  stop();
  return false;
}

void JackServer::kill_now() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void JackServer::freeze() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void JackServer::thaw() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

void JackServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 300; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill_now();
}

std::vector<std::string> JackServer::ports(const std::string& client) const {
  std::vector<std::string> out;
  for (auto& l : lines(capture_output("jack_lsp 2>/dev/null"))) {
    if (l.rfind(client + ":", 0) == 0) out.push_back(l);
  }
  return out;
}

bool JackServer::connect(const std::string& from, const std::string& to) const {
  return system(("jack_connect '" + from + "' '" + to + "' >/dev/null 2>&1").c_str()) == 0;
}

bool JackServer::disconnect(const std::string& from, const std::string& to) const {
  return system(("jack_disconnect '" + from + "' '" + to + "' >/dev/null 2>&1").c_str()) == 0;
}

bool JackServer::wait_for_ports(const std::string& client, size_t min_ports, int timeout_ms) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ports(client).size() >= min_ports) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool JackServer::loop_client(const std::string& client) const {
  // jack_lsp -c lists each port followed by its connections, indented.
  std::string current;
  for (auto& l : lines(capture_output("jack_lsp -c 2>/dev/null"))) {
    if (l[0] != ' ') {
      current = l;
      continue;
    }
    const std::string peer = l.substr(l.find_first_not_of(' '));
    if (current.rfind(client + ":", 0) == 0 && peer.rfind("system:", 0) == 0) {
      if (current.find(":out") != std::string::npos) disconnect(current, peer);
      else disconnect(peer, current);
    }
  }
  bool ok = false;
  for (const auto& p : ports(client)) {
    const auto pos = p.find(":out");
    if (pos == std::string::npos) continue;
    std::string in = p;
    in.replace(pos, 4, ":in");
    if (!connect(p, in)) return false;
    ok = true;
  }
  return ok;
}

}  // namespace ae::test
