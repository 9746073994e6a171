#include "audioengine/engine.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstring>
#include <pthread.h>
#include <map>
#include <thread>
#include <tuple>
#include <utility>

#include "audioengine/format_converter.hpp"
#include "audioengine/realtime.hpp"
#include "core/audio_thread_mark.hpp"
#include "core/event_bus.hpp"
#include "core/latency_histogram.hpp"
#include "core/stage_clock.hpp"
#include "engine/echo_gate.hpp"
#include "engine/vad_echo_hold.hpp"
#include "io/portaudio/portaudio_clock.hpp"

namespace ae {
namespace {

// Settings that may change while running: small, trivially copyable, delivered to the audio thread through a
// preallocated ring and applied at a tick boundary.
struct HotSettings {
  VadConfig vad;
  EndpointConfig endpoint;
  CaptureDelivery capture_delivery;
  BargeInConfig barge_in;
  bool stage_timing;
};

HotSettings hot_settings_of(const EngineConfig& c) {
  return HotSettings{c.vad, c.endpoint, c.audio.capture_delivery, c.barge_in, c.metrics.stage_timing};
}

// How long a VAD segment held by the echo gate (BargeInConfig::vad_echo_gate) can wait for its near-end periods
// and still be delivered from its padded start by speech-only delivery: the user's first syllables under the
// AI's echo take up to a few hundred ms to show near-end energy over the learnt residual.
constexpr int kMaxEchoHoldMs = 1000;

// Whether barge-in consults the echo gate (see BargeInConfig::echo_gate).
bool echo_gate_consulted(EchoGateMode mode, bool canceller_on) noexcept {
  return mode == EchoGateMode::kOn || (mode == EchoGateMode::kAuto && canceller_on);
}

// What a tick does to the AI's gain (barge-in recovery); every change ramps over the fade at the block's head.
enum class GainCommand : uint8_t { kNone, kPause, kDuck, kResume };

// Linear ramp over the first `fade` samples: sample i gets from + (to - from) * (i + 1) / (fade + 1), later samples
// `to`. A ramp to 0 thus ends on a non-zero gain and the next sample is the first silent one.
void apply_gain_ramp(float* x, size_t n, float from, float to, size_t fade) noexcept {
  const float step = (to - from) / static_cast<float>(fade + 1);
  size_t i = 0;
  for (; i < n && i < fade; ++i) x[i] *= from + step * static_cast<float>(i + 1);
  if (to != 1.0f) {
    for (; i < n; ++i) x[i] *= to;
  }
}

bool same_segmenter_settings(const VadConfig& a, const VadConfig& b) {
  return a.activation_threshold == b.activation_threshold && a.deactivation_threshold == b.deactivation_threshold &&
         a.min_speech_ms == b.min_speech_ms && a.min_silence_ms == b.min_silence_ms;
}

// The audio thread's own copy of the latest captured audio (prefix padding and onset), for speech-only delivery:
// one writer and one reader, both the audio thread, so plain indices suffice.
class HistoryRing {
 public:
  void allocate(size_t capacity) { buf_.assign(capacity, 0.0f); }
  void clear() noexcept {
    write_ = 0;
    filled_ = 0;
    end_sample_ = 0;
  }
  // Appends the samples [start_sample, start_sample + n); start_sample continues the previous push.
  void push(const float* x, size_t n, int64_t start_sample) noexcept {
    const size_t cap = buf_.size();
    if (cap == 0) return;
    if (start_sample != end_sample_) filled_ = 0;  // a gap (e.g. after reset): older audio is not contiguous
    // Two block copies around the wrap: this runs every tick, a sample-by-sample loop cost as much as the VAD.
    const size_t skip = n > cap ? n - cap : 0;
    const size_t count = n - skip;
    const size_t first = std::min(count, cap - write_);
    std::memcpy(buf_.data() + write_, x + skip, first * sizeof(float));
    std::memcpy(buf_.data(), x + skip + first, (count - first) * sizeof(float));
    write_ = (write_ + count) % cap;
    filled_ = std::min(cap, filled_ + n);
    end_sample_ = start_sample + static_cast<int64_t>(n);
  }
  // First timeline sample still held.
  int64_t start_sample() const noexcept { return end_sample_ - static_cast<int64_t>(filled_); }
  // Copies [from, from + n), which must lie within [start_sample(), end_sample), into dst.
  void copy(int64_t from, size_t n, float* dst) const noexcept {
    const size_t cap = buf_.size();
    const auto back = static_cast<size_t>(end_sample_ - from);  // samples from `from` to the newest, inclusive
    const size_t idx = (write_ + cap - back) % cap;
    const size_t first = std::min(n, cap - idx);
    std::memcpy(dst, buf_.data() + idx, first * sizeof(float));
    std::memcpy(dst + first, buf_.data(), (n - first) * sizeof(float));
  }
  size_t memory_bytes() const noexcept { return buf_.size() * sizeof(float); }

