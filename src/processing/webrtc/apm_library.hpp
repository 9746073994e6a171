#pragma once
// The C functions of the WebRTC echo canceller (AEC), noise suppressor (NS) and gain control (AGC) as exported by
// libwebrtc_audio_processing.so.1 (Debian's libwebrtc-audio-processing 0.3), which installs no header for them.
// We call them instead of webrtc::AudioProcessing because its ProcessStream() takes a mutex on every call.
//
// Each declaration was checked against the x86-64 disassembly of that library (objdump -d, System V ABI):
// - WebRtcAec_set_config(handle, AecConfig by value): the 12-byte struct arrives in rsi (nlpMode bits 0-15,
//   skewMode 16-31, metricsMode 32-47) and edx (delay_logging); it checks the init flag (0x24 == 42), checks
//   skewMode <= 1, nlpMode <= 2, metricsMode <= 1, delay_logging <= 1 and tail-calls WebRtcAec_SetConfigCore,
//   which only writes fields (a metrics reset when metricsMode is set, a histogram clear when delay logging or
//   delay-agnostic mode is on): no allocation, no lock, so the NLP mode may be switched on the audio thread.
// - WebRtcAec_BufferFarend(handle, const float*, size_t n): n must be 80 or 160 (one band of 10 ms).
// - WebRtcAec_Process(handle, const float* const* near, size_t num_bands, float* const* out, size_t n (80|160),
//   int16_t delay_ms (clamped to 0..500), int32_t skew on the stack).
// - WebRtcAec_GetMetrics(handle, AecMetrics*): writes 16 ints at offsets 0x00..0x3c (four AecLevel).
// - WebRtcAec_GetDelayMetrics(handle, int* median, int* std, float* fraction_poor): checks the first two
//   pointers and forwards all three to the core.
// - WebRtcAgc_Init(handle, int32 min_level, int32 max_level, int16 mode (<= 3), uint32 fs);
//   WebRtcAgc_set_config(handle, WebRtcAgcConfig by value in rsi: targetLevelDbfs (<= 31) bits 0-15,
//   compressionGaindB 16-31, limiterEnable (<= 1) byte 4);
//   WebRtcAgc_VirtualMic(handle, int16_t* const* in, size_t bands, size_t n, int32 level_in, int32* level_out);
//   WebRtcAgc_Process(handle, const int16_t* const* in, size_t bands, size_t n (80|160), int16_t* const* out,
//   int32 level_in (r9d), then on the stack int32* level_out, int16 echo, uint8_t* saturation).
// - WebRtcNs_Create mallocs 0x6c30 bytes; Init, set_policy, Analyze and Process are tail calls to the cores.
// Only the Create functions allocate; the unit tests check with the real-time probe that processing doesn't.

#include <cstddef>
#include <cstdint>

extern "C" {
struct AecCore;

typedef struct {
  int16_t nlpMode;      // 0 conservative, 1 moderate, 2 aggressive
  int16_t skewMode;     // drift compensation, 0/1
  int16_t metricsMode;  // 0/1
  int delay_logging;    // 0/1
} AecConfig;

typedef struct {
  int instant;
  int average;
  int max;
  int min;
} AecLevel;

typedef struct {
  AecLevel rerl;
  AecLevel erl;
  AecLevel erle;
  AecLevel aNlp;
} AecMetrics;

void* WebRtcAec_Create(void);
void WebRtcAec_Free(void* handle);
int32_t WebRtcAec_Init(void* handle, int32_t sample_rate_hz, int32_t sound_card_rate_hz);
int32_t WebRtcAec_BufferFarend(void* handle, const float* farend, size_t num_samples);
int32_t WebRtcAec_Process(void* handle, const float* const* nearend, size_t num_bands, float* const* out,
                          size_t num_samples, int16_t delay_ms, int32_t skew);
int WebRtcAec_set_config(void* handle, AecConfig config);
int WebRtcAec_get_echo_status(void* handle, int* status);
int WebRtcAec_GetMetrics(void* handle, AecMetrics* metrics);
int WebRtcAec_GetDelayMetrics(void* handle, int* median, int* std, float* fraction_poor_delays);
AecCore* WebRtcAec_aec_core(void* handle);
void WebRtcAec_enable_delay_agnostic(AecCore* core, int enable);
void WebRtcAec_enable_extended_filter(AecCore* core, int enable);

struct NsHandleT;
typedef struct NsHandleT NsHandle;
NsHandle* WebRtcNs_Create(void);
void WebRtcNs_Free(NsHandle* handle);
int WebRtcNs_Init(NsHandle* handle, uint32_t sample_rate_hz);
int WebRtcNs_set_policy(NsHandle* handle, int mode);
void WebRtcNs_Analyze(NsHandle* handle, const float* frame);
void WebRtcNs_Process(NsHandle* handle, const float* const* frame, size_t num_bands, float* const* out);

typedef struct {
  int16_t targetLevelDbfs;    // 0..31, dB below full scale
  int16_t compressionGaindB;  // 0..90
  uint8_t limiterEnable;      // 0/1
} WebRtcAgcConfig;

void* WebRtcAgc_Create(void);
void WebRtcAgc_Free(void* handle);
int WebRtcAgc_Init(void* handle, int32_t min_level, int32_t max_level, int16_t mode, uint32_t sample_rate_hz);
int WebRtcAgc_set_config(void* handle, WebRtcAgcConfig config);
int WebRtcAgc_AddFarend(void* handle, const int16_t* far, size_t num_samples);
int WebRtcAgc_VirtualMic(void* handle, int16_t* const* mic, size_t num_bands, size_t num_samples,
                         int32_t level_in, int32_t* level_out);
int WebRtcAgc_Process(void* handle, const int16_t* const* near, size_t num_bands, size_t num_samples,
                      int16_t* const* out, int32_t level_in, int32_t* level_out, int16_t echo,
                      uint8_t* saturation_warning);
}

namespace ae::webrtc_apm {
// The library's legacy mode numbers.
inline constexpr int16_t kAgcModeAdaptiveDigital = 2;
inline constexpr int kAecNlpConservative = 0;
inline constexpr int kAecNlpModerate = 1;
inline constexpr int kAecNlpAggressive = 2;
}  // namespace ae::webrtc_apm
