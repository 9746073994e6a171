#pragma once
// AudioEngine: the facade the orchestrator talks to. It owns and wires the components (clock, capture source,
// processing, VAD, playback queue, sink, events, metrics) and never sits on the sample path with extra copies.
//
// Threads
// - control: any caller thread (lifecycle, config, queue_playback, interrupt_playback, subscribe...).
// - ae-audio: runs one tick per period (the virtual clock's thread or a device callback). Never allocates,
//   locks, blocks, logs or throws after initialize().
// - ae-events: dispatches events and, when a chunk callback is set, capture chunks.

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audioengine/clock.hpp"
#include "audioengine/config.hpp"
#include "audioengine/conversation.hpp"
#include "audioengine/devices.hpp"
#include "audioengine/echo_canceller.hpp"
#include "audioengine/events.hpp"
#include "audioengine/format.hpp"
#include "audioengine/metrics.hpp"
#include "audioengine/playback_queue.hpp"
#include "audioengine/processing_chain.hpp"
#include "audioengine/processor.hpp"
#include "audioengine/result.hpp"
#include "audioengine/spsc_ring.hpp"
#include "audioengine/stream_buffer.hpp"
#include "audioengine/vad.hpp"
#include "audioengine/vad_stream.hpp"

namespace ae {

class PortAudioClock;
struct DeviceFault;

// What a capture chunk carries besides its samples.
struct ChunkInfo {
  uint64_t sequence = 0;
  int64_t start_sample = 0;   // engine timeline position of the chunk's first sample
  int32_t num_frames = 0;
  int32_t sample_rate_hz = 0;
  float vad_probability = 0;
  VadState vad_state = VadState::kSilence;
  bool speech_started = false;  // VAD_SPEECH_START was decided in this chunk
  bool speech_ended = false;    // VAD_SPEECH_END was decided in this chunk
  // ENDPOINT was decided in this chunk (or, for force_endpoint(), at its start or just before it).
  bool endpoint = false;
  double start_ms() const { return 1000.0 * static_cast<double>(start_sample) / sample_rate_hz; }
};

// A processed microphone chunk as the consumer receives it.
struct CaptureChunk {
  ChunkInfo info;
  AudioFormat format;          // engine rate, mono, config.audio.chunk_sample_type
  std::vector<uint8_t> data;   // samples in `format`
  std::vector<float> samples;  // the same samples as float
};

using ChunkCallback = std::function<void(const CaptureChunk&)>;
// Runs on the audio thread for every chunk; `mono` is valid only during the call. Must not block, allocate,
// lock, log or throw.
using RealtimeChunkCallback = void (*)(const ChunkInfo& info, const float* mono, void* user_data);

// What an interruption cut, and what the user heard of it.
//
// On a sound device the samples the engine delivered in the last periods are still in the device's buffers (and
// the clock's FIFOs and converter) when the cut is decided: nothing recalls them, so they play out before the
// speaker goes silent. played_samples therefore counts them: it is what the user will have heard of the item in
// total, the point at which a speech API should truncate the item's transcript (never past the audio actually
// delivered). heard_at_decision_samples is the part that had reached the DAC when the engine cut its output (the
// tick that decided, its faded head included), from the device's own timestamps (see
// Clock::output_pending_samples()); in_device_samples is the rest. On the virtual clock the sink is the listener:
// nothing is pending, heard_at_decision_samples == played_samples and output_silent_at_samples == at_sample.
struct InterruptResult {
  bool was_playing = false;
  uint64_t item_id = 0;           // the item that was playing
  // Of that item, delivered to the sink, exact: every sample the sink received, the faded ones of the cut
  // included (they were audible, attenuated); never more than was queued for the item. They all play out.
  int64_t played_samples = 0;
  int64_t flushed_samples = 0;    // discarded from the queue (all items)
  double played_ms = 0;
  double audio_flushed_ms = 0;
  int64_t at_sample = 0;          // engine timeline position where the output went silent (after the fade)
  InterruptReason reason = InterruptReason::kUser;
  // played_samples minus the output still ahead of the DAC when the engine cut (not below 0): what had been
  // heard when the cut was made.
  int64_t heard_at_decision_samples = 0;
  double heard_at_decision_ms = 0;
  // played_samples - heard_at_decision_samples: delivered, still in the device's path at the cut, played out
  // after it.
  int64_t in_device_samples = 0;
  // Engine timeline position where the speaker itself goes silent: at_sample plus the output of earlier ticks
  // that was still ahead of the DAC. The interrupt latency a listener experiences ends here.
  int64_t output_silent_at_samples = 0;
  // The item a kInterject item was holding when the cut came (0 when none; see PlaybackPriority): cut too, its
  // later audio stale. held_played_samples is what it played before it was held (its PLAYBACK_PAUSED's count).
  uint64_t held_item_id = 0;
  int64_t held_played_samples = 0;
  double held_played_ms = 0;
};

// How queue_playback() places an item.
//
// kNext and kInterject items go to an urgent lane of their own (a second queue) and leave the queued answer in
// place: the urgent lane plays its items in the order they were queued, then the main queue goes on where it
// stopped. What an orchestrator sees (every position exact, in samples on the engine timeline):
// - kNormal, kReplace: as before; kReplace first publishes an INTERRUPT with reason flush.
// - kNext: PLAYBACK_COMPLETE of the item that was playing, where its queued audio ends (an item that ran dry
//   counts as ended: more of it arriving later resumes it after the urgent lane, with PLAYBACK_STARTED whose
//   `samples` is what it played before); PLAYBACK_STARTED / PLAYBACK_COMPLETE of the urgent item; then the main
//   queue's items as before.
// - kInterject: at the next tick boundary the playing item fades out over barge_in.fade_out_ms (those samples
//   count as played) and PLAYBACK_PAUSED reports how much of it was played; PLAYBACK_STARTED / PLAYBACK_COMPLETE
//   of the urgent item follow at the same position; then PLAYBACK_RESUMED, with the same `samples` as the pause,
//   and the item fades back in from the very next sample (nothing skipped or repeated). Audio queued for the held
//   item meanwhile is kept. An item that is ending within the fade, or nothing playing, needs no fade: the urgent
//   item simply goes first, as with kNext.
// - An interruption (interrupt_playback, barge-in, kReplace) while the urgent lane plays cuts both lanes: the
//   INTERRUPT names the urgent item actually playing, InterruptResult::held_item_id / held_played_samples the
//   item an interjection was holding (its PLAYBACK_PAUSED carries the same count), and later audio of either is
//   stale. flush_playback_queue() and stop_playback() empty both lanes.
// A head urgent item decides when the lane starts: kInterject at once, kNext at the main item's end; later urgent
// items queue behind it whatever their priority. Audio for the item id last queued as urgent stays in the urgent
// lane whatever priority it is queued with, so an urgent item may be streamed in pieces; if the lane runs dry
// before the rest arrives, the main queue resumes and the rest plays as a new urgent run.
enum class PlaybackPriority : int32_t {
  kNormal = 0,   // after what is queued
  kReplace = 1,  // an urgent item (an alert, a new answer): what plays and what is queued is cut first, exactly
                 // like interrupt_playback(kFlush) (INTERRUPT with reason flush; later audio of the cut item is
                 // stale), then this item plays next. Give it an id of its own: audio for the cut id is dropped.
  kNext = 2,     // right after the item now playing, ahead of what is queued; the queued items keep their order
  kInterject = 3,  // now: the playing item is held (faded out at a tick boundary), this item plays, then the
                   // held item resumes where it stopped, then the rest of the queue
};
// "normal", "replace", "next", "interject" ("unknown" otherwise). Thread: any. RT-safe: yes.
const char* to_string(PlaybackPriority priority) noexcept;
// Inverse of to_string, ASCII case-insensitive. Errors: kInvalidArgument naming the text and the valid names.
// Thread: any. RT-safe: no (the error message allocates).
Result<PlaybackPriority> parse_playback_priority(std::string_view name);

struct FlushAllResult {
  size_t playback_bytes = 0;   // in the playback sample type
  size_t capture_samples = 0;
  size_t chunks = 0;
  size_t stream_buffer_frames = 0;
};

struct QueueDepths {
  size_t capture_samples = 0;
  size_t playback_samples = 0;
  size_t chunks = 0;
  double capture_ms = 0;
  double playback_ms = 0;
};

struct ResourceStatus {
  bool initialized = false;
  bool running = false;
  bool capturing = false;
  ClockSource clock = ClockSource::kVirtual;
  std::string clock_mode;
  std::string sink;               // "memory", ...
  std::vector<std::string> threads;
  size_t audio_buffer_bytes = 0;  // queues, rings and scratch sized by the configured durations
  size_t event_buffer_bytes = 0;
  int64_t ticks = 0;
  // Speech detectors the live path holds, as last made (the audio thread takes a new set at its next tick): 0 when
  // none was made (the VAD off since initialize()), 1 for the VAD, 2 with the barge-in's own detector, made only
  // while a WebRTC echo canceller writes its copy for it (EchoCancellerConfig::vad_copy at 8 or 16 kHz).
  int vad_detectors = 0;
};

class AudioEngine final : private TickTarget {
 public:
  // Creates an engine; nothing is allocated for audio until initialize(). An invalid config is reported by
  // initialize(). Thread: control. RT-safe: no.
  static std::unique_ptr<AudioEngine> create(const EngineConfig& config = {});
  // The fast-lane setup: `sample_rate_hz`, periods of `chunk_duration_ms`, VAD as given. Thread: control.
  static std::unique_ptr<AudioEngine> create_for_fast_lane(int sample_rate_hz = 16000, int chunk_duration_ms = 10,
                                                           const VadConfig& vad_config = {});
  ~AudioEngine() override;
  AudioEngine(const AudioEngine&) = delete;
  AudioEngine& operator=(const AudioEngine&) = delete;

