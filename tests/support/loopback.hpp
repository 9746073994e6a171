#pragma once
// Helpers of the device tests: known signals, the capture collected on the engine timeline, and the search for a
// played signal in it (round trip and correlation).

#include <cstdint>
#include <utility>
#include <vector>

#include "audioengine/engine.hpp"

namespace ae::test {

// Uniform noise in [-12000, 12000], reproducible from `seed`.
std::vector<int16_t> noise_burst(size_t n, uint32_t seed);
// Twenty random tones between 200 Hz and 6 kHz at `rate_hz`: inside the passband of every resampler on the path
// (a 16 kHz engine passes up to ~7 kHz), with a sharp autocorrelation peak.
std::vector<int16_t> tone_burst(size_t n, int rate_hz, uint32_t seed);

// The captured chunks collected into one signal indexed by engine timeline position.
struct Captured {
  std::vector<float> samples;  // index = timeline sample
  int64_t chunks = 0;
  int64_t gaps = 0;            // chunks that did not continue where the previous one ended
  int64_t first_start = -1;    // timeline position of the first chunk
};

// Moves every chunk waiting in the engine into `cap`.
void drain(AudioEngine& e, Captured& cap);

// The lag (in samples, 0..max_lag) at which `played` best matches `captured` from `origin`, and the normalised
// correlation there.
std::pair<int64_t, double> best_lag(const std::vector<float>& captured, const std::vector<float>& played,
                                    int64_t origin, int64_t max_lag);

struct Measurement {
  int64_t lag = -1;
  double correlation = 0;
  uint64_t sequence = 0;  // of the kPlaybackStarted event: the next measurement waits for a later one
};

// Measures the loop once: plays a burst and finds it in the capture, on the engine timeline.
Measurement measure_once(AudioEngine& e, uint64_t item, uint32_t seed, int64_t max_lag, Captured& cap,
                         uint64_t after_sequence);

// Sample accounting across a fault: everything captured went to a tick or still waits for one, every tick
// delivered its chunk, and the chunks are contiguous on the timeline (nothing lost, nothing invented).
// Stops capture. Reports failures through GoogleTest.
void expect_samples_accounted(AudioEngine& e, Captured& cap);

}  // namespace ae::test
