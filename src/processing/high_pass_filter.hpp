#pragma once
// A 2nd-order Butterworth high-pass filter (bilinear transform), our own: WebRTC APM's filter (about the same
// corner) is not exported by the library. It removes DC and rumble below the speech band before echo cancellation.

#include <cmath>
#include <cstddef>
#include <numbers>

namespace ae {

class HighPassFilter {
 public:
  // Designs the filter for a corner of `cutoff_hz` at `sample_rate_hz`. Thread: control. RT-safe: yes.
  void design(double cutoff_hz, int sample_rate_hz) noexcept {
    const double k = std::tan(std::numbers::pi * cutoff_hz / sample_rate_hz);
    const double q = std::numbers::sqrt2 / 2.0;  // Butterworth
    const double norm = 1.0 / (1.0 + k / q + k * k);
    b0_ = static_cast<float>(norm);
    b1_ = static_cast<float>(-2.0 * norm);
    b2_ = b0_;
    a1_ = static_cast<float>(2.0 * (k * k - 1.0) * norm);
    a2_ = static_cast<float>((1.0 - k / q + k * k) * norm);
    reset();
  }
  // Clears the filter state. Thread: the audio thread. RT-safe: yes.
  void reset() noexcept { z1_ = z2_ = 0.0f; }
  // Filters in place (transposed direct form II). Thread: the audio thread. RT-safe: yes.
  void process(float* x, size_t n) noexcept {
    for (size_t i = 0; i < n; ++i) {
      const float in = x[i];
      const float out = b0_ * in + z1_;
      z1_ = b1_ * in - a1_ * out + z2_;
      z2_ = b2_ * in - a2_ * out;
      x[i] = out;
    }
  }

 private:
  float b0_ = 1, b1_ = 0, b2_ = 0, a1_ = 0, a2_ = 0;
  float z1_ = 0, z2_ = 0;
};

}  // namespace ae
