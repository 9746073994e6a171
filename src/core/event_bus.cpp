#include "core/event_bus.hpp"

#include <pthread.h>

#include <audioengine/realtime.hpp>
#include <audioengine/spsc_ring.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ae {
namespace {

constexpr int kMinDispatchIntervalUs = 50;
constexpr int kMaxDispatchIntervalUs = 1'000'000;
constexpr size_t kMaxCapacity = size_t{1} << 20;
constexpr size_t kMaxHistory = size_t{1} << 20;

using Clock = std::chrono::steady_clock;

Clock::time_point deadline_after(int timeout_ms) {
  return Clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
}

EventBusConfig clamped(EventBusConfig c) {
  c.rt_capacity = std::clamp<size_t>(c.rt_capacity, 2, kMaxCapacity);
  c.control_capacity = std::clamp<size_t>(c.control_capacity, 2, kMaxCapacity);
  c.dispatch_interval_us = std::clamp(c.dispatch_interval_us, kMinDispatchIntervalUs, kMaxDispatchIntervalUs);
  c.history_size = std::min(c.history_size, kMaxHistory);
  return c;
}

}  // namespace

Status validate_event_bus_config(const EventBusConfig& c) {
  std::string problems;
  auto add = [&problems](const std::string& text) {
    if (!problems.empty()) problems += "; ";
    problems += text;
  };
  if (c.rt_capacity < 2 || c.rt_capacity > kMaxCapacity) {
    add("rt_capacity = " + std::to_string(c.rt_capacity) + ": valid 2.." + std::to_string(kMaxCapacity) + " events");
  }
  if (c.control_capacity < 2 || c.control_capacity > kMaxCapacity) {
    add("control_capacity = " + std::to_string(c.control_capacity) + ": valid 2.." + std::to_string(kMaxCapacity) +
        " events");
  }
  if (c.dispatch_interval_us < kMinDispatchIntervalUs || c.dispatch_interval_us > kMaxDispatchIntervalUs) {
    add("dispatch_interval_us = " + std::to_string(c.dispatch_interval_us) + ": valid " +
        std::to_string(kMinDispatchIntervalUs) + ".." + std::to_string(kMaxDispatchIntervalUs) + " us");
  }
  if (c.history_size > kMaxHistory) {
    add("history_size = " + std::to_string(c.history_size) + ": valid 0.." + std::to_string(kMaxHistory) + " events");
  }
  if (!problems.empty()) return Status(Error::kInvalidConfig, "event bus: " + problems);
  return ok_status();
}

struct EventBus::State {
  struct Subscription {
    SubscriptionId id = 0;
    bool all_types = false;
    AudioEventType type = AudioEventType::kCustom;
    EventCallback callback;
    EventFilter filter;
    bool active = true;  // guarded by subs_mutex
  };
  struct Waiter {
    AudioEventType type;
    uint64_t after_sequence;
    std::optional<AudioEvent> result;
  };
  struct RtSlot {
    RealtimeEventCallback callback = nullptr;
    void* user_data = nullptr;
  };

  explicit State(const EventBusConfig& c)
      : config(c), rt_ring(c.rt_capacity), control_ring(c.control_capacity), history(c.history_size) {
    scratch.reserve(16);
    waiters.reserve(8);
    subs.reserve(16);
  }

  const EventBusConfig config;

  // ---- producers ----
  SpscRing<AudioEvent> rt_ring;
  SpscRing<AudioEvent> control_ring;
  std::mutex emit_mutex;  // serialises emit() callers: the control ring's single producer
  alignas(kCacheLineBytes) std::atomic<uint64_t> next_sequence{1};
  alignas(kCacheLineBytes) std::atomic<bool> rt_in_flight{false};
  std::atomic<bool> rt_callback_busy{false};
  alignas(kCacheLineBytes) std::atomic<bool> control_in_flight{false};

