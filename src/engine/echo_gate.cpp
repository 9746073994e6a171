#include "engine/echo_gate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

namespace ae {
namespace {

constexpr double kPi = 3.14159265358979323846;

double db_to_power(double db) { return std::pow(10.0, db / 10.0); }

Status bad(const std::string& field, double value, const char* valid) {
  char v[64];
  std::snprintf(v, sizeof v, "%g", value);
  return Status(Error::kInvalidArgument, "echo gate: " + field + " = " + v + " is out of range; valid: " + valid);
}

}  // namespace

double mean_square(const float* x, size_t n) noexcept {
  if (n == 0) return 0.0;
  // Four partial sums: one chain of dependent additions would wait on the adder's latency at every sample.
  double e[4] = {0.0, 0.0, 0.0, 0.0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (size_t k = 0; k < 4; ++k) e[k] += static_cast<double>(x[i + k]) * x[i + k];
  }
  for (; i < n; ++i) e[0] += static_cast<double>(x[i]) * x[i];
  return ((e[0] + e[1]) + (e[2] + e[3])) / static_cast<double>(n);
}

Status EchoGate::prepare(const EchoGateConfig& c) {
  if (c.sample_rate_hz < 8000 || c.sample_rate_hz > 48000) return bad("sample_rate_hz", c.sample_rate_hz, "8000..48000");
  if (c.period_frames == 0) return bad("period_frames", 0, "> 0");
  if (!(c.margin_db >= 0.0 && c.margin_db <= 40.0)) return bad("margin_db", c.margin_db, "0..40");
  if (c.tail_ms < 20 || c.tail_ms > 1000) return bad("tail_ms", c.tail_ms, "20..1000");
  if (c.max_delay_ms < 0 || c.max_delay_ms > 1000) return bad("max_delay_ms", c.max_delay_ms, "0..1000");
  if (!(c.prior_coupling_db >= -80.0 && c.prior_coupling_db <= 20.0)) {
    return bad("prior_coupling_db", c.prior_coupling_db, "-80..20");
  }
  if (c.prior_ms < 0 || c.prior_ms > 5000) return bad("prior_ms", c.prior_ms, "0..5000");
  if (!(c.decay_db_per_s > 0.0 && c.decay_db_per_s <= 200.0)) return bad("decay_db_per_s", c.decay_db_per_s, "(0, 200]");
  if (!(c.min_coupling_db >= -120.0 && c.min_coupling_db <= 0.0)) {
    return bad("min_coupling_db", c.min_coupling_db, "-120..0");
  }
  if (!(c.max_coupling_db >= -20.0 && c.max_coupling_db <= 40.0)) {
    return bad("max_coupling_db", c.max_coupling_db, "-20..40");
  }
  if (c.num_bands < 0 || c.num_bands > 64) return bad("num_bands", c.num_bands, "0..64");
  if (c.num_bands > 0) {
    if (!(c.band_low_hz > 0.0 && c.band_low_hz < c.band_high_hz)) {
      return bad("band_low_hz", c.band_low_hz, "> 0 and < band_high_hz");
    }
    if (!(c.band_high_hz <= c.sample_rate_hz / 2.0)) return bad("band_high_hz", c.band_high_hz, "<= sample_rate_hz / 2");
    if (c.min_near_end_bands < 1 || c.min_near_end_bands > c.num_bands) {
      return bad("min_near_end_bands", c.min_near_end_bands, "1..num_bands");
    }
  }
  if (!(c.tail_fall_db >= 0.0 && c.tail_fall_db <= 120.0)) return bad("tail_fall_db", c.tail_fall_db, "0..120");
  if (c.knee_ms < 0 || c.knee_ms > 200) return bad("knee_ms", c.knee_ms, "0..200");
  config_ = c;
  period_ms_ = 1000.0 * static_cast<double>(c.period_frames) / c.sample_rate_hz;
  const auto span_periods = static_cast<size_t>(std::ceil((c.max_delay_ms + 1000) / period_ms_)) + 2;
  history_.assign(span_periods, 0.0);
  fall_.assign(span_periods + 1, 1.0);
  decay_per_period_ = db_to_power(-c.decay_db_per_s * period_ms_ / 1000.0);
  prior_ = db_to_power(c.prior_coupling_db);
  prior_periods_ = static_cast<size_t>(std::ceil(c.prior_ms / period_ms_));
  min_coupling_ = db_to_power(c.min_coupling_db);
  max_coupling_ = std::max(min_coupling_, db_to_power(c.max_coupling_db));
  render_floor_ = db_to_power(c.render_floor_dbfs);
  near_end_floor_ = db_to_power(c.near_end_floor_dbfs);
  set_margin_and_tail(c.margin_db, c.tail_ms);
  prepare_bands(c, span_periods);
  reset();
  return ok_status();
}

void EchoGate::prepare_bands(const EchoGateConfig& c, size_t span_periods) {
  num_bands_ = static_cast<size_t>(c.num_bands);
  if (num_bands_ == 0) {
    fft_size_ = 0;
    return;
  }
  // Two periods per analysis (50 % overlap): a 10 ms block alone resolves 100 Hz, too coarse for a voice's
  // harmonics; 20 ms in a 512-point FFT at 16 kHz gives 31 Hz bins.
  // Longer when the bands would be narrower than a bin (short periods, many bands).
  fft_size_ = 8;
  const double span_hz = c.band_high_hz - c.band_low_hz;
  while (fft_size_ < 2 * c.period_frames ||
         span_hz * static_cast<double>(fft_size_) / c.sample_rate_hz < static_cast<double>(num_bands_ + 1)) {
    fft_size_ *= 2;
  }
  render_in_.assign(fft_size_, 0.0f);
  processed_in_.assign(fft_size_, 0.0f);
  window_.resize(fft_size_);
  double window_energy = 0.0;
  for (size_t i = 0; i < fft_size_; ++i) {
    window_[i] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * kPi * (static_cast<double>(i) + 0.5) / fft_size_));
    window_energy += static_cast<double>(window_[i]) * window_[i];
  }
  // Parseval: the bins' |X|^2 over the positive half, doubled, sum to fft_size x the windowed energy.
  band_scale_ = 2.0 / (static_cast<double>(fft_size_) * window_energy);
  fft_re_.assign(fft_size_, 0.0);
  fft_im_.assign(fft_size_, 0.0);
  twiddle_re_.resize(fft_size_ / 2);
  twiddle_im_.resize(fft_size_ / 2);
  for (size_t k = 0; k < fft_size_ / 2; ++k) {
    twiddle_re_[k] = std::cos(2.0 * kPi * static_cast<double>(k) / fft_size_);
    twiddle_im_[k] = -std::sin(2.0 * kPi * static_cast<double>(k) / fft_size_);
  }
  bit_reverse_.resize(fft_size_);
  size_t bits = 0;
  while ((size_t{1} << bits) < fft_size_) ++bits;
  for (size_t i = 0; i < fft_size_; ++i) {
    size_t r = 0;
    for (size_t b = 0; b < bits; ++b) r |= ((i >> b) & 1u) << (bits - 1 - b);
    bit_reverse_[i] = static_cast<uint32_t>(r);
  }
  band_first_bin_.resize(num_bands_ + 1);
  const double bin_hz = static_cast<double>(c.sample_rate_hz) / fft_size_;
  for (size_t b = 0; b <= num_bands_; ++b) {
    const double hz = c.band_low_hz + (c.band_high_hz - c.band_low_hz) * static_cast<double>(b) / num_bands_;
    band_first_bin_[b] = static_cast<uint32_t>(std::lround(hz / bin_hz));
  }
  for (size_t b = 1; b <= num_bands_; ++b) {
    band_first_bin_[b] = std::max(band_first_bin_[b], band_first_bin_[b - 1] + 1);  // no empty band
  }
  // At most the Nyquist bin (the size above leaves room for one bin per band).
  for (auto& bin : band_first_bin_) bin = std::min<uint32_t>(bin, static_cast<uint32_t>(fft_size_ / 2));
  band_render_.assign(num_bands_, 0.0);
  band_processed_.assign(num_bands_, 0.0);
  band_history_.assign(span_periods * num_bands_, 0.0);
  band_envelope_.assign(num_bands_, 0.0);
  band_coupling_.assign(num_bands_, 1.0);
  band_floor_ = near_end_floor_ / static_cast<double>(num_bands_);
}

