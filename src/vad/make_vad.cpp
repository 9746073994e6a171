#include "audioengine/silero_vad.hpp"
#include "audioengine/vad.hpp"
#include "audioengine/webrtc_vad.hpp"

namespace ae {

Result<std::unique_ptr<VoiceActivityDetector>> make_vad(const VadConfig& config) {
  switch (config.algorithm) {
    case VadAlgorithm::kEnergy:
      return make_energy_vad(config);
    case VadAlgorithm::kSilero: {
      auto silero = SileroVad::create(SileroVad::default_model_path());
      if (!silero.ok()) return silero.error_info();
      return std::unique_ptr<VoiceActivityDetector>(std::move(silero.value()));
    }
    case VadAlgorithm::kWebRtc: {
      auto webrtc = WebRtcVad::create(config.webrtc_aggressiveness);
      if (!webrtc.ok()) return webrtc.error_info();
      return std::unique_ptr<VoiceActivityDetector>(std::move(webrtc.value()));
    }
  }
  return ErrorInfo{Error::kUnsupported, "vad.algorithm = " + std::to_string(static_cast<int>(config.algorithm)) +
                                            "; valid: energy, webrtc, silero"};
}

}  // namespace ae
