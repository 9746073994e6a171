#include "cli.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ae::cli {

Args Args::parse(const std::vector<std::string>& argv, const std::vector<std::string>& flags) {
  Args args;
  auto is_flag = [&](const std::string& n) {
    for (const auto& f : flags) {
      if (f == n) return true;
    }
    return false;
  };
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "-h") {
      args.options_["help"] = "";
    } else if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
      std::string name = a.substr(2);
      auto eq = name.find('=');
      if (eq != std::string::npos) {
        args.options_[name.substr(0, eq)] = name.substr(eq + 1);
      } else if (is_flag(name)) {
        args.options_[name] = "";
      } else if (i + 1 < argv.size()) {
        args.options_[name] = argv[++i];
      } else {
        args.parse_error_ = "option --" + name + " needs a value";
      }
    } else {
      args.positionals_.push_back(a);
    }
  }
  return args;
}

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = options_.find(name);
  if (it == options_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Args::unknown(const std::vector<std::string>& known) const {
  std::vector<std::string> out;
  for (const auto& [name, value] : options_) {
    bool found = name == "help";
    for (const auto& k : known) found = found || k == name;
    if (!found) out.push_back("--" + name);
  }
  return out;
}

std::optional<double> parse_number(const std::string& command, const std::string& name, const std::string& text,
                                   double min_value, double max_value) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end == nullptr || *end != '\0' || !std::isfinite(v) || v < min_value || v > max_value) {
    std::fprintf(stderr, "audioengine %s: --%s '%s' is not a number in [%g, %g]\n", command.c_str(), name.c_str(),
                 text.c_str(), min_value, max_value);
    return std::nullopt;
  }
  return v;
}

std::optional<double> number_option(const Args& args, const std::string& command, const std::string& name,
                                    double default_value, double min_value, double max_value) {
  auto text = args.get(name);
  if (!text) return default_value;
  return parse_number(command, name, *text, min_value, max_value);
}

int fail(const std::string& command, const std::string& message, int code) {
  std::fprintf(stderr, "audioengine %s: %s\n", command.c_str(), message.c_str());
  return code;
}

std::string json_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

static int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Progress::Progress(std::string label) : label_(std::move(label)), enabled_(isatty(STDERR_FILENO) != 0) {}
Progress::~Progress() { finish(); }

void Progress::update(double fraction, const std::string& detail) {
  if (!enabled_ || finished_) return;
  int64_t t = now_ms();
  if (t - last_draw_ms_ < 100 && fraction < 1.0) return;
  last_draw_ms_ = t;
  std::fprintf(stderr, "\r%s %5.1f%% %s\033[K", label_.c_str(), 100.0 * fraction, detail.c_str());
  std::fflush(stderr);
}

void Progress::finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

}  // namespace ae::cli
