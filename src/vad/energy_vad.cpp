#include "audioengine/vad.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace ae {
namespace {

constexpr float kSilenceDbfs = -120.0f;
constexpr int kMinRateHz = 8000;
constexpr int kMaxRateHz = 192000;

std::string format_float(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(v));
  return buf;
}

// 1 - exp(-n / tau): the share of the distance a one-pole smoother covers in n samples with time constant tau.
float smoothing_step(size_t num_frames, float time_constant_ms, int sample_rate_hz) noexcept {
  const double tau_samples = static_cast<double>(time_constant_ms) * sample_rate_hz / 1000.0;
  return static_cast<float>(1.0 - std::exp(-static_cast<double>(num_frames) / tau_samples));
}

}  // namespace

const char* to_string(VadAlgorithm algorithm) noexcept {
  switch (algorithm) {
    case VadAlgorithm::kEnergy: return "energy";
    case VadAlgorithm::kWebRtc: return "webrtc";
    case VadAlgorithm::kSilero: return "silero";
  }
  return "unknown";
}

const char* to_string(VadState state) noexcept {
  switch (state) {
    case VadState::kSilence: return "silence";
    case VadState::kSpeaking: return "speaking";
  }
  return "unknown";
}

void collect_vad_config_issues(const VadConfig& c, std::vector<ConfigIssue>& issues) {
  // NaN fails every comparison, so each check is written as "inside the range" and negated.
  auto check_float = [&issues](const char* field, float v, float lo, bool lo_open, float hi, const char* valid) {
    const bool above_lo = lo_open ? v > lo : v >= lo;
    if (!(above_lo && v <= hi)) issues.push_back({std::string("vad.") + field, format_float(v), valid});
  };
  auto check_int = [&issues](const char* field, int v, int lo, int hi, const char* valid) {
    if (v < lo || v > hi) issues.push_back({std::string("vad.") + field, std::to_string(v), valid});
  };
  const int algorithm = static_cast<int>(c.algorithm);
  if (algorithm < 0 || algorithm > static_cast<int>(VadAlgorithm::kSilero)) {
    issues.push_back({"vad.algorithm", std::to_string(algorithm), "energy, webrtc or silero"});
  }
  check_float("activation_threshold", c.activation_threshold, 0.0f, true, 1.0f, "(0, 1]");
  if (!(c.deactivation_threshold >= 0.0f && c.deactivation_threshold <= c.activation_threshold)) {
    issues.push_back({"vad.deactivation_threshold", format_float(c.deactivation_threshold),
                      "[0, activation_threshold = " + format_float(c.activation_threshold) + "]"});
  }
  check_int("min_speech_ms", c.min_speech_ms, 0, 5000, "0..5000 ms");
  check_int("min_silence_ms", c.min_silence_ms, 0, 10000, "0..10000 ms");
  check_int("prefix_padding_ms", c.prefix_padding_ms, 0, 2000, "0..2000 ms");
  check_float("energy_margin_db", c.energy_margin_db, 0.0f, true, 60.0f, "(0, 60] dB");
  check_float("energy_floor_dbfs", c.energy_floor_dbfs, -120.0f, false, 0.0f, "[-120, 0] dBFS");
  check_float("noise_floor_attack_ms", c.noise_floor_attack_ms, 0.0f, true, 60000.0f, "(0, 60000] ms");
  check_float("noise_floor_release_ms", c.noise_floor_release_ms, 0.0f, true, 60000.0f, "(0, 60000] ms");
  check_float("noise_floor_speech_release_ms", c.noise_floor_speech_release_ms, 0.0f, true, 600000.0f,
              "(0, 600000] ms");
  check_int("webrtc_aggressiveness", c.webrtc_aggressiveness, 0, 3,
            "0..3 (0 calls the most frames speech, 3 the fewest)");
}

Status validate_vad_config(const VadConfig& config) {
  std::vector<ConfigIssue> issues;
  collect_vad_config_issues(config, issues);
  if (issues.empty()) return ok_status();
  return Status(Error::kInvalidConfig, to_string(issues));
}