  // ---- lifecycle (control thread) ------------------------------------------------------------------------
  // Validates the config (kInvalidConfig listing every problem) and allocates everything the audio thread will
  // touch. Idempotent: a second call on an initialized engine is a no-op.
  Status initialize();
  // Starts the clock and the event dispatcher. Initializes first if needed. Idempotent.
  Status start();
  // Stops the clock and the dispatcher and releases the audio buffers. Never hangs: a thread that does not stop
  // within `timeout_ms` (default config.shutdown_timeout_ms) is detached and kTimeout returned. Idempotent.
  Status shutdown(int timeout_ms = -1);
  // Clears queues, VAD state, timeline and counters; keeps config and subscriptions. Running engines are stopped
  // and started again.
  Status reset();
  ResourceStatus get_resource_status() const;
  bool is_initialized() const { return initialized_; }
  bool is_running() const;

  // ---- configuration -------------------------------------------------------------------------------------
  const EngineConfig& config() const { return config_; }
  // Applies `config`. Hot settings (VAD on/off, thresholds and durations, prefix padding, endpointing, capture
  // delivery, barge-in, overflow policies, stage timing) reach the audio thread at the next tick boundary; the
  // rest are stored and listed in needs_restart. Turning the VAD on when the engine started without one builds the
  // detector here (errors of make_vad). kInvalidConfig when `config` does not validate (nothing is applied then);
  // kQueueFull when live ticks stall with settings pending.
  Result<ConfigUpdate> update_config(const EngineConfig& config);
  // Fast-lane tuning as in the seed API: total latency budget, VAD activation threshold (0..1) and the minimum
  // speech before an interruption (vad.min_speech_ms and barge_in.min_speech_ms; the threshold also becomes
  // barge_in.probability_threshold). Hot when initialized (period changes need a restart).
  Status configure_fast_lane(int max_latency_ms, float vad_threshold, int interrupt_threshold_ms);