void EchoGate::set_margin_and_tail(double margin_db, int tail_ms, double tail_fall_db) noexcept {
  margin_ = db_to_power(std::clamp(margin_db, 0.0, 40.0));
  if (tail_fall_db >= 0.0) config_.tail_fall_db = std::min(tail_fall_db, 120.0);
  const int tail = std::clamp(tail_ms, 20, 1000);
  tail_periods_ = static_cast<size_t>(std::ceil(tail / period_ms_));
  for (size_t i = 0; i < fall_.size(); ++i) {
    fall_[i] = db_to_power(-config_.tail_fall_db * static_cast<double>(i) * period_ms_ / tail);
  }
}

void EchoGate::reset() noexcept {
  std::fill(history_.begin(), history_.end(), 0.0);
  head_ = 0;
  coupling_ = min_coupling_;
  active_periods_ = 0;
  envelope_ = 0.0;
  render_active_ = false;
  near_end_bands_ = 0;
  std::fill(render_in_.begin(), render_in_.end(), 0.0f);
  std::fill(processed_in_.begin(), processed_in_.end(), 0.0f);
  std::fill(band_history_.begin(), band_history_.end(), 0.0);
  std::fill(band_coupling_.begin(), band_coupling_.end(), min_coupling_);
}

double EchoGate::coupling_db() const noexcept {
  if (num_bands_ == 0) return 10.0 * std::log10(coupling_);
  // Banded: the envelope-weighted mean of the bands' couplings, the whole-band coupling they amount to.
  double echo = 0.0;
  double envelope = 0.0;
  for (size_t b = 0; b < num_bands_; ++b) {
    echo += band_coupling_[b] * band_envelope_[b];
    envelope += band_envelope_[b];
  }
  return 10.0 * std::log10(envelope > 0.0 ? echo / envelope : min_coupling_);
}

