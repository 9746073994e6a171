#pragma once
// Audio processors: the stages of the engine's processing chain (echo cancellation, noise suppression, gain,
// filters, or the application's own), and the offline chain that runs them over held audio.
//
// A processor works in place on mono float samples at the engine rate, one block (one engine period) at a time.
// Lifecycle, as for detectors: prepare() may allocate and enable everything the processor will ever use;
// process() and reset() run on the audio thread and never allocate, lock, block, log, throw or make a system call.
// Libraries that allocate when a component is enabled or reconfigured (WebRTC APM, SpeexDSP) are therefore set up
// completely in prepare(); at run time a processor is only routed or bypassed, never reconfigured.

#include <audioengine/result.hpp>

#include <cstddef>
#include <cstdint>

namespace ae {

// Where a processor sits in the tick.
enum class ProcessingStage : int32_t {
  kCapturePre = 0,   // the microphone signal, before echo cancellation (e.g. a high-pass filter, a gain)
  kCapturePost = 1,  // after echo cancellation, before the VAD (e.g. noise suppression, automatic gain)
  kRender = 2,       // the AI's audio on its way to the speaker, before it becomes the echo reference
};

// "capture_pre", "capture_post", "render" ("unknown" otherwise). Thread: any. RT-safe: yes.
const char* to_string(ProcessingStage stage) noexcept;

// What a processor learns about the block it is given, besides the samples.
struct ProcessContext {
  int sample_rate_hz = 0;
  int64_t t_samples = 0;          // engine timeline position of the block's first sample
  ProcessingStage stage = ProcessingStage::kCapturePre;
  // Capture stages: what the speaker is given in the same tick (the render stage's output), mono at the engine
  // rate, `render_frames` long; nullptr when nothing is playing or there is no playback path. An echo canceller
  // takes its far-end reference from here.
  const float* render = nullptr;
  size_t render_frames = 0;
  // The engine's estimate of the delay from a render sample being produced to its echo reaching the capture
  // block, in ms (device output + input latency, converters, FIFOs); -1 when unknown (virtual clock).
  int echo_delay_ms = -1;
  // Capture stages: room for at least the block's frames, where an echo canceller writes the copy of the block
  // its gentler suppression leaves for the barge-in's detector (EchoCancellerConfig::vad_copy), then sets
  // *vad_copy_written; nullptr when nobody wants one. Processors other than echo cancellers ignore both.
  float* vad_copy = nullptr;
  bool* vad_copy_written = nullptr;
};

class AudioProcessor {
 public:
  virtual ~AudioProcessor() = default;
  // Sets the rate and the largest block process() will see; allocates and enables everything. Errors:
  // kInvalidArgument naming the rate or size and the valid ones; kUnsupported for a rate the processor cannot
  // run at. Thread: control. RT-safe: no.
  virtual Status prepare(int sample_rate_hz, size_t max_frames) = 0;
  // Processes `num_frames` mono samples in place (num_frames <= max_frames; it may vary between calls). Every
  // output sample is written. Thread: the audio thread. RT-safe: yes: no allocation, lock, block, log, throw or
  // system call.
  virtual void process(float* mono, size_t num_frames, const ProcessContext& context) noexcept = 0;
  // Forgets the signal history (adaptive filters, noise estimates). Thread: the audio thread, or any while not
  // processing. RT-safe: yes.
  virtual void reset() noexcept = 0;
  // A short stable name ("webrtc_apm", "speex_aec", ...). Thread: any. RT-safe: yes.
  virtual const char* name() const noexcept = 0;
  // Samples by which the output lags the input (0 for sample-aligned processors). Thread: any. RT-safe: yes.
  virtual int latency_samples() const noexcept { return 0; }
};

}  // namespace ae
