#pragma once
// SpscRing<T>: a bounded, wait-free, single-producer single-consumer ring of trivially copyable values.
//
// Correctness argument
// - `write_pos_` is written only by the producer, `read_pos_` only by the consumer. Both count elements ever
//   pushed / popped as 64-bit integers that never wrap in practice (2^64 samples at 192 kHz is 3 million years),
//   so "full" and "empty" are plain subtractions and there is no ABA.
// - The producer stores the elements, then publishes them with a release store of `write_pos_`; the consumer's
//   acquire load of `write_pos_` therefore sees the elements. Symmetrically the consumer's release store of
//   `read_pos_` after reading hands the slots back, and the producer's acquire load of `read_pos_` guarantees the
//   consumer finished reading them before they are overwritten.
// - Each side keeps a cached copy of the other side's index (`cached_read_` for the producer, `cached_write_` for
//   the consumer) and reloads it only when the cache says "full" / "empty". That keeps the shared cache line from
//   bouncing on every operation.
// - Producer fields and consumer fields sit on separate cache lines to avoid false sharing.
// Every operation is wait-free: a bounded number of steps, no loops that depend on the other thread.
//
// Thread: exactly one producer thread and one consumer thread at a time (any threads, but not concurrently two
// of one role). RT-safe: every method except the constructor (which allocates the storage).

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>