size_t EchoGate::knee_periods(int delay_ms) const noexcept {
  const int delay = std::clamp(delay_ms, 0, config_.max_delay_ms);
  return static_cast<size_t>((delay + config_.knee_ms) / period_ms_);
}

size_t EchoGate::window_periods(int delay_ms) const noexcept {
  // From lag 0 (this period) to tail_ms, or delay + 100 ms when the delay is longer. Lag 0 whatever the delay:
  // the canceller's output follows its reference with a lag of its own. Measured on the simulate scenario (60 ms,
  // gain 0.5, rt60 150 ms): windows of 0..300 ms let the user through 83 ms after the onset; 40..360, 0..360,
  // 0..210 and 0..260 ms made the learnt coupling take the user's first syllables for echo (1.9 to 2.9 s late).
  const int delay = std::clamp(delay_ms, 0, config_.max_delay_ms);
  return std::min(history_.size() - 1, std::max(tail_periods_, static_cast<size_t>((delay + 100) / period_ms_)));
}

void EchoGate::envelope_of(const double* ring, size_t width, int delay_ms, double* envelope) const noexcept {
  const size_t size = history_.size();
  const size_t last = window_periods(delay_ms);
  const size_t knee = knee_periods(delay_ms);
  std::fill(envelope, envelope + width, 0.0);
  for (size_t lag = 0; lag <= last; ++lag) {
    const double w = lag <= knee ? 1.0 : fall_[lag - knee];
    const double* past = ring + ((head_ + size - lag) % size) * width;
    for (size_t b = 0; b < width; ++b) envelope[b] = std::max(envelope[b], w * past[b]);
  }
}

bool EchoGate::step_prior() noexcept {
  if (active_periods_ < prior_periods_) ++active_periods_;
  return active_periods_ < prior_periods_;
}

double EchoGate::learn(double coupling, double ratio) const noexcept {
  return std::min(max_coupling_, std::max({coupling * decay_per_period_, ratio, min_coupling_}));
}

bool EchoGate::update(double render_power, double processed_power, int delay_ms) noexcept {
  const size_t size = history_.size();
  if (size == 0) return true;
  history_[head_] = render_power;
  double envelope = 0.0;
  envelope_of(history_.data(), 1, delay_ms, &envelope);
  head_ = (head_ + 1) % size;
  envelope_ = envelope;
  render_active_ = envelope > render_floor_;
  if (!render_active_) {
    // Nothing to explain echo by, but the floor still applies: a room's tail can outlast the window (rt60 longer
    // than tail_ms), and a VAD that hears residual echo holds its run into the silence after the render.
    active_periods_ = 0;
    return processed_power > near_end_floor_;
  }
  const double coupling = step_prior() ? std::max(coupling_, prior_) : coupling_;
  if (processed_power > margin_ * coupling * envelope) return processed_power > near_end_floor_;
  // Echo only.
  coupling_ = learn(coupling_, processed_power / envelope);
  return false;
}

