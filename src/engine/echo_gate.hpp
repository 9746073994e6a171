#pragma once
// EchoGate: asks the echo path whether the processed (echo-cancelled) capture of a period holds near-end energy
// that the AI's own output does not explain. The barge-in decision counts a VAD run toward an interruption only
// in periods the gate declares near-end, so the residual echo an echo canceller leaves (intelligible speech to a
// VAD at any level) cannot make the AI interrupt itself.
//
// Per period it keeps the render power (what the echo canceller gets as its reference) in a history and takes
// the render envelope: the loudest period in the window where that period's echo can still be in the microphone
// (this period back to tail_ms, or to the delay + 100 ms when that is longer). It learns the residual coupling, processed power over envelope, on the
// periods it judges echo-only, as a maximum that decays by decay_db_per_s: a canceller's residual comes in bursts
// (re-convergence, suppression letting go) well above its usual level, so the estimate holds its peaks for a
// while (measured: 3 dB/s held the user back for seconds where 10 dB/s let the barge-in through; the default).
// For the first prior_ms of render after a silence the coupling is at
// least a conservative prior (0 dB: an unconverged canceller passes the echo nearly as it is). A period is
// near-end when its processed power is above an absolute floor and above coupling x envelope by margin_db. With
// no render in the window (nothing played, the tail passed) every period above the floor is near-end: the gate is
// open. The floor holds there too: a room's tail can outlast the window, and a VAD hearing the canceller's gentler
// copy (EchoCancellerConfig::vad_copy) carries its run on that tail into the render's silence.
//
// Past the echo delay (+ knee_ms) each period of the window weighs less, by tail_fall_db over tail_ms: the echo of
// a period dies away with the room's reverberation, and at full weight the render of 200 ms ago made a user who
// spoke in a pause of the AI's speech look like echo (learnt into the coupling at once, held back for seconds;
// docs/conversation.md). With num_bands > 0 the same runs per frequency band on a windowed FFT of both signals
// (update_blocks()), and a period is near-end when min_near_end_bands bands are.
//
// Independent of the echo canceller in use: it needs only the two signals (their powers, or their spectra when
// banded). Allocation-free after prepare().

#include <audioengine/result.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ae {

struct EchoGateConfig {
  int sample_rate_hz = 16000;
  size_t period_frames = 160;
  // Near-end above coupling x envelope by this much, dB. [0, 40]
  double margin_db = 6.0;
  // How long the echo of one period lasts after its delay (the room's reverberation and the canceller's
  // filter), ms: the envelope reaches this far back. [20, 1000]
  int tail_ms = 300;
  // Longest delay the gate is prepared for, ms (the history covers max_delay_ms + tail_ms).
  int max_delay_ms = 500;
  // The least coupling for the first prior_ms of render after a silence, dB (processed power over render
  // envelope). [-80, 20]
  double prior_coupling_db = 0.0;
  // How long the prior holds once render starts, ms: the canceller's first 100 to 200 ms leak. [0, 5000]
  int prior_ms = 200;
  // How fast the learnt coupling falls when the echo-only periods show less, dB per second. (0, 200]
  double decay_db_per_s = 10.0;
  // The coupling never falls below this, dB: a period's noise must not read as near-end once the canceller
  // removed everything. [-120, 0]
  double min_coupling_db = -60.0;
  // The learnt coupling never rises above this, dB: a canceller passes at most the echo itself, and the echo of
  // a room at most about the render's level, so a period louder than that over the envelope is not all echo
  // (it is the user, learnt as echo otherwise). 40: no cap in practice. [-20, 40]
  double max_coupling_db = 40.0;
  // Render envelope below this is no render, dBFS (mean square of full scale = 0 dBFS).
  double render_floor_dbfs = -70.0;
  // Processed power below this is never near-end, dBFS (with or without render in the window).
  double near_end_floor_dbfs = -60.0;
  // How far the render envelope's weight falls over tail_ms past the knee (the delay + knee_ms), dB: a period's
  // echo decays with the room's reverberation, so render long past does not explain loud processed power now.
  // 0: every lag in the window weighs the same. [0, 120]
  double tail_fall_db = 0.0;
  // Lags up to the delay + knee_ms weigh fully (the direct echo, the canceller's own lag). [0, 200]
  int knee_ms = 40;
  // Frequency bands the decision runs in: 0 decides on whole-band powers; otherwise update_blocks() splits the
  // render block and the processed capture into this many equal bands between band_low_hz and band_high_hz and
  // keeps an envelope and a learnt coupling per band. [0, 64]
  int num_bands = 0;
  // The bands' span, Hz: where a voice's harmonics and formants carry its energy. 0 < band_low_hz <
  // band_high_hz <= sample_rate_hz / 2.
  double band_low_hz = 100.0;
  double band_high_hz = 4000.0;
  // Bands that must hold near-end energy for the period to be near-end. [1, num_bands]
  int min_near_end_bands = 3;
};

