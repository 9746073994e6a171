#include "processing/webrtc/webrtc_echo_processor.hpp"

#include "processing/rate_adapted_echo_processor.hpp"

#include <algorithm>
#include <cmath>

#include <string>

namespace ae {
namespace {

// The library works on float samples in 16-bit scale. These conversions are the ones APM applies at its float
// interface, so that our chain and AudioProcessing see the same numbers.
inline float to_s16_scale(float v) noexcept { return v * (v > 0 ? 32767.0f : 32768.0f); }
inline float from_s16_scale(float v) noexcept { return v * (v > 0 ? 1.0f / 32767.0f : 1.0f / 32768.0f); }
inline int16_t to_int16(float v) noexcept {
  if (v > 0) return v >= 32766.5f ? int16_t{32767} : static_cast<int16_t>(v + 0.5f);
  return v <= -32767.5f ? int16_t{-32768} : static_cast<int16_t>(v - 0.5f);
}

float mean_square(const float* x, size_t n) noexcept {
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  return static_cast<float>(sum / static_cast<double>(n));
}

// Double-talk detector constants (powers in 16-bit scale). A frame has far-end signal above -55 dBFS.
constexpr float kFarActivePower = 32768.0f * 32768.0f * 3.2e-6f;
// Echo reaches the microphone over this many 10 ms frames after the delay (direct path plus reverberation).
constexpr size_t kEchoTailFrames = 25;
// Near-end speech: the echo canceller's output keeps more than this fraction of the microphone power (-20 dB)...
constexpr float kResidualRatio = 0.01f;
// ... and that output is above -50 dBFS (the canceller's comfort noise and the room noise stay below).
constexpr float kNearFloorPower = 32768.0f * 32768.0f * 1e-5f;
// Double talk is held this long after the last frame that showed it, so syllable gaps don't toggle the NLP.
constexpr int kHangoverFrames = 30;
// Far-end frames without near-end evidence before the NLP turns aggressive.
constexpr int kAggressiveAfterFrames = 50;
// ERLE is published per window of this many far-end-only frames (1 s).
constexpr int kErleWindowFrames = 100;
constexpr int kDelayReportFrames = 100;

}  // namespace

Status EchoCancellerConfig::validate() const {
  auto bad = [](const std::string& field, long long value, const std::string& valid) {
    return Status(Error::kInvalidArgument,
                  "echo canceller: " + field + " = " + std::to_string(value) + " (valid: " + valid + ")");
  };
  const auto impl = static_cast<int32_t>(implementation);
  if (impl < 0 || impl > 1) return bad("implementation", impl, "0 kWebRtc, 1 kSpeex");
  const auto sup = static_cast<int32_t>(suppression);
  if (sup < 0 || sup > 3) return bad("suppression", sup, "0 kLow .. 3 kAdaptive");
  const auto ns = static_cast<int32_t>(noise_suppression);
  if (ns < -1 || ns > 3) return bad("noise_suppression", ns, "-1 kOff, 0 kLow .. 3 kVeryHigh");
  if (agc_target_level_dbfs < 0 || agc_target_level_dbfs > 31)
    return bad("agc_target_level_dbfs", agc_target_level_dbfs, "0..31 dB below full scale");
  if (agc_compression_gain_db < 0 || agc_compression_gain_db > 90)
    return bad("agc_compression_gain_db", agc_compression_gain_db, "0..90");
  if (stream_delay_ms < -1 || stream_delay_ms > 500)
    return bad("stream_delay_ms", stream_delay_ms, "-1 (from the engine) or 0..500");
  return ok_status();
}

Result<std::unique_ptr<EchoProcessor>> make_echo_processor(const EchoCancellerConfig& config) {
  if (Status s = config.validate(); !s.ok()) return s.error_info();
  if (config.implementation == EchoImplementation::kSpeex)
    return Result<std::unique_ptr<EchoProcessor>>(Error::kUnsupported,
                                                  "echo canceller: implementation kSpeex is not available yet");
  // At engine rates other than 8 and 16 kHz the components run at 16 kHz behind resamplers.
  return std::unique_ptr<EchoProcessor>(
      new RateAdaptedEchoProcessor(std::make_unique<WebRtcEchoProcessor>(config), 16000));
}

WebRtcEchoProcessor::WebRtcEchoProcessor(const EchoCancellerConfig& config) : config_(config) {}

WebRtcEchoProcessor::~WebRtcEchoProcessor() { release(); }

void WebRtcEchoProcessor::release() noexcept {
  if (aec_ != nullptr) WebRtcAec_Free(aec_);
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
  if (max_frames == 0 || max_frames > 16384) {
    return Status(Error::kInvalidArgument,
                  "webrtc echo processor: max_frames = " + std::to_string(max_frames) + " (valid: 1..16384)");
  }
  release();
  sample_rate_hz_ = sample_rate_hz;
  block_frames_ = static_cast<size_t>(sample_rate_hz / 100);
  max_frames_ = max_frames;
  fifo_mode_ = max_frames % block_frames_ != 0;

  aec_ = WebRtcAec_Create();
  if (aec_ == nullptr) return Status(Error::kInternal, "webrtc echo processor: WebRtcAec_Create failed");
  if (config_.noise_suppression != NoiseSuppressionLevel::kOff) {
    ns_ = WebRtcNs_Create();
    if (ns_ == nullptr) return Status(Error::kInternal, "webrtc echo processor: WebRtcNs_Create failed");
  }
  if (config_.agc_enabled) {
    agc_ = WebRtcAgc_Create();
    if (agc_ == nullptr) return Status(Error::kInternal, "webrtc echo processor: WebRtcAgc_Create failed");
  }
  near_s16_.assign(block_frames_, 0.0f);
  out_s16_.assign(block_frames_, 0.0f);
  far_s16_.assign(block_frames_, 0.0f);
  near_i16_.assign(block_frames_, 0);
  out_i16_.assign(block_frames_, 0);
  far_i16_.assign(block_frames_, 0);
  far_scratch_.assign(block_frames_, 0.0f);
  in_fifo_.assign(fifo_mode_ ? block_frames_ + max_frames : 0, 0.0f);
  render_fifo_.assign(in_fifo_.size(), 0.0f);
  out_fifo_.assign(fifo_mode_ ? 2 * block_frames_ + max_frames : 0, 0.0f);
  hpf_.design(80.0, sample_rate_hz);
  init_components();
  // Init/set_config only write state; check once here that the library accepts our configuration.
  AecConfig probe{static_cast<int16_t>(webrtc_apm::kAecNlpModerate), 0, 0, 1};
  if (WebRtcAec_set_config(aec_, probe) != 0)
    return Status(Error::kInternal, "webrtc echo processor: the AEC refuses its configuration");
  init_components();
  return ok_status();
}

void WebRtcEchoProcessor::init_components() noexcept {
  const auto fs = static_cast<uint32_t>(sample_rate_hz_);
  // APM initialises the AEC with the processing rate and a 48 kHz sound-card rate (used for skew only).
  WebRtcAec_Init(aec_, sample_rate_hz_, 48000);
  WebRtcAec_enable_extended_filter(WebRtcAec_aec_core(aec_), config_.extended_filter ? 1 : 0);
  WebRtcAec_enable_delay_agnostic(WebRtcAec_aec_core(aec_), config_.delay_agnostic ? 1 : 0);
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
  std::fill(in_fifo_.begin(), in_fifo_.end(), 0.0f);
  std::fill(render_fifo_.begin(), render_fifo_.end(), 0.0f);
  std::fill(out_fifo_.begin(), out_fifo_.end(), 0.0f);
  in_fill_ = 0;
  out_fill_ = fifo_mode_ ? block_frames_ : 0;
  far_history_.fill(0.0f);
  far_head_ = 0;
  hangover_frames_ = 0;
  quiet_frames_ = 0;
  double_talk_state_ = false;
  far_active_ = false;
  mic_power_sum_ = out_power_sum_ = 0.0;
  erle_window_frames_ = 0;
  frames_ = far_frames_ = dt_frames_ = 0;
  erle_db_.store(0.0, std::memory_order_relaxed);
  delay_ms_.store(-1, std::memory_order_relaxed);
  frames_pub_.store(0, std::memory_order_relaxed);
  far_frames_pub_.store(0, std::memory_order_relaxed);
  dt_frames_pub_.store(0, std::memory_order_relaxed);
  double_talk_now_.store(false, std::memory_order_relaxed);
}

void WebRtcEchoProcessor::reset() noexcept {
  if (aec_ != nullptr) init_components();
}

void WebRtcEchoProcessor::set_nlp(int mode) noexcept {
  if (mode == nlp_mode_) return;
  nlp_mode_ = mode;
  // metricsMode stays off (we measure ERLE ourselves; switching with it on would reset the AEC's statistics);
  // delay logging on for the delay estimate.
  AecConfig c{static_cast<int16_t>(mode), 0, 0, 1};
  WebRtcAec_set_config(aec_, c);
}

void WebRtcEchoProcessor::update_double_talk(float mic_power, float far_power, float out_power) noexcept {
  far_history_[far_head_] = far_power;
  const size_t delay_frames = std::min(static_cast<size_t>(delay_in_use_ms_ / 10), kFarHistoryFrames - 1);
  const size_t first = delay_frames >= 2 ? delay_frames - 2 : 0;
  const size_t last = std::min(delay_frames + kEchoTailFrames, kFarHistoryFrames - 1);
  float far_envelope = 0.0f;
  for (size_t lag = first; lag <= last; ++lag)
    far_envelope = std::max(far_envelope, far_history_[(far_head_ + kFarHistoryFrames - lag) % kFarHistoryFrames]);
  far_head_ = (far_head_ + 1) % kFarHistoryFrames;

  const bool far_active = far_envelope > kFarActivePower;
  far_active_ = far_active;
  // Once converged the canceller removes far more than kResidualRatio of the echo, in either NLP mode; a frame
  // whose output keeps more of the microphone signal than that carries something the far end does not explain:
  // near-end speech.
  const bool near_seen = far_active && out_power > kNearFloorPower && out_power > kResidualRatio * mic_power;
  if (near_seen) quiet_frames_ = 0; else if (far_active) ++quiet_frames_;
  if (near_seen) hangover_frames_ = kHangoverFrames;
  else if (hangover_frames_ > 0) --hangover_frames_;
  double_talk_state_ = far_active && (near_seen || hangover_frames_ > 0);
  if (far_active) ++far_frames_;
  if (double_talk_state_) ++dt_frames_;
}

void WebRtcEchoProcessor::process_frame(float* near, const float* far, int delay_hint_ms) noexcept {
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
    set_nlp(quiet_frames_ >= kAggressiveAfterFrames ? webrtc_apm::kAecNlpAggressive
                                                     : webrtc_apm::kAecNlpConservative);
  }
  const float* aec_in = near_s16_.data();
  float* aec_out = out_s16_.data();
  WebRtcAec_Process(aec_, &aec_in, 1, &aec_out, n, static_cast<int16_t>(delay_in_use_ms_), 0);
  int echo = 0;
  WebRtcAec_get_echo_status(aec_, &echo);
  const float out_power = mean_square(out_s16_.data(), n);

