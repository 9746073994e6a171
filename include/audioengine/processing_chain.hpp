#pragma once
// ProcessingChain: the processors of the engine's capture and render paths, ordered per stage, changed at run
// time without a lock on the audio thread, and routed by processing mode.
//
// Publication: the audio thread reads an immutable Snapshot (per stage, the ordered nodes) through an atomic
// pointer, picked up once per tick by begin_tick(), which also acknowledges the snapshot's generation. The control
// side builds a new snapshot, publishes it with release ordering and keeps the old one in a retired list; a
// retired snapshot (and through it a removed processor) is freed only once the audio thread has acknowledged a
// later generation, so nothing is ever freed on the audio thread and nothing is freed while it may be read.
//
// Crossfades: every change of what a processor contributes (inserted, removed, bypassed, unbypassed, routed in or
// out by a mode switch) is an equal-gain linear ramp between the unprocessed (dry) and processed (wet) signal of
// that processor, crossfade_ms long; the processor keeps running during the ramp. With R ramp samples the k-th
// sample of a ramp (k = 1..R) has wet gain k/R going in and (R-k)/R going out, so the output never jumps. A
// processor is reset() when it starts from fully dry, so it never resumes on a stale history.
//
// Threads: add/remove/set_bypass/reclaim on control threads (serialised by an internal mutex the audio thread
// never takes); begin_tick/process_* on the one audio thread (or offline, on a thread that is the only one
// processing); set_routing/routing on any thread.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "audioengine/config.hpp"
#include "audioengine/processor.hpp"
#include "audioengine/result.hpp"

namespace ae {

// Identifies a processor in a chain; 0 is never valid.
using ProcessorId = uint64_t;

// The modes a processor runs in: a bit per routing.
using ModeMask = uint32_t;
inline constexpr ModeMask kModeFastLane = 1u << 0;
inline constexpr ModeMask kModeQuality = 1u << 1;
inline constexpr ModeMask kAllModes = kModeFastLane | kModeQuality;

struct ProcessingChainConfig {
  int sample_rate_hz = 16000;  // 8000..192000
  size_t max_frames = 320;     // the largest block process_* will see, 1..65536
  int crossfade_ms = 5;        // 1..50; at least one sample
};

class ProcessingChain {
 public:
  // Builds an empty chain routed for quality. Errors: kInvalidArgument naming the field, the value and the range.
  // Thread: control. RT-safe: no.
  static Result<std::unique_ptr<ProcessingChain>> create(const ProcessingChainConfig& config);
  // Frees every snapshot and node: no audio thread may be processing. Thread: control. RT-safe: no.
  ~ProcessingChain();
  ProcessingChain(const ProcessingChain&) = delete;
  ProcessingChain& operator=(const ProcessingChain&) = delete;

  // Prepares `processor` at the chain's rate and max block on the calling thread and appends it to `stage`,
  // running in the routings of `modes`; it fades in over the crossfade from the next tick on. Errors:
  // kInvalidArgument for a null processor, an unknown stage or a mask without a routing bit; the processor's own
  // prepare() error. Thread: control. RT-safe: no.
  Result<ProcessorId> add(std::shared_ptr<AudioProcessor> processor, ProcessingStage stage,
                          ModeMask modes = kAllModes);
  // Fades the processor out over the crossfade; it leaves the chain (and the chain drops its reference, on a
  // control thread inside reclaim()) once the fade ended and the audio thread moved past it. Errors:
  // kInvalidArgument for an id that is not in the chain. Thread: control. RT-safe: no.
  Status remove(ProcessorId id);
  // Bypass (true) fades the processor out but keeps it in the chain; false fades it back in. Errors:
  // kInvalidArgument for an unknown id. Thread: control. RT-safe: yes (an atomic store).
  Status set_bypass(ProcessorId id, bool bypass);
  // Publishes a snapshot without the processors whose removal fade has ended and frees the retired snapshots the
  // audio thread no longer reads. `audio_idle`: the caller guarantees no audio thread is inside the chain and none
  // will enter before this returns (a stopped clock, or the tick token held): then a removed processor that is
  // fully dry leaves at once and every retired snapshot is freed. `audio_stopped` (implies audio_idle): no more
  // ticks will run before the next start, so every removed processor leaves at once, faded or not. Returns how
  // many processors left the chain. Thread: control. RT-safe: no.
  size_t reclaim(bool audio_idle = false, bool audio_stopped = false);
  // True while reclaim() has work: a retired snapshot to free or a removed processor to drop. A caller that
  // reclaims after every tick checks it first and takes no lock in the common case. Thread: any. RT-safe: yes
  // (an atomic load).
  bool reclaim_pending() const noexcept { return reclaim_pending_.load(std::memory_order_acquire); }
  // True while some removed processor still waits for reclaim(). Thread: control. RT-safe: no.
  bool removal_pending() const;
  // Processors in the chain (removed ones waiting for reclaim() included). Thread: control. RT-safe: no.
  size_t size() const;
  // Snapshots published and not yet freed, the current one included. Thread: control. RT-safe: no.
  size_t live_snapshots() const;

