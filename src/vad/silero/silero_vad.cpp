#include "audioengine/silero_vad.hpp"

#include "vad/rate_adapter.hpp"
#include "vad/silero/onnx_reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AE_SILERO_X86 1
#endif

namespace ae {
namespace {

constexpr size_t kFrames = 4;      // transform frames per chunk, both rates
constexpr size_t kGates = 4 * SileroVad::kStateSize;
constexpr size_t kH = SileroVad::kStateSize;

// ---- dot products ----------------------------------------------------------------------------------------------
// The network is ~0.7 M multiply-adds per chunk, nearly all in dot products of contiguous rows; the reductions
// are written with independent accumulators because the compiler may not reorder float sums by itself.

float dot_generic(const float* a, const float* b, size_t n) noexcept {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (size_t j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  }
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

// One row against four vectors: the row is loaded once for the four frames of the transform and of the first
// encoder layer.
void dot4_generic(const float* w, const float* x0, const float* x1, const float* x2, const float* x3, size_t n,
                  float* out) noexcept {
  out[0] = dot_generic(w, x0, n);
  out[1] = dot_generic(w, x1, n);
  out[2] = dot_generic(w, x2, n);
  out[3] = dot_generic(w, x3, n);
}

// Four consecutive rows (`stride` floats apart) against one vector: the vector is loaded once for four outputs.
void rows4_generic(const float* w, size_t stride, const float* x, size_t n, float* out) noexcept {
  for (size_t r = 0; r < 4; ++r) out[r] = dot_generic(w + r * stride, x, n);
}

#ifdef AE_SILERO_X86
__attribute__((target("avx2,fma"))) inline float hsum256(__m256 v) noexcept {
  const __m128 lo = _mm256_castps256_ps128(v);
  const __m128 hi = _mm256_extractf128_ps(v, 1);
  __m128 s = _mm_add_ps(lo, hi);
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
  return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) float dot_avx2(const float* a, const float* b, size_t n) noexcept {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float s = hsum256(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

__attribute__((target("avx2,fma"))) void dot4_avx2(const float* w, const float* x0, const float* x1,
                                                    const float* x2, const float* x3, size_t n,
                                                    float* out) noexcept {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps(), b2 = _mm256_setzero_ps(), b3 = _mm256_setzero_ps();
  size_t i = 0;
  // Two sets of accumulators: eight independent FMA chains keep both FMA units busy despite their latency.
  for (; i + 16 <= n; i += 16) {
    const __m256 wv = _mm256_loadu_ps(w + i);
    const __m256 wu = _mm256_loadu_ps(w + i + 8);
    a0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x0 + i), a0);
    a1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x1 + i), a1);
    a2 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x2 + i), a2);
    a3 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x3 + i), a3);
    b0 = _mm256_fmadd_ps(wu, _mm256_loadu_ps(x0 + i + 8), b0);
    b1 = _mm256_fmadd_ps(wu, _mm256_loadu_ps(x1 + i + 8), b1);
    b2 = _mm256_fmadd_ps(wu, _mm256_loadu_ps(x2 + i + 8), b2);
    b3 = _mm256_fmadd_ps(wu, _mm256_loadu_ps(x3 + i + 8), b3);
  }
  a0 = _mm256_add_ps(a0, b0);
  a1 = _mm256_add_ps(a1, b1);
  a2 = _mm256_add_ps(a2, b2);
  a3 = _mm256_add_ps(a3, b3);
  for (; i + 8 <= n; i += 8) {
    const __m256 wv = _mm256_loadu_ps(w + i);
    a0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x0 + i), a0);
    a1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x1 + i), a1);
    a2 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x2 + i), a2);
    a3 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x3 + i), a3);
  }
  out[0] = hsum256(a0);
  out[1] = hsum256(a1);
  out[2] = hsum256(a2);
  out[3] = hsum256(a3);
  for (; i < n; ++i) {
    out[0] += w[i] * x0[i];
    out[1] += w[i] * x1[i];
    out[2] += w[i] * x2[i];
    out[3] += w[i] * x3[i];
  }
}

