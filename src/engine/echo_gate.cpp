#include "engine/echo_gate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace ae {
namespace {

double db_to_power(double db) { return std::pow(10.0, db / 10.0); }

Status bad(const std::string& field, double value, const char* valid) {
  char v[64];
  std::snprintf(v, sizeof v, "%g", value);
  return Status(Error::kInvalidArgument, "echo gate: " + field + " = " + v + " is out of range; valid: " + valid);
}

}  // namespace

double mean_square(const float* x, size_t n) noexcept {
  if (n == 0) return 0.0;
  double e = 0.0;
  for (size_t i = 0; i < n; ++i) e += static_cast<double>(x[i]) * x[i];
  return e / static_cast<double>(n);
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
  config_ = c;
  period_ms_ = 1000.0 * static_cast<double>(c.period_frames) / c.sample_rate_hz;
  const auto span_periods = static_cast<size_t>(std::ceil((c.max_delay_ms + 1000) / period_ms_)) + 2;
  history_.assign(span_periods, 0.0);
  decay_per_period_ = db_to_power(-c.decay_db_per_s * period_ms_ / 1000.0);
  prior_ = db_to_power(c.prior_coupling_db);
  prior_periods_ = static_cast<size_t>(std::ceil(c.prior_ms / period_ms_));
  min_coupling_ = db_to_power(c.min_coupling_db);
  render_floor_ = db_to_power(c.render_floor_dbfs);
  near_end_floor_ = db_to_power(c.near_end_floor_dbfs);
  set_margin_and_tail(c.margin_db, c.tail_ms);
  reset();
  return ok_status();
}

void EchoGate::set_margin_and_tail(double margin_db, int tail_ms) noexcept {
  margin_ = db_to_power(std::clamp(margin_db, 0.0, 40.0));
  tail_periods_ = static_cast<size_t>(std::ceil(std::clamp(tail_ms, 20, 1000) / period_ms_));
}

void EchoGate::reset() noexcept {
  std::fill(history_.begin(), history_.end(), 0.0);
  head_ = 0;
  coupling_ = min_coupling_;
  active_periods_ = 0;
  envelope_ = 0.0;
  render_active_ = false;
}

double EchoGate::coupling_db() const noexcept { return 10.0 * std::log10(coupling_); }

bool EchoGate::update(double render_power, double processed_power, int delay_ms) noexcept {
  const size_t size = history_.size();
  if (size == 0) return true;
  history_[head_] = render_power;
  // From lag 0 (this period) to tail_ms, or delay + 100 ms when the delay is longer. Lag 0 whatever the delay:
  // the canceller's output follows its reference with a lag of its own. Measured on the simulate scenario (60 ms,
  // gain 0.5, rt60 150 ms): windows of 0..300 ms let the user through 83 ms after the onset; 40..360, 0..360,
  // 0..210 and 0..260 ms made the learnt coupling take the user's first syllables for echo (1.9 to 2.9 s late).
  const int delay = std::clamp(delay_ms, 0, config_.max_delay_ms);
  const size_t last = std::min(size - 1, std::max(tail_periods_, static_cast<size_t>((delay + 100) / period_ms_)));
  double envelope = 0.0;
  for (size_t lag = 0; lag <= last; ++lag) envelope = std::max(envelope, history_[(head_ + size - lag) % size]);
  head_ = (head_ + 1) % size;
  envelope_ = envelope;
  render_active_ = envelope > render_floor_;
  if (!render_active_) {
    active_periods_ = 0;
    return true;
  }
  if (active_periods_ < prior_periods_) ++active_periods_;
  const double coupling = active_periods_ < prior_periods_ ? std::max(coupling_, prior_) : coupling_;
  if (processed_power > margin_ * coupling * envelope) return processed_power > near_end_floor_;
  // Echo only: the coupling follows this period's up at once, down slowly.
  coupling_ = std::max({coupling_ * decay_per_period_, processed_power / envelope, min_coupling_});
  return false;
}

}  // namespace ae