 private:
  std::vector<float> buf_;
  size_t write_ = 0;
  size_t filled_ = 0;
  int64_t end_sample_ = 0;
};

// Counters written by the audio thread (relaxed: each is a statistic, read as a snapshot).
struct Counters {
  std::atomic<int64_t> ticks{0};
  std::atomic<int64_t> chunks_delivered{0};
  std::atomic<int64_t> chunks_dropped{0};
  std::atomic<int64_t> capture_dropped_samples{0};
  std::atomic<int64_t> source_idle_samples{0};
  std::atomic<int64_t> playback_dropped_samples{0};
  std::atomic<int64_t> flushed_samples{0};
  std::atomic<int64_t> stale_samples_dropped{0};
  std::atomic<int64_t> playback_underruns{0};
  std::atomic<int64_t> sink_dropped_samples{0};
  std::atomic<int64_t> interruptions{0};
  std::atomic<int64_t> barge_ins{0};
  std::atomic<int64_t> barge_in_echo_gated_runs{0};
  std::atomic<int64_t> vad_echo_vetoed_segments{0};
  std::atomic<int64_t> vad_speech_starts{0};
  std::atomic<int64_t> mode_switches{0};
  std::atomic<int64_t> endpoints{0};
  std::atomic<int64_t> speech_gated_samples{0};
  std::atomic<int64_t> prefix_truncated_samples{0};
  std::atomic<int64_t> stage_samples_dropped{0};
};

// Counters written from more than one thread at a time.
inline void bump(std::atomic<int64_t>& c, int64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
// Counters with one writer at a time (the audio thread, or a control thread holding the tick token): a plain load
// and store is enough and avoids a locked read-modify-write on the audio path.
[[gnu::always_inline]] inline void bump_single_writer(std::atomic<int64_t>& c, int64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// An error built out of line: a message string made inline widens the stack frame of a per-period call.
[[gnu::noinline, gnu::cold]] Status error_status(Error code, const char* message) { return Status(code, message); }

uint64_t now_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// The stage histograms hold durations in stage_clock units.
StageTiming timing_of(const LatencyHistogram& h) {
  StageTiming t;
  t.count = h.count();
  if (t.count == 0) return t;
  const double ns = stage_clock::ns_per_unit();
  t.mean_ns = ns * h.mean_ns();
  t.p50_ns = ns * static_cast<double>(h.percentile_ns(50.0));
  t.p99_ns = ns * static_cast<double>(h.percentile_ns(99.0));
  t.max_ns = ns * static_cast<double>(h.max_ns());
  return t;
}

constexpr uint32_t kTimingSampleInterval = 16;
// Sampled ticks whose stage durations wait for the histograms: ae-events folds them in at least every
// events.dispatch_interval_us, so the ring fills only while a callback holds ae-events up, for 82 s of 10 ms
// periods (22 s of 128-frame periods at 48 kHz).
constexpr size_t kStageSampleCapacity = 512;

// For the waits that return each event once: raises `last` from `after` to `sequence` unless another caller
// already moved it past.
void mark_returned(std::atomic<uint64_t>& last, uint64_t after, uint64_t sequence) {
  uint64_t seen = after;
  while (seen < sequence && !last.compare_exchange_weak(seen, sequence, std::memory_order_acq_rel)) {
  }
}

size_t ms_to_samples(int rate_hz, int64_t ms) { return static_cast<size_t>(static_cast<int64_t>(rate_hz) * ms / 1000); }

// The live detectors, made and handed to the audio thread together: the VAD (events, segmenter, endpointer, the
// chunks' probability) and the barge-in's own detector of the same kind and settings, which hears the echo
// canceller's gentler copy (EchoCancellerConfig::vad_copy) so that the copy's residual echo reaches the barge-in
// decision only, never the VAD's events or the endpointer. The second exists only while a copy is written: with
// Silero it is a second model for nothing otherwise. `new_vad` false: the set replaces the barge-in's detector
// only (echo cancellation switched), the VAD in place keeps its state.
struct LiveDetectors {
  bool new_vad = true;
  std::unique_ptr<VoiceActivityDetector> vad;
  std::unique_ptr<VoiceActivityDetector> barge_in;
};

// Whether the engine's echo canceller writes the barge-in's copy: a WebRTC canceller with vad_copy, at the rates it
// runs natively, on whole 10 ms frames (see EchoCancellerConfig::vad_copy; Speex and the resampled rates make none).
bool canceller_writes_copy(const EchoConfig& echo, int rate_hz, size_t period_frames) {
  const EchoCancellerConfig& c = echo.canceller;
  return echo.enabled && c.vad_copy && c.implementation == EchoImplementation::kWebRtc &&
         (rate_hz == 8000 || rate_hz == 16000) && period_frames % static_cast<size_t>(rate_hz / 100) == 0;
}

// The detectors of `config` (the VAD when `new_vad`, the barge-in's when `barge_in`), prepared for `rate_hz` and
// blocks of up to `period_frames`. Errors: those of make_vad and VoiceActivityDetector::prepare. Thread: control.
// RT-safe: no (allocates, Silero reads its weights).
Result<std::unique_ptr<LiveDetectors>> make_live_detectors(const VadConfig& config, int rate_hz, size_t period_frames,
                                                           bool new_vad, bool barge_in) {
  auto set = std::make_unique<LiveDetectors>();
  set->new_vad = new_vad;
  const std::pair<bool, std::unique_ptr<VoiceActivityDetector>*> slots[] = {{new_vad, &set->vad},
                                                                              {barge_in, &set->barge_in}};
  for (const auto& [wanted, slot] : slots) {
    if (!wanted) continue;
    auto made = make_vad(config);
    if (!made.ok()) return made.error_info();
    *slot = std::move(made.value());
    if (auto st = (*slot)->prepare(rate_hz, period_frames); !st.ok()) return st.error_info();
  }
  return set;
}

}  // namespace

class AudioEngine::Impl {
 public:
  explicit Impl(const EngineConfig& c, size_t period)
      : bus(EventBusConfig{static_cast<size_t>(c.events.rt_capacity), static_cast<size_t>(c.events.control_capacity),
                           c.events.dispatch_interval_us, static_cast<size_t>(c.events.history_size)}),
        chunk_infos(static_cast<size_t>(c.queues.chunk_queue_capacity_ms / c.audio.chunk_duration_ms) + 1),
        chunk_samples(ms_to_samples(c.audio.sample_rate_hz, c.queues.chunk_queue_capacity_ms) + period),
        sink(ms_to_samples(c.audio.sample_rate_hz, c.sink.memory_capacity_ms) + period),
        hot(8),
        capture_buf(period),
        play_buf(period),
        render_buf(period),
        vad_copy_buf(period),
        main_scratch(period),
        urgent_scratch(period),
        backlog_buf(period),
        chunk_bytes_per_sample(bytes_per_sample(c.audio.chunk_sample_type)),
        stage_samples(kStageSampleCapacity) {
    // Speech-only delivery looks back over the prefix padding plus the speech it took to confirm the onset
    // (at most min_speech_ms and one period, or kMaxEchoHoldMs for a segment the echo gate held), plus the current
    // period. A longer hold loses the start of its padding, counted in prefix_truncated_samples.
    history.allocate(ms_to_samples(c.audio.sample_rate_hz,
                                   c.vad.prefix_padding_ms + std::max(c.vad.min_speech_ms, kMaxEchoHoldMs)) +
                     2 * period);
  }
  ~Impl() {
    delete vad_incoming.exchange(nullptr);
    delete vad_retired.exchange(nullptr);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  EventBus bus;
  std::unique_ptr<VoiceActivityDetector> vad;
  std::unique_ptr<VoiceActivityDetector> barge_in_vad;  // see LiveDetectors and barge_in_probability()
  bool barge_in_vad_running = false;                   // it heard the copy in the last tick
  VadSegmenter segmenter;
  VadEchoHold vad_hold;  // the segmenter's decisions as published (BargeInConfig::vad_echo_gate)
  SpscRing<ChunkInfo> chunk_infos;
  ChunkInfo spare_chunk_info;  // where a chunk's info is written while chunk_infos is full (it is then dropped)
  SpscRing<float> chunk_samples;
  SpscRing<float> sink;
  SpscRing<HotSettings> hot;
  std::vector<float> capture_buf;
  std::vector<float> play_buf;
  std::vector<float> render_buf;  // this tick's playback block, peeked and through the render stage
  std::vector<float> vad_copy_buf;  // the echo canceller's copy for the VAD (EchoCancellerConfig::vad_copy)
  std::vector<float> main_scratch, urgent_scratch;  // each lane's part of a block that mixes lanes, peeked
  std::vector<float> backlog_buf;
  const size_t chunk_bytes_per_sample;  // of config.audio.chunk_sample_type (cold: fixed while initialized)
  HistoryRing history;
  Counters counters;
  // Stage timing: a sampled tick's four stage durations, in stage_clock units (the whole tick is their sum). The
  // tick only writes them to stage_samples; the ring's consumer, whoever holds timing_mutex (ae-events' hook,
  // get_metrics(), reset()), records them into the histograms. Recorded in the tick, five histograms' buckets and
  // totals were ten cache lines gone cold since the last sampled tick, more than half of what stage timing cost
  // a period (docs/architecture.md, "Metrics").
  struct StageSample {
    uint64_t capture, vad, playback, output;
  };
  SpscRing<StageSample> stage_samples;
  std::mutex timing_mutex;
  LatencyHistogram tick_hist, capture_hist, vad_hist, playback_hist, output_hist;  // in stage_clock units; timing_mutex
  // Records the waiting stage samples. Thread: any but the audio thread, holding timing_mutex. RT-safe: no.
  void fold_stage_samples() noexcept {
    StageSample x{};
    while (stage_samples.try_pop(x)) {
      capture_hist.record(x.capture);
      vad_hist.record(x.vad);
      playback_hist.record(x.playback);
      output_hist.record(x.output);
      tick_hist.record(x.capture + x.vad + x.playback + x.output);
    }
  }

  // Audio-thread state.
  bool vad_enabled = true;
  VadConfig vad_config;            // as last applied (segmenter settings, prefix padding)
  Endpointer endpointer;
  EndpointConfig endpoint_config;  // as last applied
  CaptureDelivery delivery = CaptureDelivery::kAll;
  int64_t prefix_padding_samples = 0;
  bool gate_open = false;           // speech-only delivery: the previous period was delivered as speech
  bool was_capturing = false;
  int64_t delivered_until = 0;      // timeline sample after the last chunk handed to the consumer
  bool endpoint_in_chunk = false;   // an ENDPOINT was decided since the last chunk: flag the next one
  bool stage_timing = true;
  // Barge-in and turn-taking (audio thread; see update_barge_in()).
  BargeInConfig barge_in;
  size_t fade_samples = 0;
  int64_t barge_in_min_speech_samples = 0;
  int64_t resume_after_samples = 0;
  TurnTakingMode turn_mode = TurnTakingMode::kAutomatic;
  int64_t run_start = -1;           // first sample of the speech run while the AI plays; -1: none
  // The echo gate (see BargeInConfig::echo_gate): fed every tick; its verdict for this tick, the near-end samples
  // of the current run, and whether the run was counted as held back by it.
  EchoGate echo_gate;
  bool echo_gate_running = false;   // fed in the last tick
  bool near_end = true;
  int64_t run_near_end_samples = 0;
  int64_t echo_gate_min_near_end_samples = 0;
  bool run_echo_gated = false;
  bool suspected = false;           // a barge-in is suspected (a run began, not yet confirmed)
  int64_t quiet_since = -1;         // while suspected: first sample of the quiet after the run
  bool paused = false;              // recovery pause: the queue is held
  bool ducked = false;              // recovery duck: the AI plays at duck_gain
  float gain = 1.0f;                // the AI's gain at the end of the last block
  int64_t pause_silent_from = -1;   // where the pause made the output silent
  GainCommand gain_command = GainCommand::kNone;
  bool pending_interrupt = false;   // cut the AI in this tick's playback stage (with the fade)
  InterruptReason pending_reason = InterruptReason::kBargeIn;
  int64_t pending_onset = -1;       // barge-in: the onset of the confirming run
  bool ptt_seen = false;            // manual mode: the talk button as of the last tick
  bool user_forced = false;         // automatic mode: force_turn_change gave the user the floor
  bool user_suppressed = false;     // automatic mode: force_turn_change took it away from the current segment
  ConversationTracker tracker;
  // Control → audio: force_turn_change() (epoch + target), acknowledged through turn_ack_epoch.
  FlushEpoch turn_requests;
  std::atomic<int32_t> turn_request_to{0};
  uint64_t turn_seen_epoch = 0;
  bool turn_ack_due = false;
  std::atomic<uint64_t> turn_ack_epoch{0};
  uint32_t timing_countdown = 0;
  uint64_t chunk_sequence = 0;
  uint64_t current_item = 0;
  bool has_item = false;
  int64_t played_in_item = 0;
  uint64_t last_completed_item = 0;
  bool item_completed = false;
  // Priority lanes (see PlaybackPriority): kNext / kInterject items play from the urgent queue. The fields above
  // describe the lane playing; other_lane keeps the other lane's item while it waits.
  struct LaneItem {
    uint64_t current_item = 0;
    bool has_item = false;
    int64_t played_in_item = 0;
    uint64_t last_completed_item = 0;
    bool item_completed = false;
  };
  LaneItem other_lane;
  bool urgent_lane = false;      // the urgent queue is the lane playing
  bool main_held = false;        // an interjection holds the main item mid-item: it resumes with a fade-in
  size_t resume_ramp_done = SIZE_MAX;  // samples of the held item's fade-in played (>= fade_samples: none running)
  bool lane_switched = false;    // the lane just changed: the item going on in it is reported started
  // This tick's block as peeked: runs of samples from one lane each, in order. fade_out: the run's samples fade
  // out (the main item before an interjection); holds_main: the urgent lane starting with this run holds the
  // main item mid-item.
  struct PlanRun {
    bool urgent;
    bool fade_out;
    bool holds_main;
    size_t count;
  };
  std::array<PlanRun, 4> plan{};
  size_t plan_len = 0;
  bool plan_main_only = false;       // the plan is one main-lane run, planned while the main lane played
  // Processing chain (audio thread).
  size_t render_peeked = 0;          // samples of this tick's block peeked from the playback queue
  bool render_stage = false;         // this tick's chain snapshot has render-stage processors
  ProcessingMode routing = ProcessingMode::kQuality;
  bool adaptive_active = false;
  uint64_t adaptive_seen_generation = 0;
  AdaptiveModeController adaptive;

  // Control → audio requests: interrupt (reason + epoch) and stop/resume of playback.
  FlushEpoch interrupt_requests;
  std::atomic<uint8_t> interrupt_reason{0};
  uint64_t interrupt_seen_epoch = 0;
  // Audio → control: the result of the last applied interrupt, published by ack_epoch (release).
  InterruptResult last_interrupt;
  std::atomic<uint64_t> interrupt_ack_epoch{0};
  std::atomic<bool> playback_stopped{false};
  // Items interrupted: later audio for them is stale. 0 never is (it means "no id"). held: the item of the lane
  // that was waiting when an interruption cut the urgent lane.
  std::atomic<uint64_t> interrupted_item{0};
  std::atomic<uint64_t> interrupted_held_item{0};
  // Control side (under control_mutex_): the item last queued in the urgent lane and its priority; later audio
  // for that id goes to the same lane.
  uint64_t urgent_item_id = 0;
  int32_t urgent_item_tag = 0;
  // Control → audio: force_endpoint() (epoch), answered through endpoint_ack_epoch with last_force_ended.
  FlushEpoch endpoint_requests;
  uint64_t endpoint_seen_epoch = 0;
  bool last_force_ended = false;
  std::atomic<uint64_t> endpoint_ack_epoch{0};
  // Control → audio: detectors prepared on a control thread, swapped in together at the next tick boundary; the
  // ones they replaced come back through vad_retired for a control thread to free (the audio thread never frees).
  // A control thread takes back an unclaimed incoming set and frees the retired one before posting, so the
  // retired slot is always empty when the audio thread swaps.
  std::atomic<LiveDetectors*> vad_incoming{nullptr};
  std::atomic<LiveDetectors*> vad_retired{nullptr};
  // Control → audio: every request the tick boundary looks for above (detectors, hot settings, the turn-taking
  // mode, interruptions, turn changes, forced endpoints) bumps this once it is posted, so that the tick reads one
  // word rather than each of them when nothing was asked. It starts ahead of control_seen: the first tick looks.
  std::atomic<uint64_t> control_posted{1};
  uint64_t control_seen = 0;  // audio thread
  void post_control() noexcept { control_posted.fetch_add(1, std::memory_order_release); }
  // Keeps control threads out of a tick in the inline / stepped virtual modes (never used when ticks are live).
  std::atomic<bool> tick_token{false};
  // Serialises the producers of the capture ring (inject_test_audio callers).
  std::atomic<bool> capture_producer{false};

  // Applies hot settings at a tick boundary (the audio thread, or a control thread holding the tick token).
  // Only what changed is reconfigured: a segmenter or endpointer reset would lose the speech in progress.
  void apply_hot(const HotSettings& hs, int rate, AudioEngine& e) noexcept {
    if (hs.vad.enabled != vad_enabled) {
      // On or off: start from a clean slate (the detector's noise floor is learnt anew), without events.
      vad_enabled = hs.vad.enabled;
      if (vad) vad->reset();
      barge_in_vad_running = false;  // reset when it next listens
      segmenter.reset();
      vad_hold.reset();
      endpointer.reset();
      e.vad_state_.store(VadState::kSilence, std::memory_order_release);
      e.vad_probability_.store(0, std::memory_order_relaxed);
    }
    if (!same_segmenter_settings(hs.vad, vad_config)) {
      segmenter.configure(hs.vad, rate);
      vad_hold.reset();
      endpointer.reset();  // the segment in progress is gone, so is the utterance it belonged to
    }
    vad_config = hs.vad;
    prefix_padding_samples = static_cast<int64_t>(ms_to_samples(rate, hs.vad.prefix_padding_ms));
    EndpointConfig timeout_only = endpoint_config;
    timeout_only.silence_timeout_ms = hs.endpoint.silence_timeout_ms;
    if (hs.endpoint == timeout_only) {
      // set_endpoint_timeout(): the utterance in progress goes on under the new timeout.
      if (hs.endpoint.silence_timeout_ms != endpoint_config.silence_timeout_ms) {
        endpointer.set_silence_timeout_ms(hs.endpoint.silence_timeout_ms);
      }
    } else {
      endpointer.configure(hs.endpoint, rate);
    }
    endpoint_config = hs.endpoint;
    if (!hs.endpoint.enabled) endpointer.reset();
    e.endpoint_state_.store(endpointer.state(), std::memory_order_release);
    delivery = hs.capture_delivery;
    configure_barge_in(hs.barge_in, rate);
    stage_timing = hs.stage_timing;
  }

  // The barge-in settings in samples; durations round as the segmenter's do (round(ms * rate / 1000)). The fade
  // never exceeds one period, so the output is silent within the period of the decision.
  void configure_barge_in(const BargeInConfig& b, int rate) noexcept {
    barge_in = b;
    fade_samples = std::min(capture_buf.size(), ms_to_samples(rate, b.fade_out_ms));
    barge_in_min_speech_samples = (static_cast<int64_t>(b.min_speech_ms) * rate + 500) / 1000;
    resume_after_samples = (static_cast<int64_t>(b.resume_after_ms) * rate + 500) / 1000;
    echo_gate_min_near_end_samples = (static_cast<int64_t>(b.echo_gate_min_near_end_ms) * rate + 500) / 1000;
    echo_gate.set_margin_and_tail(b.echo_gate_margin_db, b.echo_gate_tail_ms, b.echo_gate_tail_fall_db);
    vad_hold.configure(echo_gate_min_near_end_samples, vad_config.deactivation_threshold);
  }

  // The info of the chunk about to be delivered, reset, in the slot of chunk_infos it is published from (see
  // SpscRing::try_claim), or in spare_chunk_info when that ring is full. deliver_chunk() completes and publishes
  // it. Audio thread.
  ChunkInfo& claim_chunk_info() noexcept {
    ChunkInfo* slot = chunk_infos.try_claim();
    ChunkInfo& info = slot != nullptr ? *slot : spare_chunk_info;
    info = ChunkInfo{};
    return info;
  }

  // The segmenter's state as published: silence while the echo hold keeps a segment back. Audio thread.
  VadState user_vad_state() const noexcept { return vad_hold.published(segmenter.state()); }
  // Whether the user speaks as the VAD published it (never without a live VAD). Audio thread.
  bool user_speaking() const noexcept { return vad_enabled && vad && user_vad_state() == VadState::kSpeaking; }

  // Takes the detectors a control thread prepared (see vad_incoming). Wait-free, no allocation or free: the set
  // goes back holding the detectors it replaced.
  void swap_in_detector() noexcept {
    // A plain load first: the exchange is a locked read-modify-write, and detectors are posted rarely.
    if (vad_incoming.load(std::memory_order_relaxed) == nullptr) return;
    LiveDetectors* next = vad_incoming.exchange(nullptr, std::memory_order_acq_rel);
    if (next == nullptr) return;
    if (next->new_vad) std::swap(vad, next->vad);
    std::swap(barge_in_vad, next->barge_in);
    barge_in_vad_running = false;
    vad_retired.store(next, std::memory_order_release);
  }

  // Whether update_barge_in() reads the speech probability this tick (`vad_on`: a live VAD; `ai`: the AI's audio
  // playing): automatic turn-taking, barge-in on, and the AI playing or a barge-in suspected. Audio thread.
  bool barge_in_uses_probability(bool vad_on, bool ai) const noexcept {
    return turn_mode == TurnTakingMode::kAutomatic && barge_in.enabled && vad_on && (ai || suspected);
  }

  // What the barge-in decision hears this tick: the higher of the VAD's `p` for the processed capture and the
  // probability the barge-in's own detector gives the echo canceller's copy (`copy`, nullptr when the canceller
  // wrote none; then `p` alone). Either signal can hear the user first: the copy keeps the onset the suppressor
  // takes away, but under reverberation its louder residual echo can mask that onset for a while where the
  // processed capture already shows it (gain 0.7, rt60 300 ms: 164.875 ms on the copy alone, 134.875 on either).
  // Taking the higher never lets the echo interrupt on its own: the echo gate still counts only the run's
  // near-end periods of the processed capture.
  // The detector runs only while update_barge_in() uses the probability (automatic turn-taking, barge-in on, the
  // AI playing (`ai`) or a barge-in suspected): outside those ticks its answer would be thrown away. It starts
  // each stretch from a reset rather than from a history with a hole in it. Audio thread; RT-safe.
  float barge_in_probability(const float* copy, float p, size_t n, bool ai) noexcept {
    if (copy == nullptr || !barge_in_vad || !barge_in_uses_probability(vad_enabled && vad != nullptr, ai)) {
      barge_in_vad_running = false;
      return p;
    }
    if (!barge_in_vad_running) barge_in_vad->reset();
    barge_in_vad_running = true;
    return std::max(p, barge_in_vad->process(copy, n));
  }

  // Control-side state (under control_mutex_).
  std::map<std::tuple<int, int, int>, std::unique_ptr<FormatConverter>> converters;
  std::vector<std::unique_ptr<StreamBuffer>> stream_buffers;
  std::vector<float> convert_scratch;
  std::vector<float> chunk_scratch;
  bool bus_started = false;
};

// ------------------------------------------------------------------------------------------------------------
std::unique_ptr<AudioEngine> AudioEngine::create(const EngineConfig& config) {
  return std::unique_ptr<AudioEngine>(new AudioEngine(config));
}

std::unique_ptr<AudioEngine> AudioEngine::create_for_fast_lane(int sample_rate_hz, int chunk_duration_ms,
                                                               const VadConfig& vad_config) {
  EngineConfig c = EngineConfig::fast_lane();
  c.audio.sample_rate_hz = sample_rate_hz;
  c.audio.chunk_duration_ms = chunk_duration_ms;
  c.vad = vad_config;
  return create(c);
}

AudioEngine::AudioEngine(const EngineConfig& config) : config_(config) {}

AudioEngine::~AudioEngine() { (void)shutdown(); }

bool AudioEngine::is_running() const {
  if (device_clock_ != nullptr && device_clock_->running()) return true;
  return virtual_clock_ != nullptr && virtual_clock_->running();
}

bool AudioEngine::ticks_live() const {
  if (device_clock_ != nullptr && device_clock_->running()) return true;
  return virtual_clock_ != nullptr && virtual_clock_->running() && virtual_clock_->self_driven();
}

double AudioEngine::now_ms() const {
  return 1000.0 * static_cast<double>(now_samples()) / config_.audio.sample_rate_hz;
}

Status AudioEngine::initialize() {
  std::lock_guard lifecycle(lifecycle_mutex_);
  std::lock_guard lock(control_mutex_);
  if (initialized_) return ok_status();
  // Before any tick reads it (once per process).
  stage_clock::calibrate();
  auto issues = validate_config(config_);
  if (!issues.empty()) return Status(Error::kInvalidConfig, "invalid engine config: " + format_config_issues(issues));
  const int rate = config_.audio.sample_rate_hz;
  period_frames_ = ms_to_samples(rate, config_.audio.chunk_duration_ms);
  impl_ = std::make_unique<Impl>(config_, period_frames_);
  capture_ring_ = std::make_unique<SpscRing<float>>(ms_to_samples(rate, config_.queues.capture_capacity_ms));
  playback_queue_ = std::make_unique<PlaybackQueue>(ms_to_samples(rate, config_.queues.playback_capacity_ms),
                                                    static_cast<size_t>(config_.queues.max_items));
  urgent_queue_ = std::make_unique<PlaybackQueue>(ms_to_samples(rate, config_.queues.urgent_capacity_ms),
                                                  static_cast<size_t>(config_.queues.max_items));
  live_detector_ = false;
  live_barge_in_detector_ = false;
  if (config_.vad.enabled) {
    live_barge_in_detector_ = canceller_writes_copy(config_.echo, rate, period_frames_);
    auto made = make_live_detectors(config_.vad, rate, period_frames_, true, live_barge_in_detector_);
    if (!made.ok()) return made.error_info();
    impl_->vad = std::move(made.value()->vad);
    impl_->barge_in_vad = std::move(made.value()->barge_in);
    live_detector_ = true;
  }
  impl_->vad_enabled = config_.vad.enabled;
  impl_->vad_config = config_.vad;
  impl_->segmenter.configure(config_.vad, rate);
  impl_->endpoint_config = config_.endpoint;
  impl_->endpointer.configure(config_.endpoint, rate);
  impl_->delivery = config_.audio.capture_delivery;
  impl_->prefix_padding_samples = static_cast<int64_t>(ms_to_samples(rate, config_.vad.prefix_padding_ms));
  endpoint_state_.store(EndpointState::kIdle, std::memory_order_release);
  last_endpoint_sequence_.store(0, std::memory_order_release);
  impl_->stage_timing = config_.metrics.stage_timing;
  {
    EchoGateConfig gate;
    gate.sample_rate_hz = rate;
    gate.period_frames = period_frames_;
    gate.margin_db = config_.barge_in.echo_gate_margin_db;
    gate.tail_ms = config_.barge_in.echo_gate_tail_ms;
    gate.tail_fall_db = config_.barge_in.echo_gate_tail_fall_db;
    gate.max_coupling_db = config_.barge_in.echo_gate_max_coupling_db;
    gate.num_bands = config_.barge_in.echo_gate_bands;
    gate.min_near_end_bands = std::max(1, config_.barge_in.echo_gate_min_bands);
    gate.band_high_hz = std::min(gate.band_high_hz, rate / 2.0);
    if (auto st = impl_->echo_gate.prepare(gate); !st.ok()) return st;
  }
  impl_->configure_barge_in(config_.barge_in, rate);
  playback_paused_.store(false, std::memory_order_release);
  impl_->chunk_scratch.resize(period_frames_);
  if (auto chain = ensure_chain(); !chain.ok()) return chain.error_info();
  if (auto st = sync_echo_with_config_locked(); !st.ok()) return st;
  impl_->routing = active_routing_.load(std::memory_order_relaxed);
  impl_->bus.set_dispatch_hook([this] {
    {
      std::lock_guard timing_lock(impl_->timing_mutex);
      impl_->fold_stage_samples();
    }
    std::lock_guard cb_lock(chunk_callback_mutex_);
    if (!chunk_callback_) return;
    CaptureChunk chunk;
    while (pop_chunk(chunk)) chunk_callback_(chunk);
  });
  {
    std::lock_guard sub_lock(subscriptions_mutex_);
    for (auto& [id, sub] : subscriptions_) {
      sub.bus_id = sub.all_types ? impl_->bus.subscribe_all(sub.callback, sub.filter)
                                 : impl_->bus.subscribe(sub.type, sub.callback, sub.filter);
    }
    if (rt_event_callback_ != nullptr) impl_->bus.set_realtime_callback(rt_event_callback_, rt_event_user_);
  }
  virtual_clock_ = std::make_unique<VirtualClock>(config_.clock.virtual_mode);
  timeline_samples_.store(0, std::memory_order_release);
  initialized_ = true;
  return ok_status();
}

Status AudioEngine::start() {
  if (auto st = initialize(); !st.ok()) return st;
  std::lock_guard lifecycle(lifecycle_mutex_);
  if (!initialized_) return Status(Error::kShutdown, "start: the engine was shut down meanwhile");
  std::lock_guard lock(control_mutex_);
  if (!impl_->bus_started) {
    if (auto st = impl_->bus.start(); !st.ok()) return st;
    impl_->bus_started = true;
  }
  if (config_.clock.source == ClockSource::kDevice) {
    if (!device_clock_) {
      // Device faults are reported from ae-device through the control event path.
      device_clock_ = std::make_unique<PortAudioClock>(config_.device, config_.audio.resampler,
                                                       [this](const DeviceFault& f) { report_device_fault(f); });
    }
    if (!device_clock_->running()) {
      if (auto st = device_clock_->start(this, period_frames_, config_.audio.sample_rate_hz); !st.ok()) return st;
    }
    // The echo path: a render sample waits out the playback stream's latency, its echo the capture stream's.
    const DuplexStreams streams = device_clock_->streams();
    echo_delay_ms_.store(static_cast<int>(std::lround(streams.playback.total_latency_ms + streams.capture.total_latency_ms)),
                         std::memory_order_release);
    return ok_status();
  }
  echo_delay_ms_.store(-1, std::memory_order_release);
  if (!virtual_clock_->running()) {
    if (auto st = virtual_clock_->start(this, period_frames_, config_.audio.sample_rate_hz); !st.ok()) return st;
  }
  return ok_status();
}

void AudioEngine::report_device_fault(const DeviceFault& fault) {
  if (!impl_) return;
  AudioEvent ev = fault.code == Error::kOk
                      ? make_state_event(0, 0, static_cast<int32_t>(fault.from), static_cast<int32_t>(fault.to))
                      : make_error_event(0, 0, fault.code, fault.detail);
  (void)emit_event(ev);
  if (fault.code != Error::kOk) {
    (void)emit_event(make_state_event(0, 0, static_cast<int32_t>(fault.from), static_cast<int32_t>(fault.to)));
  }
}

Status AudioEngine::set_capture_device(const std::string& id_or_name) {
  std::lock_guard lock(control_mutex_);
  if (is_running()) return Status(Error::kAlreadyRunning, "set_capture_device: shut the engine down first");
  config_.device.capture_device = id_or_name;
  device_clock_.reset();
  return ok_status();
}

Status AudioEngine::set_playback_device(const std::string& id_or_name) {
  std::lock_guard lock(control_mutex_);
  if (is_running()) return Status(Error::kAlreadyRunning, "set_playback_device: shut the engine down first");
  config_.device.playback_device = id_or_name;
  device_clock_.reset();
  return ok_status();
}

Status AudioEngine::set_duplex_mode(DuplexMode mode) {
  std::lock_guard lock(control_mutex_);
  if (is_running()) return Status(Error::kAlreadyRunning, "set_duplex_mode: shut the engine down first");
  config_.device.duplex_mode = mode;
  device_clock_.reset();
  return ok_status();
}

Result<DuplexStreams> AudioEngine::start_full_duplex() {
  {
    std::lock_guard lock(control_mutex_);
    if (is_running()) return Result<DuplexStreams>(Error::kAlreadyRunning, "start_full_duplex: already running");
    if (config_.clock.source != ClockSource::kDevice) {
      if (initialized_) {
        return Result<DuplexStreams>(Error::kAlreadyRunning, "start_full_duplex: the engine was initialized on the "
                                                             "virtual clock; shut it down first");
      }
      config_.clock.source = ClockSource::kDevice;
    }
  }
  if (auto st = start(); !st.ok()) return Result<DuplexStreams>(st.error(), st.message());
  return get_device_streams();
}

DuplexStreams AudioEngine::get_device_streams() const {
  std::lock_guard lock(control_mutex_);
  return device_clock_ ? device_clock_->streams() : DuplexStreams{};
}

DeviceStats AudioEngine::get_device_stats() const {
  std::lock_guard lock(control_mutex_);
  return device_clock_ ? device_clock_->stats() : DeviceStats{};
}

Status AudioEngine::shutdown(int timeout_ms) {
  // The lifecycle mutex keeps shutdowns and starts apart; the control mutex is not held while threads are
  // stopped, so a callback that calls back into the engine (queue_playback...) cannot stall the shutdown.
  std::lock_guard lifecycle(lifecycle_mutex_);
  if (!initialized_) return ok_status();
  if (timeout_ms < 0) timeout_ms = config_.shutdown_timeout_ms;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto remaining = [&] {
    return static_cast<int>(std::max<int64_t>(
        1, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count()));
  };
  Status result = ok_status();
  if (device_clock_) {
    if (auto st = device_clock_->stop(remaining()); !st.ok()) result = st;
  }
  if (virtual_clock_) {
    if (auto st = virtual_clock_->stop(remaining()); !st.ok()) result = st;
  }
  if (impl_ && impl_->bus_started) {
    if (auto st = impl_->bus.stop(remaining()); !st.ok() && result.ok()) result = st;
    impl_->bus_started = false;
  }
  capturing_.store(false, std::memory_order_release);
  playing_.store(false, std::memory_order_release);
  // A clock thread stuck in a tick (detached by stop) still uses the engine's buffers: keep them until it leaves.
  if (virtual_clock_ && !virtual_clock_->wait_until_finished(remaining()) && result.ok()) {
    result = Status(Error::kTimeout, "shutdown: ae-audio is still inside a tick; buffers kept until it returns");
  }
  if (result.ok()) {
    std::lock_guard lock(control_mutex_);
    if (pending_restart_config_) {
      config_ = *pending_restart_config_;
      pending_restart_config_.reset();
    }
    virtual_clock_.reset();
    device_clock_.reset();
    impl_.reset();
    capture_ring_.reset();
    playback_queue_.reset();
    urgent_queue_.reset();
    initialized_ = false;
  }
  return result;
}

Status AudioEngine::reset() {
  std::lock_guard lifecycle(lifecycle_mutex_);
  const bool was_running = is_running();
  const bool was_capturing = is_capturing();
  // State is cleared in place: the event bus, its dispatcher and the stream buffers stay.
  if (!initialized_) return ok_status();
  if (was_running) {
    Clock* clock = device_clock_ && device_clock_->running() ? static_cast<Clock*>(device_clock_.get())
                                                              : static_cast<Clock*>(virtual_clock_.get());
    if (auto st = clock->stop(config_.shutdown_timeout_ms); !st.ok()) return st;
  }
  {
    std::lock_guard lock(control_mutex_);
    capture_ring_ = std::make_unique<SpscRing<float>>(capture_ring_->capacity());
    playback_queue_ = std::make_unique<PlaybackQueue>(playback_queue_->capacity_samples(),
                                                      static_cast<size_t>(config_.queues.max_items));
    urgent_queue_ = std::make_unique<PlaybackQueue>(urgent_queue_->capacity_samples(),
                                                    static_cast<size_t>(config_.queues.max_items));
    while (impl_->chunk_infos.size() > 0) {
      ChunkInfo info;
      impl_->chunk_infos.try_pop(info);
      impl_->chunk_samples.discard(static_cast<size_t>(info.num_frames));
    }
    impl_->sink.discard_all();
    if (impl_->vad) impl_->vad->reset();
    impl_->segmenter.reset();
    impl_->vad_hold.reset();
    impl_->endpointer.reset();
    impl_->history.clear();
    impl_->gate_open = false;
    impl_->was_capturing = false;
    impl_->delivered_until = 0;
    impl_->endpoint_in_chunk = false;
    endpoint_state_.store(EndpointState::kIdle);
    last_endpoint_sequence_.store(0);
    impl_->current_item = 0;
    impl_->has_item = false;
    impl_->played_in_item = 0;
    impl_->item_completed = false;
    impl_->interrupted_item.store(0);
    impl_->interrupted_held_item.store(0);
    impl_->urgent_item_id = 0;
    impl_->urgent_item_tag = 0;
    impl_->other_lane = {};
    impl_->urgent_lane = false;
    impl_->main_held = false;
    impl_->resume_ramp_done = SIZE_MAX;
    impl_->lane_switched = false;
    impl_->plan_len = 0;
    impl_->plan_main_only = false;
    impl_->playback_stopped.store(false);
    impl_->tracker.reset();
    impl_->run_start = -1;
    impl_->suspected = false;
    impl_->quiet_since = -1;
    impl_->paused = false;
    impl_->ducked = false;
    impl_->gain = 1.0f;
    impl_->gain_command = GainCommand::kNone;
    impl_->pending_interrupt = false;
    impl_->ptt_seen = false;
    impl_->user_forced = false;
    impl_->user_suppressed = false;
    playback_paused_.store(false);
    for (auto* c : {&impl_->counters.ticks, &impl_->counters.chunks_delivered, &impl_->counters.chunks_dropped,
                    &impl_->counters.capture_dropped_samples, &impl_->counters.source_idle_samples,
                    &impl_->counters.playback_dropped_samples, &impl_->counters.flushed_samples,
                    &impl_->counters.stale_samples_dropped, &impl_->counters.playback_underruns,
                    &impl_->counters.sink_dropped_samples, &impl_->counters.interruptions,
                    &impl_->counters.barge_ins, &impl_->counters.barge_in_echo_gated_runs,
                    &impl_->counters.vad_echo_vetoed_segments,
                    &impl_->counters.vad_speech_starts, &impl_->counters.endpoints,
                    &impl_->counters.speech_gated_samples, &impl_->counters.prefix_truncated_samples,
                    &impl_->counters.stage_samples_dropped}) {
      c->store(0);
    }
    {
      std::lock_guard timing_lock(impl_->timing_mutex);
      impl_->stage_samples.discard_all();
      for (auto* h : {&impl_->tick_hist, &impl_->capture_hist, &impl_->vad_hist, &impl_->playback_hist,
                      &impl_->output_hist}) {
        h->reset();
      }
    }
    timeline_samples_.store(0);
    played_total_.store(0);
    playing_.store(false);
    vad_state_.store(VadState::kSilence);
    vad_probability_.store(0);
    capturing_.store(was_capturing);
  }
  if (was_running) {
    std::lock_guard lock(control_mutex_);
    if (config_.clock.source == ClockSource::kDevice && device_clock_) {
      return device_clock_->start(this, period_frames_, config_.audio.sample_rate_hz);
    }
    return virtual_clock_->start(this, period_frames_, config_.audio.sample_rate_hz);
  }
  return ok_status();
}

ResourceStatus AudioEngine::get_resource_status() const {
  std::lock_guard lock(control_mutex_);
  ResourceStatus s;
  s.initialized = initialized_;
  s.running = is_running();
  s.capturing = is_capturing();
  s.clock = config_.clock.source;
  s.clock_mode = config_.clock.source == ClockSource::kDevice ? "device" : to_string(config_.clock.virtual_mode);
  s.sink = config_.clock.source == ClockSource::kDevice && config_.device.duplex_mode != DuplexMode::kCaptureOnly
               ? "device"
               : "memory";
  if (!initialized_) return s;
  if (device_clock_ && device_clock_->running()) s.threads.push_back("ae-device");
  if (virtual_clock_->running() && config_.clock.virtual_mode != VirtualClockMode::kInline) s.threads.push_back("ae-audio");
  if (impl_->bus_started) s.threads.push_back("ae-events");
  s.audio_buffer_bytes = capture_ring_->memory_bytes() + playback_queue_->memory_bytes() +
                         urgent_queue_->memory_bytes() +
                         impl_->chunk_samples.memory_bytes() + impl_->chunk_infos.memory_bytes() +
                         impl_->sink.memory_bytes() + impl_->history.memory_bytes() +
                         (impl_->capture_buf.size() + impl_->play_buf.size() + impl_->backlog_buf.size() +
                          impl_->chunk_scratch.size() + impl_->main_scratch.size() + impl_->urgent_scratch.size()) *
                             sizeof(float);
  s.event_buffer_bytes = impl_->bus.memory_bytes();
  s.ticks = impl_->counters.ticks.load();
  s.vad_detectors = live_detector_ ? 1 + static_cast<int>(live_barge_in_detector_) : 0;
  return s;
}

// ---- configuration -----------------------------------------------------------------------------------------
Result<ConfigUpdate> AudioEngine::update_config(const EngineConfig& config) {
  auto issues = validate_config(config);
  if (!issues.empty()) {
    return Result<ConfigUpdate>(Error::kInvalidConfig, "invalid engine config: " + format_config_issues(issues));
  }
  std::lock_guard lock(control_mutex_);
  ConfigUpdate update = diff_config(config_, config);
  if (!initialized_) {
    // Nothing runs yet: everything takes effect at initialize().
    update.applied.insert(update.applied.end(), update.needs_restart.begin(), update.needs_restart.end());
    update.needs_restart.clear();
    config_ = config;
    return update;
  }
  // Keep the running structure; store the hot fields now and the cold ones for the next initialize().
  EngineConfig next = config_;
  next.vad.activation_threshold = config.vad.activation_threshold;
  next.vad.deactivation_threshold = config.vad.deactivation_threshold;
  next.vad.min_speech_ms = config.vad.min_speech_ms;
  next.vad.min_silence_ms = config.vad.min_silence_ms;
  next.vad.prefix_padding_ms = config.vad.prefix_padding_ms;
  next.vad.enabled = config.vad.enabled;
  next.endpoint = config.endpoint;
  next.audio.capture_delivery = config.audio.capture_delivery;
  next.barge_in = config.barge_in;
  next.audio.playback_sample_type = config.audio.playback_sample_type;
  next.queues.playback_overflow = config.queues.playback_overflow;
  next.queues.capture_overflow = config.queues.capture_overflow;
  next.queues.block_timeout_ms = config.queues.block_timeout_ms;
  next.metrics = config.metrics;
  next.shutdown_timeout_ms = config.shutdown_timeout_ms;
  if (next.vad.enabled && !live_detector_) {
    // Turned on without a detector (the engine started with the VAD off): build it here, off the audio thread.
    if (auto st = post_live_detector_locked(next.vad); !st.ok()) return Result<ConfigUpdate>(st.error(), st.message());
  }
  pending_restart_config_ = config;
  config_ = next;
  if (auto st = apply_hot_locked("update_config"); !st.ok()) return Result<ConfigUpdate>(st.error(), st.message());
  return update;
}

Status AudioEngine::configure_fast_lane(int max_latency_ms, float vad_threshold, int interrupt_threshold_ms) {
  if (max_latency_ms < 10 || max_latency_ms > 1000) {
    return Status(Error::kInvalidArgument,
                  "configure_fast_lane: max_latency_ms = " + std::to_string(max_latency_ms) + "; valid: 10..1000");
  }
  if (!(vad_threshold > 0.0f && vad_threshold < 1.0f)) {
    return Status(Error::kInvalidArgument,
                  "configure_fast_lane: vad_threshold = " + std::to_string(vad_threshold) + "; valid: (0, 1)");
  }
  if (interrupt_threshold_ms < 0 || interrupt_threshold_ms > 5000) {
    return Status(Error::kInvalidArgument, "configure_fast_lane: interrupt_threshold_ms = " +
                                               std::to_string(interrupt_threshold_ms) + "; valid: 0..5000");
  }
  EngineConfig c = config_;
  // The period is the largest contributor to latency we control: one period in, one period out.
  c.audio.chunk_duration_ms = max_latency_ms >= 60 ? 20 : 10;
  c.vad.activation_threshold = vad_threshold;
  c.vad.deactivation_threshold = std::min(c.vad.deactivation_threshold, vad_threshold * 0.8f);
  c.vad.min_speech_ms = interrupt_threshold_ms;
  c.barge_in.enabled = true;
  c.barge_in.min_speech_ms = interrupt_threshold_ms;
  c.barge_in.probability_threshold = vad_threshold;
  auto r = update_config(c);
  if (!r.ok()) return Status(r.error(), r.message());
  return ok_status();
}

// ---- clock -------------------------------------------------------------------------------------------------
Status AudioEngine::advance(int64_t duration_ms) {
  if (config_.clock.source == ClockSource::kDevice) {
    return Status(Error::kInvalidArgument, "advance: the engine runs on a device clock (clock.source = device)");
  }
  if (!is_running()) return Status(Error::kNotRunning, "advance: call start() first");
  const Status st = virtual_clock_->advance(duration_ms);
  reclaim_processors();
  return st;
}

Status AudioEngine::advance_ticks_through_clock(int64_t num_ticks) {
  if (config_.clock.source == ClockSource::kDevice) {
    return Status(Error::kInvalidArgument, "advance_ticks: the engine runs on a device clock (clock.source = device)");
  }
  if (!is_running()) return Status(Error::kNotRunning, "advance_ticks: call start() first");
  const Status st = virtual_clock_->advance_ticks(num_ticks);
  reclaim_processors();
  return st;
}

// ---- consumer-side access between ticks ----------------------------------------------------------------------
// When ticks only run on request (inline / stepped virtual clock, or a stopped clock), a control thread may act
// as the consumer of the audio-thread-owned queues between two ticks. The token is a spin flag, never a mutex:
// a tick in these modes takes it too and so never overlaps such a control action. When ticks run by themselves
// control threads never take it; they post requests that the next tick applies.
namespace {
class TokenGuard {
 public:
  explicit TokenGuard(std::atomic<bool>& token) : token_(token) {
    while (token_.exchange(true, std::memory_order_acquire)) std::this_thread::yield();
  }
  ~TokenGuard() { token_.store(false, std::memory_order_release); }
  TokenGuard(const TokenGuard&) = delete;
  TokenGuard& operator=(const TokenGuard&) = delete;

 private:
  std::atomic<bool>& token_;
};
}  // namespace

// ---- capture -----------------------------------------------------------------------------------------------
Status AudioEngine::start_capture() {
  if (!initialized_) return Status(Error::kNotInitialized, "start_capture: call initialize() first");
  capturing_.store(true, std::memory_order_release);
  return ok_status();
}

Status AudioEngine::stop_capture() {
  capturing_.store(false, std::memory_order_release);
  return ok_status();
}

Status AudioEngine::inject_test_audio(std::span<const float> mono) {
  if (!initialized_) return error_status(Error::kNotInitialized, "inject_test_audio: call initialize() first");
  // Producers of the capture ring are serialised by a spin flag of their own: the critical section is a memcpy,
  // cheaper than the control mutex, and unrelated control calls do not wait on it.
  TokenGuard producer(impl_->capture_producer);
  const size_t done = capture_ring_->try_push_bulk(mono.data(), mono.size());
  if (done == mono.size()) [[likely]] return ok_status();
  return inject_rest(mono, done);
}

Status AudioEngine::inject_rest(std::span<const float> mono, size_t done) {
  if (config_.queues.capture_overflow == OverflowPolicy::kBlockProducer && ticks_live()) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.queues.block_timeout_ms);
    while (done < mono.size() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(500));
      done += capture_ring_->try_push_bulk(mono.data() + done, mono.size() - done);
    }
  }
  if (done < mono.size()) {
    const size_t lost = mono.size() - done;
    bump(impl_->counters.capture_dropped_samples, static_cast<int64_t>(lost));
    return Status(Error::kQueueFull, "inject_test_audio: capture queue full (" +
                                         std::to_string(capture_ring_->capacity()) + " samples, policy " +
                                         to_string(config_.queues.capture_overflow) + "); " + std::to_string(lost) +
                                         " of " + std::to_string(mono.size()) + " samples dropped");
  }
  return ok_status();
}

namespace {
// Converts `num_bytes` of `format` into mono float at the engine rate, through a cached converter.
template <typename Map>
Result<size_t> convert_to_engine(Map& converters, std::vector<float>& out, const void* data, size_t num_bytes,
                                 const AudioFormat& format, int engine_rate, ResamplerKind kind) {
  if (auto st = validate_format(format); !st.ok()) return Result<size_t>(st.error(), st.message());
  const size_t frame_bytes = bytes_per_frame(format);
  if (num_bytes % frame_bytes != 0) {
    return Result<size_t>(Error::kInvalidArgument, "num_bytes = " + std::to_string(num_bytes) +
                                                       " is not a whole number of frames of " + to_string(format) +
                                                       " (" + std::to_string(frame_bytes) + " bytes each)");
  }
  const size_t frames = num_bytes / frame_bytes;
  const AudioFormat engine_format{engine_rate, 1, SampleType::kFloat32};
  auto key = std::make_tuple(format.sample_rate_hz, format.channels, static_cast<int>(format.sample_type));
  auto it = converters.find(key);
  if (it == converters.end()) {
    auto conv = FormatConverter::create(format, engine_format, kind, 4096);
    if (!conv.ok()) return Result<size_t>(conv.error(), conv.message());
    it = converters.emplace(key, std::move(conv).value()).first;
  }
  out.resize(it->second->max_output_frames(frames) + 16);
  const size_t n = it->second->convert_to_float(data, frames, out.data(), out.size());
  return n;
}
}  // namespace

Status AudioEngine::inject_test_audio(const void* data, size_t num_bytes, const AudioFormat& format) {
  if (!initialized_) return Status(Error::kNotInitialized, "inject_test_audio: call initialize() first");
  // The conversion scratch is the control side's: convert and push under the control mutex (the push itself
  // takes only the capture producers' spin flag), with no copy in between.
  std::lock_guard lock(control_mutex_);
  auto n = convert_to_engine(impl_->converters, impl_->convert_scratch, data, num_bytes, format,
                             config_.audio.sample_rate_hz, config_.audio.resampler);
  if (!n.ok()) return Status(n.error(), "inject_test_audio: " + n.message());
  return inject_test_audio(std::span<const float>(impl_->convert_scratch.data(), *n));
}

bool AudioEngine::try_read_chunk(CaptureChunk& out) {
  if (!initialized_) return false;
  // With a chunk callback, ae-events is the chunk rings' only consumer.
  if (chunk_callback_set_.load(std::memory_order_acquire)) return false;
  return pop_chunk(out);
}

bool AudioEngine::pop_chunk(CaptureChunk& out) {
  if (!impl_->chunk_infos.try_pop(out.info)) return false;  // (out.info is left alone when there is none)
  out.format = AudioFormat{config_.audio.sample_rate_hz, 1, config_.audio.chunk_sample_type};
  out.samples.resize(static_cast<size_t>(out.info.num_frames));
  impl_->chunk_samples.try_pop_bulk(out.samples.data(), out.samples.size());
  out.data.resize(out.samples.size() * impl_->chunk_bytes_per_sample);
  encode_samples(out.samples.data(), out.samples.size(), out.format.sample_type, out.data.data());
  return true;
}

bool AudioEngine::read_chunk(CaptureChunk& out, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!try_read_chunk(out)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return true;
}

void AudioEngine::set_chunk_callback(ChunkCallback callback) {
  std::lock_guard cb_lock(chunk_callback_mutex_);
  chunk_callback_set_.store(static_cast<bool>(callback), std::memory_order_release);
  chunk_callback_ = std::move(callback);
}

void AudioEngine::set_realtime_chunk_callback(RealtimeChunkCallback callback, void* user_data) {
  std::lock_guard lock(control_mutex_);
  // Clear, then set the data, then the function: the audio thread never pairs a function with stale data.
  rt_chunk_callback_.store(nullptr, std::memory_order_release);
  rt_chunk_user_.store(user_data, std::memory_order_release);
  rt_chunk_callback_.store(callback, std::memory_order_release);
}

// ---- playback ----------------------------------------------------------------------------------------------
Status AudioEngine::write_playback(const float* samples, size_t num_samples, uint64_t item_id, bool never_block,
                                   PlaybackPriority priority) {
  // Caller holds control_mutex_.
  Impl& s = *impl_;
  if (item_id != 0 && (item_id == s.interrupted_item.load(std::memory_order_acquire) ||
                       item_id == s.interrupted_held_item.load(std::memory_order_acquire))) {
    bump(s.counters.stale_samples_dropped, static_cast<int64_t>(num_samples));
    return ok_status();
  }
  // The lane: an urgent priority, or more audio for the item last queued as urgent (which keeps its priority, so
  // its pieces stay one item).
  int32_t tag = 0;
  if (item_id != 0 && item_id == s.urgent_item_id) {
    tag = s.urgent_item_tag;
  } else if (priority == PlaybackPriority::kNext || priority == PlaybackPriority::kInterject) {
    tag = static_cast<int32_t>(priority);
    s.urgent_item_id = item_id;
    s.urgent_item_tag = tag;
  }
  PlaybackQueue& q = tag != 0 ? *urgent_queue_ : *playback_queue_;
  const OverflowPolicy policy = config_.queues.playback_overflow;
  if (never_block) {
    if (q.write_available() < num_samples) return Status(Error::kQueueFull, "play_audio_sync: playback queue full");
  }
  if (policy == OverflowPolicy::kDropOldest && q.write_available() < num_samples) {
    const size_t need = std::min(num_samples, q.capacity_samples()) - q.write_available();
    q.request_discard_oldest(need);
    bump(impl_->counters.playback_dropped_samples, static_cast<int64_t>(need));
    if (!ticks_live()) {
      TokenGuard token(impl_->tick_token);
      auto outcome = q.apply_requests();
      (void)outcome;
    }
  }
  size_t done = q.try_write(samples, num_samples, item_id, tag);
  if (done < num_samples && ticks_live() &&
      (policy == OverflowPolicy::kBlockProducer || policy == OverflowPolicy::kDropOldest)) {
    // Room appears as ticks consume (or, for drop-oldest, once the next tick applied the discard).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.queues.block_timeout_ms);
    while (done < num_samples && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(500));
      done += q.try_write(samples + done, num_samples - done, item_id, tag);
    }
  }
  if (done < num_samples) {
    const size_t lost = num_samples - done;
    bump(impl_->counters.playback_dropped_samples, static_cast<int64_t>(lost));
    if (policy == OverflowPolicy::kDropNewest) return ok_status();
    return Status(Error::kQueueFull, "queue_playback: playback queue full (" + std::to_string(q.capacity_samples()) +
                                         " samples, policy " + to_string(policy) + "); " + std::to_string(lost) +
                                         " of " + std::to_string(num_samples) + " samples dropped");
  }
  return ok_status();
}