  // Real-time callback: two slots; the control thread fills the unused one, swaps the pointer and waits until the
  // audio thread is not inside a call, so the old slot is free again when set_realtime_callback returns.
  RtSlot rt_slots[2];
  std::atomic<const RtSlot*> rt_current{&rt_slots[0]};
  std::mutex rt_set_mutex;

  // ---- counters ----
  alignas(kCacheLineBytes) std::atomic<uint64_t> published{0};
  std::atomic<uint64_t> dropped_overflow{0};
  alignas(kCacheLineBytes) std::atomic<uint64_t> emitted{0};
  std::atomic<uint64_t> dispatched{0};
  std::atomic<uint64_t> callback_exceptions{0};

  // ---- subscriptions ----
  std::mutex subs_mutex;
  std::condition_variable subs_cv;  // signalled when running_sub_id changes
  std::vector<std::shared_ptr<Subscription>> subs;
  SubscriptionId next_sub_id = 1;
  SubscriptionId running_sub_id = 0;
  std::vector<std::shared_ptr<Subscription>> scratch;  // dispatcher only

  // ---- history, waiters, progress ----
  std::mutex history_mutex;
  std::condition_variable history_cv;
  std::vector<AudioEvent> history;  // circular, oldest at history_head
  size_t history_head = 0;
  size_t history_count = 0;
  std::vector<Waiter*> waiters;
  uint64_t completed_through = 0;  // every sequence <= this is dispatched or dropped

  // ---- lifecycle ----
  std::mutex life_mutex;
  std::condition_variable life_cv;
  bool stop_requested = false;  // guarded by life_mutex
  bool wake = false;            // guarded by life_mutex
  bool exited = false;          // guarded by life_mutex
  std::atomic<bool> abandoned{false};
  std::atomic<bool> running{false};
  std::atomic<std::thread::id> dispatcher_id{};
  std::function<void()> hook;

  bool on_dispatcher() const noexcept {
    return dispatcher_id.load(std::memory_order_acquire) == std::this_thread::get_id();
  }

  void nudge() {
    {
      std::lock_guard<std::mutex> lock(life_mutex);
      wake = true;
    }
    life_cv.notify_one();
  }

  void record_progress(uint64_t through) {
    {
      std::lock_guard<std::mutex> lock(history_mutex);
      if (through <= completed_through) return;
      completed_through = through;
    }
    history_cv.notify_all();
  }

