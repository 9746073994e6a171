// EchoCancellerConfig::validate() and make_echo_processor(): the configuration shared by the implementations.
#include <audioengine/echo_canceller.hpp>

#include <string>

#include "processing/rate_adapted_echo_processor.hpp"
#include "processing/speex/speex_echo_processor.hpp"
#include "processing/webrtc/webrtc_echo_processor.hpp"

namespace ae {

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
  const auto copy_sup = static_cast<int32_t>(vad_copy_suppression);
  if (copy_sup < 0 || copy_sup > 2) return bad("vad_copy_suppression", copy_sup, "0 kLow, 1 kModerate, 2 kHigh");
  if (stream_delay_ms < -1 || stream_delay_ms > 500)
    return bad("stream_delay_ms", stream_delay_ms, "-1 (from the engine) or 0..500");
  return ok_status();
}

Result<std::unique_ptr<EchoProcessor>> make_echo_processor(const EchoCancellerConfig& config) {
  if (Status s = config.validate(); !s.ok()) return s.error_info();
  if (config.implementation == EchoImplementation::kSpeex)
    return std::unique_ptr<EchoProcessor>(new SpeexEchoProcessor(config));
  // At engine rates other than 8 and 16 kHz the components run at 16 kHz behind resamplers.
  return std::unique_ptr<EchoProcessor>(
      new RateAdaptedEchoProcessor(std::make_unique<WebRtcEchoProcessor>(config), 16000));
}

}  // namespace ae