Status AudioEngine::queue_playback(const void* data, size_t num_bytes, uint64_t item_id, PlaybackPriority priority) {
  return queue_playback(data, num_bytes,
                        AudioFormat{config_.audio.sample_rate_hz, 1, config_.audio.playback_sample_type}, item_id,
                        priority);
}

Status AudioEngine::queue_playback(const void* data, size_t num_bytes, const AudioFormat& format, uint64_t item_id,
                                   PlaybackPriority priority) {
  if (!initialized_) return Status(Error::kNotInitialized, "queue_playback: call initialize() first");
  if (priority != PlaybackPriority::kNormal && priority != PlaybackPriority::kReplace &&
      priority != PlaybackPriority::kNext && priority != PlaybackPriority::kInterject) {
    return Status(Error::kInvalidArgument, "queue_playback: priority = " + std::to_string(static_cast<int>(priority)) +
                                               "; valid: normal (0), replace (1), next (2) or interject (3)");
  }
  if (priority == PlaybackPriority::kReplace &&
      (is_playing_audio() || playback_queue_->queued_samples() > 0 || urgent_queue_->queued_samples() > 0)) {
    auto cut = interrupt_playback(InterruptReason::kFlush, config_.queues.block_timeout_ms);
    if (!cut.ok()) return Status(cut.error(), "queue_playback (replace): " + cut.message());
  }
  std::lock_guard lock(control_mutex_);
  auto n = convert_to_engine(impl_->converters, impl_->convert_scratch, data, num_bytes, format,
                             config_.audio.sample_rate_hz, config_.audio.resampler);
  if (!n.ok()) return Status(n.error(), "queue_playback: " + n.message());
  return write_playback(impl_->convert_scratch.data(), *n, item_id, false, priority);
}

