#pragma once
// Conversions between the engine's float samples (full scale 1.0) and the 16-bit scale the echo-processing
// libraries work in. They are the ones WebRTC APM applies at its float interface, so that our chains and the
// libraries' own front ends see the same numbers.

#include <cstddef>
#include <cstdint>

namespace ae {

inline float to_s16_scale(float v) noexcept { return v * (v > 0 ? 32767.0f : 32768.0f); }
inline float from_s16_scale(float v) noexcept { return v * (v > 0 ? 1.0f / 32767.0f : 1.0f / 32768.0f); }
// Rounds to nearest and saturates.
inline int16_t to_int16(float v) noexcept {
  if (v > 0) return v >= 32766.5f ? int16_t{32767} : static_cast<int16_t>(v + 0.5f);
  return v <= -32767.5f ? int16_t{-32768} : static_cast<int16_t>(v - 0.5f);
}

template <typename T>
float mean_square(const T* x, size_t n) noexcept {
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return static_cast<float>(sum / static_cast<double>(n));
}

}  // namespace ae