EnergyVad::EnergyVad(const VadConfig& config) : config_(config) {}

Status EnergyVad::prepare(int sample_rate_hz, size_t max_frames) {
  if (sample_rate_hz < kMinRateHz || sample_rate_hz > kMaxRateHz) {
    return Status(Error::kInvalidArgument, "energy vad: sample_rate_hz = " + std::to_string(sample_rate_hz) +
                                               ": valid " + std::to_string(kMinRateHz) + ".." +
                                               std::to_string(kMaxRateHz) + " Hz");
  }
  if (max_frames == 0 || max_frames > static_cast<size_t>(sample_rate_hz)) {
    return Status(Error::kInvalidArgument, "energy vad: max_frames = " + std::to_string(max_frames) +
                                               ": valid 1.." + std::to_string(sample_rate_hz) + " (1 s)");
  }
  sample_rate_hz_ = sample_rate_hz;
  max_frames_ = max_frames;
  for (StepCache& step : steps_) step = StepCache{};
  reset();
  return ok_status();
}

void EnergyVad::reset() noexcept {
  has_floor_ = false;
  noise_floor_dbfs_ = kSilenceDbfs;
  last_level_dbfs_ = kSilenceDbfs;
}

float EnergyVad::process(const float* mono, size_t num_frames) noexcept {
  if (sample_rate_hz_ == 0 || mono == nullptr || num_frames == 0) return 0.0f;
  // Four running sums: a single one is a chain of dependent additions, each waiting for the one before; four run
  // side by side and vectorize (the fast-lane tick fell from 2576 to 1997 instructions,
  // scripts/facade_instructions.sh). Each product is exact in double; only the additions' order changes.
  double part[4] = {0.0, 0.0, 0.0, 0.0};
  size_t i = 0;
  for (; i + 4 <= num_frames; i += 4) {
    for (size_t k = 0; k < 4; ++k) part[k] += static_cast<double>(mono[i + k]) * mono[i + k];
  }
  for (; i < num_frames; ++i) part[0] += static_cast<double>(mono[i]) * mono[i];
  const double energy = (part[0] + part[1]) + (part[2] + part[3]);
  const double mean_square = energy / static_cast<double>(num_frames);
  // 1e-12 is -120 dBFS: keeps digital silence finite.
  const float level_dbfs = static_cast<float>(10.0 * std::log10(mean_square + 1e-12));
  last_level_dbfs_ = level_dbfs;
  if (!has_floor_) {
    noise_floor_dbfs_ = level_dbfs;
    has_floor_ = true;
  }

  const float threshold_dbfs = std::max(noise_floor_dbfs_ + config_.energy_margin_db, config_.energy_floor_dbfs);
  const float probability =
      std::clamp(0.5f + (level_dbfs - threshold_dbfs) / (2.0f * kProbabilityRampDb), 0.0f, 1.0f);

  // The floor moves after the decision, so a frame is judged against what was learnt before it.
  size_t which;
  float time_constant_ms;
  if (level_dbfs < noise_floor_dbfs_) {
    which = 0;
    time_constant_ms = config_.noise_floor_attack_ms;
  } else if (probability >= config_.deactivation_threshold) {
    which = 1;
    time_constant_ms = config_.noise_floor_speech_release_ms;
  } else {
    which = 2;
    time_constant_ms = config_.noise_floor_release_ms;
  }
  // The step depends only on the frame length for each time constant, and frames rarely change length: an exp()
  // per frame was 57 instructions of the fast-lane tick's 1997 (scripts/facade_instructions.sh).
  StepCache& step = steps_[which];
  if (step.num_frames != num_frames) {
    step = StepCache{num_frames, smoothing_step(num_frames, time_constant_ms, sample_rate_hz_)};
  }
  noise_floor_dbfs_ += (level_dbfs - noise_floor_dbfs_) * step.step;
  return probability;
}

std::unique_ptr<VoiceActivityDetector> make_energy_vad(const VadConfig& config) {
  return std::make_unique<EnergyVad>(config);
}

}  // namespace ae
