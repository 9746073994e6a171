#pragma once
// A reproducible duplex scenario for echo-canceller tests and benchmarks: real (synthesized) far-end speech played
// into a synthetic room (exponentially decaying noise impulse response plus a delay) and picked up by the
// microphone, with a different voice as near-end speech in a double-talk stretch and a near-end-only stretch.
//
// Timeline: [0, double_talk_begin) far end only; [double_talk_begin, double_talk_end) both talk;
// [near_only_begin, size) near end only (near_only_begin == double_talk_end).

#include <audioengine/echo_canceller.hpp>
#include <audioengine/realtime.hpp>
#include <audioengine/result.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ae::test {

// The room is simulated at this rate; scenarios at other rates are resampled from it (soxr, time-aligned).
inline constexpr int kRoomRateHz = 16000;

struct EchoScenarioOptions {
  int sample_rate_hz = 16000;
  int delay_ms = 60;            // render-to-microphone delay of the direct path
  double rt60_s = 0.25;         // room reverberation time
  double echo_level_db = -10;   // echo RMS relative to the far-end RMS
  double near_level_db = -4;    // near-end RMS at the microphone relative to the far-end RMS (6 dB above the echo)
  double far_level_dbfs = -20;  // far-end RMS over its whole stretch
  double noise_dbfs = -70;      // white noise at the microphone
  double far_only_s = 8.0;
  double double_talk_s = 4.0;
  double near_only_s = 2.0;
  uint32_t seed = 1;
};

struct EchoScenario {
  int sample_rate_hz = 0;
  std::vector<float> far;   // what the speaker plays (the render reference)
  std::vector<float> mic;   // echo + near + noise
  std::vector<float> near;  // clean near-end speech as it reaches the microphone
  std::vector<float> echo;  // the echo alone
  size_t double_talk_begin = 0, double_talk_end = 0, near_only_begin = 0;
};

// Builds the scenario (espeak-ng voices "en" for the far end and "en+f3" for the near end). Errors: those of
// synthesize_speech (kUnsupported without espeak-ng data), kInvalidArgument for a non-positive stretch.
Result<EchoScenario> make_echo_scenario(const EchoScenarioOptions& options = {});

// Energy ratio in dB of a over b over [begin, end) (b at lag `lag_frames` earlier).
double level_db(const std::vector<float>& a, const std::vector<float>& b, size_t begin, size_t end,
                size_t lag_frames = 0);
// Normalised correlation of out[i] with ref[i - lag] over [begin, end).
double correlation(const std::vector<float>& out, const std::vector<float>& ref, size_t begin, size_t end,
                   size_t lag_frames);
// The lag in [0, max_lag_frames] with the highest correlation.
size_t best_lag(const std::vector<float>& out, const std::vector<float>& ref, size_t begin, size_t end,
                size_t max_lag_frames);

// The scenario for `sample_rate_hz` and `delay_ms` (other options default), built once per process and kept.
// Aborts with a message when it cannot be built (no espeak-ng data).
const EchoScenario& cached_echo_scenario(int sample_rate_hz, int delay_ms);

// Runs `p` over the scenario's microphone signal in blocks of `block` frames (the tail shorter than a block is
// dropped), the render reference being the far end of the same tick and `delay_hint_ms` the engine's delay
// estimate; `double_talk`, when given, receives p.double_talk() after each block.
std::vector<float> run_echo_processor(EchoProcessor& p, const EchoScenario& sc, int delay_hint_ms, size_t block,
                                      std::vector<uint8_t>* double_talk = nullptr);

// Echo return loss enhancement, dB, of `out` over the far-end-only stretch after `converge_s`.
double erle_db(const EchoScenario& sc, const std::vector<float>& out, double converge_s);

struct NearFigures {
  double level_db = 0.0;     // output over the clean near end
  double correlation = 0.0;  // normalised, at `lag`
  size_t lag = 0;            // samples
};
// The near end in the double-talk stretch: `out` against the clean near end, aligned at the best lag (<= 20 ms).
NearFigures near_figures(const EchoScenario& sc, const std::vector<float>& out);

struct ProbedRun {
  rt::ViolationCounts violations;  // allocations and locks on the audio thread, process() and reset() included
  int double_talk_switches = 0;    // changes of p.double_talk() from block to block
  DuplexMetrics metrics;           // read before reset()
};
// Runs `p` over the scenario as run_echo_processor() does, on a thread marked as the audio thread (the real-time
// probe counts allocations and locks), reading the metrics after every block, then calls reset() there too.
ProbedRun run_probed(EchoProcessor& p, const EchoScenario& sc, int delay_hint_ms, size_t block);

struct ReadWhileProcessing {
  std::vector<float> out;  // what run_echo_processor() returned
  int64_t reads = 0;       // duplex_metrics() calls the other thread made
  int64_t went_back = 0;   // of those, the ones that saw fewer frames than the call before
};
// Runs `p` over the scenario as run_echo_processor() does while another thread reads duplex_metrics() in a loop.
ReadWhileProcessing run_with_metrics_reader(EchoProcessor& p, const EchoScenario& sc, int delay_hint_ms,
                                            size_t block);

struct NoiseLag {
  size_t lag = 0;            // samples
  double correlation = 0.0;  // at that lag
};
// Passes 2 s of white noise (no render reference) through the prepared `p` in blocks of `block` frames and finds
// the output's best-correlating lag behind the input (up to `max_lag` samples, after the first 0.5 s).
NoiseLag white_noise_lag(AudioProcessor& p, int sample_rate_hz, size_t block, size_t max_lag);

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace ae::test