  // ---- clock ---------------------------------------------------------------------------------------------
  // Virtual clock (inline / stepped): runs `duration_ms` worth of ticks and returns when they ran.
  Status advance(int64_t duration_ms);
  // Same, in whole ticks. Inline (below): on an inline clock a caller stepping one period at a time makes this
  // call every period, and then it is the tick itself and a few tests. Thread: one control thread at a time.
  // RT-safe: no.
  inline Status advance_ticks(int64_t num_ticks);
  VirtualClock* virtual_clock() { return virtual_clock_.get(); }
  // Engine timeline. Thread: any. RT-safe: yes.
  int64_t now_samples() const { return timeline_samples_.load(std::memory_order_acquire); }
  double now_ms() const;
  size_t period_frames() const { return period_frames_; }
  int sample_rate_hz() const { return config_.audio.sample_rate_hz; }

  // ---- devices (clock.source == kDevice; see devices.hpp) --------------------------------------------------
  // Select the capture / playback device by id or name ("" = the host API's default) for the next start.
  // Errors: kAlreadyRunning while running (stop with shutdown() first). The device is looked up at start().
  // Thread: control. RT-safe: no.
  Status set_capture_device(const std::string& id_or_name);
  Status set_playback_device(const std::string& id_or_name);
  // Full duplex (capture and playback), or half duplex in one direction. Errors: kAlreadyRunning while running.
  // Thread: control. RT-safe: no.
  Status set_duplex_mode(DuplexMode mode);
  // Switches the clock to the device clock (config.clock.source = kDevice), starts the engine on the devices of
  // config.device and returns the capture and playback streams as opened (rates, periods, latency of each step).
  // Errors: those of start() and of the device layer (kInvalidArgument for a device or host API that does not
  // exist, kUnsupported for a format the device refuses, kIo when the host API fails). Thread: control.
  Result<DuplexStreams> start_full_duplex();
  // The streams the device clock opened (both closed when the engine is not on a device clock).
  // Thread: control. RT-safe: no.
  DuplexStreams get_device_streams() const;
  // Device-layer counters: callbacks, xruns, FIFO accounting, failures and reopens. Thread: any. RT-safe: no.
  DeviceStats get_device_stats() const;

  // ---- capture -------------------------------------------------------------------------------------------
  // Chunks flow to the consumer only while capturing; ticks run (VAD, playback) either way.
  Status start_capture();
  Status stop_capture();
  bool is_capturing() const { return capturing_.load(std::memory_order_acquire); }
  // Makes `data` (any supported format; converted and resampled to the engine format) the next microphone
  // input. Overflow follows queues.capture_overflow. Thread: control (callers are serialised). RT-safe: no.
  Status inject_test_audio(const void* data, size_t num_bytes, const AudioFormat& format);
  Status inject_test_audio(std::span<const float> mono_at_engine_rate);
  // Pull API: the next chunk, if any. Thread: one consumer thread. RT-safe: no (fills vectors).
  bool try_read_chunk(CaptureChunk& out);
  // Waits up to `timeout_ms` for a chunk. Thread: one consumer thread.
  bool read_chunk(CaptureChunk& out, int timeout_ms);
  // Callback API: chunks are delivered on ae-events instead of the pull API (which then returns nothing). May be
  // set at any time, before initialize() too; nullptr goes back to the pull API.
  void set_chunk_callback(ChunkCallback callback);
  void set_realtime_chunk_callback(RealtimeChunkCallback callback, void* user_data);
  // The audio thread writes captured mono samples here in device / injection order: zero-copy producers
  // (a device callback, a decoder) may push into it directly when they are the only producer.
  SpscRing<float>& get_capture_queue() { return *capture_ring_; }

  // ---- playback ------------------------------------------------------------------------------------------
  // Queues AI audio in `format` (default: engine rate, mono, config.audio.playback_sample_type). `item_id`
  // groups the audio of one AI response so positions are reported per item; 0 means "continue the current
  // item". Audio for an item that was interrupted is dropped (stale) and counted. Overflow follows
  // queues.playback_overflow. Thread: any. RT-safe: no.
  // `priority` (PlaybackPriority): kReplace cuts what plays and what is queued first (see interrupt_playback()
  // for the wait and kTimeout when ticks run by themselves); kNext and kInterject queue the item in the urgent
  // lane (see PlaybackPriority for the order and the events). Errors: kNotInitialized; kInvalidArgument for a
  // priority outside the enum (naming the value and the valid ones) or a format that cannot be converted;
  // kQueueFull as for overflow; those of interrupt_playback() for kReplace.
  Status queue_playback(const void* data, size_t num_bytes, uint64_t item_id = 0,
                        PlaybackPriority priority = PlaybackPriority::kNormal);
  Status queue_playback(const void* data, size_t num_bytes, const AudioFormat& format, uint64_t item_id = 0,
                        PlaybackPriority priority = PlaybackPriority::kNormal);
  // Same as queue_playback; also resumes output after stop_playback().
  Status play_audio(const void* data, size_t num_bytes, uint64_t item_id = 0);
  // Never blocks: true when all of the audio was accepted, false (nothing queued) otherwise.
  bool play_audio_sync(const void* data, size_t num_bytes, uint64_t item_id = 0);
  // Flushes the queue and keeps the output silent until the next play_audio().
  Status stop_playback();
  // Discards the queued playback audio; returns the bytes discarded (in the playback sample type).
  size_t flush_playback_queue();
  FlushAllResult flush_all_queues();
  // Stops the AI now and says exactly what was played and flushed. When ticks run by themselves it acts in the
  // next tick as a barge-in does (the head of that tick's block fades out over barge_in.fade_out_ms, the rest of
  // the queue is flushed) and waits for it (kTimeout after `timeout_ms`); otherwise it acts at once between ticks
  // (the previous tick's block was the last one played: no fade). Errors: kNotInitialized before initialize().
  // Thread: control. RT-safe: no.
  Result<InterruptResult> interrupt_playback(InterruptReason reason = InterruptReason::kUser, int timeout_ms = 1000);
  // The next INTERRUPT (barge-in, interrupt_playback(), replace) not yet returned by this function (each is returned
  // once, in order, also when it was dispatched before the call), waiting up to `timeout_ms`. Errors:
  // kNotInitialized before initialize(); kTimeout when none arrives in time. Thread: any but an ae-events
  // callback. RT-safe: no. The result is built from the INTERRUPT event, which has no room for held_item_id /
  // held_played_samples (0 here): during an interjection the held item's count is its PLAYBACK_PAUSED's.
  Result<InterruptResult> wait_for_interrupt(int timeout_ms);
  // Waits up to `timeout_ms` until the playback queue is empty and the sink received its last sample (nothing
  // playing, nothing paused). Errors: kNotInitialized; kTimeout when audio is still queued or playing then (at once
  // when ticks do not run by themselves: advance the clock instead). Thread: control. RT-safe: no.
  Status drain_queues(int timeout_ms);
  // The AI is held by a suspected barge-in (barge_in.recovery = pause). Thread: any. RT-safe: yes.
  bool is_playback_paused() const { return playback_paused_.load(std::memory_order_acquire); }
  // AI audio reached the sink in the last tick, or is held by a suspected barge-in (paused or ducked); false once
  // the queue ran dry or playback was interrupted. Thread: any. RT-safe: yes.
  bool is_playing_audio() const { return playing_.load(std::memory_order_acquire); }
  QueueDepths get_queue_depths() const;
  PlaybackQueue& get_playback_queue() { return *playback_queue_; }
  // Memory sink: copies up to `max_samples` of the output (mono float, engine rate, silence included) in order.
  // Thread: one reader. RT-safe: yes.
  size_t read_played_audio(float* dst, size_t max_samples);
  int64_t played_samples_total() const { return played_total_.load(std::memory_order_acquire); }

