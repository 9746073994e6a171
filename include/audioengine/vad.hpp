#pragma once
// Voice activity detection: a frame-level detector that turns audio into a speech probability, and a segmenter
// that turns the probabilities into speech segments with exact sample positions.
//
// Detectors follow the stage lifecycle: prepare() may allocate, process() is RT-safe, reset() clears the state.
// Detectors: EnergyVad (below), WebRtcVad (webrtc_vad.hpp) and SileroVad (silero_vad.hpp); make_vad() builds the
// one a VadConfig names.

#include <audioengine/config_issue.hpp>
#include <audioengine/result.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace ae {

enum class VadAlgorithm { kEnergy, kWebRtc, kSilero };
enum class VadState { kSilence, kSpeaking };

// "energy", "webrtc", "silero" / "silence", "speaking" ("unknown" otherwise). Thread: any. RT-safe: yes.
const char* to_string(VadAlgorithm algorithm) noexcept;
const char* to_string(VadState state) noexcept;

struct VadConfig {
  bool enabled = true;
  VadAlgorithm algorithm = VadAlgorithm::kEnergy;

  // Hysteresis on the per-frame probability: a segment starts on frames at or above activation_threshold, ends on
  // frames below deactivation_threshold; in between the current state holds.
  float activation_threshold = 0.5f;    // (0, 1]
  float deactivation_threshold = 0.35f; // [0, activation_threshold]

  // 64 ms: longer than clicks, taps and isolated noise bursts (tens of ms), shorter than a stressed syllable
  // (~100 ms or more), so speech is confirmed within the user's first syllable. The reported start is the true
  // onset anyway, so this only delays the notification, never cuts audio.
  int min_speech_ms = 64;     // [0, 5000]
  // 300 ms: bridges the closures of stop consonants and the short pauses between words (mostly under 250 ms), so
  // one phrase stays one segment; the end of the user's turn is decided by endpointing, with a longer silence.
  int min_silence_ms = 300;   // [0, 10000]
  // Audio before the confirmed onset that the engine delivers with the speech (covers soft onsets the detector
  // misses). Used by the engine, not by the segmenter.
  int prefix_padding_ms = 300;  // [0, 2000]

  // ---- energy detector ----
  // Speech = frame level at least energy_margin_db above the adaptive noise floor and above energy_floor_dbfs.
  // 10 dB: conversational speech at arm's length is 20-30 dB above a quiet room, while stationary noise wanders by
  // a couple of dB around its mean.
  float energy_margin_db = 10.0f;     // (0, 60]
  // -50 dBFS: below this nothing is called speech, so digital silence and a very quiet line never trigger.
  float energy_floor_dbfs = -50.0f;   // [-120, 0]
  // The floor follows a lower level within ~100 ms (noise dropping, pauses in speech) ...
  float noise_floor_attack_ms = 100.0f;   // time constant, (0, 60000]
  // ... and a higher level slowly, 1 s, on frames that are not speech ...
  float noise_floor_release_ms = 1000.0f; // time constant, (0, 60000]
  // ... and far more slowly, 4 s, on speech frames. It must still rise: otherwise a stationary noise that appears
  // more than energy_margin_db above the old floor (a fan switched on) would be speech for ever. Speech keeps
  // dipping to the floor between syllables and words, where the fast attack pulls the floor back down.
  float noise_floor_speech_release_ms = 4000.0f;  // time constant, (0, 600000]

  // ---- WebRTC detector ----
  // The WebRTC VAD's mode: the higher, the more restrictive it is in calling a frame speech. The audio processing
  // module's VoiceDetection likelihoods are the same modes: kHighLikelihood = 0, kModerateLikelihood = 1,
  // kLowLikelihood = 2, kVeryLowLikelihood = 3. Default 2 (kLowLikelihood, that module's own default): for an
  // agent, noise taken for speech interrupts the AI's turn, so the detector leans towards rejecting noise, while
  // 3, the most restrictive, clips more of the soft onsets the segmenter's prefix padding is meant to keep.
  int webrtc_aggressiveness = 2;  // 0..3
};

// Appends one ConfigIssue per bad field (field names "vad.<member>"). Thread: any. RT-safe: no.
void collect_vad_config_issues(const VadConfig& config, std::vector<ConfigIssue>& issues);
// Ok, or kInvalidConfig with every bad field, its value and the valid range in the message.
// Thread: any. RT-safe: no.
Status validate_vad_config(const VadConfig& config);

// A frame-level speech detector.
class VoiceActivityDetector {
 public:
  virtual ~VoiceActivityDetector() = default;
  // Sets the input rate and the largest frame process() will see; may allocate. Errors: kInvalidArgument for a
  // rate outside 8000..192000 Hz or max_frames of 0 or above 1 s of audio. Thread: control. RT-safe: no.
  virtual Status prepare(int sample_rate_hz, size_t max_frames) = 0;
  // Analyses one frame of mono samples in [-1, 1] and returns its speech probability in [0, 1]. The frame size may
  // vary between calls up to max_frames; 0 frames (or before prepare) returns 0 and changes nothing.
  // Thread: the audio thread. RT-safe: yes: it does not allocate, lock, block, log or throw.
  virtual float process(const float* mono, size_t num_frames) noexcept = 0;
  // Forgets everything learnt (noise floor, history). Thread: the audio thread, or any while not processing.
  // RT-safe: yes.
  virtual void reset() noexcept = 0;
  virtual VadAlgorithm algorithm() const noexcept = 0;
};

