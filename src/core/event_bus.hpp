#pragma once
// EventBus: carries AudioEvents from the threads that produce them to the subscribers, on the `ae-events` thread.
//
// Two preallocated SPSC rings feed one dispatcher thread:
//   - the real-time ring, written by the audio thread through publish(): wait-free, never blocks, drops and counts
//     when full, so a slow subscriber can never stall the audio thread;
//   - the control ring, written by any other thread through emit() (the orchestrator's own events, control-side
//     events); its producers are serialised by a mutex, which is fine off the audio thread.
// Every event gets its sequence from one atomic counter at publish/emit time, and the dispatcher merges both rings
// in sequence order, so subscribers see one total order that matches the order of publication.
//
// Merge argument. Within a ring sequences increase (one producer at a time takes its number and pushes in
// order). The dispatcher may hand out the head of one ring with sequence S only when the other ring cannot later
// produce a smaller number. Each producer raises an `in_flight` flag (seq_cst) before taking its number and
// lowers it (seq_cst, after the push) when done. If the dispatcher, after seeing S, reads the other side's flag
// as false and then finds the other ring empty, the other side either pushed already (the flag's release made the
// push visible, so the ring would not look empty) or has not yet raised its flag, and then, in the single total
// order of seq_cst operations, its fetch_add comes after the fetch_add that produced S: its number is larger.
// When the flag is up the dispatcher yields and looks again; the window is a handful of instructions.
// An event dropped on overflow still consumed its number, so subscribers can see gaps: each gap is a drop.
//
// Stop and detachment. Everything the dispatcher thread touches (rings, subscriptions, history, counters, the
// hook) lives in a State object shared between the EventBus and the thread through a shared_ptr. stop() waits for
// the thread to finish delivering what is pending until its deadline; if a callback is still running then, it
// marks the state abandoned and detaches the thread: the thread finishes the callback in progress, runs nothing
// else and releases the State. The EventBus can then be destroyed safely, and stop() never hangs.

#include <audioengine/events.hpp>
#include <audioengine/result.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

namespace ae {

struct EventBusConfig {
  size_t rt_capacity = 1024;       // events the audio thread may publish ahead of the dispatcher (power of 2 up)
  size_t control_capacity = 256;   // events other threads may emit ahead of the dispatcher (power of 2 up)
  int dispatch_interval_us = 1000; // how often an idle dispatcher looks at the rings, [50, 1000000]
  size_t history_size = 256;       // dispatched events kept for wait_for_event with an older sequence (0: none)
};

// Names every field out of range (field, value, valid range); ok when the config can be used as is.
// Thread: any. RT-safe: no.
Status validate_event_bus_config(const EventBusConfig& config);

class EventBus {
 public:
  struct Stats {
    uint64_t published = 0;           // publish() calls that entered the real-time ring
    uint64_t emitted = 0;             // emit() calls that entered the control ring
    uint64_t dispatched = 0;          // events handed to the subscribers (whether or not any matched)
    uint64_t dropped_overflow = 0;    // publish() and emit() calls that found their ring full
    uint64_t callback_exceptions = 0; // exceptions thrown by callbacks, filters or the dispatch hook
  };

  // Allocates the rings, the history and the dispatcher's scratch space. Values out of range are clamped to the
  // nearest valid value (validate_event_bus_config reports them). Thread: any. RT-safe: no.
  explicit EventBus(const EventBusConfig& config = {});
  // stop(kDestructorTimeoutMs) when running.
  ~EventBus();
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  static constexpr int kDestructorTimeoutMs = 2000;

  // Spawns the dispatcher thread, named "ae-events". A bus starts once.
  // Errors: kAlreadyRunning when started; kShutdown after stop(); kInternal when the thread cannot be created.
  // Thread: control. RT-safe: no.
  Status start();

  // Asks the dispatcher to deliver what is pending and to exit, waits for it at most timeout_ms (negative: 0), then
  // joins it. When a callback is still running at the deadline the thread is detached instead (see the file
  // comment): the callback in progress completes, nothing else runs, and stop() returns kTimeout by its deadline.
  // Events not delivered by then are discarded. Ok when never started or already stopped.
  // Thread: control, not from a callback (that returns kInternal at once). RT-safe: no.
  Status stop(int timeout_ms);