namespace ae {

inline constexpr size_t kCacheLineBytes = 64;

template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "SpscRing copies elements with memcpy");

 public:
  // Allocates room for at least `min_capacity` elements (rounded up to a power of two, at least 2).
  // Thread: any, before the ring is shared. RT-safe: no (allocates).
  explicit SpscRing(size_t min_capacity) : capacity_(round_up_pow2(min_capacity)), mask_(capacity_ - 1) {
    storage_ = std::make_unique<T[]>(capacity_);
  }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  size_t capacity() const noexcept { return capacity_; }
  size_t memory_bytes() const noexcept { return capacity_ * sizeof(T); }

  // ---- producer side -------------------------------------------------------------------------------------
  // Free slots as seen by the producer. Thread: producer. RT-safe: yes.
  size_t write_available() noexcept {
    const uint64_t w = write_pos_.load(std::memory_order_relaxed);
    cached_read_ = read_pos_.load(std::memory_order_acquire);
    return capacity_ - static_cast<size_t>(w - cached_read_);
  }

  // Pushes one element; false when full. Thread: producer. RT-safe: yes.
  bool try_push(const T& value) noexcept {
    const uint64_t w = write_pos_.load(std::memory_order_relaxed);
    if (w - cached_read_ == capacity_) {
      cached_read_ = read_pos_.load(std::memory_order_acquire);
      if (w - cached_read_ == capacity_) return false;
    }
    storage_[w & mask_] = value;
    write_pos_.store(w + 1, std::memory_order_release);
    return true;
  }

  // The slot the next push fills, or nullptr when full: for an element written in place, field by field, and
  // then published with commit_claimed(). A copy of a struct just written field by field is read back in wider
  // loads than it was stored, which stalls on store forwarding; in place there is no copy. Until
  // commit_claimed() the consumer cannot see the slot; claiming again returns the same slot. Thread: producer.
  // RT-safe: yes.
  T* try_claim() noexcept {
    const uint64_t w = write_pos_.load(std::memory_order_relaxed);
    if (w - cached_read_ == capacity_) {
      cached_read_ = read_pos_.load(std::memory_order_acquire);
      if (w - cached_read_ == capacity_) return nullptr;
    }
    return &storage_[w & mask_];
  }
  // Publishes the slot try_claim() returned (which must not have been nullptr). Thread: producer. RT-safe: yes.
  void commit_claimed() noexcept {
    write_pos_.store(write_pos_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  // Pushes up to `count` elements; returns how many were pushed (fewer when the ring fills). Thread: producer.
  // RT-safe: yes.
  size_t try_push_bulk(const T* src, size_t count) noexcept {
    const uint64_t w = write_pos_.load(std::memory_order_relaxed);
    size_t free_slots = capacity_ - static_cast<size_t>(w - cached_read_);
    if (free_slots < count) {
      cached_read_ = read_pos_.load(std::memory_order_acquire);
      free_slots = capacity_ - static_cast<size_t>(w - cached_read_);
    }
    const size_t n = std::min(count, free_slots);
    copy_in(w, src, n);
    write_pos_.store(w + n, std::memory_order_release);
    return n;
  }

  // Pushes all `count` elements or none. Thread: producer. RT-safe: yes.
  bool try_push_all(const T* src, size_t count) noexcept {
    const uint64_t w = write_pos_.load(std::memory_order_relaxed);
    if (capacity_ - static_cast<size_t>(w - cached_read_) < count) {
      cached_read_ = read_pos_.load(std::memory_order_acquire);
      if (capacity_ - static_cast<size_t>(w - cached_read_) < count) return false;
    }
    copy_in(w, src, count);
    write_pos_.store(w + count, std::memory_order_release);
    return true;
  }

  // ---- consumer side -------------------------------------------------------------------------------------
  // Elements ready to read. Thread: consumer. RT-safe: yes.
  size_t read_available() noexcept {
    cached_write_ = write_pos_.load(std::memory_order_acquire);
    return static_cast<size_t>(cached_write_ - read_pos_.load(std::memory_order_relaxed));
  }

  // Pops one element; false when empty. Thread: consumer. RT-safe: yes.
  bool try_pop(T& out) noexcept {
    const uint64_t r = read_pos_.load(std::memory_order_relaxed);
    if (cached_write_ == r) {
      cached_write_ = write_pos_.load(std::memory_order_acquire);
      if (cached_write_ == r) return false;
    }
    out = storage_[r & mask_];
    read_pos_.store(r + 1, std::memory_order_release);
    return true;
  }

  // Pointer to the next element without popping it, or nullptr when empty. Valid until the next pop.
  // Thread: consumer. RT-safe: yes.
  const T* peek() noexcept {
    const uint64_t r = read_pos_.load(std::memory_order_relaxed);
    if (cached_write_ == r) {
      cached_write_ = write_pos_.load(std::memory_order_acquire);
      if (cached_write_ == r) return nullptr;
    }
    return &storage_[r & mask_];
  }

  // Pops up to `count` elements into `dst`; returns how many. Thread: consumer. RT-safe: yes.
  size_t try_pop_bulk(T* dst, size_t count) noexcept {
    const uint64_t r = read_pos_.load(std::memory_order_relaxed);
    size_t avail = static_cast<size_t>(cached_write_ - r);
    if (avail < count) {
      cached_write_ = write_pos_.load(std::memory_order_acquire);
      avail = static_cast<size_t>(cached_write_ - r);
    }
    const size_t n = std::min(count, avail);
    copy_out(r, dst, n);
    read_pos_.store(r + n, std::memory_order_release);
    return n;
  }

  // Copies up to `count` of the oldest elements into `dst` without popping them; returns how many.
  // Thread: consumer. RT-safe: yes.
  size_t peek_bulk(T* dst, size_t count) noexcept {
    const uint64_t r = read_pos_.load(std::memory_order_relaxed);
    cached_write_ = write_pos_.load(std::memory_order_acquire);
    const size_t n = std::min(count, static_cast<size_t>(cached_write_ - r));
    copy_out(r, dst, n);
    return n;
  }

  // Drops up to `count` elements without reading them; returns how many. Thread: consumer. RT-safe: yes.
  size_t discard(size_t count) noexcept {
    const uint64_t r = read_pos_.load(std::memory_order_relaxed);
    cached_write_ = write_pos_.load(std::memory_order_acquire);
    const size_t n = std::min(count, static_cast<size_t>(cached_write_ - r));
    read_pos_.store(r + n, std::memory_order_release);
    return n;
  }

  // Drops everything the producer has published so far; returns how many. Thread: consumer. RT-safe: yes.
  size_t discard_all() noexcept { return discard(SIZE_MAX); }

  // ---- either side (approximate while the other side runs) ------------------------------------------------
  // Totals since construction. Thread: any. RT-safe: yes.
  uint64_t total_pushed() const noexcept { return write_pos_.load(std::memory_order_acquire); }
  uint64_t total_popped() const noexcept { return read_pos_.load(std::memory_order_acquire); }
  // Elements in the ring; exact when called from either end with the other idle. Thread: any. RT-safe: yes.
  size_t size() const noexcept {
    const uint64_t r = read_pos_.load(std::memory_order_acquire);
    const uint64_t w = write_pos_.load(std::memory_order_acquire);
    return static_cast<size_t>(w - r);
  }
  bool empty() const noexcept { return size() == 0; }

 private:
  static size_t round_up_pow2(size_t n) {
    size_t c = 2;
    while (c < n) c <<= 1;
    return c;
  }
  void copy_in(uint64_t w, const T* src, size_t n) noexcept {
    const size_t start = static_cast<size_t>(w & mask_);
    const size_t first = std::min(n, capacity_ - start);
    if (first > 0) std::memcpy(&storage_[start], src, first * sizeof(T));
    if (n > first) std::memcpy(&storage_[0], src + first, (n - first) * sizeof(T));
  }
  void copy_out(uint64_t r, T* dst, size_t n) const noexcept {
    const size_t start = static_cast<size_t>(r & mask_);
    const size_t first = std::min(n, capacity_ - start);
    if (first > 0) std::memcpy(dst, &storage_[start], first * sizeof(T));
    if (n > first) std::memcpy(dst + first, &storage_[0], (n - first) * sizeof(T));
  }

  const size_t capacity_;
  const size_t mask_;
  std::unique_ptr<T[]> storage_;
  // Producer-owned line.
  alignas(kCacheLineBytes) std::atomic<uint64_t> write_pos_{0};
  uint64_t cached_read_ = 0;
  // Consumer-owned line.
  alignas(kCacheLineBytes) std::atomic<uint64_t> read_pos_{0};
  uint64_t cached_write_ = 0;
};

}  // namespace ae