  // ---- stream buffers ------------------------------------------------------------------------------------
  Result<BufferId> create_stream_buffer(const StreamBufferConfig& config);
  StreamBuffer* get_stream_buffer(BufferId id);
  Result<BufferStatus> get_buffer_status(BufferId id) const;
  size_t flush_buffers();
  Status wait_for_buffer_ready(BufferId id, int timeout_ms);

  // ---- VAD -----------------------------------------------------------------------------------------------
  // The live capture path's VAD, as of the last tick. Thread: any. RT-safe: yes.
  VadState get_vad_state() const { return vad_state_.load(std::memory_order_acquire); }
  float get_vad_probability() const { return vad_probability_.load(std::memory_order_acquire); }

  // Turns the VAD on with `config`, on both paths:
  // - the live capture path (config.vad becomes `config` with enabled = true): when initialized, a new detector
  //   is built and prepared here, on the calling thread, and swapped in at the next tick boundary with the
  //   segmenter settings (the audio thread never allocates or frees for it); before initialize() the config is
  //   stored for it. Switching on or off starts the detector, segmenter and endpointer afresh, without events.
  // - audio the application holds (a file, a remote party's stream): a VadStream (vad_stream.hpp) at the engine's
  //   rate with frames of one period, fed by process_vad(); replaces any previous one (its events are dropped).
  // Errors (nothing changes then): those of VadStream::create and make_vad (kInvalidConfig naming the field;
  // kIo when the Silero model is missing); kQueueFull when
  // live ticks stall with settings pending. Thread: control. RT-safe: no.
  Status enable_vad(const VadConfig& config);
  // Turns the live VAD off at the next tick boundary (no VAD, ENDPOINT or barge-in from then on; vad.enabled =
  // false, the detector kept for a later enable) and drops the held-audio stream and its pending events
  // (process_vad() then fails). Thread: control. RT-safe: no.
  void disable_vad();
  // Analyses mono samples at the engine's rate, continuing the timeline of earlier calls (a partial frame waits
  // for the next call), and returns the frames completed by this call. Errors: kNotInitialized before
  // enable_vad(). Thread: control. RT-safe: no.
  Result<std::vector<VadFrame>> process_vad(std::span<const float> mono_at_engine_rate);
  // VAD_SPEECH_START / VAD_SPEECH_END decided by process_vad() since the last call, oldest first, timed on the
  // process_vad() timeline (sample 0 = the first sample given after enable_vad()). Empty when disabled.
  // Thread: control. RT-safe: no.
  std::vector<AudioEvent> get_vad_events();
  // ---- endpointing (endpointing.hpp) ----
  // They act on both paths: the live capture path once initialized (ENDPOINT events on the bus, config.endpoint
  // updated; its endpointing runs while config.endpoint.enabled and the VAD are on) and the held-audio stream
  // while enable_vad() holds one (ENDPOINT events join get_vad_events(); its endpointing starts with the first
  // configure_endpointing()).
  // configure_endpointing: replaces the endpoint config at the next tick boundary; an utterance in progress is
  // dropped (no ENDPOINT) unless only silence_timeout_ms changed. Errors: kInvalidConfig naming the field;
  // kNotInitialized when neither path exists (before initialize() and enable_vad(); set EngineConfig::endpoint
  // instead); kQueueFull when live ticks stall with settings pending.
  // set_endpoint_timeout: the silence timeout from the next tick boundary on, clamped to [100, 10000] ms; the
  // utterance in progress goes on under it. Errors as configure_endpointing's.
  Status configure_endpointing(const EndpointConfig& config);
  Status set_endpoint_timeout(int timeout_ms);
  // Ends the utterance in progress now with an ENDPOINT (reason forced) on each path that has one; if the user
  // is still speaking on the live path, the next utterance opens at the same sample. Live: applied at the next
  // tick boundary through an epoch the tick acknowledges, waiting up to `timeout_ms` for it when ticks run by
  // themselves (false on timeout; it still applies then), at once between ticks otherwise. Returns true when an
  // utterance was ended. Thread: control. RT-safe: no.
  bool force_endpoint(int timeout_ms = 1000);
  // The live path's state (as of the last tick) once initialized; before that the held stream's; kIdle when
  // neither runs endpointing. Thread: control. RT-safe: no.
  EndpointState get_endpoint_state();
  // The next live ENDPOINT event not yet returned by this function (events already dispatched count: each is
  // returned once, in order), waiting up to `timeout_ms`. Errors: kNotInitialized before initialize(); kTimeout
  // when none arrives in time. Thread: any (not an ae-events callback: it would wait on itself). RT-safe: no.
  Result<AudioEvent> wait_for_endpoint(int timeout_ms);

