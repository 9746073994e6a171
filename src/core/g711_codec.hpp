#pragma once
// G.711 mu-law and A-law, written from the ITU-T G.711 segment tables, as constexpr functions: g711.cpp exports
// them one sample at a time, and format.cpp builds its block tables from them at compile time. Each encoder is
// two steps, the sample reduced to the law's precision and that value's code, so that a table can be indexed by
// the first.
//
// The encoders quantise exactly what sox 14.4 quantises. sox first reduces the sample to the encoder's
// precision, 14 bits for mu-law and 13 bits for A-law, by rounding to nearest (halves up) and clipping the top
// (32766 and 32767 clip to the 14-bit maximum), then applies the classic CCITT segment encoder. Truncating to
// the top bits instead differs from sox on 508 of the 65536 inputs for mu-law and 1020 for A-law. The g711
// unit test checks every one of the 65536 inputs and a real recording against sox itself.

#include <algorithm>
#include <bit>
#include <cstdint>

namespace ae::g711 {

// Largest 14-bit magnitude mu-law represents before the bias is added: 8158 + 33 = 8191 = 2^13 - 1.
inline constexpr int kMulawMaxMagnitude = 8158;
inline constexpr int kMulawBias = 33;

// Index of the highest set bit of a positive value (0 for 1).
constexpr int highest_bit(uint32_t v) noexcept { return std::bit_width(v) - 1; }

// A 16-bit sample at mu-law's precision: rounded to 14 bits, halves up, the top clipped; in [-8192, 8191].
constexpr int ulaw_precision(int16_t sample) noexcept { return std::min((sample + 2) >> 2, 8191); }

// The code of a value at mu-law's precision (ulaw_precision).
constexpr uint8_t encode_ulaw14(int value14) noexcept {
  uint8_t sign = 0;
  int magnitude = value14;
  if (value14 < 0) {
    sign = 0x80;
    magnitude = -value14;
  }
  if (magnitude > kMulawMaxMagnitude) magnitude = kMulawMaxMagnitude;
  const int biased = magnitude + kMulawBias;                            // in [33, 8191]
  const int exponent = highest_bit(static_cast<uint32_t>(biased)) - 5;  // 0..7
  const int mantissa = (biased >> (exponent + 1)) & 0x0F;
  // Codes are transmitted inverted (all bits), so silence is 0xFF.
  return static_cast<uint8_t>(~(sign | (exponent << 4) | mantissa));
}

constexpr uint8_t encode_ulaw(int16_t sample) noexcept { return encode_ulaw14(ulaw_precision(sample)); }

constexpr int16_t decode_ulaw(uint8_t code) noexcept {
  const int bits = static_cast<uint8_t>(~code);
  const int exponent = (bits >> 4) & 0x07;
  const int mantissa = bits & 0x0F;
  // Reconstruct at the middle of the quantisation interval, in 16-bit units (bias 33 in 14-bit units is 132).
  const int magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return static_cast<int16_t>((bits & 0x80) != 0 ? -magnitude : magnitude);
}

// A 16-bit sample at A-law's precision: rounded to 13 bits, halves up, the top clipped; in [-4096, 4095].
constexpr int alaw_precision(int16_t sample) noexcept { return std::min((sample + 4) >> 3, 4095); }

// The code of a value at A-law's precision (alaw_precision).
constexpr uint8_t encode_alaw13(int value13) noexcept {
  // A-law is a sign-magnitude code over the one's complement of negative values: -1 maps to magnitude 0.
  const bool positive = value13 >= 0;
  const int magnitude = positive ? value13 : ~value13;  // in [0, 4095]
  int exponent = 0;
  int mantissa = 0;
  if (magnitude < 32) {
    mantissa = magnitude >> 1;
  } else {
    exponent = highest_bit(static_cast<uint32_t>(magnitude)) - 4;  // 1..7
    mantissa = (magnitude >> exponent) & 0x0F;
  }
  const int code = (positive ? 0x80 : 0x00) | (exponent << 4) | mantissa;
  return static_cast<uint8_t>(code ^ 0x55);  // even bits are inverted on the line
}

constexpr uint8_t encode_alaw(int16_t sample) noexcept { return encode_alaw13(alaw_precision(sample)); }

constexpr int16_t decode_alaw(uint8_t code) noexcept {
  const int bits = code ^ 0x55;
  const int exponent = (bits >> 4) & 0x07;
  const int mantissa = bits & 0x0F;
  int magnitude = (mantissa << 4) + 8;  // middle of the interval, in 16-bit units
  if (exponent != 0) magnitude = (magnitude + 0x100) << (exponent - 1);
  return static_cast<int16_t>((bits & 0x80) != 0 ? magnitude : -magnitude);
}

}  // namespace ae::g711
