#pragma once
// The fast-lane chunk through the AudioEngine facade and through the same components called by hand: the two
// sides of engine_bench's BM_FacadeOverhead and of facade_instructions (instruction counts under callgrind). See
// engine_bench.cpp for what both sides run.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "audioengine/audioengine.hpp"

namespace ae::facade_bench {

constexpr int kRate = 16000;
constexpr int kChunkMs = 10;
constexpr size_t kChunk = 160;                // samples per chunk
constexpr size_t kRefillSamples = 30 * kRate;  // 30 s of AI audio per refill
constexpr size_t kInputChunks = 64;            // distinct microphone chunks, cycled

inline size_t ms_to_samples(int rate_hz, int ms) {
  return static_cast<size_t>(rate_hz) * static_cast<size_t>(ms) / 1000;
}

inline EngineConfig chunk_config(bool stage_timing) {
  EngineConfig c = EngineConfig::fast_lane();
  c.audio.sample_rate_hz = kRate;
  c.audio.chunk_duration_ms = kChunkMs;
  c.vad.enabled = true;
  c.clock.virtual_mode = VirtualClockMode::kInline;
  c.metrics.stage_timing = stage_timing;
  return c;
}

// Low-level noise (about -70 dBFS): the VAD measures it like any input but never calls it speech.
inline std::vector<float> quiet_input() {
  std::vector<float> v(kChunk * kInputChunks);
  uint32_t x = 12345;
  for (auto& s : v) {
    x = x * 1664525u + 1013904223u;
    s = 3e-4f * (static_cast<float>(x >> 8) / static_cast<float>(1u << 24) - 0.5f);
  }
  return v;
}

// A 440 Hz tone at -12 dBFS: the AI's audio.
inline std::vector<float> tone(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = 0.25f * std::sin(2.0f * 3.14159265f * 440.0f * static_cast<float>(i) / kRate);
  return v;
}

inline std::vector<int16_t> to_pcm16(const std::vector<float>& f) {
  std::vector<int16_t> v(f.size());
  encode_samples(f.data(), f.size(), SampleType::kPcm16, v.data());
  return v;
}

// One refill of AI audio, made once: the overhead benches build their pipelines many times.
inline const std::vector<float>& refill_audio() {
  static const std::vector<float> audio = tone(kRefillSamples);
  return audio;
}
inline const std::vector<int16_t>& refill_audio_pcm16() {
  static const std::vector<int16_t> audio = to_pcm16(refill_audio());
  return audio;
}

// ---- the facade ----------------------------------------------------------------------------------------------
class FacadePipeline {
 public:
  explicit FacadePipeline(bool stage_timing)
      : engine_(AudioEngine::create(chunk_config(stage_timing))), input_(quiet_input()),
        refill_(refill_audio_pcm16()), drain_(kChunk) {
    ok_ = engine_->start().ok() && engine_->start_capture().ok();
    refill();
    // First chunk outside timing: sizes the chunk's vectors once.
    ok_ = ok_ && chunk();
  }
  bool ok() const { return ok_; }
  // True when fewer than `num_chunks` chunks of AI audio are left queued.
  bool needs_refill(size_t num_chunks) const { return queued_ < num_chunks * kChunk; }
  void refill() {
    if (!engine_->queue_playback(refill_.data(), refill_.size() * sizeof(int16_t), 1).ok()) ok_ = false;
    queued_ += refill_.size();
  }
  // One chunk through the public API, in the three steps a user makes: the microphone's samples in, one tick,
  // the chunk and the played audio out. Each returns false when a call failed.
  bool inject() {
    const float* in = input_.data() + (next_input_++ % kInputChunks) * kChunk;
    return engine_->inject_test_audio(std::span<const float>(in, kChunk)).ok();
  }
  bool tick() {
    queued_ -= kChunk;
    return engine_->advance_ticks(1).ok();
  }
  bool read() {
    const bool got = engine_->try_read_chunk(chunk_);
    return engine_->read_played_audio(drain_.data(), kChunk) == kChunk && got;
  }
  bool chunk() { return inject() & tick() & read(); }
  AudioEngine& engine() { return *engine_; }
  const CaptureChunk& last_chunk() const { return chunk_; }

