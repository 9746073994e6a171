#pragma once
// FlushEpoch and FlushRequest: how a control thread tells the audio thread "drop what is queued" without a lock.
//
// A control thread (interrupt_playback, a new turn) calls request(); the audio thread, at each tick boundary,
// calls consume(seen) with the epoch it last acted on. consume() returns true once per change, however many
// requests arrived since the previous tick: flushes coalesce, which is what a flush means.
//
// FlushEpoch (the epoch alone)
// - `epoch_` only grows, by fetch_add from any number of requesters. request() is a release RMW: everything the
//   requester wrote before it (the queue write position to flush up to, a reason code) is visible to the audio
//   thread once its acquire load in consume() reads that epoch or any later one (later requests are RMWs too, so
//   they continue the release sequence of every earlier request).
// - consume() is one acquire load and a compare: wait-free.
//
// FlushRequest (the epoch plus a 64-bit payload, e.g. "flush up to position P", read together atomically)
// - Two slots {epoch, payload}; `state_` bit 0 names the published slot, bit 1 is set while the reader copies it.
// - A requester (serialised with the other requesters by a mutex: they are control threads) writes the
//   unpublished slot, then flips bit 0 with a compare-exchange that expects bit 1 clear, i.e. it waits until the
//   reader is not copying, then stores `epoch_` (release).
// - The reader sets bit 1 (acquire RMW), copies the slot bit 0 names, clears bit 1 (release RMW). The slot it
//   copies cannot be written meanwhile: a requester writes only the other slot, and it can make the other slot
//   current only by a flip, which needs bit 1 clear. A reader that started before a flip finished its copy before
//   the flip succeeded (the flip's acquire reads the reader's release), so the next requester, writing the slot
//   the flip retired, never overlaps a copy either.
// - The reader's fast path is one acquire load of `epoch_`: unchanged means nothing to do. When it changed, the
//   flip that published the epoch came before the store, so the copied slot holds that epoch or a newer one.
// Progress: consume() is wait-free (five memory operations, no loop). request() may wait for the reader's copy
// (a handful of instructions) and for other requesters.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>

namespace ae {

class FlushEpoch {
 public:
  // Requests a flush. Returns the new epoch (1 for the first request). Everything the caller wrote before the
  // call is visible to the consumer once consume() reports this epoch or a later one.
  // Thread: any, any number concurrently. RT-safe: yes (one atomic RMW).
  uint64_t request() noexcept { return epoch_.fetch_add(1, std::memory_order_release) + 1; }

  // Returns true, and sets `seen` to the current epoch, when the epoch differs from `seen` (the consumer's
  // private copy, starting at 0); false when no request arrived since. Several requests between two calls give
  // one true.
  // Thread: the consumer (the audio thread); `seen` belongs to it. RT-safe: yes (wait-free).
  bool consume(uint64_t& seen) const noexcept {
    const uint64_t epoch = epoch_.load(std::memory_order_acquire);
    if (epoch == seen) return false;
    seen = epoch;
    return true;
  }

  // Requests so far. Thread: any. RT-safe: yes.
  uint64_t epoch() const noexcept { return epoch_.load(std::memory_order_acquire); }

 private:
  std::atomic<uint64_t> epoch_{0};
};

class FlushRequest {
 public:
  // Requests a flush carrying `payload` (meaning is the caller's: e.g. the queue position to flush up to).
  // Returns the new epoch (1 for the first request).
  // Thread: any, any number concurrently (serialised internally). RT-safe: no (takes a mutex; may spin while the
  // consumer copies the previous request, a few nanoseconds).
  uint64_t request(uint64_t payload) {
    std::lock_guard<std::mutex> lock(requester_mutex_);
    // Only requesters change bit 0, and we hold their mutex.
    const uint32_t published = state_.load(std::memory_order_relaxed) & kSlotBit;
    const uint32_t target = published ^ kSlotBit;
    const uint64_t epoch = epoch_.load(std::memory_order_relaxed) + 1;
    slots_[target] = Slot{epoch, payload};
    uint32_t expected = published;
    int attempts = 0;
    while (!state_.compare_exchange_weak(expected, target, std::memory_order_acq_rel, std::memory_order_relaxed)) {
      expected = published;  // the failure was bit 1 set (reader copying) or a spurious failure: retry
      if (++attempts % 64 == 0) std::this_thread::yield();
    }
    epoch_.store(epoch, std::memory_order_release);
    return epoch;
  }

  // Returns true when a request arrived since `seen` (the consumer's private copy of the epoch, starting at 0):
  // sets `seen` to the latest epoch and `payload` to the payload of that same request. Returns false and leaves
  // both untouched otherwise. Several requests between two calls give one true, with the last payload.
  // Thread: the consumer (one thread). RT-safe: yes (wait-free).
  bool consume(uint64_t& seen, uint64_t& payload) noexcept {
    if (epoch_.load(std::memory_order_acquire) == seen) return false;
    const uint32_t state = state_.fetch_or(kReaderBit, std::memory_order_acquire);
    const Slot slot = slots_[state & kSlotBit];
    state_.fetch_and(~kReaderBit, std::memory_order_release);
    if (slot.epoch == seen) return false;
    seen = slot.epoch;
    payload = slot.payload;
    return true;
  }

  // Requests so far. Thread: any. RT-safe: yes.
  uint64_t epoch() const noexcept { return epoch_.load(std::memory_order_acquire); }

 private:
  static constexpr uint32_t kSlotBit = 1;
  static constexpr uint32_t kReaderBit = 2;
  struct Slot {
    uint64_t epoch = 0;
    uint64_t payload = 0;
  };

  Slot slots_[2];
  std::atomic<uint32_t> state_{0};
  std::atomic<uint64_t> epoch_{0};
  std::mutex requester_mutex_;
};

}  // namespace ae