  void dispatch_one(const AudioEvent& ev) {
    {
      std::lock_guard<std::mutex> lock(subs_mutex);
      for (const auto& s : subs) {
        if (s->all_types || s->type == ev.type) scratch.push_back(s);
      }
    }
    for (const auto& s : scratch) {
      if (abandoned.load(std::memory_order_acquire)) break;
      {
        std::lock_guard<std::mutex> lock(subs_mutex);
        if (!s->active) continue;
        running_sub_id = s->id;
      }
      try {
        if (!s->filter || s->filter(ev)) s->callback(ev);
      } catch (...) {
        callback_exceptions.fetch_add(1, std::memory_order_relaxed);
      }
      {
        std::lock_guard<std::mutex> lock(subs_mutex);
        running_sub_id = 0;
      }
      subs_cv.notify_all();
    }
    scratch.clear();
    dispatched.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(history_mutex);
      if (!history.empty()) {
        const size_t cap = history.size();
        if (history_count < cap) {
          history[(history_head + history_count) % cap] = ev;
          ++history_count;
        } else {
          history[history_head] = ev;
          history_head = (history_head + 1) % cap;
        }
      }
      for (Waiter* w : waiters) {
        if (!w->result && w->type == ev.type && ev.sequence > w->after_sequence) w->result = ev;
      }
      completed_through = std::max(completed_through, ev.sequence);
    }
    history_cv.notify_all();
  }

  // Dispatches everything both rings hold, in sequence order. Sets `idle` when it found both rings empty with no
  // producer in flight, i.e. every sequence taken so far is dispatched or dropped.
  size_t drain(bool& idle) {
    size_t n = 0;
    AudioEvent ev;
    for (;;) {
      if (abandoned.load(std::memory_order_acquire)) return n;
      const AudioEvent* a = rt_ring.peek();
      const AudioEvent* b = control_ring.peek();
      if (a == nullptr && b == nullptr) {
        // Read the counter first: any sequence below it was taken before, so its producer has either lowered its
        // flag after pushing (and the ring cannot look empty) or still shows it raised.
        const uint64_t next = next_sequence.load(std::memory_order_seq_cst);
        if (rt_in_flight.load(std::memory_order_seq_cst) || control_in_flight.load(std::memory_order_seq_cst)) {
          std::this_thread::yield();
          continue;
        }
        if (rt_ring.peek() != nullptr || control_ring.peek() != nullptr) continue;
        record_progress(next - 1);
        idle = true;
        return n;
      }
      bool take_rt;
      if (a != nullptr && b != nullptr) {
        take_rt = a->sequence < b->sequence;
      } else if (a != nullptr) {
        if (control_in_flight.load(std::memory_order_seq_cst)) {
          std::this_thread::yield();
          continue;
        }
        b = control_ring.peek();
        take_rt = b == nullptr || a->sequence < b->sequence;
      } else {
        if (rt_in_flight.load(std::memory_order_seq_cst)) {
          std::this_thread::yield();
          continue;
        }
        a = rt_ring.peek();
        take_rt = a != nullptr && a->sequence < b->sequence;
      }
      if (take_rt) {
        rt_ring.try_pop(ev);
      } else {
        control_ring.try_pop(ev);
      }
      dispatch_one(ev);
      ++n;
    }
  }

  static void run(const std::shared_ptr<State>& s) {
    rt::set_current_thread_name("ae-events");
    s->dispatcher_id.store(std::this_thread::get_id(), std::memory_order_release);
    // The audio thread never wakes this thread: waking it would be a system call (futex) on the audio thread.
    // Instead an idle dispatcher sleeps dispatch_interval_us and looks at the rings again, so an event published
    // by the audio thread waits at most one interval. emit() and the waiting calls, which run off the audio thread,
    // do wake it early.
    const auto interval = std::chrono::microseconds(s->config.dispatch_interval_us);
    for (;;) {
      if (s->abandoned.load(std::memory_order_acquire)) break;
      if (s->hook) {
        try {
          s->hook();
        } catch (...) {
          s->callback_exceptions.fetch_add(1, std::memory_order_relaxed);
        }
      }
      bool idle = false;
      const size_t n = s->drain(idle);
      if (s->abandoned.load(std::memory_order_acquire)) break;
      std::unique_lock<std::mutex> lock(s->life_mutex);
      if (s->stop_requested && idle) break;
      if (n == 0 && !s->stop_requested) {
        s->life_cv.wait_for(lock, interval, [&s] { return s->stop_requested || s->wake; });
      }
      s->wake = false;
    }
    {
      std::lock_guard<std::mutex> lock(s->life_mutex);
      s->exited = true;
    }
    s->life_cv.notify_all();
    s->history_cv.notify_all();
  }

  std::thread thread;
  bool started = false;  // control thread only
};

EventBus::EventBus(const EventBusConfig& config) : state_(std::make_shared<State>(clamped(config))) {}

EventBus::~EventBus() {
  if (state_->running.load(std::memory_order_acquire)) (void)stop(kDestructorTimeoutMs);
}

Status EventBus::start() {
  State& s = *state_;
  if (s.running.load(std::memory_order_acquire)) return Status(Error::kAlreadyRunning, "event bus: already started");
  if (s.started) return Status(Error::kShutdown, "event bus: stopped; a bus starts once");
  try {
    s.thread = std::thread([st = state_] { State::run(st); });
    // Named here as well as inside: the name is visible as soon as start() returns.
    pthread_setname_np(s.thread.native_handle(), "ae-events");
  } catch (const std::exception& e) {
    return Status(Error::kInternal, std::string("event bus: cannot create the ae-events thread: ") + e.what());
  }
  s.started = true;
  s.running.store(true, std::memory_order_release);
  return ok_status();
}