Status AudioEngine::play_audio(const void* data, size_t num_bytes, uint64_t item_id) {
  if (initialized_) impl_->playback_stopped.store(false, std::memory_order_release);
  return queue_playback(data, num_bytes, item_id);
}

bool AudioEngine::play_audio_sync(const void* data, size_t num_bytes, uint64_t item_id) {
  if (!initialized_) return false;
  std::lock_guard lock(control_mutex_);
  const AudioFormat format{config_.audio.sample_rate_hz, 1, config_.audio.playback_sample_type};
  auto n = convert_to_engine(impl_->converters, impl_->convert_scratch, data, num_bytes, format,
                             config_.audio.sample_rate_hz, config_.audio.resampler);
  if (!n.ok()) return false;
  impl_->playback_stopped.store(false, std::memory_order_release);
  return write_playback(impl_->convert_scratch.data(), *n, item_id, true, PlaybackPriority::kNormal).ok();
}

Status AudioEngine::stop_playback() {
  if (!initialized_) return Status(Error::kNotInitialized, "stop_playback: call initialize() first");
  impl_->playback_stopped.store(true, std::memory_order_release);
  flush_playback_queue();
  return ok_status();
}

size_t AudioEngine::flush_playback_queue() {
  if (!initialized_) return 0;
  std::lock_guard lock(control_mutex_);
  PlaybackQueue& q = *playback_queue_;
  PlaybackQueue& u = *urgent_queue_;
  const size_t bps = bytes_per_sample(config_.audio.playback_sample_type);
  if (ticks_live()) {
    // What is queued now is what the next tick boundary discards, less at most the period a tick in progress
    // is already playing; the exact figure lands in metrics.flushed_samples.
    const size_t queued = q.queued_samples() + u.queued_samples();
    q.request_flush();
    u.request_flush();
    return queued * bps;
  }
  q.request_flush();
  u.request_flush();
  TokenGuard token(impl_->tick_token);
  const uint64_t discarded = q.apply_requests().discarded_samples + u.apply_requests().discarded_samples;
  bump_single_writer(impl_->counters.flushed_samples, static_cast<int64_t>(discarded));
  return static_cast<size_t>(discarded) * bps;
}

FlushAllResult AudioEngine::flush_all_queues() {
  FlushAllResult r;
  if (!initialized_) return r;
  r.playback_bytes = flush_playback_queue();
  r.stream_buffer_frames = flush_buffers();
  std::lock_guard lock(control_mutex_);
  if (!ticks_live()) {
    TokenGuard token(impl_->tick_token);
    r.capture_samples = capture_ring_->discard_all();
  }
  if (std::lock_guard cb_lock(chunk_callback_mutex_); !chunk_callback_) {
    ChunkInfo info;
    while (impl_->chunk_infos.try_pop(info)) {
      impl_->chunk_samples.discard(static_cast<size_t>(info.num_frames));
      ++r.chunks;
    }
  }
  return r;
}

Result<InterruptResult> AudioEngine::interrupt_playback(InterruptReason reason, int timeout_ms) {
  if (!initialized_) return Result<InterruptResult>(Error::kNotInitialized, "interrupt_playback: call initialize() first");
  std::lock_guard lock(control_mutex_);
  if (!ticks_live()) {
    TokenGuard token(impl_->tick_token);
    return apply_interrupt_on_audio_thread(reason);
  }
  impl_->interrupt_reason.store(static_cast<uint8_t>(reason), std::memory_order_relaxed);
  const uint64_t epoch = impl_->interrupt_requests.request();
  impl_->post_control();
  if (!wait_for_ack(impl_->interrupt_ack_epoch, epoch, timeout_ms)) {
    return Result<InterruptResult>(Error::kTimeout, "interrupt_playback: no tick ran within " +
                                                        std::to_string(timeout_ms) +
                                                        " ms; the interruption applies at the next tick");
  }
  return impl_->last_interrupt;
}

