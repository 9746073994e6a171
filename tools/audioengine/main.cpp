// audioengine: the command-line face of the engine.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli.hpp"

namespace {

struct Command {
  const char* name;
  int (*run)(const std::vector<std::string>&);
  const char* summary;
};

const Command kCommands[] = {
    {"demo", ae::cli::cmd_demo, "simulated voice conversation on the virtual clock (no sound card needed)"},
    {"simulate", ae::cli::cmd_simulate, "a conversation from a mic and an AI file, with echo, on the virtual clock"},
    {"convert", ae::cli::cmd_convert, "convert an audio file to another sample type, rate or channel count"},
    {"vad", ae::cli::cmd_vad, "voice activity over an audio file: per-frame probability and speech segments"},
    {"aec", ae::cli::cmd_aec, "echo-cancel a recorded microphone signal against what the speaker played"},
    {"formats", ae::cli::cmd_formats, "list the sample formats, rates and file types the engine supports"},
    {"devices", ae::cli::cmd_devices, "list the sound host APIs and devices (PortAudio) with their capabilities"},
    {"duplex", ae::cli::cmd_duplex, "run capture and playback live through the engine (devices or files)"},
    {"latency-test", ae::cli::cmd_latency_test, "measure the round-trip latency of a device setup with clicks"},
    {"version", ae::cli::cmd_version, "print the version of audioengine and its libraries"},
};

void print_usage(FILE* out) {
  std::fprintf(out,
               "usage: audioengine <command> [options]\n\n"
               "The real-time audio subsystem of a voice-AI agent, from the command line.\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-13s %s\n", c.name, c.summary);
  std::fprintf(out,
               "\nEvery command answers --help; --json prints machine-readable output.\n"
               "Exit status: 0 success, 1 failure, 2 bad usage.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr);
    return ae::cli::kExitUsage;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(stdout);
    return ae::cli::kExitOk;
  }
  if (name == "--version") name = "version";
  std::vector<std::string> rest(argv + 2, argv + argc);
  for (const auto& c : kCommands) {
    if (name == c.name) return c.run(rest);
  }
  std::fprintf(stderr, "audioengine: unknown command '%s'\n\n", name.c_str());
  print_usage(stderr);
  return ae::cli::kExitUsage;
}
