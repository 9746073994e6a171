#pragma once
// ConfigIssue: one problem found while validating a configuration, so that validate_config can report every bad
// field at once (each component contributes through its collect_*_config_issues function).

#include <string>
#include <vector>

namespace ae {

struct ConfigIssue {
  std::string field;  // dotted path from the engine config, e.g. "vad.min_speech_ms"
  std::string value;  // the rejected value as text
  std::string valid;  // what would be accepted, e.g. "0..5000 ms"
};

// "field = value: valid <valid>" for one issue, joined with "; " for several. Thread: any. RT-safe: no.
inline std::string to_string(const ConfigIssue& issue) {
  return issue.field + " = " + issue.value + ": valid " + issue.valid;
}
inline std::string to_string(const std::vector<ConfigIssue>& issues) {
  std::string out;
  for (const ConfigIssue& i : issues) {
    if (!out.empty()) out += "; ";
    out += to_string(i);
  }
  return out;
}

}  // namespace ae
