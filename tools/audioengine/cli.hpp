#pragma once
// Shared plumbing for the audioengine command-line tool: argument parsing, exit codes, JSON output.
//
// Conventions (those of sox and ffmpeg users): every subcommand answers --help; --json prints machine-readable
// output on stdout; exit 0 on success, 1 on failure, 2 on bad usage; errors go to stderr prefixed with
// "audioengine <command>:"; a progress line is drawn on stderr only when it is a terminal.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ae::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Parsed command line of one subcommand: --name value / --name=value options, --flag switches, positionals.
class Args {
 public:
  // `flags` are the option names that take no value (e.g. "json", "help", "realtime").
  static Args parse(const std::vector<std::string>& argv, const std::vector<std::string>& flags);

  bool has(const std::string& name) const { return options_.count(name) != 0; }
  std::optional<std::string> get(const std::string& name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }
  // Options the command does not know; a command reports them as usage errors.
  std::vector<std::string> unknown(const std::vector<std::string>& known) const;
  const std::string& parse_error() const { return parse_error_; }

 private:
  std::map<std::string, std::string> options_;
  std::vector<std::string> positionals_;
  std::string parse_error_;
};

// Parses a number option; on a bad value prints "audioengine CMD: --NAME 'V' is not ..." and returns nullopt.
std::optional<double> parse_number(const std::string& command, const std::string& name, const std::string& text,
                                   double min_value, double max_value);

// The value of option --NAME as a number in [min_value, max_value], `default_value` when absent; nullopt (after the
// message parse_number prints) when it is not a valid number.
std::optional<double> number_option(const Args& args, const std::string& command, const std::string& name,
                                    double default_value, double min_value, double max_value);

// Prints "audioengine CMD: message" to stderr and returns `code`.
int fail(const std::string& command, const std::string& message, int code = kExitFailure);

// JSON string escaping for hand-written JSON output.
std::string json_escape(const std::string& s);

// A progress line on stderr, redrawn in place, only when stderr is a terminal.
class Progress {
 public:
  explicit Progress(std::string label);
  ~Progress();
  void update(double fraction, const std::string& detail = "");
  void finish();

 private:
  std::string label_;
  bool enabled_;
  bool finished_ = false;
  int64_t last_draw_ms_ = -1000;
};

// Subcommands. argv excludes the program name and the subcommand itself.
int cmd_version(const std::vector<std::string>& argv);
int cmd_formats(const std::vector<std::string>& argv);
int cmd_convert(const std::vector<std::string>& argv);
int cmd_demo(const std::vector<std::string>& argv);
int cmd_devices(const std::vector<std::string>& argv);
int cmd_duplex(const std::vector<std::string>& argv);
int cmd_latency_test(const std::vector<std::string>& argv);
int cmd_vad(const std::vector<std::string>& argv);
int cmd_simulate(const std::vector<std::string>& argv);
int cmd_aec(const std::vector<std::string>& argv);

}  // namespace ae::cli