__attribute__((target("avx2,fma"))) void rows4_avx2(const float* w, size_t stride, const float* x, size_t n,
                                                     float* out) noexcept {
  const float* w0 = w;
  const float* w1 = w + stride;
  const float* w2 = w + 2 * stride;
  const float* w3 = w + 3 * stride;
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps(), b2 = _mm256_setzero_ps(), b3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 xv = _mm256_loadu_ps(x + i);
    const __m256 xu = _mm256_loadu_ps(x + i + 8);
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + i), xv, a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + i), xv, a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + i), xv, a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + i), xv, a3);
    b0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + i + 8), xu, b0);
    b1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + i + 8), xu, b1);
    b2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + i + 8), xu, b2);
    b3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + i + 8), xu, b3);
  }
  a0 = _mm256_add_ps(a0, b0);
  a1 = _mm256_add_ps(a1, b1);
  a2 = _mm256_add_ps(a2, b2);
  a3 = _mm256_add_ps(a3, b3);
  for (; i + 8 <= n; i += 8) {
    const __m256 xv = _mm256_loadu_ps(x + i);
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + i), xv, a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + i), xv, a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + i), xv, a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + i), xv, a3);
  }
  // Horizontal sums of the four accumulators at once: lanes end up as (a0, a1, a2, a3).
  const __m256 h01 = _mm256_hadd_ps(a0, a1);
  const __m256 h23 = _mm256_hadd_ps(a2, a3);
  const __m256 h = _mm256_hadd_ps(h01, h23);
  const __m128 sum = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  _mm_storeu_ps(out, sum);
  for (; i < n; ++i) {
    out[0] += w0[i] * x[i];
    out[1] += w1[i] * x[i];
    out[2] += w2[i] * x[i];
    out[3] += w3[i] * x[i];
  }
}
#endif

using Rows4Fn = void (*)(const float*, size_t, const float*, size_t, float*) noexcept;
using DotFn = float (*)(const float*, const float*, size_t) noexcept;
using Dot4Fn = void (*)(const float*, const float*, const float*, const float*, const float*, size_t,
                        float*) noexcept;

float sigmoid(float x) noexcept { return 1.0f / (1.0f + std::exp(-x)); }

// ---- weights ----------------------------------------------------------------------------------------------------

struct ConvLayer {
  size_t in_channels = 0, out_channels = 0, stride = 1;
  std::vector<float> weight;  // [out][k=3][in]: reordered from ONNX [out][in][k] so each tap is a contiguous dot
  std::vector<float> bias;    // [out]
};

struct RateWeights {
  size_t chunk = 0, context = 0, pad = 0, n_fft = 0, hop = 0, bins = 0;
  std::vector<float> basis;  // [2 * bins][n_fft]: real rows then imaginary rows
  ConvLayer enc[4];
  std::vector<float> w_lstm;      // [512][256]: row g is (weight_ih[g], weight_hh[g]), gates in the order i, f, g, o
  std::vector<float> lstm_bias;   // bias_ih + bias_hh, [512]
  std::vector<float> dec_w;       // [128]
  float dec_b = 0;
};