Status EventBus::stop(int timeout_ms) {
  State& s = *state_;
  if (!s.running.load(std::memory_order_acquire)) return ok_status();
  if (s.on_dispatcher()) return Status(Error::kInternal, "event bus: stop() called from an event callback");
  const auto deadline = deadline_after(timeout_ms);
  std::unique_lock<std::mutex> lock(s.life_mutex);
  s.stop_requested = true;
  s.life_cv.notify_all();
  const bool exited = s.life_cv.wait_until(lock, deadline, [&s] { return s.exited; });
  lock.unlock();
  s.running.store(false, std::memory_order_release);
  if (exited) {
    s.thread.join();
    return ok_status();
  }
  s.abandoned.store(true, std::memory_order_release);
  s.thread.detach();
  return Status(Error::kTimeout, "event bus: a callback was still running after stop timeout_ms = " +
                                     std::to_string(timeout_ms) + "; the ae-events thread was detached");
}

bool EventBus::publish(const AudioEvent& event) noexcept {
  State& s = *state_;
  AudioEvent ev = event;
  s.rt_in_flight.store(true, std::memory_order_seq_cst);
  ev.sequence = s.next_sequence.fetch_add(1, std::memory_order_seq_cst);
  const bool pushed = s.rt_ring.try_push(ev);
  s.rt_in_flight.store(false, std::memory_order_seq_cst);
  if (pushed) {
    s.published.fetch_add(1, std::memory_order_relaxed);
  } else {
    s.dropped_overflow.fetch_add(1, std::memory_order_relaxed);
  }
  // The busy flag is raised before the slot pointer is read; set_realtime_callback swaps the pointer and then
  // waits for the flag to fall, so it can never return while this call still uses the old slot (both seq_cst).
  s.rt_callback_busy.store(true, std::memory_order_seq_cst);
  const State::RtSlot* slot = s.rt_current.load(std::memory_order_seq_cst);
  if (slot->callback != nullptr) slot->callback(ev, slot->user_data);
  s.rt_callback_busy.store(false, std::memory_order_seq_cst);
  return pushed;
}

bool EventBus::emit(const AudioEvent& event) {
  State& s = *state_;
  bool pushed;
  {
    std::lock_guard<std::mutex> lock(s.emit_mutex);
    AudioEvent ev = event;
    s.control_in_flight.store(true, std::memory_order_seq_cst);
    ev.sequence = s.next_sequence.fetch_add(1, std::memory_order_seq_cst);
    pushed = s.control_ring.try_push(ev);
    s.control_in_flight.store(false, std::memory_order_seq_cst);
  }
  if (pushed) {
    s.emitted.fetch_add(1, std::memory_order_relaxed);
    if (!s.on_dispatcher()) s.nudge();
  } else {
    s.dropped_overflow.fetch_add(1, std::memory_order_relaxed);
  }
  return pushed;
}

SubscriptionId EventBus::add_subscription(bool all_types, AudioEventType type, EventCallback callback,
                                          EventFilter filter) {
  if (!callback) return 0;
  auto sub = std::make_shared<State::Subscription>();
  sub->all_types = all_types;
  sub->type = type;
  sub->callback = std::move(callback);
  sub->filter = std::move(filter);
  std::lock_guard<std::mutex> lock(state_->subs_mutex);
  sub->id = state_->next_sub_id++;
  state_->subs.push_back(std::move(sub));
  return state_->subs.back()->id;
}

SubscriptionId EventBus::subscribe(AudioEventType type, EventCallback callback, EventFilter filter) {
  return add_subscription(false, type, std::move(callback), std::move(filter));
}

SubscriptionId EventBus::subscribe_all(EventCallback callback, EventFilter filter) {
  return add_subscription(true, AudioEventType::kCustom, std::move(callback), std::move(filter));
}

