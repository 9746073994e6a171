#pragma once
// Speech synthesis with espeak-ng: realistic speech for tests, the demo and simulated users, with no files and
// no network.

#include <string>
#include <vector>

#include "audioengine/result.hpp"

namespace ae {

struct SpeechOptions {
  std::string voice = "en";   // espeak-ng voice name, e.g. "en", "en-us", "en+f3"
  int words_per_minute = 175;  // 80..450
  int pitch = 50;              // 0..100
  int sample_rate_hz = 16000;  // output rate; espeak-ng's own (22050 Hz) is resampled with soxr
};

// Synthesizes `text` into mono float samples at options.sample_rate_hz, leading and trailing silence trimmed to
// 20 ms. Errors: kInvalidArgument for an empty text or an option out of range (named), kUnsupported when the
// espeak-ng data or voice cannot be loaded. Thread: any (calls are serialised: espeak-ng is a global state
// machine). RT-safe: no. The same text can come out a few samples longer or shorter from one call to the next in
// one process (espeak-ng carries state from one text to the next; measured: the first call about 200 ms shorter,
// later ones within ±1 ms): the words, their order and their timing to within that are the same.
Result<std::vector<float>> synthesize_speech(const std::string& text, const SpeechOptions& options = {});

}  // namespace ae