const silero::OnnxTensor* find(const std::vector<silero::OnnxTensor>& ts, const std::string& name) {
  for (const auto& t : ts) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

Result<const silero::OnnxTensor*> tensor(const std::vector<silero::OnnxTensor>& ts, const std::string& name,
                                         const std::vector<int64_t>& dims, const char* branch) {
  const auto* t = find(ts, name);
  auto dims_str = [](const std::vector<int64_t>& d) {
    std::string s = "[";
    for (size_t i = 0; i < d.size(); ++i) {
      if (i) s.push_back(',');
      s.append(std::to_string(d[i]));
    }
    s.push_back(']');
    return s;
  };
  if (!t) return ErrorInfo{Error::kInvalidFormat, std::string("Silero model: tensor ") + name + " missing in the " +
                                                      branch + " branch (is this silero_vad_v5.onnx?)"};
  if (t->dims != dims) {
    return ErrorInfo{Error::kInvalidFormat, std::string("Silero model: tensor ") + name + " in the " + branch +
                                                " branch has dims " + dims_str(t->dims) + "; expected " +
                                                dims_str(dims)};
  }
  return t;
}

Result<RateWeights> load_rate(const std::vector<silero::OnnxTensor>& ts, bool is_16k) {
  const char* branch = is_16k ? "16 kHz" : "8 kHz";
  RateWeights w;
  w.chunk = is_16k ? 512 : 256;
  w.context = is_16k ? 64 : 32;
  w.pad = is_16k ? 64 : 32;
  w.n_fft = is_16k ? 256 : 128;
  w.hop = w.n_fft / 2;
  w.bins = w.n_fft / 2 + 1;
  const auto n_fft = static_cast<int64_t>(w.n_fft);
  const auto bins = static_cast<int64_t>(w.bins);

  auto basis = tensor(ts, "stft.forward_basis_buffer", {2 * bins, 1, n_fft}, branch);
  if (!basis.ok()) return basis.error_info();
  w.basis = (*basis)->values;

  const int64_t enc_shapes[4][2] = {{128, bins}, {64, 128}, {64, 64}, {128, 64}};
  const size_t strides[4] = {1, 2, 2, 1};
  for (size_t l = 0; l < 4; ++l) {
    const std::string prefix = "encoder." + std::to_string(l) + ".reparam_conv.";
    auto wt = tensor(ts, prefix + "weight", {enc_shapes[l][0], enc_shapes[l][1], 3}, branch);
    if (!wt.ok()) return wt.error_info();
    auto bt = tensor(ts, prefix + "bias", {enc_shapes[l][0]}, branch);
    if (!bt.ok()) return bt.error_info();
    ConvLayer& c = w.enc[l];
    c.out_channels = static_cast<size_t>(enc_shapes[l][0]);
    c.in_channels = static_cast<size_t>(enc_shapes[l][1]);
    c.stride = strides[l];
    c.bias = (*bt)->values;
    c.weight.resize(c.out_channels * 3 * c.in_channels);
    const auto& src = (*wt)->values;
    for (size_t o = 0; o < c.out_channels; ++o) {
      for (size_t i = 0; i < c.in_channels; ++i) {
        for (size_t k = 0; k < 3; ++k) {
          c.weight[(o * 3 + k) * c.in_channels + i] = src[(o * c.in_channels + i) * 3 + k];
        }
      }
    }
  }
  auto w_ih = tensor(ts, "decoder.rnn.weight_ih", {static_cast<int64_t>(kGates), static_cast<int64_t>(kH)}, branch);
  if (!w_ih.ok()) return w_ih.error_info();
  auto w_hh = tensor(ts, "decoder.rnn.weight_hh", {static_cast<int64_t>(kGates), static_cast<int64_t>(kH)}, branch);
  if (!w_hh.ok()) return w_hh.error_info();
  auto b_ih = tensor(ts, "decoder.rnn.bias_ih", {static_cast<int64_t>(kGates)}, branch);
  if (!b_ih.ok()) return b_ih.error_info();
  auto b_hh = tensor(ts, "decoder.rnn.bias_hh", {static_cast<int64_t>(kGates)}, branch);
  if (!b_hh.ok()) return b_hh.error_info();
  auto dw = tensor(ts, "decoder.decoder.2.weight", {1, static_cast<int64_t>(kH), 1}, branch);
  if (!dw.ok()) return dw.error_info();
  auto db = tensor(ts, "decoder.decoder.2.bias", {1}, branch);
  if (!db.ok()) return db.error_info();
  w.w_lstm.resize(kGates * 2 * kH);
  for (size_t g = 0; g < kGates; ++g) {
    std::copy_n(&(*w_ih)->values[g * kH], kH, &w.w_lstm[g * 2 * kH]);
    std::copy_n(&(*w_hh)->values[g * kH], kH, &w.w_lstm[g * 2 * kH + kH]);
  }
  w.lstm_bias.resize(kGates);
  for (size_t g = 0; g < kGates; ++g) w.lstm_bias[g] = (*b_ih)->values[g] + (*b_hh)->values[g];
  w.dec_w = (*dw)->values;
  w.dec_b = (*db)->values[0];
  return w;
}

}  // namespace