  // Which processors run: kFastLane or kQuality (kAdaptive is the engine's choice between the two and is stored
  // as kQuality). Takes effect at the next block, with crossfades. Thread: any. RT-safe: yes.
  void set_routing(ProcessingMode routing) noexcept;
  ProcessingMode routing() const noexcept;

  // ---- audio thread ---------------------------------------------------------------------------------------
  // Picks up the newest snapshot and acknowledges it; call once per tick before process_*. RT-safe: yes.
  // Inline: most ticks find the snapshot they hold, and a call into the library for that one comparison cost the
  // tick more than the comparison.
  void begin_tick() noexcept {
    if (current_.load(std::memory_order_acquire) != audio_snapshot_) take_snapshot();
  }
  // The render stage over the speaker block, in place. RT-safe: yes.
  void process_render(float* mono, size_t num_frames, const ProcessContext& context) noexcept;
  // Capture-pre then capture-post, in place; context.stage is set per stage, everything else passed through
  // (context.render: the render stage's output of the same tick). RT-safe: yes.
  void process_capture(float* mono, size_t num_frames, const ProcessContext& context) noexcept;
  // True when some processor sits in `stage` (removed ones fading out included), as of the last begin_tick().
  // RT-safe: yes.
  bool has_processors(ProcessingStage stage) const noexcept {
    return ((audio_stages_ >> static_cast<unsigned>(stage)) & 1u) != 0;
  }

  // ---- offline ---------------------------------------------------------------------------------------------
  // Runs the capture stages over held audio in place, in blocks of max_frames, one begin_tick() per block;
  // `render` (empty, or as long as `mono`) is the speaker signal of the same instants, given as ctx.render. The
  // chain's processors carry their state across calls (and across ticks when the chain is also used live: the
  // caller keeps the two from running at once). Errors: kInvalidArgument when render is neither empty nor
  // mono's length. Thread: one processing thread. RT-safe: no.
  Status process_audio(std::span<float> mono, std::span<const float> render = {}, int64_t t_samples = 0);

  int sample_rate_hz() const noexcept { return config_.sample_rate_hz; }
  size_t max_frames() const noexcept { return config_.max_frames; }
  // Samples of one crossfade.
  int crossfade_samples() const noexcept { return ramp_samples_; }

 private:
  struct Node;
  struct Snapshot;
  explicit ProcessingChain(const ProcessingChainConfig& config);
  void run_stage(const Snapshot& snap, ProcessingStage stage, float* mono, size_t n,
                 const ProcessContext& context) noexcept;
  void run_node(Node& node, ModeMask routing_bit, float* mono, size_t n, const ProcessContext& context) noexcept;
  void publish_locked(std::unique_ptr<Snapshot> next);
  void free_retired_locked(bool audio_idle);
  void update_reclaim_pending_locked();

  ProcessingChainConfig config_;
  int ramp_samples_ = 1;
  std::atomic<ModeMask> routing_bit_{kModeQuality};
  // Audio side.
  std::atomic<const Snapshot*> current_{nullptr};
  // begin_tick() when the snapshot changed. Thread: the audio thread. RT-safe: yes.
  void take_snapshot() noexcept;
  std::atomic<uint64_t> acked_generation_{0};
  const Snapshot* audio_snapshot_ = nullptr;
  // Bit s: audio_snapshot_ has processors in stage s (set with it: the tick asks several times).
  uint32_t audio_stages_ = 0;
  // Control side, under mutex_.
  mutable std::mutex mutex_;
  std::unique_ptr<Snapshot> owned_current_;
  std::vector<std::unique_ptr<Snapshot>> retired_;
  uint64_t next_generation_ = 1;
  ProcessorId next_id_ = 1;
  // Written under mutex_, read without it (reclaim_pending()).
  std::atomic<bool> reclaim_pending_{false};
};

// Adaptive mode's decision, apart from the engine so that it can be driven by any cost series. Plain state, no
// allocation. Thread: the audio thread (one owner). RT-safe: yes.
class AdaptiveModeController {
 public:
  explicit AdaptiveModeController(const AdaptiveModeConfig& config = {}) noexcept : config_(config) {}
  void configure(const AdaptiveModeConfig& config) noexcept;
  // Starts over from `routing` (kFastLane or kQuality) with no ticks counted.
  void reset(ProcessingMode routing) noexcept;
  // One tick's cost as a fraction of the period; returns the routing after it.
  ProcessingMode update(double cost_fraction) noexcept;
  ProcessingMode routing() const noexcept { return routing_; }

 private:
  AdaptiveModeConfig config_;
  ProcessingMode routing_ = ProcessingMode::kQuality;
  int above_ = 0;
  int below_ = 0;
};

}  // namespace ae
