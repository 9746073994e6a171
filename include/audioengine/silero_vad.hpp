#pragma once
// Silero VAD v5, computed natively: the weights are read from the official `silero_vad_v5.onnx` file (shipped by
// the npm package @ricky0123/vad-web; scripts/setup.sh fetches it into third_party_cache/vad-web/) and the network
// runs in plain C++ with no ONNX Runtime.
//
// The model works on fixed chunks: 512 samples at 16 kHz (256 at 8 kHz), each preceded by the last 64 (32) samples
// of the previous chunk as context, with an LSTM state of 2 x 128 carried from chunk to chunk. Per chunk: reflect
// pad on the right (64 / 32 samples), a windowed transform as a fixed convolution (4 frames), magnitude, four
// convolution + ReLU layers, one LSTM step, ReLU, a 1x1 convolution and a sigmoid.
//
// Latency: the engine hands the detector periods of 10 or 20 ms (160 or 320 samples at 16 kHz), which do not
// divide the 512-sample chunk. process() buffers samples into chunks and returns the probability of the latest
// complete chunk, so the returned value covers audio that ends up to chunk_samples() - 1 samples (32 ms at
// 16 kHz) before the end of the frame given, and a new value appears once per 32 ms. Before the first chunk
// completes process() returns 0.

#include <audioengine/result.hpp>
#include <audioengine/vad.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ae {

class SileroVad final : public VoiceActivityDetector {
 public:
  static constexpr size_t kStateSize = 128;  // LSTM hidden and cell size

  // Loads the weights of both sample-rate branches from the ONNX file at `model_path`.
  // Errors: kIo when the file cannot be read; kInvalidFormat when it is not an ONNX model holding the Silero v5
  // tensors with their expected shapes (the message names the tensor). Thread: control. RT-safe: no.
  static Result<std::unique_ptr<SileroVad>> create(const std::string& model_path);
  // The same from the bytes of the file. Thread: control. RT-safe: no.
  static Result<std::unique_ptr<SileroVad>> create_from_bytes(const std::vector<uint8_t>& onnx_bytes);

  // The model file to use when none is configured: $AE_SILERO_MODEL if set, else "" (none).
  // Thread: any. RT-safe: no.
  static std::string model_path_from_environment();
  // The model file make_vad() and the engine load: $AE_SILERO_MODEL if set, else
  // "third_party_cache/vad-web/silero_vad_v5.onnx" relative to the working directory (where scripts/setup.sh
  // puts it, for programs run from the source tree). Thread: any. RT-safe: no.
  static std::string default_model_path();

  ~SileroVad() override;
  SileroVad(const SileroVad&) = delete;
  SileroVad& operator=(const SileroVad&) = delete;

  // Selects the weights for model_rate_for(sample_rate_hz) and resets. The model exists for 16000 and 8000 Hz;
  // any other rate is resampled (SpeexDSP, created here) to 16000 Hz, or to 8000 Hz below 16000, which delays the
  // probability by resampler_delay_ms() more. Errors: kInvalidArgument for a rate outside 8000..192000 Hz or
  // max_frames of 0 or above one second (both named). Thread: control. RT-safe: no (it allocates the resampler;
  // it is not meant to race process()).
  Status prepare(int sample_rate_hz, size_t max_frames) override;
  // The model rate a given input rate runs at: 8000 below 16000 Hz, else 16000. Thread: any. RT-safe: yes.
  static int model_rate_for(int sample_rate_hz) noexcept;
  // The model rate prepared (0 before prepare()), and the resampler's delay (0 when none). Thread: any.
  // RT-safe: yes.
  int model_rate_hz() const noexcept;
  double resampler_delay_ms() const noexcept;
  // Buffers `num_frames` samples, runs the network on every chunk they complete and returns the probability of
  // the latest complete chunk (0 before the first; see the latency note above). Thread: the audio thread.
  // RT-safe: yes.
  float process(const float* mono, size_t num_frames) noexcept override;
  // Zero LSTM state, zero context, empty chunk buffer, probability 0. Thread: the audio thread, or any while not
  // processing. RT-safe: yes.
  void reset() noexcept override;
  VadAlgorithm algorithm() const noexcept override { return VadAlgorithm::kSilero; }

  // Runs the network on exactly chunk_samples() samples, carrying context and state exactly as the model expects,
  // and returns the speech probability. Bypasses (and does not touch) process()'s chunk buffer.
  // Thread: the audio thread. RT-safe: yes.
  float process_chunk(const float* chunk) noexcept;

  // 512 at 16 kHz, 256 at 8 kHz (at the model rate); 0 before prepare(). Thread: any. RT-safe: yes.
  size_t chunk_samples() const noexcept;
  // Samples of the previous chunk prepended as context: 64 at 16 kHz, 32 at 8 kHz. Thread: any. RT-safe: yes.
  size_t context_samples() const noexcept;
  // Chunks run since the last reset. Thread: the audio thread, or any while not processing. RT-safe: yes.
  int64_t chunks_processed() const noexcept;

 private:
  struct Impl;
  explicit SileroVad(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ae