void EchoGate::analyse(const float* render, const float* processed, size_t num_frames) noexcept {
  const size_t n = fft_size_;
  const size_t k = std::min(num_frames, n);
  std::memmove(render_in_.data(), render_in_.data() + k, (n - k) * sizeof(float));
  std::memmove(processed_in_.data(), processed_in_.data() + k, (n - k) * sizeof(float));
  std::memcpy(render_in_.data() + (n - k), render + (num_frames - k), k * sizeof(float));
  std::memcpy(processed_in_.data() + (n - k), processed + (num_frames - k), k * sizeof(float));
  // Both real signals in one complex transform: z = render + i processed. Real and imaginary parts in separate
  // arrays: std::complex's multiply checks for infinities, and pairs of doubles through the stack stall the
  // store forwarding (measured: 43 us per period with std::complex, see bench/echo_gate_bench.cpp).
  double* re = fft_re_.data();
  double* im = fft_im_.data();
  for (size_t i = 0; i < n; ++i) {
    re[bit_reverse_[i]] = static_cast<double>(window_[i]) * render_in_[i];
    im[bit_reverse_[i]] = static_cast<double>(window_[i]) * processed_in_[i];
  }
  for (size_t len = 2; len <= n; len *= 2) {
    const size_t half = len / 2;
    const size_t stride = n / len;
    for (size_t start = 0; start < n; start += len) {
      for (size_t j = 0; j < half; ++j) {
        const double wr = twiddle_re_[j * stride];
        const double wi = twiddle_im_[j * stride];
        const size_t u = start + j;
        const size_t v = u + half;
        const double tr = wr * re[v] - wi * im[v];
        const double ti = wr * im[v] + wi * re[v];
        re[v] = re[u] - tr;
        im[v] = im[u] - ti;
        re[u] += tr;
        im[u] += ti;
      }
    }
  }
  // Separation: R[k] = (Z[k] + conj Z[n-k]) / 2, P[k] = (Z[k] - conj Z[n-k]) / 2i; only |.|^2 is needed.
  for (size_t b = 0; b < num_bands_; ++b) {
    double r = 0.0;
    double p = 0.0;
    for (size_t bin = band_first_bin_[b]; bin < band_first_bin_[b + 1]; ++bin) {
      const size_t mirror = bin == 0 ? 0 : n - bin;
      const double sr = re[bin] + re[mirror];  // Z + conj Z': real parts add, imaginary parts subtract
      const double si = im[bin] - im[mirror];
      const double dr = re[bin] - re[mirror];
      const double di = im[bin] + im[mirror];
      r += sr * sr + si * si;
      p += dr * dr + di * di;
    }
    band_render_[b] = 0.25 * r * band_scale_;
    band_processed_[b] = 0.25 * p * band_scale_;
  }
}

bool EchoGate::update_blocks(const float* render, const float* processed, size_t num_frames, int delay_ms) noexcept {
  if (num_bands_ == 0 || history_.empty()) {
    return update(mean_square(render, num_frames), mean_square(processed, num_frames), delay_ms);
  }
  analyse(render, processed, num_frames);
  const double processed_power = mean_square(processed, num_frames);
  const size_t size = history_.size();
  double* row = band_history_.data() + head_ * num_bands_;
  std::copy(band_render_.begin(), band_render_.end(), row);
  envelope_of(band_history_.data(), num_bands_, delay_ms, band_envelope_.data());
  head_ = (head_ + 1) % size;
  double envelope = 0.0;
  for (size_t b = 0; b < num_bands_; ++b) envelope += band_envelope_[b];
  envelope_ = envelope;
  near_end_bands_ = 0;
  render_active_ = envelope > render_floor_;
  if (!render_active_) {
    active_periods_ = 0;
    return processed_power > near_end_floor_;
  }
  const bool prior = step_prior();
  int near = 0;
  for (size_t b = 0; b < num_bands_; ++b) {
    const double coupling = prior ? std::max(band_coupling_[b], prior_) : band_coupling_[b];
    const double p = band_processed_[b];
    if (p > band_floor_ && p > margin_ * coupling * band_envelope_[b]) ++near;
  }
  near_end_bands_ = near;
  if (near >= config_.min_near_end_bands) return processed_power > near_end_floor_;
  // Echo only: each band's coupling learns from its own ratio.
  for (size_t b = 0; b < num_bands_; ++b) {
    const double ratio = band_envelope_[b] > 0.0 ? band_processed_[b] / band_envelope_[b] : 0.0;
    band_coupling_[b] = learn(band_coupling_[b], ratio);
  }
  return false;
}

}  // namespace ae
