#include "dsp/speex_resampler.hpp"

#include <string>

namespace ae {

Result<std::unique_ptr<Resampler>> make_speex_resampler(const char* who, int input_rate_hz, int output_rate_hz,
                                                        size_t max_input_frames) {
  ResamplerConfig rc;
  rc.input_rate_hz = input_rate_hz;
  rc.output_rate_hz = output_rate_hz;
  rc.kind = ResamplerKind::kSpeex;
  rc.max_input_frames = max_input_frames;
  auto r = Resampler::create(rc);
  if (!r.ok()) {
    return Result<std::unique_ptr<Resampler>>(Error::kInternal, std::string(who) + ": resampler " +
                                                                    std::to_string(input_rate_hz) + " -> " +
                                                                    std::to_string(output_rate_hz) + " Hz: " +
                                                                    r.message());
  }
  return r;
}

}  // namespace ae
