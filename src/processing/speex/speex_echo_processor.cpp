#include "processing/speex/speex_echo_processor.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "processing/s16_scale.hpp"

namespace ae {
namespace {

// The delay is read off the filter once per second: reading it costs one inverse FFT per filter block.
constexpr int kDelayReportFrames = 100;
// The largest tap counts as the direct path only when its energy stands this far above the mean tap energy (an
// unconverged or silent filter has no such tap).
constexpr double kPeakOverMeanEnergy = 20.0;

struct SuppressionDb {
  spx_int32_t idle, near_active;
};

SuppressionDb suppression_db(EchoSuppression level) noexcept {
  switch (level) {
    case EchoSuppression::kLow: return {20, 10};
    case EchoSuppression::kHigh: return {60, 30};
    default: return {40, 15};
  }
}

spx_int32_t noise_suppress_db(NoiseSuppressionLevel level) noexcept {
  switch (level) {
    case NoiseSuppressionLevel::kOff: return 0;
    case NoiseSuppressionLevel::kLow: return 6;
    case NoiseSuppressionLevel::kModerate: return 10;
    case NoiseSuppressionLevel::kHigh: return 15;
    case NoiseSuppressionLevel::kVeryHigh: return 20;
  }
  return 10;
}

}  // namespace

SpeexEchoProcessor::SpeexEchoProcessor(const EchoCancellerConfig& config) : config_(config) {}

SpeexEchoProcessor::~SpeexEchoProcessor() { release(); }

void SpeexEchoProcessor::release() noexcept {
  if (pre_ != nullptr) speex_preprocess_state_destroy(pre_);
  if (echo_ != nullptr) speex_echo_state_destroy(echo_);
  pre_ = nullptr;
  echo_ = nullptr;
}

Status SpeexEchoProcessor::prepare(int sample_rate_hz, size_t max_frames) {
  if (Status s = config_.validate(); !s.ok()) return s;
  if (sample_rate_hz < 8000 || sample_rate_hz > 48000 || sample_rate_hz % 100 != 0) {
    return Status(Error::kInvalidArgument, "speex echo processor: sample_rate_hz = " + std::to_string(sample_rate_hz) +
                                               " (valid: 8000..48000, a multiple of 100)");
  }
  if (Status s = check_max_frames("speex echo processor", max_frames); !s.ok()) return s;
  unprepare_framing();
  release();
  sample_rate_hz_ = sample_rate_hz;
  const int frame = sample_rate_hz / 100;
  const int filter_length = sample_rate_hz * filter_length_ms() / 1000;

  echo_ = speex_echo_state_init(frame, filter_length);
  pre_ = speex_preprocess_state_init(frame, sample_rate_hz);
  if (echo_ == nullptr || pre_ == nullptr) {
    release();
    return Status(Error::kInternal, "speex echo processor: the library could not create its states");
  }
  spx_int32_t rate = sample_rate_hz;
  speex_echo_ctl(echo_, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
  spx_int32_t ir_size = 0;
  speex_echo_ctl(echo_, SPEEX_ECHO_GET_IMPULSE_RESPONSE_SIZE, &ir_size);
  impulse_response_.assign(static_cast<size_t>(std::max(ir_size, spx_int32_t{1})), 0);

  spx_int32_t on = 1;
  speex_preprocess_ctl(pre_, SPEEX_PREPROCESS_SET_DENOISE, &on);
  spx_int32_t noise_db = noise_suppress_db(config_.noise_suppression);
  speex_preprocess_ctl(pre_, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &noise_db);
  speex_preprocess_ctl(pre_, SPEEX_PREPROCESS_SET_ECHO_STATE, echo_);
  spx_int32_t agc = config_.agc_enabled ? 1 : 0;
  // Fixed-point builds of SpeexDSP have no AGC and refuse the request.
  if (speex_preprocess_ctl(pre_, SPEEX_PREPROCESS_SET_AGC, &agc) != 0 && config_.agc_enabled) {
    release();
    return Status(Error::kUnsupported,
                  "speex echo processor: agc_enabled = true, but this SpeexDSP build has no AGC (valid: false)");
  }
  if (config_.agc_enabled) {
    float level = 32768.0f * std::pow(10.0f, -static_cast<float>(config_.agc_target_level_dbfs + 12) / 20.0f);
    speex_preprocess_ctl(pre_, SPEEX_PREPROCESS_SET_AGC_LEVEL, &level);
    spx_int32_t max_gain_db = config_.agc_compression_gain_db;
    speex_preprocess_ctl(pre_, SPEEX_PREPROCESS_SET_AGC_MAX_GAIN, &max_gain_db);
  }

  near_s16_.assign(static_cast<size_t>(frame), 0.0f);
  near_i16_.assign(static_cast<size_t>(frame), 0);
  far_i16_.assign(static_cast<size_t>(frame), 0);
  out_i16_.assign(static_cast<size_t>(frame), 0);
  hpf_.design(80.0, sample_rate_hz);
  prepare_framing(sample_rate_hz, max_frames);
  init_components();
  return ok_status();
}

void SpeexEchoProcessor::init_components() noexcept {
  speex_echo_state_reset(echo_);
  suppression_in_use_ = EchoSuppression::kAdaptive;
  set_echo_suppression(config_.suppression == EchoSuppression::kAdaptive ? EchoSuppression::kHigh
                                                                          : config_.suppression);
  estimated_delay_ms_ = -1;
  last_mic_power_ = 0.0f;
  std::fill(impulse_response_.begin(), impulse_response_.end(), 0);
  hpf_.reset();
  reset_framing();
}

void SpeexEchoProcessor::reset() noexcept {
  // The preprocessor has no reset in the library's API (a new state would allocate): its noise and loudness
  // estimates carry over and re-adapt; the echo canceller, the filter and the meter start afresh.
  if (framing_ready()) init_components();
}

void SpeexEchoProcessor::set_echo_suppression(EchoSuppression level) noexcept {
  if (level == suppression_in_use_) return;
  suppression_in_use_ = level;
  SuppressionDb db = suppression_db(level);
  speex_preprocess_ctl(pre_, SPEEX_PREPROCESS_SET_ECHO_SUPPRESS, &db.idle);
  speex_preprocess_ctl(pre_, SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE, &db.near_active);
}

void SpeexEchoProcessor::estimate_delay() noexcept {
  speex_echo_ctl(echo_, SPEEX_ECHO_GET_IMPULSE_RESPONSE, impulse_response_.data());
  size_t peak = 0;
  double peak_energy = 0.0, sum = 0.0;
  for (size_t i = 0; i < impulse_response_.size(); ++i) {
    const double e = static_cast<double>(impulse_response_[i]) * impulse_response_[i];
    sum += e;
    if (e > peak_energy) {
      peak_energy = e;
      peak = i;
    }
  }
  const double mean = sum / static_cast<double>(impulse_response_.size());
  if (peak_energy <= 0.0 || peak_energy < kPeakOverMeanEnergy * mean) return;
  estimated_delay_ms_ = static_cast<int>(std::lround(static_cast<double>(peak) * 1000.0 / sample_rate_hz_));
  meter_.publish_delay_ms(estimated_delay_ms_);
}

bool SpeexEchoProcessor::process_frame(float* near, const float* far, int delay_hint_ms, float* /*vad_copy*/) noexcept {
  const size_t n = block_frames_;
  for (size_t i = 0; i < n; ++i) near_s16_[i] = to_s16_scale(near[i]);
  if (config_.high_pass_filter) hpf_.process(near_s16_.data(), n);
  for (size_t i = 0; i < n; ++i) near_i16_[i] = to_int16(near_s16_[i]);
  if (far != nullptr) {
    for (size_t i = 0; i < n; ++i) far_i16_[i] = to_int16(to_s16_scale(far[i]));
  } else {
    std::fill(far_i16_.begin(), far_i16_.end(), int16_t{0});
  }
  // Where the double-talk detector looks for the echo: the configured delay, else the engine's, else the filter's.
  int delay_ms = config_.stream_delay_ms >= 0 ? config_.stream_delay_ms
                 : delay_hint_ms >= 0         ? delay_hint_ms
                                              : std::max(estimated_delay_ms_, 0);
  delay_ms = std::min(delay_ms, 500);

  if (config_.suppression == EchoSuppression::kAdaptive)
    set_echo_suppression(meter_.suppress_hard() ? EchoSuppression::kHigh : EchoSuppression::kLow);
  const float mic_power = mean_square(near_i16_.data(), n);
  speex_echo_cancellation(echo_, near_i16_.data(), far_i16_.data(), out_i16_.data());
  speex_preprocess_run(pre_, out_i16_.data());
  float out_power = mean_square(out_i16_.data(), n);
  if (config_.agc_enabled) {
    // The meter measures the echo path, not the gain stage: take the AGC's gain (dB) back out.
    spx_int32_t gain_db = 0;
    speex_preprocess_ctl(pre_, SPEEX_PREPROCESS_GET_AGC_GAIN, &gain_db);
    out_power *= std::pow(10.0f, -static_cast<float>(gain_db) / 10.0f);
  }
  // The preprocessor's output is the canceller's output one frame earlier: compare it with that frame's input.
  meter_.update(last_mic_power_, mean_square(far_i16_.data(), n), out_power, delay_ms);
  last_mic_power_ = mic_power;
  for (size_t i = 0; i < n; ++i) near[i] = from_s16_scale(static_cast<float>(out_i16_[i]));

  if (meter_.frames() % kDelayReportFrames == 0) estimate_delay();
  return false;
}

int SpeexEchoProcessor::latency_samples() const noexcept {
  if (!framing_ready()) return 0;
  return static_cast<int>(block_frames_) * (fifo_mode_ ? 2 : 1);
}

}  // namespace ae