class EchoGate {
 public:
  // Sizes the render history for `config` (allocates) and forgets everything. Errors: kInvalidArgument naming
  // the field, its value and the valid range. Thread: control (or any while no tick runs). RT-safe: no.
  Status prepare(const EchoGateConfig& config);

  // Changes margin_db, tail_ms and tail_fall_db in place (clamped to their ranges; tail_ms to what prepare()
  // sized; a negative tail_fall_db keeps the configured one). Thread: the audio thread. RT-safe: yes.
  void set_margin_and_tail(double margin_db, int tail_ms, double tail_fall_db = -1.0) noexcept;

  // Accounts one period and returns whether it holds near-end energy. `render_power` and `processed_power` are
  // mean squares of the period's render block and processed capture (full scale 1.0); `delay_ms` is the
  // render-to-capture delay (-1: unknown; it only lengthens the window). Thread: the audio thread. RT-safe: yes.
  bool update(double render_power, double processed_power, int delay_ms) noexcept;

  // Accounts one period from its samples: `render` (the canceller's reference block) and `processed` (its
  // output), `num_frames` each (period_frames). With num_bands == 0 the same as update() on their mean squares;
  // otherwise the banded decision: a period is near-end when at least min_near_end_bands bands hold processed
  // power above that band's coupling x envelope by margin_db, and the whole period is above the floor. Returns
  // whether the period is near-end. Thread: the audio thread. RT-safe: yes.
  bool update_blocks(const float* render, const float* processed, size_t num_frames, int delay_ms) noexcept;

  // Forgets the history and the learnt coupling. Thread: the audio thread. RT-safe: yes.
  void reset() noexcept;

  // Whether the last update() saw render in its window (the gate was deciding, not open). RT-safe: yes.
  bool render_active() const noexcept { return render_active_; }
  // The learnt coupling, dB (banded: the bands' couplings weighted by their envelopes). RT-safe: yes.
  double coupling_db() const noexcept;
  // The render envelope of the last update(), mean square. RT-safe: yes.
  double envelope_power() const noexcept { return envelope_; }
  // Bands of the last update_blocks() that held near-end energy (0 in whole-band mode). RT-safe: yes.
  int near_end_bands() const noexcept { return near_end_bands_; }

 private:
  EchoGateConfig config_;
  std::vector<double> history_;  // render power per period, ring
  size_t head_ = 0;              // next slot to write
  double period_ms_ = 10.0;
  double margin_ = 4.0;          // as a power ratio
  size_t tail_periods_ = 30;
  double coupling_ = 1.0;        // power ratio, learnt
  double prior_ = 1.0;           // power ratio
  size_t prior_periods_ = 20;
  size_t active_periods_ = 0;    // periods with render in the window since the last silence
  double decay_per_period_ = 1.0;
  double min_coupling_ = 1e-6;
  double max_coupling_ = 1e4;
  double render_floor_ = 1e-7;
  double near_end_floor_ = 1e-6;
  double envelope_ = 0.0;
  bool render_active_ = false;

  // Banded mode (num_bands > 0): the last fft_size_ samples of each signal, analysed once per period with a
  // Hann window, both through one complex FFT (render real, processed imaginary).
  void prepare_bands(const EchoGateConfig& config, size_t span_periods);
  void analyse(const float* render, const float* processed, size_t num_frames) noexcept;
  size_t window_periods(int delay_ms) const noexcept;
  size_t knee_periods(int delay_ms) const noexcept;
  // The render envelope per column of a ring of `width` powers per period (the whole band: 1; banded: the bands),
  // head_ being this period's row: the loudest weighted past period over the window. Writes `width` values.
  void envelope_of(const double* ring, size_t width, int delay_ms, double* envelope) const noexcept;
  // Counts this period into the render run since the last silence; whether the prior coupling still applies.
  bool step_prior() noexcept;
  // The learnt coupling after an echo-only period with processed / envelope power `ratio`: up at once, down slowly.
  double learn(double coupling, double ratio) const noexcept;
  std::vector<double> fall_;    // envelope weight per period past the knee
  size_t num_bands_ = 0;
  size_t fft_size_ = 0;
  std::vector<float> render_in_, processed_in_;
  std::vector<float> window_;
  std::vector<double> fft_re_, fft_im_, twiddle_re_, twiddle_im_;
  std::vector<uint32_t> bit_reverse_;
  std::vector<uint32_t> band_first_bin_;  // num_bands + 1 edges
  std::vector<double> band_render_, band_processed_;
  std::vector<double> band_history_;       // render power per period and band, ring of history_.size() rows
  std::vector<double> band_envelope_, band_coupling_;
  double band_scale_ = 1.0;     // |X|^2 to mean-square contribution
  double band_floor_ = 1e-8;    // near_end_floor_ per band
  int near_end_bands_ = 0;
};

// Mean square of `n` samples (0 for n == 0). RT-safe: yes.
double mean_square(const float* x, size_t n) noexcept;

}  // namespace ae