// Energy detector: frame level (RMS re full scale, in dBFS: a full-scale square wave is 0 dBFS, a full-scale
// sine -3 dBFS) against an adaptive noise floor. The floor starts at the level of the first frame, so the
// stream should not start in the middle of speech (if it does, the floor falls back within attack time constants
// of the first pause). The probability rises linearly from 0 at 6 dB below the threshold to 1 at 6 dB above it,
// where threshold = max(noise floor + energy_margin_db, energy_floor_dbfs).
class EnergyVad final : public VoiceActivityDetector {
 public:
  static constexpr float kProbabilityRampDb = 6.0f;

  // Thread: control. RT-safe: no.
  explicit EnergyVad(const VadConfig& config);
  Status prepare(int sample_rate_hz, size_t max_frames) override;
  float process(const float* mono, size_t num_frames) noexcept override;
  void reset() noexcept override;
  VadAlgorithm algorithm() const noexcept override { return VadAlgorithm::kEnergy; }

  // The current noise floor and the level of the last frame, in dBFS (-120 before the first frame).
  // Thread: the audio thread, or any while not processing. RT-safe: yes.
  float noise_floor_dbfs() const noexcept { return noise_floor_dbfs_; }
  float last_level_dbfs() const noexcept { return last_level_dbfs_; }

 private:
  VadConfig config_;
  int sample_rate_hz_ = 0;
  size_t max_frames_ = 0;
  bool has_floor_ = false;
  float noise_floor_dbfs_ = -120.0f;
  float last_level_dbfs_ = -120.0f;
  // The noise floor's smoothing step for the attack, speech-release and release time constants, for the frame
  // length it was computed for (0: none yet).
  struct StepCache {
    size_t num_frames = 0;
    float step = 0.0f;
  };
  StepCache steps_[3];
};

// Makes an energy detector (whatever config.algorithm says). Thread: control. RT-safe: no.
std::unique_ptr<VoiceActivityDetector> make_energy_vad(const VadConfig& config);

// Makes the detector config.algorithm names, not yet prepared. Silero loads its weights from
// SileroVad::default_model_path() (silero_vad.hpp); WebRTC takes config.webrtc_aggressiveness. Errors: for
// kSilero, those of SileroVad::create (kIo when the model file is missing: run scripts/setup.sh); for kWebRtc,
// kInvalidConfig for an aggressiveness outside 0..3. Thread: control. RT-safe: no.
Result<std::unique_ptr<VoiceActivityDetector>> make_vad(const VadConfig& config);

// What the segmenter concluded after one frame.
struct VadDecision {
  VadState state;               // after this frame
  bool speech_started;          // this frame confirmed a segment (state became kSpeaking)
  bool speech_ended;            // this frame closed a segment (state became kSilence)
  int64_t speech_start_sample;  // start of the current (or last) segment; -1 before the first
  int64_t speech_end_sample;    // end of the last closed segment (first silent sample); -1 before the first
  float probability;            // the probability given for this frame
};

// Turns per-frame speech probabilities into segments, exactly in samples. Durations are measured on the timeline
// positions given to update(), from the first sample of a run to the end of the current frame.
//
// In silence: a run begins at the first frame with p >= activation_threshold; frames with p between the
// thresholds continue it (and count); a frame with p < deactivation_threshold abandons it. When the run has
// lasted min_speech_ms (end of the current frame - run start >= min_speech samples), that frame reports
// speech_started and speech_start_sample = the start of the run's first frame (the true onset). With
// min_speech_ms = 0 the first frame at or above activation starts speech.
// In speech: a silent run begins at the first frame with p < deactivation_threshold; any frame with
// p >= deactivation_threshold cancels it (the gap is bridged). When it has lasted min_silence_ms, that frame
// reports speech_ended and speech_end_sample = the start of the silent run's first frame.
// Millisecond settings become samples as round(ms * rate / 1000).
class VadSegmenter {
 public:
  // Takes the thresholds and durations (the config is assumed valid) and resets. Thread: control. RT-safe: no.
  void configure(const VadConfig& config, int sample_rate_hz);
  // Back to silence, no run in progress, start/end -1. Thread: the audio thread, or any while idle. RT-safe: yes.
  void reset() noexcept;
  // frame_start_sample: timeline position of this frame's first sample; num_frames: its length. Frames are
  // expected in timeline order. Thread: the audio thread. RT-safe: yes.
  VadDecision update(float probability, int64_t frame_start_sample, size_t num_frames) noexcept;
  VadState state() const noexcept { return state_; }
  // In silence, the first sample of the speech run not yet long enough to start a segment; -1 when there is none
  // or in speech. Thread: the audio thread. RT-safe: yes.
  int64_t pending_start_sample() const noexcept { return state_ == VadState::kSilence ? run_start_ : -1; }
  int64_t min_speech_samples() const noexcept { return min_speech_samples_; }
  int64_t min_silence_samples() const noexcept { return min_silence_samples_; }

 private:
  float activation_ = 0.5f;
  float deactivation_ = 0.35f;
  int64_t min_speech_samples_ = 0;
  int64_t min_silence_samples_ = 0;
  VadState state_ = VadState::kSilence;
  int64_t run_start_ = -1;  // first sample of the pending speech run (silence) or silent run (speech); -1: none
  int64_t speech_start_sample_ = -1;
  int64_t speech_end_sample_ = -1;
};

}  // namespace ae