bool AudioEngine::wait_for_ack(const std::atomic<uint64_t>& ack_epoch, uint64_t epoch, int timeout_ms) const {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::milliseconds(timeout_ms);
  // The next tick boundary is at most one period away: yield through that much, then poll less eagerly.
  const auto spin_until = start + std::chrono::milliseconds(config_.audio.chunk_duration_ms);
  while (ack_epoch.load(std::memory_order_acquire) < epoch) {
    const auto now = std::chrono::steady_clock::now();
    if (now < spin_until) {
      std::this_thread::yield();
      continue;
    }
    if (now >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

InterruptResult AudioEngine::apply_interrupt_on_audio_thread(InterruptReason reason, int64_t silent_from) noexcept {
  // Runs on the audio thread (or on a control thread holding the tick token): the consumer side.
  Impl& s = *impl_;
  PlaybackQueue& q = *playback_queue_;
  PlaybackQueue& u = *urgent_queue_;
  const uint64_t pending = q.apply_requests().discarded_samples + u.apply_requests().discarded_samples;
  bump_single_writer(s.counters.flushed_samples, static_cast<int64_t>(pending));
  const uint64_t flushed = q.discard_all() + u.discard_all();
  bump_single_writer(s.counters.flushed_samples, static_cast<int64_t>(flushed));
  InterruptResult r;
  r.was_playing = playing_.load(std::memory_order_relaxed) || flushed > 0;
  r.item_id = s.current_item;
  r.played_samples = s.played_in_item;
  r.flushed_samples = static_cast<int64_t>(flushed + pending);
  const double rate = config_.audio.sample_rate_hz;
  r.played_ms = 1000.0 * static_cast<double>(r.played_samples) / rate;
  // Both lanes are cut: the item the urgent lane was holding (or whose turn it took) goes stale too.
  if (s.urgent_lane) {
    if (s.main_held) {
      r.held_item_id = s.other_lane.current_item;
      r.held_played_samples = s.other_lane.played_in_item;
      r.held_played_ms = 1000.0 * static_cast<double>(r.held_played_samples) / rate;
    }
    if (s.other_lane.has_item && s.other_lane.current_item != 0) {
      s.interrupted_held_item.store(s.other_lane.current_item, std::memory_order_release);
    }
  }
  s.other_lane = {};
  s.urgent_lane = false;
  s.main_held = false;
  s.lane_switched = false;
  s.resume_ramp_done = SIZE_MAX;
  r.audio_flushed_ms = 1000.0 * static_cast<double>(r.flushed_samples) / rate;
  r.at_sample = silent_from >= 0 ? silent_from : timeline_samples_.load(std::memory_order_relaxed);
  r.reason = reason;
  // The output of earlier ticks still ahead of the DAC (only a running device has any) plays out before the
  // speaker falls silent; of this item, what it covers had not been heard when the engine cut its output.
  const int64_t output_pending = device_clock_ != nullptr && device_clock_->running()
                                     ? std::max<int64_t>(0, device_clock_->output_pending_samples())
                                     : 0;
  r.in_device_samples = std::min(output_pending, r.played_samples);
  r.heard_at_decision_samples = r.played_samples - r.in_device_samples;
  r.heard_at_decision_ms = 1000.0 * static_cast<double>(r.heard_at_decision_samples) / rate;
  r.output_silent_at_samples = r.at_sample + output_pending;
  if (s.current_item != 0) s.interrupted_item.store(s.current_item, std::memory_order_release);
  if (r.was_playing && reason != InterruptReason::kFlush) s.tracker.on_interruption(reason == InterruptReason::kBargeIn);
  playing_.store(false, std::memory_order_release);
  // Whatever held or ducked the AI is over with it.
  if (s.suspected) end_suspicion(true, false);
  s.paused = false;
  s.ducked = false;
  s.gain = 1.0f;
  s.gain_command = GainCommand::kNone;
  playback_paused_.store(false, std::memory_order_release);
  bump_single_writer(s.counters.interruptions);
  if (reason == InterruptReason::kBargeIn) bump_single_writer(s.counters.barge_ins);
  AudioEvent ev{};
  ev.type = AudioEventType::kInterrupt;
  ev.t_samples = r.at_sample;
  ev.sample_rate_hz = config_.audio.sample_rate_hz;
  ev.interrupt.flushed_samples = r.flushed_samples;
  ev.interrupt.played_samples = r.played_samples;
  ev.interrupt.item_id = r.item_id;
  ev.interrupt.heard_at_decision_samples = r.heard_at_decision_samples;
  ev.interrupt.output_silent_at_samples = r.output_silent_at_samples;
  ev.interrupt.reason = reason;
  ev.interrupt.speech_run_samples =
      reason == InterruptReason::kBargeIn && s.pending_onset >= 0 && s.pending_onset <= r.at_sample
          ? static_cast<int32_t>(std::min<int64_t>(r.at_sample - s.pending_onset, INT32_MAX))
          : -1;
  s.bus.publish(ev);
  s.last_interrupt = r;
  s.interrupt_ack_epoch.store(s.interrupt_requests.epoch(), std::memory_order_release);
  return r;
}

QueueDepths AudioEngine::get_queue_depths() const {
  QueueDepths d;
  if (!initialized_) return d;
  d.capture_samples = capture_ring_->size();
  d.playback_samples = playback_queue_->queued_samples() + urgent_queue_->queued_samples();
  d.chunks = impl_->chunk_infos.size();
  const double rate = config_.audio.sample_rate_hz;
  d.capture_ms = 1000.0 * static_cast<double>(d.capture_samples) / rate;
  d.playback_ms = 1000.0 * static_cast<double>(d.playback_samples) / rate;
  return d;
}

size_t AudioEngine::read_played_audio(float* dst, size_t max_samples) {
  if (!initialized_) return 0;
  return impl_->sink.try_pop_bulk(dst, max_samples);
}

// ---- stream buffers ----------------------------------------------------------------------------------------
Result<BufferId> AudioEngine::create_stream_buffer(const StreamBufferConfig& config) {
  if (auto st = validate_format(config.format); !st.ok()) {
    return Result<BufferId>(st.error(), "create_stream_buffer: " + st.message());
  }
  if (config.capacity_ms <= 0 || config.capacity_ms > 600000) {
    return Result<BufferId>(Error::kInvalidArgument, "create_stream_buffer: capacity_ms = " +
                                                         std::to_string(config.capacity_ms) + "; valid: 1..600000");
  }
  if (config.ready_threshold_ms < 0 || config.ready_threshold_ms > config.capacity_ms) {
    return Result<BufferId>(Error::kInvalidArgument, "create_stream_buffer: ready_threshold_ms = " +
                                                         std::to_string(config.ready_threshold_ms) + "; valid: 0.." +
                                                         std::to_string(config.capacity_ms) + " (capacity_ms)");
  }
  if (!initialized_) return Result<BufferId>(Error::kNotInitialized, "create_stream_buffer: call initialize() first");
  std::lock_guard lock(control_mutex_);
  const auto id = static_cast<BufferId>(impl_->stream_buffers.size() + 1);
  impl_->stream_buffers.push_back(std::make_unique<StreamBuffer>(id, config));
  return id;
}

StreamBuffer* AudioEngine::get_stream_buffer(BufferId id) {
  std::lock_guard lock(control_mutex_);
  if (!impl_ || id == 0 || id > impl_->stream_buffers.size()) return nullptr;
  return impl_->stream_buffers[id - 1].get();
}

Result<BufferStatus> AudioEngine::get_buffer_status(BufferId id) const {
  std::lock_guard lock(control_mutex_);
  if (!impl_ || id == 0 || id > impl_->stream_buffers.size()) {
    return Result<BufferStatus>(Error::kInvalidArgument, "get_buffer_status: no stream buffer with id " +
                                                             std::to_string(id));
  }
  return impl_->stream_buffers[id - 1]->status();
}

size_t AudioEngine::flush_buffers() {
  std::lock_guard lock(control_mutex_);
  size_t n = 0;
  if (!impl_) return 0;
  for (auto& b : impl_->stream_buffers) n += b->flush();
  return n;
}

Status AudioEngine::wait_for_buffer_ready(BufferId id, int timeout_ms) {
  StreamBuffer* b = get_stream_buffer(id);
  if (b == nullptr) {
    return Status(Error::kInvalidArgument, "wait_for_buffer_ready: no stream buffer with id " + std::to_string(id));
  }
  if (!b->wait_until_ready(timeout_ms)) {
    return Status(Error::kTimeout, "wait_for_buffer_ready: buffer " + std::to_string(id) + " not ready after " +
                                       std::to_string(timeout_ms) + " ms");
  }
  return ok_status();
}

// ---- events ------------------------------------------------------------------------------------------------
SubscriptionId AudioEngine::add_subscription(bool all_types, AudioEventType type, EventCallback callback,
                                             EventFilter filter) {
  if (!callback) return 0;
  std::lock_guard sub_lock(subscriptions_mutex_);
  Subscription sub{all_types, type, std::move(callback), std::move(filter), 0};
  if (impl_) {
    sub.bus_id = all_types ? impl_->bus.subscribe_all(sub.callback, sub.filter)
                           : impl_->bus.subscribe(type, sub.callback, sub.filter);
  }
  const SubscriptionId id = next_subscription_id_++;
  subscriptions_.emplace(id, std::move(sub));
  return id;
}

SubscriptionId AudioEngine::subscribe(AudioEventType type, EventCallback callback, EventFilter filter) {
  return add_subscription(false, type, std::move(callback), std::move(filter));
}

SubscriptionId AudioEngine::subscribe_all(EventCallback callback, EventFilter filter) {
  return add_subscription(true, AudioEventType::kCustom, std::move(callback), std::move(filter));
}

bool AudioEngine::unsubscribe(SubscriptionId id) {
  SubscriptionId bus_id = 0;
  {
    std::lock_guard sub_lock(subscriptions_mutex_);
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end()) return false;
    bus_id = it->second.bus_id;
    subscriptions_.erase(it);
  }
  // Outside the lock: the bus waits for a running callback to finish, and that callback may subscribe.
  if (impl_ && bus_id != 0) impl_->bus.unsubscribe(bus_id);
  return true;
}

std::optional<AudioEvent> AudioEngine::wait_for_event(AudioEventType type, int timeout_ms,
                                                      std::optional<uint64_t> after_sequence) {
  if (!impl_) return std::nullopt;
  return impl_->bus.wait_for_event(type, timeout_ms, after_sequence);
}

Status AudioEngine::emit_event(AudioEvent event) {
  if (!impl_) return Status(Error::kNotInitialized, "emit_event: call initialize() first");
  event.t_samples = now_samples();
  event.sample_rate_hz = config_.audio.sample_rate_hz;
  if (!impl_->bus.emit(event)) return Status(Error::kQueueFull, "emit_event: control event queue full");
  return ok_status();
}

void AudioEngine::set_realtime_event_callback(RealtimeEventCallback callback, void* user_data) {
  std::lock_guard sub_lock(subscriptions_mutex_);
  rt_event_callback_ = callback;
  rt_event_user_ = user_data;
  if (impl_) impl_->bus.set_realtime_callback(callback, user_data);
}

bool AudioEngine::wait_until_dispatched(int timeout_ms) { return !impl_ || impl_->bus.wait_until_dispatched(timeout_ms); }

// ---- metrics -----------------------------------------------------------------------------------------------
EngineMetrics AudioEngine::get_metrics() const {
  EngineMetrics m;
  const auto rtc = rt::violation_counts();
  if (rt::probe_installed()) {
    m.audio_thread_allocations = static_cast<int64_t>(rtc.allocations);
    m.audio_thread_mutex_locks = static_cast<int64_t>(rtc.mutex_locks);
  }
  m.tick_budget_ms = config_.audio.chunk_duration_ms;
  if (auto echo = get_duplex_metrics(); echo.ok()) {
    m.echo_cancellation = true;
    m.echo_erle_db = echo->erle_db;
    m.echo_delay_ms = echo->delay_ms;
    m.echo_double_talk_fraction = echo->double_talk_fraction;
    m.echo_far_end_active_fraction = echo->far_end_active_fraction;
    m.echo_frames = echo->frames;
  }
  if (!impl_) return m;
  const Counters& c = impl_->counters;
  auto ld = [](const std::atomic<int64_t>& a) { return a.load(std::memory_order_relaxed); };
  m.ticks = ld(c.ticks);
  m.processed_samples = now_samples();
  m.processed_ms = now_ms();
  m.chunks_delivered = ld(c.chunks_delivered);
  m.chunks_dropped = ld(c.chunks_dropped);
  m.capture_dropped_samples = ld(c.capture_dropped_samples);
  m.source_idle_samples = ld(c.source_idle_samples);
  m.played_samples = played_total_.load(std::memory_order_relaxed);
  m.playback_dropped_samples = ld(c.playback_dropped_samples);
  m.flushed_samples = ld(c.flushed_samples);
  m.stale_samples_dropped = ld(c.stale_samples_dropped);
  m.playback_underruns = ld(c.playback_underruns);
  m.sink_overwritten_samples = ld(c.sink_dropped_samples);
  m.interruptions = ld(c.interruptions);
  m.barge_ins = ld(c.barge_ins);
  m.barge_in_echo_gated_runs = ld(c.barge_in_echo_gated_runs);
  m.vad_echo_vetoed_segments = ld(c.vad_echo_vetoed_segments);
  m.vad_speech_starts = ld(c.vad_speech_starts);
  m.mode_switches = ld(c.mode_switches);
  m.endpoints = ld(c.endpoints);
  m.speech_gated_samples = ld(c.speech_gated_samples);
  m.prefix_truncated_samples = ld(c.prefix_truncated_samples);
  const auto bs = impl_->bus.stats();
  m.events_published = static_cast<int64_t>(bs.published + bs.emitted);
  m.events_dropped = static_cast<int64_t>(bs.dropped_overflow);
  m.events_dispatched = static_cast<int64_t>(bs.dispatched);
  m.callback_exceptions = static_cast<int64_t>(bs.callback_exceptions);
  for (const auto& b : impl_->stream_buffers) {
    const auto st = b->status();
    m.buffer_overflow_samples += st.overflow_frames;
    m.buffer_underflow_samples += st.underflow_frames;
  }
  m.stage_samples_dropped = ld(c.stage_samples_dropped);
  std::lock_guard timing_lock(impl_->timing_mutex);
  impl_->fold_stage_samples();
  m.tick = timing_of(impl_->tick_hist);
  m.capture_stage = timing_of(impl_->capture_hist);
  m.vad_stage = timing_of(impl_->vad_hist);
  m.playback_stage = timing_of(impl_->playback_hist);
  m.output_stage = timing_of(impl_->output_hist);
  return m;
}

std::string AudioEngine::export_metrics() const { return to_json(get_metrics()); }

// ---- the tick ----------------------------------------------------------------------------------------------
void AudioEngine::run_tick(const float* capture, float* playback, size_t n) noexcept {
  tick_body(capture, playback, n, ticks_live());
}

void AudioEngine::tick_body(const float* capture, float* playback, size_t n, bool live) noexcept {
  Impl& s = *impl_;
  // In the on-request modes a control thread may be acting as consumer between ticks: wait for it (see
  // TokenGuard). Live ticks never wait. Their thread is marked as the audio thread already (ae-audio, a device
  // callback); this one may be the caller's of advance_ticks().
  bool was_audio_thread = true;
  if (!live) {
    was_audio_thread = rt::detail::t_is_audio_thread;
    rt::detail::t_is_audio_thread = true;
    while (s.tick_token.exchange(true, std::memory_order_acquire)) std::this_thread::yield();
  }
  // Stage timing samples one tick in kTimingSampleInterval: the clock reads cost more than the rest of the
  // engine's own work per tick, and a sample of that size still gives stable percentiles.
  const bool timing = s.stage_timing && (s.timing_countdown-- == 0);
  if (timing) s.timing_countdown = kTimingSampleInterval - 1;
  const uint64_t t_start = timing ? stage_clock::now() : 0;
  const int64_t t0 = timeline_samples_.load(std::memory_order_relaxed);
  const int rate = config_.audio.sample_rate_hz;

  // Control requests, at the tick boundary. The word is read before the requests: one posted after that read
  // is seen here or, at the latest, through its bump at the next tick.
  const uint64_t posted = s.control_posted.load(std::memory_order_acquire);
  if (posted != s.control_seen) {
    s.control_seen = posted;
    s.swap_in_detector();
    // Applied where they lie in the ring: a HotSettings is a few hundred bytes, built for nothing in most ticks.
    while (const HotSettings* hs = s.hot.peek()) {
      s.apply_hot(*hs, rate, *this);
      s.hot.discard(1);
    }
    s.turn_mode = turn_mode_.load(std::memory_order_acquire);
    if (s.interrupt_requests.consume(s.interrupt_seen_epoch)) {
      // Applied in this tick's playback stage, with the fade, like a barge-in.
      s.pending_interrupt = true;
      s.pending_reason = static_cast<InterruptReason>(s.interrupt_reason.load(std::memory_order_relaxed));
      s.pending_onset = -1;
    }
    if (s.turn_requests.consume(s.turn_seen_epoch)) {
      apply_turn_request_on_audio_thread(
          static_cast<ConversationState>(s.turn_request_to.load(std::memory_order_relaxed)), t0, true);
      s.turn_ack_due = true;
    }
    if (s.endpoint_requests.consume(s.endpoint_seen_epoch)) {
      s.last_force_ended = apply_force_endpoint_on_audio_thread(t0);
      s.endpoint_ack_epoch.store(s.endpoint_requests.epoch(), std::memory_order_release);
    }
  }
  const uint64_t t_tick = mode_.load(std::memory_order_relaxed) == ProcessingMode::kAdaptive ? now_ns() : 0;
  begin_processing_tick();

  // Capture: the device's frame, or the injected source; silence where there is none.
  float* cap = s.capture_buf.data();
  if (capture != nullptr) {
    std::memcpy(cap, capture, n * sizeof(float));
  } else {
    const size_t got = capture_ring_->try_pop_bulk(cap, n);
    if (got < n) {
      std::memset(cap + got, 0, (n - got) * sizeof(float));
      bump_single_writer(s.counters.source_idle_samples, static_cast<int64_t>(n - got));
    }
  }
  // Processing: the render stage over this tick's playback block (peeked, not yet consumed), then the capture
  // stages with that block as the echo reference of the same tick.
  const size_t peeked = peek_render_block(s.render_buf.data(), n, t0);
  const float* heard = process_capture_block(cap, n, t0, peeked > 0 ? s.render_buf.data() : nullptr,
                                             peeked > 0 ? n : 0, s.vad_copy_buf.data());
  const float* copy = heard != cap ? heard : nullptr;
  // The echo gate hears what the canceller heard: this tick's render block and its fully processed output, even
  // when the barge-in's detector hears the canceller's gentler copy (EchoCancellerConfig::vad_copy): there the
  // copy's residual echo would pass for near-end speech, here the suppressor has removed it. It runs only while
  // barge-in or the VAD's segments would consult it (its analysis is a third of a plain tick's cost); switched on
  // again, it starts from nothing, with its conservative prior, rather than from a render history with a hole in
  // it.
  const bool canceller_on = echo_canceller_on_.load(std::memory_order_acquire);
  const bool vad_on = s.vad_enabled && s.vad != nullptr;
  const bool vad_vetoing = vad_on && echo_gate_consulted(s.barge_in.vad_echo_gate, canceller_on);
  const bool barge_in_gated = s.barge_in.enabled && echo_gate_consulted(s.barge_in.echo_gate, canceller_on);
  const bool gate_on = barge_in_gated || vad_vetoing;
  if (gate_on) {
    if (!s.echo_gate_running) s.echo_gate.reset();
    const int given_delay_ms = canceller_on ? echo_canceller_delay_ms_.load(std::memory_order_relaxed) : -1;
    s.near_end = s.echo_gate.update_blocks(
        s.render_buf.data(), cap, n,
        given_delay_ms >= 0 ? given_delay_ms : echo_delay_ms_.load(std::memory_order_relaxed));
  } else {
    s.near_end = true;
  }
  s.echo_gate_running = gate_on;
  const uint64_t t_capture = timing ? stage_clock::now() : 0;

  // VAD and the barge-in decision, before this tick's playback is pulled: an interruption silences this very
  // tick's output.
  // What the segmenter decides is published through the echo hold: a segment only the AI's echo started is
  // held back (see BargeInConfig::vad_echo_gate), and everything downstream (events, endpointer, the conversation,
  // chunk flags, speech-only delivery) sees the published decision.
  VadDecision d{};
  float p = 0.0f;
  if (vad_on) {
    p = s.vad->process(cap, n);
    bool vetoed = false;
    d = s.vad_hold.filter(s.segmenter.update(p, t0, n), s.segmenter.pending_start_sample(), vad_vetoing,
                          gate_on && s.echo_gate.render_active(), s.near_end, n, &vetoed);
    if (vetoed) bump_single_writer(s.counters.vad_echo_vetoed_segments);
    vad_probability_.store(p, std::memory_order_relaxed);
    vad_state_.store(d.state, std::memory_order_release);
    if (d.speech_started) {
      bump_single_writer(s.counters.vad_speech_starts);
      AudioEvent ev{};
      ev.type = AudioEventType::kVadSpeechStart;
      ev.t_samples = t0 + static_cast<int64_t>(n);
      ev.sample_rate_hz = rate;
      ev.vad.probability = p;
      ev.vad.speech_start_sample = d.speech_start_sample;
      ev.vad.speech_end_sample = -1;
      ev.vad.padded_start_sample = std::max<int64_t>(0, d.speech_start_sample - s.prefix_padding_samples);
      s.bus.publish(ev);
    }
    if (d.speech_ended) {
      AudioEvent ev{};
      ev.type = AudioEventType::kVadSpeechEnd;
      ev.t_samples = t0 + static_cast<int64_t>(n);
      ev.sample_rate_hz = rate;
      ev.vad.probability = p;
      ev.vad.speech_start_sample = d.speech_start_sample;
      ev.vad.speech_end_sample = d.speech_end_sample;
      ev.vad.padded_start_sample = -1;
      s.bus.publish(ev);
    }
    // Endpointing, on the segmenter's decision for this period.
    if (s.endpoint_config.enabled) {
      // A copy for the call: `d` itself stays out of memory, so the chunk's flags below are not read back from
      // byte stores in one wider load (a store-forwarding stall, measurable per tick).
      const VadDecision for_endpointer = d;
      const EndpointDecision e = s.endpointer.update(for_endpointer, t0, n);
      if (e.reason != EndpointReason::kNone) publish_endpoint(e, t0 + static_cast<int64_t>(n), p);
      endpoint_state_.store(s.endpointer.state(), std::memory_order_release);
    }
  }

  update_barge_in(s.barge_in_probability(copy, p, n, playing_.load(std::memory_order_relaxed)), vad_on,
                  barge_in_gated, t0, n);
  const uint64_t t_vad = timing ? stage_clock::now() : 0;

  // Playback: commit the peeked block (flush requests were applied before the peek), item by item; an
  // interruption decided in this tick fades the block's head out and flushes the rest. Without a render stage
  // the output is made in the peeked block itself (see commit_plan).
  float* out = s.render_stage ? s.play_buf.data() : s.render_buf.data();
  const size_t filled = render_playback(out, n, t0);
  played_total_.store(played_total_.load(std::memory_order_relaxed) + static_cast<int64_t>(filled),
                      std::memory_order_release);
  if (playback != nullptr) {
    std::memcpy(playback, out, n * sizeof(float));
  } else {
    const size_t kept = s.sink.try_push_bulk(out, n);
    if (kept < n) bump_single_writer(s.counters.sink_dropped_samples, static_cast<int64_t>(n - kept));
  }
  // `d` is what the VAD published this period (silence without a live VAD): Impl::user_speaking() as of now.
  update_conversation(d.state == VadState::kSpeaking, d.speech_ended, t0 + static_cast<int64_t>(n));
  if (s.turn_ack_due) {
    // Acknowledged once the state the request led to is published.
    s.turn_ack_epoch.store(s.turn_requests.epoch(), std::memory_order_release);
    s.turn_ack_due = false;
  }
  const uint64_t t_playback = timing ? stage_clock::now() : 0;

  // Output: the processed chunk to the consumer (speech-only delivery: with the speech's prefix, or held back).
  const bool capturing = capturing_.load(std::memory_order_acquire);
  // Only speech-only delivery reads the history, and only back to delivered_until, which never lies before this
  // tick when the previous tick delivered everything (kAll) or did not capture (start_capture() raises it to
  // here). So the history is kept while speech-only delivery captures; switched on (hot) or started, it begins
  // at this tick, which is all it can be asked for.
  if (capturing && s.delivery == CaptureDelivery::kSpeechOnly) s.history.push(cap, n, t0);
  // Audio from before start_capture() is never delivered, not even as prefix padding.
  if (capturing && !s.was_capturing) s.delivered_until = std::max(s.delivered_until, t0);
  s.was_capturing = capturing;
  if (capturing) {
    bool deliver = true;
    if (s.delivery == CaptureDelivery::kSpeechOnly) {
      // Open while the utterance lasts (endpointing on) or the segment (off); the period that closes it is
      // still delivered, so the consumer sees the flag that ended it.
      const bool open = vad_on && (s.endpoint_config.enabled ? s.endpointer.state() != EndpointState::kIdle
                                                             : d.state == VadState::kSpeaking);
      if (open && !s.gate_open) {
        deliver_speech_backlog(d.speech_start_sample >= 0 ? d.speech_start_sample : t0, t0, n, d.state);
      }
      deliver = open || s.gate_open;
      s.gate_open = open;
    }
    if (deliver) {
      ChunkInfo& info = s.claim_chunk_info();
      info.start_sample = t0;
      info.num_frames = static_cast<int32_t>(n);
      info.vad_probability = vad_probability_.load(std::memory_order_relaxed);
      info.vad_state = d.state;
      info.speech_started = d.speech_started;
      info.speech_ended = d.speech_ended;
      info.endpoint = s.endpoint_in_chunk;
      deliver_chunk(info, cap);
    } else {
      bump_single_writer(s.counters.speech_gated_samples, static_cast<int64_t>(n));
    }
  }
  s.endpoint_in_chunk = false;
  timeline_samples_.store(t0 + static_cast<int64_t>(n), std::memory_order_release);
  bump_single_writer(s.counters.ticks);
  end_processing_tick(t_tick, n);
  if (timing) {
    const uint64_t t_end = stage_clock::now();
    if (Impl::StageSample* x = s.stage_samples.try_claim()) {
      x->capture = t_capture - t_start;
      x->vad = t_vad - t_capture;
      x->playback = t_playback - t_vad;
      x->output = t_end - t_playback;
      s.stage_samples.commit_claimed();
    } else {
      bump_single_writer(s.counters.stage_samples_dropped);
    }
  }
  if (!live) {
    s.tick_token.store(false, std::memory_order_release);
    rt::detail::t_is_audio_thread = was_audio_thread;
  }
}

// ---- processing chain ------------------------------------------------------------------------------------------
void AudioEngine::begin_processing_tick() noexcept {
  Impl& s = *impl_;
  chain_->begin_tick();
  s.render_stage = chain_->has_processors(ProcessingStage::kRender);
  // The mode, at the tick boundary: a fixed routing, or adaptive mode's current choice.
  const ProcessingMode mode = mode_.load(std::memory_order_acquire);
  ProcessingMode routing = mode;
  if (mode == ProcessingMode::kAdaptive) {
    const uint64_t gen = adaptive_generation_.load(std::memory_order_acquire);
    if (!s.adaptive_active || gen != s.adaptive_seen_generation) {
      s.adaptive.configure(AdaptiveModeConfig{adaptive_high_.load(std::memory_order_relaxed),
                                              adaptive_low_.load(std::memory_order_relaxed),
                                              adaptive_up_ticks_.load(std::memory_order_relaxed),
                                              adaptive_down_ticks_.load(std::memory_order_relaxed)});
      if (!s.adaptive_active) s.adaptive.reset(s.routing);
      s.adaptive_seen_generation = gen;
      s.adaptive_active = true;
    }
    routing = s.adaptive.routing();
  } else {
    s.adaptive_active = false;
  }
  if (routing == s.routing) return;
  chain_->set_routing(routing);
  AudioEvent ev{};
  ev.type = AudioEventType::kModeChanged;
  ev.t_samples = timeline_samples_.load(std::memory_order_relaxed);
  ev.sample_rate_hz = config_.audio.sample_rate_hz;
  ev.state.from = static_cast<int32_t>(s.routing);
  ev.state.to = static_cast<int32_t>(routing);
  s.bus.publish(ev);
  bump_single_writer(s.counters.mode_switches);
  s.routing = routing;
  active_routing_.store(routing, std::memory_order_release);
}

size_t AudioEngine::peek_render_block(float* render, size_t n, int64_t t0) noexcept {
  Impl& s = *impl_;
  PlaybackQueue& q = *playback_queue_;
  PlaybackQueue& u = *urgent_queue_;
  const uint64_t discarded = q.apply_requests().discarded_samples + u.apply_requests().discarded_samples;
  if (discarded > 0) bump_single_writer(s.counters.flushed_samples, static_cast<int64_t>(discarded));
  // A paused AI (barge-in recovery) plays nothing: the render stage and the echo canceller see silence.
  s.plan_len = 0;
  s.plan_main_only = false;
  s.render_peeked = 0;
  if (!s.playback_stopped.load(std::memory_order_acquire) && !s.paused) {
    const size_t main_count = plan_block(n);
    const size_t urgent_count = s.render_peeked - main_count;
    if (urgent_count == 0) {
      q.peek(render, main_count);
    } else {
      // Lanes mix in this block: each lane's runs are consecutive in its queue, so peek each once and lay the
      // runs out in the plan's order.
      q.peek(s.main_scratch.data(), main_count);
      u.peek(s.urgent_scratch.data(), urgent_count);
      size_t at = 0, from_main = 0, from_urgent = 0;
      for (size_t i = 0; i < s.plan_len; ++i) {
        const Impl::PlanRun& run = s.plan[i];
        const float* src = run.urgent ? s.urgent_scratch.data() + from_urgent : s.main_scratch.data() + from_main;
        std::memcpy(render + at, src, run.count * sizeof(float));
        (run.urgent ? from_urgent : from_main) += run.count;
        at += run.count;
      }
    }
  }
  if (s.render_peeked < n) std::memset(render + s.render_peeked, 0, (n - s.render_peeked) * sizeof(float));
  if (s.render_stage) {
    ProcessContext ctx;
    ctx.sample_rate_hz = config_.audio.sample_rate_hz;
    ctx.t_samples = t0;
    ctx.stage = ProcessingStage::kRender;
    ctx.echo_delay_ms = echo_delay_ms_.load(std::memory_order_relaxed);
    chain_->process_render(render, n, ctx);
  }
  return s.render_peeked;
}

size_t AudioEngine::plan_block(size_t n) noexcept {
  Impl& s = *impl_;
  PlaybackQueue& q = *playback_queue_;
  PlaybackQueue& u = *urgent_queue_;
  // Snapshots: a producer may append while the tick runs; the block covers what was there now.
  const size_t main_queued = q.queued_samples();
  const size_t urgent_queued = u.queued_samples();
  if (!s.urgent_lane && urgent_queued == 0) {
    // The common case, the main lane alone: one run (what the loop below plans too, in fewer steps).
    // (peek_render_block() emptied the plan.)
    const size_t count = std::min(n, main_queued);
    if (count > 0) {
      s.plan[0] = Impl::PlanRun{false, false, false, count};
      s.plan_len = 1;
      s.plan_main_only = true;
    }
    s.render_peeked = count;
    return count;
  }
  size_t planned = 0, main_planned = 0, urgent_planned = 0;
  bool hold = false;
  auto add = [&](bool urgent, bool fade_out, size_t count) {
    if (count == 0) return;
    s.plan[s.plan_len++] = Impl::PlanRun{urgent, fade_out, urgent && hold, count};
    planned += count;
    (urgent ? urgent_planned : main_planned) += count;
  };
  bool urgent = s.urgent_lane;
  bool entered = s.urgent_lane;  // the urgent lane starts at most once per block
  while (planned < n && s.plan_len + 1 < s.plan.size()) {
    const size_t room = n - planned;
    if (urgent) {
      const size_t available = urgent_queued - urgent_planned;
      add(true, false, std::min(room, available));
      if (available >= room) break;
      urgent = false;  // the lane ran dry: the main queue goes on
      continue;
    }
    PlaybackQueue::ItemMark head{};
    bool head_starts = false;
    if (entered || urgent_queued == 0 || u.head_run(head, head_starts) == 0) {
      add(false, false, std::min(room, main_queued - main_planned));
      break;
    }
    // An urgent item waits. What is left of the main item playing (none when the next main sample starts an
    // item) plays first for kNext; kInterject cuts it after a fade unless it ends within the fade anyway.
    PlaybackQueue::ItemMark main_head{};
    bool main_starts = false;
    const size_t run = std::min(q.head_run(main_head, main_starts), main_queued);
    const size_t rest = main_starts ? 0 : run;
    const size_t fade = s.fade_samples;
    if (head.tag != static_cast<int32_t>(PlaybackPriority::kInterject) || rest <= fade) {
      add(false, false, std::min(rest, room));
    } else if (playing_.load(std::memory_order_relaxed)) {
      add(false, true, std::min(fade, room));
      hold = true;
    }  // else the main item is silent (it ran dry): nothing to fade, it goes on after the urgent lane
    if (planned >= n) break;
    urgent = true;
    entered = true;
  }
  s.render_peeked = planned;
  return main_planned;
}

void AudioEngine::switch_lane(bool to_urgent, bool cut, int64_t t) noexcept {
  Impl& s = *impl_;
  const bool playing = playing_.load(std::memory_order_relaxed);
  if (to_urgent && cut) {
    s.main_held = true;
    publish_playback_event(AudioEventType::kPlaybackPaused, t, s.current_item, s.played_in_item);
  } else if (s.has_item && playing && !s.item_completed) {
    // The item leaving ended where its queued audio ended (more of it later resumes it).
    publish_playback_event(AudioEventType::kPlaybackComplete, t, s.current_item, s.played_in_item);
    s.item_completed = true;
    s.last_completed_item = s.current_item;
  }
  const Impl::LaneItem leaving{s.current_item, s.has_item, s.played_in_item, s.last_completed_item, s.item_completed};
  s.current_item = s.other_lane.current_item;
  s.has_item = s.other_lane.has_item;
  s.played_in_item = s.other_lane.played_in_item;
  s.last_completed_item = s.other_lane.last_completed_item;
  s.item_completed = s.other_lane.item_completed;
  s.other_lane = leaving;
  s.urgent_lane = to_urgent;
  s.lane_switched = false;
  if (!to_urgent && s.main_held) {
    // The held item goes on from its next sample, fading in.
    s.main_held = false;
    s.resume_ramp_done = 0;
    if (playing) publish_playback_event(AudioEventType::kPlaybackResumed, t, s.current_item, s.played_in_item);
  } else {
    s.lane_switched = true;
  }
}

size_t AudioEngine::commit_plan(float* out, size_t limit, int64_t t0, size_t& pulled) noexcept {
  Impl& s = *impl_;
  size_t filled = 0;
  size_t planned = 0;
  pulled = 0;
  // Without a render stage the peeked block is the queued audio itself and `out` is that block (render_buf):
  // the commit consumes the peeked samples in place. With one, the sink gets what the render stage made of the
  // block (and what the capture stages saw as the reference) when the whole block is committed as peeked; not
  // after a pause or a cut, nor from stale samples dropped on: then the queued audio is pulled again.
  const bool in_place = !s.render_stage;
  const bool rendered = !in_place && limit >= s.render_peeked;
  // The common block: the main lane's item plays on through all of it, with no ramp, no lane change, nothing
  // stale and no item starting inside it. pull_items() would only consume it and count it as played.
  // (plan_main_only: a single main-lane run without a fade, planned with the main lane playing; nothing in the tick
  // switches lanes before the commit.)
  if (s.plan_main_only && limit >= s.plan[0].count && s.resume_ramp_done >= s.fade_samples && s.has_item &&
      !s.lane_switched && playing_.load(std::memory_order_relaxed)) {
    const uint64_t item = s.current_item;
    const bool stale = item != 0 && (item == s.interrupted_item.load(std::memory_order_acquire) ||
                                     item == s.interrupted_held_item.load(std::memory_order_acquire));
    PlaybackQueue& q = *playback_queue_;
    const size_t k = s.plan[0].count;
    if (!stale && q.current_item() == item && q.consume_within_item(k)) {
      if (rendered) std::memcpy(out, s.render_buf.data(), k * sizeof(float));
      s.played_in_item += static_cast<int64_t>(k);
      pulled = k;
      return k;
    }
  }
  for (size_t i = 0; i < s.plan_len && pulled < limit; ++i) {
    const Impl::PlanRun run = s.plan[i];
    const int64_t t = t0 + static_cast<int64_t>(filled);
    if (run.urgent != s.urgent_lane) switch_lane(run.urgent, run.holds_main, t);
    size_t run_pulled = 0;
    float* dst = out + filled;
    const size_t k = pull_items(run.urgent ? *urgent_queue_ : *playback_queue_, dst, in_place ? out + planned : nullptr,
                                std::min(run.count, limit - pulled), t, run_pulled);
    if (rendered && filled == planned && k == run.count && run_pulled == k) {
      std::memcpy(dst, s.render_buf.data() + planned, k * sizeof(float));
    }
    planned += run.count;
    if (run.fade_out) {
      apply_gain_ramp(dst, k, 1.0f, 0.0f, s.fade_samples);
    } else if (!run.urgent && s.resume_ramp_done < s.fade_samples) {
      // The held item's fade-in: (j + 1) / (fade + 1) over its first fade samples, across blocks.
      const float step = 1.0f / static_cast<float>(s.fade_samples + 1);
      for (size_t j = 0; j < k && s.resume_ramp_done < s.fade_samples; ++j) {
        dst[j] *= step * static_cast<float>(++s.resume_ramp_done);
      }
    }
    filled += k;
    pulled += run_pulled;
  }
  return filled;
}

const float* AudioEngine::process_capture_block(float* cap, size_t n, int64_t t0, const float* render,
                                                size_t render_frames, float* vad_copy) noexcept {
  if (!chain_->has_processors(ProcessingStage::kCapturePre) && !chain_->has_processors(ProcessingStage::kCapturePost)) {
    return cap;
  }
  bool copied = false;
  ProcessContext ctx;
  ctx.sample_rate_hz = config_.audio.sample_rate_hz;
  ctx.t_samples = t0;
  ctx.render = render;
  ctx.render_frames = render_frames;
  ctx.echo_delay_ms = echo_delay_ms_.load(std::memory_order_relaxed);
  ctx.vad_copy = vad_copy;
  ctx.vad_copy_written = &copied;
  chain_->process_capture(cap, n, ctx);
  return copied ? vad_copy : cap;
}

void AudioEngine::end_processing_tick(uint64_t tick_start_ns, size_t n) noexcept {
  Impl& s = *impl_;
  if (!s.adaptive_active || tick_start_ns == 0) return;
  const double period_ns = 1e9 * static_cast<double>(n) / config_.audio.sample_rate_hz;
  s.adaptive.update(static_cast<double>(now_ns() - tick_start_ns) / period_ns);
}

Result<ProcessingChain*> AudioEngine::ensure_chain() {
  std::lock_guard lock(chain_mutex_);
  const int rate = config_.audio.sample_rate_hz;
  const size_t period = ms_to_samples(rate, config_.audio.chunk_duration_ms);
  if (chain_ && (chain_->sample_rate_hz() != rate || chain_->max_frames() != period)) {
    if (chain_->size() > 0) {
      return Result<ProcessingChain*>(
          Error::kInvalidConfig, "processing chain: its processors were prepared at " +
                                     std::to_string(chain_->sample_rate_hz()) + " Hz with " +
                                     std::to_string(chain_->max_frames()) + "-frame blocks, the engine now runs " +
                                     std::to_string(rate) + " Hz with " + std::to_string(period) +
                                     "-frame periods; remove them first");
    }
    chain_.reset();
  }
  if (!chain_) {
    auto chain = ProcessingChain::create(ProcessingChainConfig{rate, period, 5});
    if (!chain.ok()) return Result<ProcessingChain*>(chain.error(), chain.message());
    chain_ = std::move(chain.value());
    chain_->set_routing(active_routing_.load(std::memory_order_relaxed));
  }
  return chain_.get();
}

void AudioEngine::reclaim_pending_processors() {
  if (ticks_live()) {
    chain_->reclaim(false);
    return;
  }
  if (!impl_) {
    chain_->reclaim(true, true);
    return;
  }
  TokenGuard token(impl_->tick_token);
  chain_->reclaim(true, !is_running());
}

Result<ProcessorId> AudioEngine::add_processor(std::shared_ptr<AudioProcessor> processor, ProcessingStage stage,
                                               ModeMask modes) {
  auto chain = ensure_chain();
  if (!chain.ok()) return Result<ProcessorId>(chain.error(), chain.message());
  return chain.value()->add(std::move(processor), stage, modes);
}

Status AudioEngine::remove_processor(ProcessorId id, int timeout_ms) {
  if (!chain_) return Status(Error::kInvalidArgument, "remove_processor: id = " + std::to_string(id) + " is not in the chain");
  if (auto st = chain_->remove(id); !st.ok()) return st;
  reclaim_processors();
  if (!ticks_live()) return ok_status();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (chain_->removal_pending() || chain_->live_snapshots() > 1) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status(Error::kTimeout, "remove_processor: the fade did not end within " + std::to_string(timeout_ms) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    chain_->reclaim(false);
  }
  return ok_status();
}

void AudioEngine::deliver_chunk(ChunkInfo& info, const float* samples) noexcept {
  Impl& s = *impl_;
  info.sequence = s.chunk_sequence++;
  info.sample_rate_hz = config_.audio.sample_rate_hz;
  const auto n = static_cast<size_t>(info.num_frames);
  if (auto cb = rt_chunk_callback_.load(std::memory_order_acquire)) {
    cb(info, samples, rt_chunk_user_.load(std::memory_order_acquire));
  }
  if (&info != &s.spare_chunk_info && s.chunk_samples.try_push_all(samples, n)) {
    s.chunk_infos.commit_claimed();
    bump_single_writer(s.counters.chunks_delivered);
  } else {
    bump_single_writer(s.counters.chunks_dropped);
  }
  s.delivered_until = info.start_sample + info.num_frames;
}

void AudioEngine::deliver_speech_backlog(int64_t onset_sample, int64_t t0, size_t n, VadState state) noexcept {
  Impl& s = *impl_;
  // From the padded onset, never twice, never before the timeline began; what the history lost is counted.
  const int64_t wanted = std::max({onset_sample - s.prefix_padding_samples, s.delivered_until, int64_t{0}});
  const int64_t from = std::max(wanted, s.history.start_sample());
  if (from > wanted) bump_single_writer(s.counters.prefix_truncated_samples, std::min(from, t0) - wanted);
  // These periods were counted as held back when they passed; they are delivered after all.
  if (from < t0) bump_single_writer(s.counters.speech_gated_samples, from - t0);
  const auto period = static_cast<int64_t>(n);
  for (int64_t pos = from; pos < t0;) {
    // Chunks on the period grid: only the first may be shorter.
    const int64_t end = std::min(t0, (pos / period + 1) * period);
    s.history.copy(pos, static_cast<size_t>(end - pos), s.backlog_buf.data());
    ChunkInfo& info = s.claim_chunk_info();
    info.start_sample = pos;
    info.num_frames = static_cast<int32_t>(end - pos);
    info.vad_probability = vad_probability_.load(std::memory_order_relaxed);
    info.vad_state = state;
    deliver_chunk(info, s.backlog_buf.data());
    pos = end;
  }
}

void AudioEngine::publish_endpoint(const EndpointDecision& e, int64_t t_samples, float probability) noexcept {
  Impl& s = *impl_;
  AudioEvent ev{};
  ev.type = AudioEventType::kEndpoint;
  ev.t_samples = t_samples;
  ev.sample_rate_hz = config_.audio.sample_rate_hz;
  ev.vad.probability = probability;
  ev.vad.endpoint_reason = e.reason;
  ev.vad.speech_start_sample = e.utterance_start_sample;
  ev.vad.speech_end_sample = e.utterance_end_sample;
  ev.vad.padded_start_sample = std::max<int64_t>(0, e.utterance_start_sample - s.prefix_padding_samples);
  s.bus.publish(ev);
  s.tracker.on_endpoint(t_samples);
  bump_single_writer(s.counters.endpoints);
  s.endpoint_in_chunk = true;
}

bool AudioEngine::apply_force_endpoint_on_audio_thread(int64_t now_sample) noexcept {
  // Runs on the audio thread at a tick boundary (or on a control thread holding the tick token).
  Impl& s = *impl_;
  if (!s.endpoint_config.enabled || !s.vad_enabled) return false;
  const EndpointDecision e = s.endpointer.force(now_sample, s.user_vad_state() == VadState::kSpeaking);
  endpoint_state_.store(s.endpointer.state(), std::memory_order_release);
  if (e.reason == EndpointReason::kNone) return false;
  publish_endpoint(e, now_sample, vad_probability_.load(std::memory_order_relaxed));
  return true;
}

// ---- VAD on the live path and over held audio ---------------------------------------------------------------
Status AudioEngine::post_live_detector_locked(const VadConfig& config, bool new_vad) {
  // Caller holds control_mutex_; the engine is initialized. Allocation and the model load happen here.
  const int rate = config_.audio.sample_rate_hz;
  const bool barge_in = canceller_writes_copy(config_.echo, rate, period_frames_);
  auto made = make_live_detectors(config, rate, period_frames_, new_vad, barge_in);
  if (!made.ok()) return made.error_info();
  std::unique_ptr<LiveDetectors> detectors = std::move(made.value());
  Impl& s = *impl_;
  // An incoming set no tick took yet is ours again; the retired one was handed back by a tick. A new VAD in the
  // unclaimed set still goes in with the new barge-in detector.
  std::unique_ptr<LiveDetectors> unclaimed(s.vad_incoming.exchange(nullptr, std::memory_order_acq_rel));
  if (!new_vad && unclaimed && unclaimed->new_vad) {
    detectors->new_vad = true;
    detectors->vad = std::move(unclaimed->vad);
  }
  unclaimed.reset();
  delete s.vad_retired.exchange(nullptr, std::memory_order_acquire);
  s.vad_incoming.store(detectors.release(), std::memory_order_release);
  s.post_control();
  live_detector_ = true;
  live_barge_in_detector_ = barge_in;
  return ok_status();
}

Status AudioEngine::refresh_barge_in_detector_locked() {
  if (!initialized_ || !live_detector_) return ok_status();
  if (canceller_writes_copy(config_.echo, config_.audio.sample_rate_hz, period_frames_) == live_barge_in_detector_) {
    return ok_status();
  }
  return post_live_detector_locked(config_.vad, false);
}

Status AudioEngine::apply_hot_locked(const char* caller) {
  // Caller holds control_mutex_; the engine is initialized.
  const HotSettings hs = hot_settings_of(config_);
  if (!ticks_live()) {
    // No tick runs unless asked: act as the audio thread between two ticks.
    TokenGuard token(impl_->tick_token);
    impl_->swap_in_detector();
    impl_->apply_hot(hs, config_.audio.sample_rate_hz, *this);
    return ok_status();
  }
  if (!impl_->hot.try_push(hs)) {
    return Status(Error::kQueueFull, std::string(caller) + ": too many setting changes pending; ticks are not "
                                                           "keeping up (the change applies with the next one)");
  }
  impl_->post_control();
  return ok_status();
}

Status AudioEngine::set_processor_bypass(ProcessorId id, bool bypass) {
  if (!chain_) return Status(Error::kInvalidArgument, "set_processor_bypass: id = " + std::to_string(id) + " is not in the chain");
  return chain_->set_bypass(id, bypass);
}

Status AudioEngine::process_audio(std::span<float> mono, std::span<const float> render) {
  if (ticks_live()) {
    return Status(Error::kAlreadyRunning, "process_audio: ticks run by themselves and own the processors; use the "
                                          "virtual clock in inline or stepped mode, or shut the engine down");
  }
  auto chain = ensure_chain();
  if (!chain.ok()) return chain.error_info();
  if (!impl_) return chain.value()->process_audio(mono, render);
  TokenGuard token(impl_->tick_token);
  return chain.value()->process_audio(mono, render);
}

std::future<Result<std::vector<float>>> AudioEngine::process_audio_async(std::vector<float> mono,
                                                                         std::vector<float> render) {
  return std::async(std::launch::async, [this, mono = std::move(mono), render = std::move(render)]() mutable {
    pthread_setname_np(pthread_self(), "ae-offline");
    if (auto st = process_audio(mono, render); !st.ok()) return Result<std::vector<float>>(st.error(), st.message());
    return Result<std::vector<float>>(std::move(mono));
  });
}

Status AudioEngine::set_mode(ProcessingMode mode) {
  if (mode != ProcessingMode::kFastLane && mode != ProcessingMode::kQuality && mode != ProcessingMode::kAdaptive) {
    return Status(Error::kInvalidArgument, "set_mode: mode = " + std::to_string(static_cast<int>(mode)) +
                                               ", valid FAST_LANE (0), QUALITY (1), ADAPTIVE (2)");
  }
  mode_.store(mode, std::memory_order_release);
  // Without ticks (not initialized) the routing follows at once; the first tick then starts from it.
  if (!impl_ && mode != ProcessingMode::kAdaptive) {
    active_routing_.store(mode, std::memory_order_release);
    std::lock_guard lock(chain_mutex_);
    if (chain_) chain_->set_routing(mode);
  }
  return ok_status();
}

Status AudioEngine::enable_adaptive_mode(const AdaptiveModeConfig& config) {
  if (auto issues = validate_adaptive_mode_config(config); !issues.empty()) {
    return Status(Error::kInvalidConfig, "enable_adaptive_mode: " + format_config_issues(issues));
  }
  adaptive_high_.store(config.high_load_fraction, std::memory_order_relaxed);
  adaptive_low_.store(config.low_load_fraction, std::memory_order_relaxed);
  adaptive_up_ticks_.store(config.ticks_to_fast_lane, std::memory_order_relaxed);
  adaptive_down_ticks_.store(config.ticks_to_quality, std::memory_order_relaxed);
  adaptive_generation_.fetch_add(1, std::memory_order_release);
  return set_mode(ProcessingMode::kAdaptive);
}

// ---- VAD over held audio ---------------------------------------------------------------------------------
Status AudioEngine::enable_vad(const VadConfig& config) {
  int rate = 0;
  int period_ms = 0;
  {
    std::lock_guard lock(control_mutex_);
    rate = config_.audio.sample_rate_hz;
    period_ms = config_.audio.chunk_duration_ms;
  }
  auto stream = VadStream::create(config, rate, ms_to_samples(rate, period_ms));
  if (!stream.ok()) return stream.error_info();
  VadConfig live = config;
  live.enabled = true;
  {
    std::lock_guard lock(control_mutex_);
    if (initialized_) {
      if (auto st = post_live_detector_locked(live); !st.ok()) return st;
    }
    config_.vad = live;
    if (pending_restart_config_) pending_restart_config_->vad = live;
    if (initialized_) {
      if (auto st = apply_hot_locked("enable_vad"); !st.ok()) return st;
    }
  }
  std::lock_guard lock(held_vad_mutex_);
  held_vad_ = std::move(stream.value());
  return ok_status();
}

void AudioEngine::disable_vad() {
  {
    std::lock_guard lock(control_mutex_);
    config_.vad.enabled = false;
    if (pending_restart_config_) pending_restart_config_->vad.enabled = false;
    // Fails only when live ticks stall with eight changes pending; config_ already says off, and the next
    // applied change carries it.
    if (initialized_) (void)apply_hot_locked("disable_vad");
  }
  std::lock_guard lock(held_vad_mutex_);
  held_vad_.reset();
}

Result<std::vector<VadFrame>> AudioEngine::process_vad(std::span<const float> mono_at_engine_rate) {
  std::lock_guard lock(held_vad_mutex_);
  if (!held_vad_) return ErrorInfo{Error::kNotInitialized, "process_vad: call enable_vad(config) first"};
  const size_t before = held_vad_->frames().size();
  held_vad_->process(mono_at_engine_rate);
  const auto& frames = held_vad_->frames();
  return std::vector<VadFrame>(frames.begin() + static_cast<ptrdiff_t>(before), frames.end());
}

std::vector<AudioEvent> AudioEngine::get_vad_events() {
  std::lock_guard lock(held_vad_mutex_);
  return held_vad_ ? held_vad_->take_events() : std::vector<AudioEvent>{};
}

// ---- endpointing: the live path (when initialized) and the held-audio stream (when enabled) --------------------
Status AudioEngine::configure_endpointing(const EndpointConfig& config) {
  if (auto st = validate_endpoint_config(config); !st.ok()) return st;
  std::lock_guard lock(control_mutex_);
  std::lock_guard held(held_vad_mutex_);
  if (!initialized_ && !held_vad_) {
    return ErrorInfo{Error::kNotInitialized, "configure_endpointing: call initialize() or enable_vad(config) first "
                                             "(or set EngineConfig::endpoint)"};
  }
  config_.endpoint = config;
  if (pending_restart_config_) pending_restart_config_->endpoint = config;
  if (held_vad_) {
    if (auto st = held_vad_->configure_endpointing(config); !st.ok()) return st;
  }
  return initialized_ ? apply_hot_locked("configure_endpointing") : ok_status();
}

Status AudioEngine::set_endpoint_timeout(int timeout_ms) {
  const int clamped = std::clamp(timeout_ms, 100, 10000);
  std::lock_guard lock(control_mutex_);
  std::lock_guard held(held_vad_mutex_);
  if (!initialized_ && !held_vad_) {
    return ErrorInfo{Error::kNotInitialized, "set_endpoint_timeout: call initialize() or enable_vad(config) first"};
  }
  config_.endpoint.silence_timeout_ms = clamped;
  if (pending_restart_config_) pending_restart_config_->endpoint.silence_timeout_ms = clamped;
  if (held_vad_) held_vad_->set_endpoint_timeout_ms(clamped);
  return initialized_ ? apply_hot_locked("set_endpoint_timeout") : ok_status();
}

bool AudioEngine::force_endpoint(int timeout_ms) {
  bool ended = false;
  {
    std::lock_guard held(held_vad_mutex_);
    if (held_vad_) ended = held_vad_->force_endpoint();
  }
  if (!initialized_) return ended;
  std::lock_guard lock(control_mutex_);
  if (!ticks_live()) {
    TokenGuard token(impl_->tick_token);
    return apply_force_endpoint_on_audio_thread(now_samples()) || ended;
  }
  const uint64_t epoch = impl_->endpoint_requests.request();
  impl_->post_control();
  if (!wait_for_ack(impl_->endpoint_ack_epoch, epoch, timeout_ms)) return ended;
  return impl_->last_force_ended || ended;
}

EndpointState AudioEngine::get_endpoint_state() {
  if (initialized_) return endpoint_state_.load(std::memory_order_acquire);
  std::lock_guard lock(held_vad_mutex_);
  return held_vad_ ? held_vad_->endpoint_state() : EndpointState::kIdle;
}

Result<AudioEvent> AudioEngine::wait_for_endpoint(int timeout_ms) {
  if (!impl_) return Result<AudioEvent>(Error::kNotInitialized, "wait_for_endpoint: call initialize() first");
  const uint64_t after = last_endpoint_sequence_.load(std::memory_order_acquire);
  auto ev = impl_->bus.wait_for_event(AudioEventType::kEndpoint, timeout_ms, after);
  if (!ev) {
    return Result<AudioEvent>(Error::kTimeout,
                              "wait_for_endpoint: no ENDPOINT within " + std::to_string(timeout_ms) + " ms");
  }
  // Each ENDPOINT is returned once, in order, across callers (a later call never sees an earlier one).
  mark_returned(last_endpoint_sequence_, after, ev->sequence);
  return *ev;
}

// ---- echo cancellation -------------------------------------------------------------------------------------
Status AudioEngine::install_echo_processor_locked(const EchoCancellerConfig& config) {
  auto made = make_echo_processor(config);
  if (!made.ok()) return made.error_info();
  std::shared_ptr<EchoProcessor> next(std::move(made.value()));
  // add_processor prepares it here, on the control thread: at the engine rate, blocks of one period.
  auto id = add_processor(next, ProcessingStage::kCapturePre, kAllModes);
  if (!id.ok()) return id.error_info();
  ProcessorId old_id = 0;
  {
    std::lock_guard lock(echo_mutex_);
    old_id = echo_processor_id_;
    echo_processor_ = std::move(next);
    echo_processor_id_ = id.value();
    echo_installed_config_ = config;
  }
  echo_canceller_delay_ms_.store(config.stream_delay_ms, std::memory_order_relaxed);
  echo_canceller_on_.store(true, std::memory_order_release);
  // The replaced processor fades out after the new one faded in beside it: no tick without a canceller.
  if (old_id != 0) (void)remove_processor(old_id);
  return ok_status();
}

Status AudioEngine::enable_echo_cancellation(const EchoCancellerConfig& config) {
  if (Status st = config.validate(); !st.ok()) return Status(st.error(), "enable_echo_cancellation: " + st.message());
  std::lock_guard lock(control_mutex_);
  if (Status st = install_echo_processor_locked(config); !st.ok()) {
    return Status(st.error(), "enable_echo_cancellation: " + st.message());
  }
  config_.echo.enabled = true;
  config_.echo.canceller = config;
  // A restart must not undo it (update_config's cold settings wait there).
  if (pending_restart_config_) pending_restart_config_->echo = config_.echo;
  if (Status st = refresh_barge_in_detector_locked(); !st.ok()) {
    return Status(st.error(), "enable_echo_cancellation: the barge-in's detector: " + st.message());
  }
  return ok_status();
}

Status AudioEngine::sync_echo_with_config_locked() {
  ProcessorId stale = 0;
  {
    std::lock_guard lock(echo_mutex_);
    if (config_.echo.enabled && echo_processor_ &&
        same_echo_canceller_config(echo_installed_config_, config_.echo.canceller)) {
      return ok_status();
    }
    if (!config_.echo.enabled) {
      stale = echo_processor_id_;
      echo_processor_.reset();
      echo_processor_id_ = 0;
      echo_canceller_on_.store(false, std::memory_order_release);
    }
  }
  if (!config_.echo.enabled) return stale == 0 ? ok_status() : remove_processor(stale);
  return install_echo_processor_locked(config_.echo.canceller);
}

Status AudioEngine::disable_echo_cancellation(int timeout_ms) {
  std::lock_guard lock(control_mutex_);
  config_.echo.enabled = false;
  if (pending_restart_config_) pending_restart_config_->echo.enabled = false;
  ProcessorId id = 0;
  {
    std::lock_guard echo_lock(echo_mutex_);
    id = echo_processor_id_;
    echo_processor_.reset();
    echo_processor_id_ = 0;
  }
  echo_canceller_on_.store(false, std::memory_order_release);
  // Without a canceller no copy is written: the barge-in's own detector goes (it allocates nothing here).
  if (Status st = refresh_barge_in_detector_locked(); !st.ok()) return st;
  return id == 0 ? ok_status() : remove_processor(id, timeout_ms);
}

bool AudioEngine::is_echo_cancellation_enabled() const {
  std::lock_guard lock(echo_mutex_);
  return echo_processor_ != nullptr;
}

Result<DuplexMetrics> AudioEngine::get_duplex_metrics() const {
  std::lock_guard lock(echo_mutex_);
  if (!echo_processor_) {
    return Result<DuplexMetrics>(Error::kNotInitialized, "get_duplex_metrics: echo cancellation is off; call "
                                                         "enable_echo_cancellation() or set config.echo.enabled");
  }
  return echo_processor_->duplex_metrics();
}

// ---- conversation: barge-in, recovery, turn-taking -----------------------------------------------------------
const char* to_string(PlaybackPriority priority) noexcept {
  switch (priority) {
    case PlaybackPriority::kNormal: return "normal";
    case PlaybackPriority::kReplace: return "replace";
    case PlaybackPriority::kNext: return "next";
    case PlaybackPriority::kInterject: return "interject";
  }
  return "unknown";
}

Result<PlaybackPriority> parse_playback_priority(std::string_view name) {
  for (const PlaybackPriority p : {PlaybackPriority::kNormal, PlaybackPriority::kReplace, PlaybackPriority::kNext,
                                   PlaybackPriority::kInterject}) {
    const std::string_view known = to_string(p);
    if (known.size() == name.size() &&
        std::equal(known.begin(), known.end(), name.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        })) {
      return p;
    }
  }
  return Result<PlaybackPriority>(Error::kInvalidArgument, "priority = \"" + std::string(name) +
                                                               "\"; valid: normal, replace, next, interject");
}

void AudioEngine::publish_playback_event(AudioEventType type, int64_t t_samples, uint64_t item_id,
                                         int64_t samples) noexcept {
  // Where the output reaches the listener: after what earlier ticks left ahead of the DAC (a running device only).
  const int64_t pending = device_clock_ != nullptr && device_clock_->running()
                              ? std::max<int64_t>(0, device_clock_->output_pending_samples())
                              : 0;
  impl_->bus.publish(
      make_playback_event(type, t_samples, config_.audio.sample_rate_hz, item_id, samples, t_samples + pending));
}

void AudioEngine::update_barge_in(float p, bool vad_on, bool gate_on, int64_t t0, size_t n) noexcept {
  Impl& s = *impl_;
  const BargeInConfig& b = s.barge_in;
  const bool ai = playing_.load(std::memory_order_relaxed);
  const int64_t end = t0 + static_cast<int64_t>(n);
  if (s.turn_mode == TurnTakingMode::kManual) {
    // Push-to-talk: the button is the user's turn; the VAD never interrupts (the AI's echo cannot either).
    if (s.suspected) end_suspicion(false, false);
    const bool ptt = push_to_talk_.load(std::memory_order_acquire);
    if (ptt && !s.ptt_seen && b.enabled && ai && !s.pending_interrupt) {
      s.pending_interrupt = true;
      s.pending_reason = InterruptReason::kBargeIn;
      s.pending_onset = t0;
    }
    if (!ptt && s.ptt_seen) (void)apply_force_endpoint_on_audio_thread(t0);
    s.ptt_seen = ptt;
    return;
  }
  s.ptt_seen = false;
  if (!s.barge_in_uses_probability(vad_on, ai)) {
    if (s.suspected) end_suspicion(false, false);
    s.run_start = -1;
    return;
  }
  // The run: as the segmenter's, with the barge-in threshold (see BargeInConfig).
  const float keep = std::min(b.probability_threshold, s.vad_config.deactivation_threshold);
  if (s.run_start < 0) {
    if (p >= b.probability_threshold) {
      s.run_start = t0;
      s.run_near_end_samples = 0;
      s.run_echo_gated = false;
    }
  } else if (p < keep) {
    s.run_start = -1;
  }
  // The echo gate: only the run's periods with near-end energy the echo does not explain count as the user's.
  // (`gate_on` includes b.enabled, which holds here: barge_in_uses_probability() requires it.)
  if (s.run_start >= 0 && (!gate_on || s.near_end)) s.run_near_end_samples += static_cast<int64_t>(n);
  const bool near_end_enough = !gate_on || s.run_near_end_samples >= std::max<int64_t>(1, s.echo_gate_min_near_end_samples);
  if (s.run_start >= 0) {
    s.quiet_since = -1;
    const bool long_enough = end - s.run_start >= s.barge_in_min_speech_samples;
    if (long_enough && !near_end_enough && !s.run_echo_gated) {
      s.run_echo_gated = true;
      bump_single_writer(s.counters.barge_in_echo_gated_runs);
    }
    if (long_enough && near_end_enough) {
      if (ai && !s.pending_interrupt) {
        s.pending_interrupt = true;
        s.pending_reason = InterruptReason::kBargeIn;
        s.pending_onset = s.run_start;
      }
      // A held AI stays held until the interruption flushes it in this tick's playback stage.
      const bool held = s.paused || s.ducked;
      end_suspicion(true, false);
      if (!ai && held) {
        s.paused = false;
        s.ducked = false;
      }
      return;
    }
    if (!s.suspected && s.run_near_end_samples > 0) {
      s.suspected = true;
      if (ai && b.recovery == BargeInRecovery::kPause) s.gain_command = GainCommand::kPause;
      if (ai && b.recovery == BargeInRecovery::kDuck) s.gain_command = GainCommand::kDuck;
    }
  } else if (s.suspected) {
    if (s.quiet_since < 0) s.quiet_since = t0;
    if (end - s.quiet_since >= s.resume_after_samples) end_suspicion(false, true);
  }
}

void AudioEngine::end_suspicion(bool confirmed, bool count_false) noexcept {
  Impl& s = *impl_;
  s.suspected = false;
  s.run_start = -1;
  s.quiet_since = -1;
  if (count_false) s.tracker.on_false_interruption();
  if (!confirmed && (s.paused || s.ducked)) s.gain_command = GainCommand::kResume;
}

size_t AudioEngine::pull_items(PlaybackQueue& q, float* out, const float* peeked, size_t limit, int64_t t0,
                               size_t& pulled) noexcept {
  Impl& s = *impl_;
  const uint64_t stale_item = s.interrupted_item.load(std::memory_order_acquire);
  const uint64_t stale_held = s.interrupted_held_item.load(std::memory_order_acquire);
  size_t filled = 0;
  pulled = 0;
  while (pulled < limit) {
    uint64_t item = 0;
    bool started = false;
    const size_t k = peeked != nullptr ? q.consume(limit - pulled, item, started)
                                       : q.pull(out + filled, limit - pulled, item, started);
    if (k == 0) break;
    const size_t at = pulled;  // where these samples lie in the peeked run
    pulled += k;
    if (item != 0 && (item == stale_item || item == stale_held)) {
      bump(s.counters.stale_samples_dropped, static_cast<int64_t>(k));
      continue;
    }
    // Played samples follow one another in the output: after stale ones were dropped, move them down.
    if (peeked != nullptr && out + filled != peeked + at) std::memmove(out + filled, peeked + at, k * sizeof(float));
    if (!s.has_item || item != s.current_item) {
      if (s.has_item && playing_.load(std::memory_order_relaxed) && !s.item_completed) {
        // The previous item ended inside this block: it is complete where the next one begins.
        publish_playback_event(AudioEventType::kPlaybackComplete, t0 + static_cast<int64_t>(filled), s.current_item,
                               s.played_in_item);
        s.item_completed = true;
        s.last_completed_item = s.current_item;
      }
      s.current_item = item;
      s.has_item = true;
      s.played_in_item = 0;
      s.item_completed = false;
    }
    const bool was_playing = playing_.load(std::memory_order_relaxed);
    if (started || !was_playing || s.lane_switched) {
      if (s.item_completed && s.last_completed_item == item && !started) bump_single_writer(s.counters.playback_underruns);
      if (!was_playing) s.tracker.on_ai_started(t0 + static_cast<int64_t>(filled));
      publish_playback_event(AudioEventType::kPlaybackStarted, t0 + static_cast<int64_t>(filled), item,
                             s.played_in_item);
      playing_.store(true, std::memory_order_release);
      s.item_completed = false;
    }
    s.lane_switched = false;
    s.played_in_item += static_cast<int64_t>(k);
    filled += k;
  }
  return filled;
}

size_t AudioEngine::render_playback(float* out, size_t n, int64_t t0) noexcept {
  Impl& s = *impl_;
  const bool stopped = s.playback_stopped.load(std::memory_order_acquire);
  const size_t fade = s.fade_samples;
  const GainCommand cmd = s.gain_command;
  s.gain_command = GainCommand::kNone;
  size_t filled = 0;
  size_t pulled = 0;
  if (cmd == GainCommand::kNone && !s.pending_interrupt && !s.paused && !s.ducked && s.gain == 1.0f) {
    // The AI plays on at full gain, as in most periods: what the general case below does then, without its
    // decisions.
    if (!stopped && s.render_peeked > 0) filled = commit_plan(out, s.render_peeked, t0, pulled);
  } else if (s.pending_interrupt) {
    // The cut: the head of the block fades out from the current gain, the rest of the queue is flushed; every
    // later output sample is 0.
    s.pending_interrupt = false;
    const bool silent_already = s.paused && s.gain == 0.0f;
    if (!stopped && !silent_already) filled = commit_plan(out, std::min(fade, s.render_peeked), t0, pulled);
    apply_gain_ramp(out, filled, s.gain, 0.0f, fade);
    const int64_t silent_from = t0 + static_cast<int64_t>(filled);
    const InterruptReason reason = s.pending_reason;
    const InterruptResult r = apply_interrupt_on_audio_thread(reason, silent_from);
    if (reason == InterruptReason::kBargeIn && s.pending_onset >= 0 && r.was_playing) {
      // On a device the speaker goes quiet only once the output it already holds has played out.
      s.tracker.on_interrupt_latency(s.pending_onset, silent_already ? s.pause_silent_from : r.output_silent_at_samples);
    }
  } else {
    if (cmd == GainCommand::kPause) s.paused = true;
    if (cmd == GainCommand::kDuck) s.ducked = true;
    if (cmd == GainCommand::kResume) {
      s.ducked = false;
      // A paused AI resumes from the next block: this tick's was not peeked.
      if (s.paused) publish_playback_event(AudioEventType::kPlaybackResumed, t0 + static_cast<int64_t>(n),
                                           s.current_item, s.played_in_item);
      else publish_playback_event(AudioEventType::kPlaybackResumed, t0, s.current_item, s.played_in_item);
      s.paused = false;
      playback_paused_.store(false, std::memory_order_release);
    }
    const float target = s.paused ? 0.0f : (s.ducked ? s.barge_in.duck_gain : 1.0f);
    // Pausing plays only the fade; a paused, silent AI plays nothing (its queue is held).
    size_t limit = s.render_peeked;
    if (s.paused) limit = s.gain == 0.0f ? 0 : std::min(fade, limit);
    if (!stopped && limit > 0) filled = commit_plan(out, limit, t0, pulled);
    if (target != s.gain || target != 1.0f) apply_gain_ramp(out, filled, s.gain, target, target != s.gain ? fade : 0);
    if (cmd == GainCommand::kPause || cmd == GainCommand::kDuck) {
      if (cmd == GainCommand::kPause) {
        s.pause_silent_from = t0 + static_cast<int64_t>(filled);
        playback_paused_.store(true, std::memory_order_release);
      }
      publish_playback_event(AudioEventType::kPlaybackPaused, t0, s.current_item, s.played_in_item);
    }
    // A change with nothing to ramp over (a resume decided while paused) ramps on the next block instead.
    if (filled > 0 || target == s.gain) s.gain = target;
  }
  if (filled < n) {
    std::memset(out + filled, 0, (n - filled) * sizeof(float));
    if (playing_.load(std::memory_order_relaxed) && playback_queue_->queued_samples() == 0 &&
        urgent_queue_->queued_samples() == 0) {
      // Ran dry: the item and the queue are complete unless more arrives for the item later.
      const int64_t t = t0 + static_cast<int64_t>(filled);
      uint64_t last_item = s.current_item;
      if (s.urgent_lane) {
        // Both lanes are empty: the urgent item completes here, and the main lane takes over again (its item
        // completed when the urgent lane started, unless it was held and lost its audio to a flush: then it
        // ends where it was held).
        const bool held = s.main_held;
        s.main_held = false;
        switch_lane(false, false, t);
        s.lane_switched = false;
        if (held) {
          publish_playback_event(AudioEventType::kPlaybackComplete, t, s.current_item, s.played_in_item);
          last_item = s.current_item;
        }
      } else {
        publish_playback_event(AudioEventType::kPlaybackComplete, t, s.current_item, s.played_in_item);
      }
      publish_playback_event(AudioEventType::kQueueDrained, t, last_item,
                             played_total_.load(std::memory_order_relaxed) + static_cast<int64_t>(filled));
      playing_.store(false, std::memory_order_release);
      s.item_completed = true;
      s.last_completed_item = s.current_item;
      s.paused = false;
      s.ducked = false;
      s.gain = 1.0f;
      playback_paused_.store(false, std::memory_order_release);
    }
  }
  return filled;
}

void AudioEngine::update_conversation(bool speaking, bool speech_ended, int64_t t_samples) noexcept {
  Impl& s = *impl_;
  bool user = false;
  if (s.turn_mode == TurnTakingMode::kManual) {
    user = s.ptt_seen;
  } else {
    if (!speaking) s.user_suppressed = false;
    if (speech_ended) s.user_forced = false;
    user = (speaking && !s.user_suppressed) || s.user_forced;
  }
  ConversationTracker::Change c{};
  if (!s.tracker.update(user, playing_.load(std::memory_order_relaxed), c)) return;
  AudioEvent ev = make_state_event(t_samples, config_.audio.sample_rate_hz, static_cast<int32_t>(c.from),
                                   static_cast<int32_t>(c.to));
  ev.type = AudioEventType::kTurnChanged;
  s.bus.publish(ev);
}

void AudioEngine::apply_turn_request_on_audio_thread(ConversationState to, int64_t t_samples, bool in_tick) noexcept {
  Impl& s = *impl_;
  const bool user = has_user(to);
  s.turn_mode = turn_mode_.load(std::memory_order_acquire);
  if (s.turn_mode == TurnTakingMode::kManual) {
    // The button as if pressed or released, without the press counting as a barge-in (the AI side is below).
    push_to_talk_.store(user, std::memory_order_release);
    s.ptt_seen = user;
  } else {
    s.user_forced = user;
    s.user_suppressed = !user && s.user_vad_state() == VadState::kSpeaking;
  }
  if (!user) (void)apply_force_endpoint_on_audio_thread(t_samples);
  if (!has_ai(to) && playing_.load(std::memory_order_relaxed)) {
    if (!in_tick) {
      apply_interrupt_on_audio_thread(InterruptReason::kUser);
    } else if (!s.pending_interrupt) {
      s.pending_interrupt = true;
      s.pending_reason = InterruptReason::kUser;
      s.pending_onset = -1;
    }
  }
  if (has_ai(to) && s.suspected) end_suspicion(false, false);
  if (!in_tick) update_conversation(s.user_speaking(), false, t_samples);
}

ConversationState AudioEngine::get_conversation_state() const {
  return impl_ ? impl_->tracker.state() : ConversationState::kIdle;
}

Status AudioEngine::set_turn_taking_mode(TurnTakingMode mode) {
  if (mode != TurnTakingMode::kAutomatic && mode != TurnTakingMode::kManual) {
    return Status(Error::kInvalidArgument, "set_turn_taking_mode: mode = " + std::to_string(static_cast<int>(mode)) +
                                               "; valid: automatic (0) or manual (1)");
  }
  turn_mode_.store(mode, std::memory_order_release);
  if (impl_) impl_->post_control();
  return ok_status();
}

Status AudioEngine::set_push_to_talk(bool pressed) {
  if (turn_mode_.load(std::memory_order_acquire) != TurnTakingMode::kManual) {
    return Status(Error::kInvalidArgument, "set_push_to_talk: turn_taking_mode = automatic; push-to-talk needs "
                                           "set_turn_taking_mode(TurnTakingMode::kManual) first");
  }
  push_to_talk_.store(pressed, std::memory_order_release);
  return ok_status();
}

Result<ConversationState> AudioEngine::wait_for_turn_change(int timeout_ms) {
  if (!impl_) return Result<ConversationState>(Error::kNotInitialized, "wait_for_turn_change: call initialize() first");
  auto ev = impl_->bus.wait_for_event(AudioEventType::kTurnChanged, timeout_ms);
  if (!ev) {
    return Result<ConversationState>(Error::kTimeout,
                                     "wait_for_turn_change: no TURN_CHANGED within " + std::to_string(timeout_ms) + " ms");
  }
  return static_cast<ConversationState>(ev->state.to);
}

Result<ConversationState> AudioEngine::force_turn_change(ConversationState to, int timeout_ms) {
  if (!initialized_) return Result<ConversationState>(Error::kNotInitialized, "force_turn_change: call initialize() first");
  if (static_cast<int32_t>(to) < 0 || static_cast<int32_t>(to) > static_cast<int32_t>(ConversationState::kOverlap)) {
    return Result<ConversationState>(Error::kInvalidArgument,
                                     "force_turn_change: to = " + std::to_string(static_cast<int>(to)) +
                                         "; valid: idle (0), user_speaking (1), ai_speaking (2), overlap (3)");
  }
  std::lock_guard lock(control_mutex_);
  if (!ticks_live()) {
    TokenGuard token(impl_->tick_token);
    apply_turn_request_on_audio_thread(to, now_samples(), false);
    return impl_->tracker.state();
  }
  impl_->turn_request_to.store(static_cast<int32_t>(to), std::memory_order_relaxed);
  const uint64_t epoch = impl_->turn_requests.request();
  impl_->post_control();
  if (!wait_for_ack(impl_->turn_ack_epoch, epoch, timeout_ms)) {
    return Result<ConversationState>(Error::kTimeout, "force_turn_change: no tick ran within " +
                                                          std::to_string(timeout_ms) + " ms; it applies at the next tick");
  }
  return impl_->tracker.state();
}

ConversationMetrics AudioEngine::get_conversation_metrics() const {
  return impl_ ? impl_->tracker.metrics(config_.audio.sample_rate_hz) : ConversationMetrics{};
}

LatencyStats AudioEngine::get_interrupt_latency() const {
  return impl_ ? impl_->tracker.interrupt_latency(config_.audio.sample_rate_hz) : LatencyStats{};
}

Status AudioEngine::enable_barge_in_detection(bool enabled) {
  BargeInConfig b = config_.barge_in;
  b.enabled = enabled;
  return enable_barge_in_detection(b);
}

Status AudioEngine::enable_barge_in_detection(const BargeInConfig& config) {
  EngineConfig c = config_;
  c.barge_in = config;
  auto r = update_config(c);
  return r.ok() ? ok_status() : Status(r.error(), r.message());
}

Status AudioEngine::set_interrupt_threshold(int min_speech_ms, float probability_threshold) {
  BargeInConfig b = config_.barge_in;
  b.min_speech_ms = min_speech_ms;
  b.probability_threshold = probability_threshold;
  return enable_barge_in_detection(b);
}

Result<InterruptResult> AudioEngine::wait_for_interrupt(int timeout_ms) {
  if (!impl_) return Result<InterruptResult>(Error::kNotInitialized, "wait_for_interrupt: call initialize() first");
  const uint64_t after = last_interrupt_sequence_.load(std::memory_order_acquire);
  auto ev = impl_->bus.wait_for_event(AudioEventType::kInterrupt, timeout_ms, after);
  if (!ev) {
    return Result<InterruptResult>(Error::kTimeout,
                                   "wait_for_interrupt: no INTERRUPT within " + std::to_string(timeout_ms) + " ms");
  }
  mark_returned(last_interrupt_sequence_, after, ev->sequence);
  InterruptResult r;
  r.item_id = ev->interrupt.item_id;
  r.played_samples = ev->interrupt.played_samples;
  r.flushed_samples = ev->interrupt.flushed_samples;
  r.was_playing = r.played_samples > 0 || r.flushed_samples > 0;
  const double rate = ev->sample_rate_hz;
  r.played_ms = 1000.0 * static_cast<double>(r.played_samples) / rate;
  r.audio_flushed_ms = 1000.0 * static_cast<double>(r.flushed_samples) / rate;
  r.at_sample = ev->t_samples;
  r.reason = ev->interrupt.reason;
  r.heard_at_decision_samples = ev->interrupt.heard_at_decision_samples;
  r.heard_at_decision_ms = 1000.0 * static_cast<double>(r.heard_at_decision_samples) / rate;
  r.in_device_samples = r.played_samples - r.heard_at_decision_samples;
  r.output_silent_at_samples = ev->interrupt.output_silent_at_samples;
  return r;
}

Status AudioEngine::drain_queues(int timeout_ms) {
  if (!initialized_) return Status(Error::kNotInitialized, "drain_queues: call initialize() first");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(0, timeout_ms));
  for (;;) {
    if (playback_queue_->queued_samples() == 0 && urgent_queue_->queued_samples() == 0 &&
        !playing_.load(std::memory_order_acquire)) {
      return ok_status();
    }
    if (!ticks_live() || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Status(Error::kTimeout, "drain_queues: " +
                                     std::to_string(playback_queue_->queued_samples() + urgent_queue_->queued_samples()) +
                                     " samples still queued or playing after " + std::to_string(timeout_ms) + " ms" +
                                     (ticks_live() ? "" : " (ticks run on request: advance the clock)"));
}

}  // namespace ae