bool EventBus::unsubscribe(SubscriptionId id) {
  State& s = *state_;
  std::shared_ptr<State::Subscription> removed;  // destroyed after the lock is released
  std::unique_lock<std::mutex> lock(s.subs_mutex);
  auto it = std::find_if(s.subs.begin(), s.subs.end(), [id](const auto& p) { return p->id == id; });
  if (it == s.subs.end()) return false;
  (*it)->active = false;
  removed = std::move(*it);
  s.subs.erase(it);
  // On ae-events the callback being removed is either the caller itself or not running at all.
  if (!s.on_dispatcher()) s.subs_cv.wait(lock, [&s, id] { return s.running_sub_id != id; });
  lock.unlock();
  return true;
}

std::optional<AudioEvent> EventBus::wait_for_event(AudioEventType type, int timeout_ms,
                                                   std::optional<uint64_t> after_sequence) {
  State& s = *state_;
  const uint64_t after = after_sequence.value_or(last_sequence());
  const auto deadline = deadline_after(timeout_ms);
  std::unique_lock<std::mutex> lock(s.history_mutex);
  const size_t cap = s.history.size();
  for (size_t i = 0; i < s.history_count; ++i) {
    const AudioEvent& e = s.history[(s.history_head + i) % cap];
    if (e.type == type && e.sequence > after) return e;
  }
  if (s.on_dispatcher()) return std::nullopt;
  State::Waiter waiter{type, after, std::nullopt};
  s.waiters.push_back(&waiter);
  s.history_cv.wait_until(lock, deadline, [&waiter] { return waiter.result.has_value(); });
  s.waiters.erase(std::find(s.waiters.begin(), s.waiters.end(), &waiter));
  return waiter.result;
}

bool EventBus::wait_until_dispatched(int timeout_ms) {
  State& s = *state_;
  const uint64_t target = last_sequence();
  const auto deadline = deadline_after(timeout_ms);
  {
    std::lock_guard<std::mutex> lock(s.history_mutex);
    if (s.completed_through >= target) return true;
  }
  if (s.on_dispatcher() || !s.running.load(std::memory_order_acquire)) return false;
  s.nudge();
  std::unique_lock<std::mutex> lock(s.history_mutex);
  return s.history_cv.wait_until(lock, deadline, [&s, target] { return s.completed_through >= target; });
}

void EventBus::set_realtime_callback(RealtimeEventCallback callback, void* user_data) {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(s.rt_set_mutex);
  const State::RtSlot* current = s.rt_current.load(std::memory_order_relaxed);
  State::RtSlot* next = current == &s.rt_slots[0] ? &s.rt_slots[1] : &s.rt_slots[0];
  next->callback = callback;
  next->user_data = user_data;
  s.rt_current.store(next, std::memory_order_seq_cst);
  while (s.rt_callback_busy.load(std::memory_order_seq_cst)) std::this_thread::yield();
}

void EventBus::set_dispatch_hook(std::function<void()> hook) {
  if (state_->started) return;
  state_->hook = std::move(hook);
}

uint64_t EventBus::last_sequence() const noexcept {
  return state_->next_sequence.load(std::memory_order_seq_cst) - 1;
}

EventBus::Stats EventBus::stats() const noexcept {
  const State& s = *state_;
  Stats st;
  st.published = s.published.load(std::memory_order_relaxed);
  st.emitted = s.emitted.load(std::memory_order_relaxed);
  st.dispatched = s.dispatched.load(std::memory_order_relaxed);
  st.dropped_overflow = s.dropped_overflow.load(std::memory_order_relaxed);
  st.callback_exceptions = s.callback_exceptions.load(std::memory_order_relaxed);
  return st;
}

size_t EventBus::memory_bytes() const noexcept {
  const State& s = *state_;
  return sizeof(State) + s.rt_ring.memory_bytes() + s.control_ring.memory_bytes() +
         s.history.capacity() * sizeof(AudioEvent) + s.scratch.capacity() * sizeof(s.scratch[0]) +
         s.subs.capacity() * sizeof(s.subs[0]) + s.waiters.capacity() * sizeof(s.waiters[0]);
}

size_t EventBus::rt_capacity() const noexcept { return state_->rt_ring.capacity(); }

}  // namespace ae
