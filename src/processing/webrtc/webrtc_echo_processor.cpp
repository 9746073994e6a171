#include "processing/webrtc/webrtc_echo_processor.hpp"

#include <algorithm>
#include <string>

#include "processing/s16_scale.hpp"

namespace ae {
namespace {

constexpr int kDelayReportFrames = 100;

}  // namespace

WebRtcEchoProcessor::WebRtcEchoProcessor(const EchoCancellerConfig& config) : config_(config) {}

WebRtcEchoProcessor::~WebRtcEchoProcessor() { release(); }

void WebRtcEchoProcessor::release() noexcept {
  if (aec_ != nullptr) WebRtcAec_Free(aec_);
  if (vad_aec_ != nullptr) WebRtcAec_Free(vad_aec_);
  vad_aec_ = nullptr;
  if (ns_ != nullptr) WebRtcNs_Free(ns_);
  if (agc_ != nullptr) WebRtcAgc_Free(agc_);
  aec_ = nullptr;
  ns_ = nullptr;
  agc_ = nullptr;
}

Status WebRtcEchoProcessor::prepare(int sample_rate_hz, size_t max_frames) {
  if (Status s = config_.validate(); !s.ok()) return s;
  if (sample_rate_hz <= 0) {
    return Status(Error::kInvalidArgument, "webrtc echo processor: sample_rate_hz = " +
                                               std::to_string(sample_rate_hz) + " (valid: 8000, 16000)");
  }
  if (sample_rate_hz != 8000 && sample_rate_hz != 16000) {
    return Status(Error::kUnsupported, "webrtc echo processor: sample_rate_hz = " + std::to_string(sample_rate_hz) +
                                           " is not supported (valid: 8000, 16000)");
  }
  if (Status s = check_max_frames("webrtc echo processor", max_frames); !s.ok()) return s;
  unprepare_framing();
  release();
  sample_rate_hz_ = sample_rate_hz;
  const size_t frame = static_cast<size_t>(sample_rate_hz / 100);

  aec_ = WebRtcAec_Create();
  if (aec_ == nullptr) return Status(Error::kInternal, "webrtc echo processor: WebRtcAec_Create failed");
  if (config_.vad_copy && config_.suppression != config_.vad_copy_suppression) {
    vad_aec_ = WebRtcAec_Create();
    if (vad_aec_ == nullptr) return Status(Error::kInternal, "webrtc echo processor: WebRtcAec_Create failed");
  }
  if (config_.noise_suppression != NoiseSuppressionLevel::kOff) {
    ns_ = WebRtcNs_Create();
    if (ns_ == nullptr) return Status(Error::kInternal, "webrtc echo processor: WebRtcNs_Create failed");
  }
  if (config_.agc_enabled) {
    agc_ = WebRtcAgc_Create();
    if (agc_ == nullptr) return Status(Error::kInternal, "webrtc echo processor: WebRtcAgc_Create failed");
  }
  near_s16_.assign(frame, 0.0f);
  out_s16_.assign(frame, 0.0f);
  far_s16_.assign(frame, 0.0f);
  vad_out_s16_.assign(frame, 0.0f);
  near_i16_.assign(frame, 0);
  out_i16_.assign(frame, 0);
  far_i16_.assign(frame, 0);
  prepare_framing(sample_rate_hz, max_frames);
  hpf_.design(80.0, sample_rate_hz);
  init_components();
  // Init/set_config only write state; check once here that the library accepts our configuration.
  AecConfig probe{static_cast<int16_t>(webrtc_apm::kAecNlpModerate), 0, 0, 1};
  if (WebRtcAec_set_config(aec_, probe) != 0 || (vad_aec_ != nullptr && WebRtcAec_set_config(vad_aec_, probe) != 0)) {
    unprepare_framing();
    return Status(Error::kInternal, "webrtc echo processor: the AEC refuses its configuration");
  }
  init_components();
  return ok_status();
}

void WebRtcEchoProcessor::init_components() noexcept {
  const auto fs = static_cast<uint32_t>(sample_rate_hz_);
  // APM initialises the AEC with the processing rate and a 48 kHz sound-card rate (used for skew only).
  WebRtcAec_Init(aec_, sample_rate_hz_, 48000);
  WebRtcAec_enable_extended_filter(WebRtcAec_aec_core(aec_), config_.extended_filter ? 1 : 0);
  WebRtcAec_enable_delay_agnostic(WebRtcAec_aec_core(aec_), config_.delay_agnostic ? 1 : 0);
  if (vad_aec_ != nullptr) {
    WebRtcAec_Init(vad_aec_, sample_rate_hz_, 48000);
    WebRtcAec_enable_extended_filter(WebRtcAec_aec_core(vad_aec_), config_.extended_filter ? 1 : 0);
    WebRtcAec_enable_delay_agnostic(WebRtcAec_aec_core(vad_aec_), config_.delay_agnostic ? 1 : 0);
    WebRtcAec_set_config(vad_aec_, AecConfig{static_cast<int16_t>(config_.vad_copy_suppression), 0, 0, 0});
  }
  nlp_mode_ = -1;
  set_nlp(config_.suppression == EchoSuppression::kAdaptive ? webrtc_apm::kAecNlpAggressive
                                                            : static_cast<int>(config_.suppression));
  if (ns_ != nullptr) {
    WebRtcNs_Init(ns_, fs);
    WebRtcNs_set_policy(ns_, static_cast<int>(config_.noise_suppression));
  }
  if (agc_ != nullptr) {
    WebRtcAgc_Init(agc_, 0, 255, webrtc_apm::kAgcModeAdaptiveDigital, fs);
    WebRtcAgcConfig agc_config{static_cast<int16_t>(config_.agc_target_level_dbfs),
                               static_cast<int16_t>(config_.agc_compression_gain_db),
                               static_cast<uint8_t>(config_.agc_limiter ? 1 : 0)};
    WebRtcAgc_set_config(agc_, agc_config);
  }
  agc_level_ = 0;
  hpf_.reset();
  reset_framing();
}

void WebRtcEchoProcessor::reset() noexcept {
  if (framing_ready()) init_components();
}

void WebRtcEchoProcessor::set_nlp(int mode) noexcept {
  if (mode == nlp_mode_) return;
  nlp_mode_ = mode;
  // metricsMode stays off (we measure ERLE ourselves; switching with it on would reset the AEC's statistics);
  // delay logging on for the delay estimate.
  AecConfig c{static_cast<int16_t>(mode), 0, 0, 1};
  WebRtcAec_set_config(aec_, c);
}

bool WebRtcEchoProcessor::process_frame(float* near, const float* far, int delay_hint_ms, float* vad_copy) noexcept {
  const size_t n = block_frames_;
  for (size_t i = 0; i < n; ++i) near_s16_[i] = to_s16_scale(near[i]);
  if (far != nullptr) {
    for (size_t i = 0; i < n; ++i) far_s16_[i] = to_s16_scale(far[i]);
  } else {
    std::fill(far_s16_.begin(), far_s16_.end(), 0.0f);
  }
  delay_in_use_ms_ = config_.stream_delay_ms >= 0 ? config_.stream_delay_ms : std::max(delay_hint_ms, 0);
  delay_in_use_ms_ = std::min(delay_in_use_ms_, 500);

  // Render side first, as APM does before each capture frame.
  WebRtcAec_BufferFarend(aec_, far_s16_.data(), n);
  if (vad_aec_ != nullptr) WebRtcAec_BufferFarend(vad_aec_, far_s16_.data(), n);
  if (agc_ != nullptr) {
    for (size_t i = 0; i < n; ++i) far_i16_[i] = to_int16(far_s16_[i]);
    WebRtcAgc_AddFarend(agc_, far_i16_.data(), n);
  }

  if (config_.high_pass_filter) hpf_.process(near_s16_.data(), n);
  if (agc_ != nullptr) {
    // The virtual microphone works on 16-bit samples in place; APM then hands the AEC those samples.
    for (size_t i = 0; i < n; ++i) near_i16_[i] = to_int16(near_s16_[i]);
    int16_t* mic = near_i16_.data();
    int32_t level_out = 0;
    WebRtcAgc_VirtualMic(agc_, &mic, 1, n, agc_level_, &level_out);
    agc_level_ = level_out;
    for (size_t i = 0; i < n; ++i) near_s16_[i] = near_i16_[i];
  }
  if (ns_ != nullptr) WebRtcNs_Analyze(ns_, near_s16_.data());

  const float mic_power = mean_square(near_s16_.data(), n);
  if (config_.suppression == EchoSuppression::kAdaptive) {
    // Aggressive only after half a second of far end without near-end evidence: the AEC eases its suppression
    // out slowly (its overdrive decays over hundreds of ms), so conservative is the state to wait in.
    set_nlp(meter_.suppress_hard() ? webrtc_apm::kAecNlpAggressive : webrtc_apm::kAecNlpConservative);
  }
  const float* aec_in = near_s16_.data();
  float* aec_out = out_s16_.data();
  WebRtcAec_Process(aec_, &aec_in, 1, &aec_out, n, static_cast<int16_t>(delay_in_use_ms_), 0);
  int echo = 0;
  WebRtcAec_get_echo_status(aec_, &echo);
  const float out_power = mean_square(out_s16_.data(), n);
  // The VAD's copy: the same input through the gentler canceller (run every frame, wanted or not, so that its
  // filter keeps converging), or this canceller's output before noise suppression and gain.
  const float* copy_s16 = nullptr;
  if (vad_aec_ != nullptr) {
    float* vad_out = vad_out_s16_.data();
    WebRtcAec_Process(vad_aec_, &aec_in, 1, &vad_out, n, static_cast<int16_t>(delay_in_use_ms_), 0);
    copy_s16 = vad_out_s16_.data();
  } else if (config_.vad_copy) {
    copy_s16 = out_s16_.data();
  }
  const bool copied = vad_copy != nullptr && copy_s16 != nullptr;
  if (copied) {
    for (size_t i = 0; i < n; ++i) vad_copy[i] = from_s16_scale(copy_s16[i]);
  }

  meter_.update(mic_power, mean_square(far_s16_.data(), n), out_power, delay_in_use_ms_);

  if (ns_ != nullptr) {
    const float* ns_in = out_s16_.data();
    float* ns_out = near_s16_.data();
    WebRtcNs_Process(ns_, &ns_in, 1, &ns_out);
    std::copy(near_s16_.begin(), near_s16_.end(), out_s16_.begin());
  }
  if (agc_ != nullptr) {
    for (size_t i = 0; i < n; ++i) near_i16_[i] = to_int16(out_s16_[i]);
    const int16_t* agc_in = near_i16_.data();
    int16_t* agc_out = out_i16_.data();
    int32_t level_out = 0;
    uint8_t saturation = 0;
    WebRtcAgc_Process(agc_, &agc_in, 1, n, &agc_out, agc_level_, &level_out, static_cast<int16_t>(echo),
                      &saturation);
    for (size_t i = 0; i < n; ++i) near[i] = from_s16_scale(out_i16_[i]);
  } else {
    for (size_t i = 0; i < n; ++i) near[i] = from_s16_scale(out_s16_[i]);
  }

  if (meter_.frames() % kDelayReportFrames == 0) {
    int median = 0, std_ms = 0;
    float poor = 0.0f;
    // The median is the AEC's own estimate of the whole delay (ms), -1 or negative while it has too little data.
    if (WebRtcAec_GetDelayMetrics(aec_, &median, &std_ms, &poor) == 0 && median >= 0) meter_.publish_delay_ms(median);
  }
  return copied;
}

int WebRtcEchoProcessor::latency_samples() const noexcept {
  if (!framing_ready()) return 0;
  constexpr int kAecLagSamples = 112;
  const int ns_lag = ns_ != nullptr ? sample_rate_hz_ * 6 / 1000 : 0;
  return (fifo_mode_ ? static_cast<int>(block_frames_) : 0) + kAecLagSamples + ns_lag;
}

}  // namespace ae