struct SileroVad::Impl {
  RateWeights w16, w8;
  const RateWeights* w = nullptr;  // the prepared rate's weights
  DotFn dot = dot_generic;
  Dot4Fn dot4 = dot4_generic;
  Rows4Fn rows4 = rows4_generic;
  size_t max_frames = 0;

  // Working buffers, sized for the 16 kHz model (the larger) at construction.
  std::vector<float> input;  // context + chunk + reflect pad
  // Layer inputs are stored frame-major, [frames + 2][channels], with a zero frame before and after: the three
  // taps of a padded k=3 convolution are then one contiguous run of 3 * channels floats.
  std::vector<float> mag;                     // [1 + 4 + 1][bins]
  std::vector<float> act0, act1, act2;        // [1 + frames + 1][channels]: 4 x 128, 2 x 64, 1 x 64
  std::vector<float> xh;                      // LSTM input then hidden state: [encoder output (128), h (128)]
  std::vector<float> gates;
  float c[kH] = {};
  std::vector<float> pending;  // process()'s chunk buffer
  size_t pending_count = 0;
  float probability = 0;
  // Input at a rate without a model: resampled to the model rate first (created by prepare()).
  VadRateAdapter rate;
  int input_rate_hz = 0;
  int64_t chunks = 0;

  // Convolution k=3, padding 1, then ReLU. `in` is padded as described above; `out` points at the first real
  // frame of the next padded buffer (or at a plain vector when the layer has one output frame).
  void conv_relu(const ConvLayer& L, const float* in, size_t t_in, float* out) const noexcept {
    const size_t t_out = (t_in + 2 - 3) / L.stride + 1;
    const size_t n = 3 * L.in_channels;
    float acc[4];
    if (t_out == 4) {  // stride 1 over 4 frames: one weight row against the four windows
      for (size_t o = 0; o < L.out_channels; ++o) {
        dot4(&L.weight[o * n], in, in + L.in_channels, in + 2 * L.in_channels, in + 3 * L.in_channels, n, acc);
        for (size_t t = 0; t < 4; ++t) out[t * L.out_channels + o] = std::max(acc[t] + L.bias[o], 0.0f);
      }
      return;
    }
    for (size_t t = 0; t < t_out; ++t) {
      const float* window = in + t * L.stride * L.in_channels;  // padded frame t*stride is input frame t*stride-1
      for (size_t o = 0; o < L.out_channels; o += 4) {
        rows4(&L.weight[o * n], n, window, n, acc);
        for (size_t r = 0; r < 4; ++r) out[t * L.out_channels + o + r] = std::max(acc[r] + L.bias[o + r], 0.0f);
      }
    }
  }