  update_double_talk(mic_power, mean_square(far_s16_.data(), n), out_power);
  if (far_active_ && !double_talk_state_) {
    // Sums over windows of far-end-only frames: an exponential average would let the loud output of the first,
    // unconverged frames dominate for a long time.
    mic_power_sum_ += mic_power;
    out_power_sum_ += out_power;
    if (++erle_window_frames_ == kErleWindowFrames) {
      erle_db_.store(10.0 * std::log10((mic_power_sum_ + 1e-3) / (out_power_sum_ + 1e-3)), std::memory_order_relaxed);
      mic_power_sum_ = out_power_sum_ = 0.0;
      erle_window_frames_ = 0;
    }
  }

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

  ++frames_;
  if (frames_ % kDelayReportFrames == 0) {
    int median = 0, std_ms = 0;
    float poor = 0.0f;
    // The median is the AEC's own estimate of the whole delay (ms), -1 or negative while it has too little data.
    if (WebRtcAec_GetDelayMetrics(aec_, &median, &std_ms, &poor) == 0 && median >= 0)
      delay_ms_.store(median, std::memory_order_relaxed);
  }
  frames_pub_.store(frames_, std::memory_order_relaxed);
  far_frames_pub_.store(far_frames_, std::memory_order_relaxed);
  dt_frames_pub_.store(dt_frames_, std::memory_order_relaxed);
  double_talk_now_.store(double_talk_state_, std::memory_order_relaxed);
}

