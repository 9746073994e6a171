#include "audioengine/silero_vad.hpp"
#include "audioengine/vad.hpp"

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
    case VadAlgorithm::kWebRtc:
      break;
  }
  return ErrorInfo{Error::kUnsupported, std::string("vad.algorithm = ") + to_string(config.algorithm) +
                                            "; valid in this build: energy, silero"};
}

}  // namespace ae
