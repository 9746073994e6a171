#pragma once
// The WebRTC VAD's C functions, as exported by libwebrtc_audio_processing.so.1 (Debian's
// libwebrtc-audio-processing 0.3), which installs no header for them.
//
// Each declaration was checked against the x86-64 disassembly of that library (objdump -d, System V ABI):
// - WebRtcVad_Create: reads no argument register, mallocs 0x2e0 bytes and returns the pointer in rax, with the
//   instance's init flag (offset 0x2dc) cleared: VadInst* (void). It does not check malloc's result.
// - WebRtcVad_Free: a tail call to free(rdi): void (VadInst*).
// - WebRtcVad_Init: a tail call to WebRtcVad_InitCore(rdi), returning its int: int (VadInst*). InitCore also
//   sets the default mode (0), so the mode is set again after every Init.
// - WebRtcVad_set_mode: returns -1 unless rdi is non-null and its init flag is 42, else tail-calls
//   WebRtcVad_set_mode_core(rdi, esi): int (VadInst*, int mode).
// - WebRtcVad_ValidRateAndFrameLength: compares edi with 8000/16000/32000/48000 and the full 64-bit rsi with
//   10, 20 and 30 ms of samples at that rate; returns 0 or -1: int (int rate_hz, size_t frame_length).
// - WebRtcVad_Process: checks rdi (handle and init flag) and rdx (audio) for null, validates (esi, rcx) as above,
//   dispatches on esi to WebRtcVad_CalcVad{8,16,32,48}khz(rdi, rdx, rcx) and returns 1 when that result is
//   positive, else it (0), or -1 on a bad argument: int (VadInst*, int fs, const int16_t* audio, size_t length).
// Only Create allocates; the unit tests check with the real-time probe that Process neither allocates nor locks.

#include <cstddef>
#include <cstdint>

extern "C" {
struct WebRtcVadInst;
typedef struct WebRtcVadInst VadInst;

VadInst* WebRtcVad_Create(void);
void WebRtcVad_Free(VadInst* handle);
int WebRtcVad_Init(VadInst* handle);
int WebRtcVad_set_mode(VadInst* handle, int mode);
int WebRtcVad_ValidRateAndFrameLength(int rate, size_t frame_length);
int WebRtcVad_Process(VadInst* handle, int fs, const int16_t* audio_frame, size_t frame_length);
}