  // Assigns the next sequence to a copy of `event`, pushes it into the real-time ring and then calls the real-time
  // callback with it (even when the ring was full). Returns false when the ring was full: the event is dropped
  // and counted in dropped_overflow, and its sequence number is never dispatched.
  // Thread: the audio thread (one producer at a time). RT-safe: yes (wait-free: atomics only, no lock, no system
  // call, no allocation).
  bool publish(const AudioEvent& event) noexcept;

  // Same for any non-audio thread (the orchestrator's emit_event, control-side events); emitters are serialised by
  // a mutex. Returns false when the control ring was full (dropped and counted). The real-time callback is not
  // called. Thread: any but the audio thread. RT-safe: no (locks).
  bool emit(const AudioEvent& event);

  // Delivers events of `type` (or of every type) that pass `filter` (empty: all) to `callback` on `ae-events`, in
  // sequence order. Returns the subscription id (never 0), or 0 when callback is empty.
  // Thread: any, including from inside a callback (the new subscription sees events dispatched after it returns).
  // RT-safe: no.
  SubscriptionId subscribe(AudioEventType type, EventCallback callback, EventFilter filter = {});
  SubscriptionId subscribe_all(EventCallback callback, EventFilter filter = {});

  // Removes a subscription. When it returns true the callback is not running and will never run again, with one
  // exception: called from inside a callback on `ae-events` it does not wait (the thread cannot wait for itself),
  // so unsubscribing a callback from inside itself lets that one invocation finish; it still never runs again.
  // Blocks while the callback is running on `ae-events`. Returns false for an unknown id.
  // Thread: any. RT-safe: no.
  bool unsubscribe(SubscriptionId id);

  // Waits at most timeout_ms for the first dispatched event of `type` whose sequence is greater than
  // after_sequence (default: last_sequence() when the call begins, i.e. events published after the call). The
  // last history_size dispatched events are searched first, so an older after_sequence finds events already
  // dispatched, as long as they are still in the history. Returns the event once its subscribers have run, or
  // nullopt on timeout. From a callback on `ae-events` only the history is searched (nothing new can be dispatched
  // while it waits). Thread: any. RT-safe: no.
  std::optional<AudioEvent> wait_for_event(AudioEventType type, int timeout_ms,
                                           std::optional<uint64_t> after_sequence = std::nullopt);

  // Waits at most timeout_ms until every event published or emitted before the call has been dispatched to all
  // subscribers (or counted as dropped). Returns false on timeout, when the bus is not running while events are
  // pending, or when called on `ae-events`. Thread: any. RT-safe: no.
  bool wait_until_dispatched(int timeout_ms);

  // Sets (or clears, with nullptr) the real-time callback. Callback and user_data change together; when this
  // returns, the previous callback is not running and will not be called again, so its user_data may be freed.
  // Waits (yielding) for at most one real-time callback invocation in progress.
  // Thread: control, never the audio thread. RT-safe: no.
  void set_realtime_callback(RealtimeEventCallback callback, void* user_data);

  // A function run on `ae-events` once per dispatcher loop iteration (at least every dispatch_interval_us), before
  // events are dispatched; the engine delivers capture chunks to their callbacks from it. An exception it throws is
  // counted in callback_exceptions. Ignored after start(). Thread: control, before start(). RT-safe: no.
  void set_dispatch_hook(std::function<void()> hook);

  // Sequence of the last event published or emitted (0 before the first). Thread: any. RT-safe: yes.
  uint64_t last_sequence() const noexcept;
  // Thread: any. RT-safe: yes.
  Stats stats() const noexcept;
  // Bytes the bus allocated for its rings, history and scratch space. Thread: any. RT-safe: yes.
  size_t memory_bytes() const noexcept;
  // Capacity of the real-time ring (rt_capacity rounded up to a power of two). Thread: any. RT-safe: yes.
  size_t rt_capacity() const noexcept;

 private:
  struct State;
  SubscriptionId add_subscription(bool all_types, AudioEventType type, EventCallback callback, EventFilter filter);
  std::shared_ptr<State> state_;
};

}  // namespace ae