void WebRtcEchoProcessor::process(float* mono, size_t num_frames, const ProcessContext& context) noexcept {
  if (aec_ == nullptr) return;
  const size_t n = block_frames_;
  auto render_at = [&](size_t offset, float* dst, size_t count) {
    for (size_t i = 0; i < count; ++i) {
      const size_t k = offset + i;
      dst[i] = (context.render != nullptr && k < context.render_frames) ? context.render[k] : 0.0f;
    }
  };
  if (num_frames > max_frames_) {  // a caller error: the buffers are sized for max_frames
    misaligned_blocks_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (!fifo_mode_) {
    if (num_frames % n != 0) {
      misaligned_blocks_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    for (size_t off = 0; off < num_frames; off += n) {
      const bool whole = context.render != nullptr && off + n <= context.render_frames;
      const float* far = whole ? context.render + off : nullptr;
      if (!whole && context.render != nullptr) {
        render_at(off, far_scratch_.data(), n);
        far = far_scratch_.data();
      }
      process_frame(mono + off, far, context.echo_delay_ms);
    }
    return;
  }
  // FIFO mode: frames complete across calls; the output lags by one frame.
  std::copy(mono, mono + num_frames, in_fifo_.begin() + static_cast<std::ptrdiff_t>(in_fill_));
  render_at(0, render_fifo_.data() + in_fill_, num_frames);
  in_fill_ += num_frames;
  size_t consumed = 0;
  while (in_fill_ - consumed >= n) {
    float* frame = in_fifo_.data() + consumed;
    process_frame(frame, render_fifo_.data() + consumed, context.echo_delay_ms);
    std::copy(frame, frame + n, out_fifo_.begin() + static_cast<std::ptrdiff_t>(out_fill_));
    out_fill_ += n;
    consumed += n;
  }
  if (consumed > 0) {
    std::copy(in_fifo_.begin() + static_cast<std::ptrdiff_t>(consumed),
              in_fifo_.begin() + static_cast<std::ptrdiff_t>(in_fill_), in_fifo_.begin());
    std::copy(render_fifo_.begin() + static_cast<std::ptrdiff_t>(consumed),
              render_fifo_.begin() + static_cast<std::ptrdiff_t>(in_fill_), render_fifo_.begin());
    in_fill_ -= consumed;
  }
  std::copy(out_fifo_.begin(), out_fifo_.begin() + static_cast<std::ptrdiff_t>(num_frames), mono);
  std::copy(out_fifo_.begin() + static_cast<std::ptrdiff_t>(num_frames),
            out_fifo_.begin() + static_cast<std::ptrdiff_t>(out_fill_), out_fifo_.begin());
  out_fill_ -= num_frames;
}

int WebRtcEchoProcessor::latency_samples() const noexcept {
  if (aec_ == nullptr) return 0;
  constexpr int kAecLagSamples = 112;
  const int ns_lag = ns_ != nullptr ? sample_rate_hz_ * 6 / 1000 : 0;
  return (fifo_mode_ ? static_cast<int>(block_frames_) : 0) + kAecLagSamples + ns_lag;
}

DuplexMetrics WebRtcEchoProcessor::duplex_metrics() const noexcept {
  DuplexMetrics m;
  m.frames = frames_pub_.load(std::memory_order_relaxed);
  const int64_t far = far_frames_pub_.load(std::memory_order_relaxed);
  const int64_t dt = dt_frames_pub_.load(std::memory_order_relaxed);
  m.erle_db = erle_db_.load(std::memory_order_relaxed);
  m.delay_ms = delay_ms_.load(std::memory_order_relaxed);
  m.far_end_active_fraction = m.frames > 0 ? static_cast<double>(far) / static_cast<double>(m.frames) : 0.0;
  m.double_talk_fraction = far > 0 ? static_cast<double>(dt) / static_cast<double>(far) : 0.0;
  return m;
}

}  // namespace ae