 private:
  std::unique_ptr<AudioEngine> engine_;
  std::vector<float> input_;
  const std::vector<int16_t>& refill_;
  std::vector<float> drain_;
  CaptureChunk chunk_;
  size_t next_input_ = 0;
  size_t queued_ = 0;
  bool ok_ = false;
};

// ---- the same components by hand -----------------------------------------------------------------------------
class DirectPipeline {
 public:
  DirectPipeline()
      : config_(chunk_config(false)),
        capture_(ms_to_samples(kRate, config_.queues.capture_capacity_ms)),
        playback_(ms_to_samples(kRate, config_.queues.playback_capacity_ms), static_cast<size_t>(config_.queues.max_items)),
        urgent_(ms_to_samples(kRate, config_.queues.urgent_capacity_ms), static_cast<size_t>(config_.queues.max_items)),
        sink_(ms_to_samples(kRate, config_.sink.memory_capacity_ms) + kChunk),
        chunk_infos_(static_cast<size_t>(config_.queues.chunk_queue_capacity_ms / kChunkMs) + 1),
        chunk_samples_(ms_to_samples(kRate, config_.queues.chunk_queue_capacity_ms) + kChunk),
        vad_(make_energy_vad(config_.vad)),
        input_(quiet_input()),
        refill_(refill_audio()),
        cap_(kChunk),
        out_(kChunk),
        drain_(kChunk) {
    ok_ = vad_->prepare(kRate, kChunk).ok();
    segmenter_.configure(config_.vad, kRate);
    endpointer_.configure(config_.endpoint, kRate);
    barge_in_min_speech_samples_ = (static_cast<int64_t>(config_.barge_in.min_speech_ms) * kRate + 500) / 1000;
    refill();
    chunk();
  }
  bool ok() const { return ok_; }
  // True when fewer than `num_chunks` chunks of AI audio are left queued.
  bool needs_refill(size_t num_chunks) const { return queued_ < num_chunks * kChunk; }
  void refill() {
    if (playback_.try_write(refill_.data(), refill_.size(), 1) != refill_.size()) ok_ = false;
    queued_ += refill_.size();
  }
  // The same three steps as FacadePipeline.
  bool inject() {
    const float* in = input_.data() + (next_input_++ % kInputChunks) * kChunk;
    return capture_.try_push_bulk(in, kChunk) == kChunk;
  }
  bool tick() {
    // Capture ring → the tick's capture buffer.
    const size_t got = capture_.try_pop_bulk(cap_.data(), kChunk);
    // VAD, segmenter, endpointer.
    const float p = vad_->process(cap_.data(), kChunk);
    const VadDecision d = segmenter_.update(p, t_samples_, kChunk);
    const EndpointDecision e = endpointer_.update(d, t_samples_, kChunk);
    // Barge-in: a run of periods at or above the threshold while the AI plays, confirmed after min_speech_ms.
    const BargeInConfig& b = config_.barge_in;
    bool cut = false;
    if (b.enabled && playing_) {
      if (run_start_ < 0) {
        if (p >= b.probability_threshold) run_start_ = t_samples_;
      } else if (p < std::min(b.probability_threshold, config_.vad.deactivation_threshold)) {
        run_start_ = -1;
      }
      cut = run_start_ >= 0 && t_samples_ + static_cast<int64_t>(kChunk) - run_start_ >= barge_in_min_speech_samples_;
    } else {
      run_start_ = -1;
    }
    // One period of playback into the memory sink: flush requests on both lanes; the urgent lane plays when it
    // holds audio.
    (void)playback_.apply_requests();
    (void)urgent_.apply_requests();
    uint64_t item = 0;
    bool started = false;
    size_t filled = 0;
    if (cut) {
      // The user interrupts the AI (never here: the microphone stays below the VAD's floor).
      (void)playback_.discard_all();
      queued_ = 0;
      run_start_ = -1;
    } else if (urgent_.queued_samples() == 0) {
      filled = playback_.pull(out_.data(), kChunk, item, started);
    } else {
      filled = urgent_.pull(out_.data(), kChunk, item, started);
    }
    if (started || item != item_) played_in_item_ = 0;
    item_ = item;
    played_in_item_ += static_cast<int64_t>(filled);
    playing_ = filled > 0;
    if (filled < kChunk) std::memset(out_.data() + filled, 0, (kChunk - filled) * sizeof(float));
    sink_.try_push_bulk(out_.data(), kChunk);
    // Turn state.
    ConversationTracker::Change change{};
    (void)tracker_.update(d.state == VadState::kSpeaking, playing_, change);
    // The chunk to the consumer.
    ChunkInfo info;
    info.sequence = sequence_++;
    info.start_sample = t_samples_;
    info.num_frames = static_cast<int32_t>(kChunk);
    info.sample_rate_hz = kRate;
    info.vad_probability = p;
    info.vad_state = d.state;
    info.speech_started = d.speech_started;
    info.speech_ended = d.speech_ended;
    info.endpoint = e.reason != EndpointReason::kNone;
    const bool pushed = chunk_samples_.try_push_all(cap_.data(), kChunk) && chunk_infos_.try_push(info);
    t_samples_ += static_cast<int64_t>(kChunk);
    queued_ -= filled;
    return pushed && got == kChunk && filled == kChunk;
  }
  bool read() {
    // What try_read_chunk() and read_played_audio() do.
    bool good = chunk_infos_.try_pop(chunk_.info);
    chunk_.format = AudioFormat{kRate, 1, SampleType::kPcm16};
    chunk_.samples.resize(static_cast<size_t>(chunk_.info.num_frames));
    chunk_samples_.try_pop_bulk(chunk_.samples.data(), chunk_.samples.size());
    chunk_.data.resize(chunk_.samples.size() * sizeof(int16_t));
    encode_samples(chunk_.samples.data(), chunk_.samples.size(), SampleType::kPcm16, chunk_.data.data());
    good &= sink_.try_pop_bulk(drain_.data(), kChunk) == kChunk;
    return good;
  }
  bool chunk() { return inject() & tick() & read(); }

 private:
  EngineConfig config_;
  SpscRing<float> capture_;
  PlaybackQueue playback_;
  PlaybackQueue urgent_;
  SpscRing<float> sink_;
  SpscRing<ChunkInfo> chunk_infos_;
  SpscRing<float> chunk_samples_;
  std::unique_ptr<VoiceActivityDetector> vad_;
  VadSegmenter segmenter_;
  Endpointer endpointer_;
  ConversationTracker tracker_;
  int64_t barge_in_min_speech_samples_ = 0;
  int64_t run_start_ = -1;
  bool playing_ = false;
  uint64_t item_ = 0;
  int64_t played_in_item_ = 0;
  std::vector<float> input_;
  const std::vector<float>& refill_;
  std::vector<float> cap_, out_, drain_;
  CaptureChunk chunk_;
  int64_t t_samples_ = 0;
  uint64_t sequence_ = 0;
  size_t next_input_ = 0;
  size_t queued_ = 0;
  bool ok_ = false;
};

}  // namespace ae::facade_bench