  // ---- conversation and barge-in (conversation.hpp, config.hpp BargeInConfig) -----------------------------
  // Who holds the floor, as of the last tick (kIdle before initialize()). Thread: any. RT-safe: yes.
  ConversationState get_conversation_state() const;
  // Automatic (the user's turn follows the live VAD, barge-in from speech over the AI) or manual push-to-talk
  // (the user's turn is the talk button; the VAD still runs for chunks and ENDPOINT, but never interrupts the AI).
  // Applied at the next tick boundary; a barge-in suspected at the switch ends (resumed). Errors: kInvalidArgument
  // for a value outside the enum. Thread: any. RT-safe: yes.
  Status set_turn_taking_mode(TurnTakingMode mode);
  TurnTakingMode get_turn_taking_mode() const { return turn_mode_.load(std::memory_order_acquire); }
  // Manual mode's talk button. Pressing it while the AI plays is a barge-in (when barge_in.enabled): the AI fades
  // out and is flushed in the next tick, INTERRUPT with reason barge_in. Releasing it ends the user's utterance
  // (ENDPOINT with reason forced, when endpointing runs and an utterance is open). Seen at the next tick boundary.
  // Errors: kInvalidArgument in automatic mode (naming the mode to set). Thread: any. RT-safe: yes.
  Status set_push_to_talk(bool pressed);
  bool is_push_to_talk_pressed() const { return push_to_talk_.load(std::memory_order_acquire); }
  // The state of the next TURN_CHANGED published after the call, waiting up to `timeout_ms`. Errors:
  // kNotInitialized; kTimeout. Thread: any but an ae-events callback. RT-safe: no.
  Result<ConversationState> wait_for_turn_change(int timeout_ms);
  // Gives the floor as `to` says, at the next tick boundary (at once between ticks):
  // - the user's side: with the user (USER_SPEAKING, OVERLAP), manual mode presses the talk button, automatic mode
  //   counts the user as speaking until the VAD's next speech end; without, manual mode releases the button,
  //   automatic mode ignores the speech in progress until it ends, and the open utterance ends (ENDPOINT, forced);
  // - the AI's side: without the AI (IDLE, USER_SPEAKING) playing audio is interrupted (reason user); with it, a
  //   suspected barge-in ends and the AI resumes. The AI cannot be made to speak without audio queued.
  // Returns the state after the change (which differs from `to` only on the AI's side, when nothing plays).
  // Errors: kNotInitialized; kInvalidArgument for a value outside the enum; kTimeout when live ticks did not
  // apply it within `timeout_ms` (it still applies then). Thread: control. RT-safe: no.
  Result<ConversationState> force_turn_change(ConversationState to, int timeout_ms = 1000);
  // Turns, overlaps, interruptions, false interruptions, response and interrupt latency (conversation.hpp for the
  // definitions). Zero before initialize(). Thread: any. RT-safe: yes.
  ConversationMetrics get_conversation_metrics() const;
  // From the onset of the speech that confirmed a barge-in to the first output sample silent because of it; on a
  // running device, to when the output the device already held has played out (output_silent_at_samples).
  // Thread: any. RT-safe: yes.
  LatencyStats get_interrupt_latency() const;
  // Barge-in on or off (config.barge_in.enabled), or the whole BargeInConfig; hot, at the next tick boundary.
  // Errors: kInvalidConfig naming each bad field (nothing changes then); kQueueFull when live ticks stall with
  // settings pending. Thread: control. RT-safe: no.
  Status enable_barge_in_detection(bool enabled = true);
  Status enable_barge_in_detection(const BargeInConfig& config);
  // Barge-in confirmed after `min_speech_ms` [0, 5000] of speech at VAD probability >= `probability_threshold`
  // (0, 1] while the AI plays. Errors as enable_barge_in_detection's. Thread: control. RT-safe: no.
  Status set_interrupt_threshold(int min_speech_ms, float probability_threshold);

  // ---- events --------------------------------------------------------------------------------------------
  // Subscriptions may be made before initialize() and survive shutdown()/initialize(). Callbacks run on
  // ae-events. Returns an id (never 0), or 0 for an empty callback. Thread: any. RT-safe: no.
  SubscriptionId subscribe(AudioEventType type, EventCallback callback, EventFilter filter = {});
  SubscriptionId subscribe_all(EventCallback callback, EventFilter filter = {});
  bool unsubscribe(SubscriptionId id);
  std::optional<AudioEvent> wait_for_event(AudioEventType type, int timeout_ms,
                                           std::optional<uint64_t> after_sequence = std::nullopt);
  // The orchestrator's own event, delivered to subscribers in order with the engine's. Stamped with now_samples().
  Status emit_event(AudioEvent event);
  // Runs on the audio thread as each event is published: see RealtimeEventCallback's rules.
  void set_realtime_event_callback(RealtimeEventCallback callback, void* user_data);
  // Waits until every event published so far reached the subscribers (and chunk callbacks their chunks).
  bool wait_until_dispatched(int timeout_ms);