  float run(const float* chunk) noexcept {
    const RateWeights& m = *w;
    float* x = input.data();
    // Context already sits in x[0, context); append the chunk, then reflect-pad on the right.
    std::copy(chunk, chunk + m.chunk, x + m.context);
    const size_t n = m.context + m.chunk;
    for (size_t j = 0; j < m.pad; ++j) x[n + j] = x[n - 2 - j];

    // Windowed transform as a fixed convolution: 4 frames, hop n_fft / 2; magnitude of (real, imaginary).
    const float* f0 = x;
    const float* f1 = x + m.hop;
    const float* f2 = x + 2 * m.hop;
    const float* f3 = x + 3 * m.hop;
    for (size_t b = 0; b < m.bins; ++b) {
      float re[kFrames], im[kFrames];
      dot4(&m.basis[b * m.n_fft], f0, f1, f2, f3, m.n_fft, re);
      dot4(&m.basis[(b + m.bins) * m.n_fft], f0, f1, f2, f3, m.n_fft, im);
      for (size_t t = 0; t < kFrames; ++t) {
        mag[(t + 1) * m.bins + b] = std::sqrt(re[t] * re[t] + im[t] * im[t]);
      }
    }

    conv_relu(m.enc[0], mag.data(), kFrames, act0.data() + 128);  // 4 frames x 128
    conv_relu(m.enc[1], act0.data(), 4, act1.data() + 64);        // 2 x 64
    conv_relu(m.enc[2], act1.data(), 2, act2.data() + 64);        // 1 x 64
    conv_relu(m.enc[3], act2.data(), 1, xh.data());               // 1 x 128, next to h

    // One LSTM step (PyTorch gate order i, f, g, o) on [x, h].
    for (size_t g = 0; g < kGates; g += 4) {
      rows4(&m.w_lstm[g * 2 * kH], 2 * kH, xh.data(), 2 * kH, &gates[g]);
      for (size_t r = 0; r < 4; ++r) gates[g + r] += m.lstm_bias[g + r];
    }
    float* h = xh.data() + kH;
    float out = m.dec_b;
    for (size_t k = 0; k < kH; ++k) {
      const float ig = sigmoid(gates[k]);
      const float fg = sigmoid(gates[kH + k]);
      const float gg = std::tanh(gates[2 * kH + k]);
      const float og = sigmoid(gates[3 * kH + k]);
      c[k] = fg * c[k] + ig * gg;
      h[k] = og * std::tanh(c[k]);
      out += m.dec_w[k] * (h[k] > 0.0f ? h[k] : 0.0f);  // the state keeps h before the decoder's ReLU
    }
    // The chunk's tail becomes the next chunk's context.
    std::copy(x + n - m.context, x + n, x);
    ++chunks;
    probability = sigmoid(out);
    return probability;
  }

  void clear() noexcept {
    rate.reset();
    std::fill(input.begin(), input.end(), 0.0f);
    std::fill(xh.begin(), xh.end(), 0.0f);
    std::fill(std::begin(c), std::end(c), 0.0f);
    pending_count = 0;
    probability = 0;
    chunks = 0;
  }
};

