#pragma once
// The SpeexDSP resampler that puts a processor with models for a few rates only (the echo cancellers, the WebRTC
// and Silero detectors) at the engine's rate: mono, SpeexDSP's default quality, created off the audio thread.

#include <cstddef>
#include <memory>

#include "audioengine/resampler.hpp"
#include "audioengine/result.hpp"

namespace ae {

// Creates a mono SpeexDSP resampler from `input_rate_hz` to `output_rate_hz` for blocks of up to
// `max_input_frames` frames. `who` (the processor's name) prefixes the error.
// Returns: the resampler, or kInternal "<who>: resampler <input> -> <output> Hz: <why>" when it cannot be made.
// Thread: control. RT-safe: no (allocates).
Result<std::unique_ptr<Resampler>> make_speex_resampler(const char* who, int input_rate_hz, int output_rate_hz,
                                                        size_t max_input_frames);

}  // namespace ae
