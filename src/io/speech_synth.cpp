#include "audioengine/speech_synth.hpp"

#include <espeak-ng/speak_lib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <mutex>

#include "audioengine/resampler.hpp"

namespace ae {
namespace {

std::mutex g_espeak_mutex;
int g_espeak_rate_hz = 0;

int collect(short* wav, int num_samples, espeak_EVENT* events) {
  auto* out = static_cast<std::vector<int16_t>*>(events->user_data);
  if (wav != nullptr && num_samples > 0) out->insert(out->end(), wav, wav + num_samples);
  return 0;  // continue
}

}  // namespace

Result<std::vector<float>> synthesize_speech(const std::string& text, const SpeechOptions& options) {
  using R = Result<std::vector<float>>;
  if (text.empty()) return R(Error::kInvalidArgument, "synthesize_speech: text is empty");
  if (options.words_per_minute < espeakRATE_MINIMUM || options.words_per_minute > espeakRATE_MAXIMUM) {
    return R(Error::kInvalidArgument, "synthesize_speech: words_per_minute = " +
                                          std::to_string(options.words_per_minute) + "; valid: 80..450");
  }
  if (options.pitch < 0 || options.pitch > 100) {
    return R(Error::kInvalidArgument, "synthesize_speech: pitch = " + std::to_string(options.pitch) + "; valid: 0..100");
  }
  if (options.sample_rate_hz < 8000 || options.sample_rate_hz > 192000) {
    return R(Error::kInvalidArgument, "synthesize_speech: sample_rate_hz = " + std::to_string(options.sample_rate_hz) +
                                          "; valid: 8000..192000");
  }
  std::vector<int16_t> pcm;
  int native_rate = 0;
  {
    std::lock_guard lock(g_espeak_mutex);
    if (g_espeak_rate_hz <= 0) {
      g_espeak_rate_hz = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nullptr, espeakINITIALIZE_DONT_EXIT);
      if (g_espeak_rate_hz <= 0) {
        return R(Error::kUnsupported, "synthesize_speech: espeak-ng failed to initialise (is espeak-ng-data installed?)");
      }
    }
    native_rate = g_espeak_rate_hz;
    espeak_SetSynthCallback(collect);
    if (espeak_SetVoiceByName(options.voice.c_str()) != EE_OK) {
      return R(Error::kUnsupported, "synthesize_speech: voice '" + options.voice + "' not found in espeak-ng data");
    }
    espeak_SetParameter(espeakRATE, options.words_per_minute, 0);
    espeak_SetParameter(espeakPITCH, options.pitch, 0);
    if (espeak_Synth(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, nullptr, &pcm) != EE_OK ||
        espeak_Synchronize() != EE_OK) {
      return R(Error::kInternal, "synthesize_speech: espeak-ng failed to synthesise the text");
    }
  }
  // Trim silence to 20 ms each side so that the speech onset is where the caller puts the clip.
  const int16_t kQuiet = 64;  // about -54 dBFS
  auto first = std::find_if(pcm.begin(), pcm.end(), [&](int16_t s) { return std::abs(s) > kQuiet; });
  auto last = std::find_if(pcm.rbegin(), pcm.rend(), [&](int16_t s) { return std::abs(s) > kQuiet; }).base();
  if (first >= last) return R(Error::kInternal, "synthesize_speech: espeak-ng produced only silence");
  const auto pad = static_cast<std::ptrdiff_t>(native_rate / 50);
  first = std::max(pcm.begin(), first - pad);
  last = std::min(pcm.end(), last + pad);
  std::vector<float> native(static_cast<size_t>(last - first));
  std::transform(first, last, native.begin(), [](int16_t s) { return static_cast<float>(s) / 32768.0f; });
  if (options.sample_rate_hz == native_rate) return native;

  ResamplerConfig rc;
  rc.input_rate_hz = native_rate;
  rc.output_rate_hz = options.sample_rate_hz;
  rc.kind = ResamplerKind::kSoxr;
  rc.max_input_frames = 4096;
  auto rs = Resampler::create(rc);
  if (!rs.ok()) return R(rs.error(), "synthesize_speech: " + rs.message());
  Resampler& r = **rs;
  std::vector<float> out(r.max_output_frames(native.size()) + r.max_output_frames(4096) + 1024);
  size_t n = 0;
  for (size_t i = 0; i < native.size(); i += 4096) {
    const size_t len = std::min<size_t>(4096, native.size() - i);
    n += r.process(native.data() + i, len, out.data() + n, out.size() - n);
  }
  n += r.flush(out.data() + n, out.size() - n);
  // Drop the resampler's delay so the clip starts where the speech starts.
  const auto delay = static_cast<size_t>(std::lround(r.delay_frames()));
  const size_t expected = native.size() * static_cast<size_t>(options.sample_rate_hz) / static_cast<size_t>(native_rate);
  const size_t start = std::min(delay, n);
  std::vector<float> result(out.begin() + static_cast<std::ptrdiff_t>(start),
                            out.begin() + static_cast<std::ptrdiff_t>(std::min(n, start + expected)));
  return result;
}

}  // namespace ae