SileroVad::SileroVad(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SileroVad::~SileroVad() = default;

Result<std::unique_ptr<SileroVad>> SileroVad::create(const std::string& model_path) {
  std::ifstream in(model_path, std::ios::binary);
  if (!in) {
    return ErrorInfo{Error::kIo, "Silero model: cannot open '" + model_path +
                                     "' (run scripts/setup.sh to fetch silero_vad_v5.onnx)"};
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return ErrorInfo{Error::kIo, "Silero model: cannot read '" + model_path + "'"};
  return create_from_bytes(bytes);
}

Result<std::unique_ptr<SileroVad>> SileroVad::create_from_bytes(const std::vector<uint8_t>& onnx_bytes) {
  auto branches = silero::read_if_branch_constants(onnx_bytes);
  if (!branches.ok()) return branches.error_info();
  auto impl = std::make_unique<Impl>();
  auto w16 = load_rate(branches->then_branch, true);
  if (!w16.ok()) return w16.error_info();
  auto w8 = load_rate(branches->else_branch, false);
  if (!w8.ok()) return w8.error_info();
  impl->w16 = std::move(w16.value());
  impl->w8 = std::move(w8.value());
#ifdef AE_SILERO_X86
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    impl->dot = dot_avx2;
    impl->dot4 = dot4_avx2;
    impl->rows4 = rows4_avx2;
  }
#endif
  const RateWeights& big = impl->w16;
  impl->input.assign(big.context + big.chunk + big.pad, 0.0f);
  impl->mag.assign((kFrames + 2) * big.bins, 0.0f);
  impl->act0.assign((4 + 2) * 128, 0.0f);
  impl->act1.assign((2 + 2) * 64, 0.0f);
  impl->act2.assign((1 + 2) * 64, 0.0f);
  impl->xh.assign(2 * kH, 0.0f);
  impl->gates.assign(kGates, 0.0f);
  impl->pending.assign(big.chunk, 0.0f);
  return std::unique_ptr<SileroVad>(new SileroVad(std::move(impl)));
}

std::string SileroVad::model_path_from_environment() {
  const char* p = std::getenv("AE_SILERO_MODEL");
  return p ? std::string(p) : std::string();
}

std::string SileroVad::default_model_path() {
  std::string p = model_path_from_environment();
  return p.empty() ? std::string("third_party_cache/vad-web/silero_vad_v5.onnx") : p;
}

int SileroVad::model_rate_for(int sample_rate_hz) noexcept { return sample_rate_hz < 16000 ? 8000 : 16000; }

Status SileroVad::prepare(int sample_rate_hz, size_t max_frames) {
  if (sample_rate_hz < 8000 || sample_rate_hz > 192000) {
    return ErrorInfo{Error::kInvalidArgument, "SileroVad::prepare: sample_rate_hz = " + std::to_string(sample_rate_hz) +
                                                  "; valid: 8000..192000 (16000 and 8000 run directly, others "
                                                  "are resampled)"};
  }
  if (max_frames == 0 || max_frames > static_cast<size_t>(sample_rate_hz)) {
    return ErrorInfo{Error::kInvalidArgument, "SileroVad::prepare: max_frames = " + std::to_string(max_frames) +
                                                  "; valid: 1.." + std::to_string(sample_rate_hz) + " (1 s)"};
  }
  const int model_rate = model_rate_for(sample_rate_hz);
  if (Status st = impl_->rate.prepare(sample_rate_hz, model_rate, max_frames, "SileroVad::prepare"); !st.ok()) {
    return st;
  }
  impl_->w = model_rate == 16000 ? &impl_->w16 : &impl_->w8;
  impl_->max_frames = max_frames;
  impl_->input_rate_hz = sample_rate_hz;
  impl_->clear();
  return ok_status();
}

namespace {
// Appends samples at the model rate to the chunk buffer, running the network on every chunk completed.
template <typename Impl>
void feed_chunks(Impl& s, const float* mono, size_t num_frames) noexcept {
  const size_t chunk = s.w->chunk;
  size_t i = 0;
  while (i < num_frames) {
    const size_t take = std::min(chunk - s.pending_count, num_frames - i);
    std::copy(mono + i, mono + i + take, s.pending.data() + s.pending_count);
    s.pending_count += take;
    i += take;
    if (s.pending_count == chunk) {
      s.run(s.pending.data());
      s.pending_count = 0;
    }
  }
}
}  // namespace

float SileroVad::process(const float* mono, size_t num_frames) noexcept {
  Impl& s = *impl_;
  if (!s.w) return 0.0f;
  s.rate.run(mono, num_frames, [&s](const float* x, size_t n) { feed_chunks(s, x, n); });
  return s.probability;
}

float SileroVad::process_chunk(const float* chunk) noexcept {
  if (!impl_->w) return 0.0f;
  return impl_->run(chunk);
}

void SileroVad::reset() noexcept { impl_->clear(); }

int SileroVad::model_rate_hz() const noexcept { return impl_->w == nullptr ? 0 : (impl_->w == &impl_->w16 ? 16000 : 8000); }

double SileroVad::resampler_delay_ms() const noexcept { return impl_->rate.delay_ms(); }

size_t SileroVad::chunk_samples() const noexcept { return impl_->w ? impl_->w->chunk : 0; }
size_t SileroVad::context_samples() const noexcept { return impl_->w ? impl_->w->context : 0; }
int64_t SileroVad::chunks_processed() const noexcept { return impl_->chunks; }

}  // namespace ae