  // ---- processing chain and modes (processing_chain.hpp) ---------------------------------------------------
  // Prepares `processor` on the calling thread at the engine rate with blocks of one period and adds it to
  // `stage`, running in the routings of `modes`; it fades in from the next tick. Works before initialize() too.
  // Errors: those of ProcessingChain::add; kInvalidConfig when the engine's rate or period changed since the
  // chain's processors were prepared. Thread: control. RT-safe: no.
  Result<ProcessorId> add_processor(std::shared_ptr<AudioProcessor> processor, ProcessingStage stage,
                                    ModeMask modes = kAllModes);
  // Fades the processor out and drops the engine's reference to it on a control thread: at once when it never
  // ran or no clock is running, otherwise when ticks running by themselves finished the fade (this call waits up to `timeout_ms`), or
  // at the end of the advance() that finished it on the virtual clock. Errors: kInvalidArgument for an unknown
  // id; kTimeout when live ticks did not finish the fade in time (the removal still completes later).
  // Thread: control. RT-safe: no.
  Status remove_processor(ProcessorId id, int timeout_ms = 1000);
  // Bypass (true) fades the processor out, keeping it in the chain; false fades it back in. Errors:
  // kInvalidArgument for an unknown id. Thread: control. RT-safe: no.
  Status set_processor_bypass(ProcessorId id, bool bypass);
  // Runs the capture stages (capture-pre, capture-post) over held mono audio at the engine rate, in place, in
  // blocks of one period; `render` (empty or as long as `mono`) is the speaker signal of the same instants.
  // The processors are the live chain's, so this runs between ticks. Errors: kAlreadyRunning while ticks run by
  // themselves (device clock, real-time virtual clock); kInvalidArgument for a render of another length.
  // Thread: control. RT-safe: no.
  Status process_audio(std::span<float> mono, std::span<const float> render = {});
  // process_audio on a thread of its own (ae-offline); the future holds the processed samples.
  // Thread: control. RT-safe: no.
  std::future<Result<std::vector<float>>> process_audio_async(std::vector<float> mono,
                                                              std::vector<float> render = {});
  // The mode (config.hpp ProcessingMode); applied by the audio thread at the next tick boundary, with
  // crossfades. kAdaptive chooses fast lane or quality from the measured tick cost with the last
  // AdaptiveModeConfig given (the defaults otherwise). Errors: kInvalidArgument for a value outside the enum.
  // Thread: any. RT-safe: yes.
  Status set_mode(ProcessingMode mode);
  ProcessingMode get_mode() const { return mode_.load(std::memory_order_acquire); }
  // The routing the audio thread runs now: kFastLane or kQuality (in adaptive mode, its current choice).
  // Thread: any. RT-safe: yes.
  ProcessingMode get_active_routing() const { return active_routing_.load(std::memory_order_acquire); }
  // set_mode(kFastLane). Thread: any.
  Status optimize_for_latency() { return set_mode(ProcessingMode::kFastLane); }
  // set_mode(kQuality). Thread: any.
  Status optimize_for_quality() { return set_mode(ProcessingMode::kQuality); }
  // The fast lane with adaptive switching off, whatever the mode was. Thread: any.
  Status force_fast_lane() { return set_mode(ProcessingMode::kFastLane); }
  // Adaptive mode with `config`. Errors: kInvalidConfig naming each bad field (nothing changes then).
  // Thread: control. RT-safe: no.
  Status enable_adaptive_mode(const AdaptiveModeConfig& config = {});

  // ---- echo cancellation (echo_canceller.hpp) -------------------------------------------------------------
  // Turns echo cancellation on with `config`: validates it, creates the processor (make_echo_processor), prepares
  // it on the calling thread at the engine rate with blocks of one period and installs it at the capture-pre
  // stage in every mode, where it cancels the echo of this tick's playback block (the render stage's output) from
  // this tick's microphone block. config.echo becomes {enabled = true, `config`}. Works in every state: before
  // initialize() the chain is built for config.audio and the processor survives initialize(), start() and
  // shutdown(); while ticks run it fades in over the chain's crossfade. A second call replaces the processor: the
  // new one is added first and the old one then removed, so no tick runs without a canceller (for the crossfade
  // the two run in series). The stream delay the processor gets is config.stream_delay_ms, or with -1 the
  // engine's estimate (ProcessContext::echo_delay_ms: device output + input latency on the device clock; -1,
  // i.e. "estimate it", on the virtual clock, where the engine adds no delay of its own between the two blocks
  // of a tick and any echo delay is in the injected audio). Errors (nothing changes then): kInvalidArgument
  // naming the bad field (EchoCancellerConfig::validate); kUnsupported for an implementation or engine rate the
  // processor does not support (the WebRTC one runs at 8000 and 16000 Hz); those of add_processor().
  // Thread: control. RT-safe: no.
  Status enable_echo_cancellation(const EchoCancellerConfig& config);
  // Removes the echo processor (a fade-out while ticks run; see remove_processor for `timeout_ms` and kTimeout)
  // and sets config.echo.enabled = false. Succeeds when echo cancellation is already off. Thread: control.
  // RT-safe: no.
  Status disable_echo_cancellation(int timeout_ms = 1000);
  // Whether an echo processor is installed. Thread: any. RT-safe: no (takes a control-side mutex).
  bool is_echo_cancellation_enabled() const;
  // The installed echo processor's measurements since it was installed: ERLE, its own delay estimate,
  // double-talk and far-end-active fractions, frames (see DuplexMetrics). Errors: kNotInitialized when echo
  // cancellation is off (call enable_echo_cancellation() or set config.echo.enabled). Thread: any. RT-safe: no.
  Result<DuplexMetrics> get_duplex_metrics() const;

  // ---- metrics -------------------------------------------------------------------------------------------
  // Counters and timings; with echo cancellation on, its duplex metrics too. Thread: any. RT-safe: no.
  EngineMetrics get_metrics() const;
  std::string export_metrics() const;

 private:
  explicit AudioEngine(const EngineConfig& config);
  class Impl;

  // TickTarget: one period. Thread: the audio thread.
  void run_tick(const float* capture, float* playback, size_t num_frames) noexcept override;
  // The period itself; `live`: ticks_live(), which advance_ticks() need not ask for an inline clock's ticks. A tick
  // that is not live marks its thread as the audio thread while it runs (advance_ticks() runs an inline clock's
  // ticks on the caller's thread). Thread: the audio thread. RT-safe: yes.
  void tick_body(const float* capture, float* playback, size_t n, bool live) noexcept;

  // The parts of the tick marked always_inline are defined in engine.cpp, the only file that may call them: they
  // run once or twice per tick, and folded into tick_body() they cost no call, prologue and epilogue each, which
  // added up to a tenth of the facade's cost per period.
  [[gnu::always_inline]] inline bool ticks_live() const;
  // Processing-chain parts of the tick (engine.cpp, "processing chain"). Thread: the audio thread.
  [[gnu::always_inline]] inline void begin_processing_tick() noexcept;
  [[gnu::always_inline]] inline size_t peek_render_block(float* render, size_t n, int64_t t0) noexcept;
  // Runs the capture stages on `cap` in place; returns what the barge-in's detector hears: `vad_copy` when the echo
  // canceller wrote its gentler copy there (EchoCancellerConfig::vad_copy), else `cap` (the VAD always hears `cap`).
  [[gnu::always_inline]] inline const float* process_capture_block(float* cap, size_t n, int64_t t0,
                                                                   const float* render, size_t render_frames,
                                                                   float* vad_copy) noexcept;
  [[gnu::always_inline]] inline void end_processing_tick(uint64_t tick_start_ns, size_t n) noexcept;
  // The chain at the engine's rate and period, created when first needed. Thread: control.
  Result<ProcessingChain*> ensure_chain();
  // Drops removed processors whose fade ended, between ticks. Runs after every advance: inline, nothing to reclaim
  // (the common case) costs one atomic load, not a call, the tick token and the chain's lock. Thread: control.
  void reclaim_processors() {
    if (chain_ && chain_->reclaim_pending()) reclaim_pending_processors();
  }
  void reclaim_pending_processors();
  // The cases of advance_ticks() and inject_test_audio() other than the one a caller stepping one period at a
  // time makes every period, out of line: the error messages they build stay out of the caller's code.
  // inject_rest(): what is left of `mono` after the first `done` samples went in, under the capture producers'
  // flag. Thread: control.
  [[gnu::noinline, gnu::cold]] Status advance_ticks_through_clock(int64_t num_ticks);
  [[gnu::noinline, gnu::cold]] Status inject_rest(std::span<const float> mono, size_t done);
  // Echo cancellation (engine.cpp, "echo cancellation"): creates, prepares and adds the processor, then removes
  // the one it replaces; makes the installed processor match config_.echo (initialize()). The caller holds
  // control_mutex_. Thread: control.
  Status install_echo_processor_locked(const EchoCancellerConfig& config);
  Status sync_echo_with_config_locked();
  Status write_playback(const float* samples, size_t num_samples, uint64_t item_id, bool never_block,
                        PlaybackPriority priority);
  // `silent_from`: where the output went silent (-1: the timeline's current position, between ticks).
  InterruptResult apply_interrupt_on_audio_thread(InterruptReason reason, int64_t silent_from = -1) noexcept;
  // Conversation and barge-in parts of the tick (engine.cpp, "conversation"). Thread: the audio thread (or a
  // control thread holding the tick token).
  // `gate_on`: the barge-in consults the echo gate this tick (BargeInConfig::echo_gate, with the tick's view of
  // the canceller).
  [[gnu::always_inline]] inline void update_barge_in(float probability, bool vad_on, bool gate_on, int64_t t0,
                                                     size_t n) noexcept;
  [[gnu::always_inline]] inline size_t render_playback(float* out, size_t n, int64_t t0) noexcept;
  // Pulls up to `limit` samples of `q` item by item into `out` (its first sample at timeline position `t0`),
  // publishing item starts and ends; `pulled` counts stale samples dropped too. `peeked`: the same samples as
  // peeked, in the same buffer as `out` at or after it; they are consumed without a copy and moved down only
  // where stale samples dropped before them (nullptr: copied out of the queue).
  [[gnu::always_inline]] inline size_t pull_items(PlaybackQueue& q, float* out, const float* peeked, size_t limit,
                                                int64_t t0, size_t& pulled) noexcept;
  // Priority lanes (engine.cpp, "playback"): plans this tick's block as runs from the main and urgent queues
  // (Impl::plan, render_peeked) and returns the main queue's share; commits the plan's first `limit` samples;
  // switches the lane playing at timeline position `t` (`cut`: an interjection holds the main item).
  [[gnu::always_inline]] inline size_t plan_block(size_t n) noexcept;
  [[gnu::always_inline]] inline size_t commit_plan(float* out, size_t limit, int64_t t0, size_t& pulled) noexcept;
  void switch_lane(bool to_urgent, bool cut, int64_t t) noexcept;
  // Ends a suspected barge-in: confirmed (the interruption follows), false (counted; the AI resumes) or
  // abandoned (barge-in turned off, mode switched, force_turn_change: the AI resumes, nothing counted).
  void end_suspicion(bool confirmed, bool count_false) noexcept;
  // `speaking`: the VAD's published state is speech (the tick has it at hand; see Impl::user_speaking()).
  [[gnu::always_inline]] inline void update_conversation(bool speaking, bool speech_ended, int64_t t_samples) noexcept;
  void apply_turn_request_on_audio_thread(ConversationState to, int64_t t_samples, bool in_tick) noexcept;
  void publish_playback_event(AudioEventType type, int64_t t_samples, uint64_t item_id, int64_t samples) noexcept;
  // Waits (yield, then poll) until `ack_epoch` reaches `epoch`; false after timeout_ms. Thread: control.
  bool wait_for_ack(const std::atomic<uint64_t>& ack_epoch, uint64_t epoch, int timeout_ms) const;
  // Live VAD / endpointing plumbing (engine.cpp). *_locked: the caller holds control_mutex_ and the engine is
  // initialized.
  // Makes the live detectors of `config` (the barge-in's own detector only while a canceller writes its copy) and
  // posts them for the next tick. `new_vad` false: only the barge-in's detector, for the echo canceller's current
  // setting; the VAD in place (or a set not yet taken) stays.
  Status post_live_detector_locked(const VadConfig& config, bool new_vad = true);
  // Re-posts the barge-in's detector when whether a copy is written changed (echo cancellation or vad_copy
  // switched). No-op before initialize() or without a live VAD.
  Status refresh_barge_in_detector_locked();
  Status apply_hot_locked(const char* caller);
  bool apply_force_endpoint_on_audio_thread(int64_t now_sample) noexcept;
  void publish_endpoint(const EndpointDecision& decision, int64_t t_samples, float probability) noexcept;
  // Completes `info` (sequence, rate), claimed with Impl::claim_chunk_info(), and hands the chunk to the consumer.
  [[gnu::always_inline]] inline void deliver_chunk(ChunkInfo& info, const float* samples) noexcept;
  void deliver_speech_backlog(int64_t onset_sample, int64_t t0, size_t num_frames, VadState state) noexcept;
  bool pop_chunk(CaptureChunk& out);
  SubscriptionId add_subscription(bool all_types, AudioEventType type, EventCallback callback, EventFilter filter);
  // ae-device: a device failure or recovery, published as kError / kStateChanged events.
  void report_device_fault(const DeviceFault& fault);

  EngineConfig config_;
  // Cold settings given to update_config() while running: they take effect at the next initialize().
  std::optional<EngineConfig> pending_restart_config_;
  bool initialized_ = false;
  size_t period_frames_ = 0;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<VirtualClock> virtual_clock_;
  std::unique_ptr<PortAudioClock> device_clock_;   // when config_.clock.source == kDevice, created by start()
  std::unique_ptr<SpscRing<float>> capture_ring_;
  std::unique_ptr<PlaybackQueue> playback_queue_;
  std::unique_ptr<PlaybackQueue> urgent_queue_;  // kNext / kInterject items (see PlaybackPriority)
  std::atomic<int64_t> timeline_samples_{0};
  std::atomic<bool> capturing_{false};
  std::atomic<bool> playing_{false};
  std::atomic<VadState> vad_state_{VadState::kSilence};
  std::atomic<float> vad_probability_{0};
  std::atomic<EndpointState> endpoint_state_{EndpointState::kIdle};
  std::atomic<uint64_t> last_endpoint_sequence_{0};  // the last ENDPOINT wait_for_endpoint() returned
  bool live_detector_ = false;  // a live detector exists or is posted (under control_mutex_)
  bool live_barge_in_detector_ = false;  // with the barge-in's own detector (under control_mutex_)
  std::atomic<int64_t> played_total_{0};
  std::atomic<TurnTakingMode> turn_mode_{TurnTakingMode::kAutomatic};
  std::atomic<bool> push_to_talk_{false};
  std::atomic<bool> playback_paused_{false};
  std::atomic<uint64_t> last_interrupt_sequence_{0};  // the last INTERRUPT wait_for_interrupt() returned
  std::mutex chain_mutex_;  // creation of chain_; never taken by the audio thread
  std::unique_ptr<ProcessingChain> chain_;
  std::atomic<ProcessingMode> mode_{ProcessingMode::kQuality};
  std::atomic<ProcessingMode> active_routing_{ProcessingMode::kQuality};
  // The adaptive config, field by field, and a generation the audio thread compares to pick it up.
  std::atomic<double> adaptive_high_{AdaptiveModeConfig{}.high_load_fraction};
  std::atomic<double> adaptive_low_{AdaptiveModeConfig{}.low_load_fraction};
  std::atomic<int> adaptive_up_ticks_{AdaptiveModeConfig{}.ticks_to_fast_lane};
  std::atomic<int> adaptive_down_ticks_{AdaptiveModeConfig{}.ticks_to_quality};
  std::atomic<uint64_t> adaptive_generation_{0};
  std::atomic<int> echo_delay_ms_{-1};
  // Control → audio: the engine's echo canceller is installed (the barge-in's echo gate in EchoGateMode::kAuto),
  // and the render-to-capture delay it was given (-1: none). Outside Impl: set before initialize() too.
  std::atomic<bool> echo_canceller_on_{false};
  std::atomic<int> echo_canceller_delay_ms_{-1};
  // The installed echo processor (also held by the chain) and its chain id; written under control_mutex_ and
  // echo_mutex_, read under either.
  mutable std::mutex echo_mutex_;
  std::shared_ptr<EchoProcessor> echo_processor_;
  ProcessorId echo_processor_id_ = 0;
  EchoCancellerConfig echo_installed_config_;  // what echo_processor_ was built from
  mutable std::mutex control_mutex_;   // serialises control-side producers; never taken by the audio thread
  std::mutex lifecycle_mutex_;         // initialize / start / shutdown / reset; never held by a callback path
  std::mutex held_vad_mutex_;          // the process_vad() stream; never taken by the audio thread
  std::unique_ptr<VadStream> held_vad_;

  // Subscriptions and callbacks belong to the engine, not to one initialize()..shutdown() span: they may be made
  // before initialize() and survive a restart. Each is replayed into the event bus that initialize() creates.
  struct Subscription {
    bool all_types = false;
    AudioEventType type = AudioEventType::kCustom;
    EventCallback callback;
    EventFilter filter;
    SubscriptionId bus_id = 0;
  };
  std::mutex subscriptions_mutex_;  // never held while calling into the bus in a way that can wait on a callback
  std::map<SubscriptionId, Subscription> subscriptions_;
  SubscriptionId next_subscription_id_ = 1;
  RealtimeEventCallback rt_event_callback_ = nullptr;
  void* rt_event_user_ = nullptr;
  std::mutex chunk_callback_mutex_;  // taken on ae-events and by set_chunk_callback(), never by the audio thread
  ChunkCallback chunk_callback_;
  std::atomic<bool> chunk_callback_set_{false};
  std::atomic<RealtimeChunkCallback> rt_chunk_callback_{nullptr};
  std::atomic<void*> rt_chunk_user_{nullptr};
};

// ---- the per-period call, inline ----------------------------------------------------------------------------
inline Status AudioEngine::advance_ticks(int64_t num_ticks) {
  // An inline clock's ticks run here, on the caller's thread, as VirtualClock::advance_ticks would run them.
  // Every other case, errors included, goes through the clock.
  VirtualClock* vc = virtual_clock_.get();
  if (vc != nullptr && vc->mode_ == VirtualClockMode::kInline && num_ticks >= 0 && vc->running()) [[likely]] {
    for (int64_t i = 0; i < num_ticks; ++i) {
      // Not live: an inline clock runs only here, and with a device clock the virtual one never starts.
      tick_body(nullptr, nullptr, vc->period_frames_, false);
      vc->count_tick();
    }
    reclaim_processors();
    return ok_status();
  }
  return advance_ticks_through_clock(num_ticks);
}

}  // namespace ae
