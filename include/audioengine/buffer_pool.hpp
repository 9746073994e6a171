#pragma once
// BasicBufferPool<T> / BufferPool: a fixed set of equally sized blocks, preallocated once, handed out and taken
// back by any number of threads without locks. The audio thread takes a block for a frame, fills it, passes the
// pointer through a ring, and whoever finishes with it gives it back; nothing is allocated after create().
//
// Correctness argument
// - The free blocks form a Treiber stack threaded through `next_` by block index. `head_` packs the index of the
//   top block (low 32 bits, kNil when the stack is empty) with a 32-bit tag (high bits). Every successful change
//   of `head_` (push or pop) increments the tag, so a compare-exchange succeeds only when no other push or pop
//   completed since `head_` was read. That defeats ABA: a thread that read top A with next B, was preempted while
//   A was popped, B was popped and A pushed back, finds the same index A but a different tag, and retries instead
//   of installing the stale B. (The tag would have to wrap 2^32 times inside one preemption to fool it.)
// - `next_[i]` is read by a popping thread while another thread that already popped `i` may rewrite it on
//   release. That read result is only used if the CAS proves `head_` unchanged, in which case `i` was still on
//   the stack and `next_[i]` was stable; `next_` entries are relaxed atomics so the discarded racy read is not a
//   data race.
// - Ownership of a block's contents moves with `head_`: release() writes `next_[i]` and then publishes with a
//   release CAS; acquire() pops with an acquire CAS. All modifications of `head_` are read-modify-writes, so they
//   all belong to the release sequence of every earlier push: whatever a thread wrote into a block before
//   releasing it is visible to the thread that acquires it next, and (the pop being acquire too) the releaser's
//   last reads happen before the next owner's writes.
// - `in_use_[i]` is set after a block is popped and exchanged back to false before it is pushed. release() of a
//   block whose flag is already false (a double release) or of a pointer that is not a block of this pool is
//   refused and counted instead of corrupting the stack.
// Progress: lock-free. A CAS fails only because another thread's push or pop succeeded, so some thread always
// makes progress; an individual thread may retry under heavy contention (bounded in practice by the number of
// threads touching the pool).
//
// Thread: any number of threads may acquire and release concurrently. RT-safe: every method except create()
// and the destructor.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <type_traits>

#include "audioengine/result.hpp"

namespace ae {

template <typename T>
class BasicBufferPool {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                "BasicBufferPool hands out raw storage for plain sample types");
  static_assert(alignof(T) <= 64, "blocks are aligned to 64 bytes");

 public:
  // Largest accepted num_blocks: block indices are 32-bit and one value marks the empty stack.
  static constexpr size_t kMaxBlocks = 0xFFFF'FFFEu;
  // Blocks start on cache-line boundaries so two owners never share a line.
  static constexpr size_t kBlockAlignBytes = 64;

  // Builds a pool of `num_blocks` blocks of `block_capacity` elements each, all free.
  // Returns the pool, or kInvalidArgument when num_blocks is 0 or above kMaxBlocks, or block_capacity is 0 or
  // so large that the total size overflows.
  // Thread: any, before the pool is shared. RT-safe: no (allocates).
  static Result<std::unique_ptr<BasicBufferPool>> create(size_t num_blocks, size_t block_capacity) {
    if (num_blocks == 0 || num_blocks > kMaxBlocks) {
      return Result<std::unique_ptr<BasicBufferPool>>(
          Error::kInvalidArgument, "BufferPool: num_blocks = " + std::to_string(num_blocks) +
                                       " is invalid; valid is 1.." + std::to_string(kMaxBlocks));
    }
    const size_t max_stride_bytes = SIZE_MAX / num_blocks - kBlockAlignBytes;
    if (block_capacity == 0 || block_capacity > max_stride_bytes / sizeof(T)) {
      return Result<std::unique_ptr<BasicBufferPool>>(
          Error::kInvalidArgument, "BufferPool: block_capacity = " + std::to_string(block_capacity) +
                                       " is invalid; valid is 1.." + std::to_string(max_stride_bytes / sizeof(T)) +
                                       " elements for num_blocks = " + std::to_string(num_blocks));
    }
    return std::unique_ptr<BasicBufferPool>(new BasicBufferPool(num_blocks, block_capacity));
  }

  ~BasicBufferPool() { ::operator delete(storage_, std::align_val_t{kBlockAlignBytes}); }
  BasicBufferPool(const BasicBufferPool&) = delete;
  BasicBufferPool& operator=(const BasicBufferPool&) = delete;

  // Takes a free block of block_capacity() elements (contents: whatever its last owner left). Returns nullptr
  // when every block is out, and counts that in acquire_failures().
  // Thread: any. RT-safe: yes (lock-free, no allocation).
  T* acquire() noexcept {
    uint64_t old_head = head_.load(std::memory_order_acquire);
    for (;;) {
      const uint32_t index = index_of(old_head);
      if (index == kNil) {
        acquire_failures_.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
      }
      const uint32_t next = next_[index].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(old_head, pack(tag_of(old_head) + 1, next), std::memory_order_acquire,
                                      std::memory_order_acquire)) {
        in_use_[index].store(true, std::memory_order_relaxed);
        blocks_out_.fetch_add(1, std::memory_order_relaxed);
        return block_at(index);
      }
    }
  }

  // Gives back a block obtained from acquire(). Returns false, changes nothing and counts release_errors() when
  // `block` is not the start of a block of this pool or that block is not currently out (released twice).
  // Thread: any. RT-safe: yes (lock-free, no allocation).
  bool release(T* block) noexcept {
    const uint32_t index = index_from_pointer(block);
    if (index == kNil || !in_use_[index].exchange(false, std::memory_order_relaxed)) {
      release_errors_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    blocks_out_.fetch_sub(1, std::memory_order_relaxed);
    uint64_t old_head = head_.load(std::memory_order_relaxed);
    for (;;) {
      next_[index].store(index_of(old_head), std::memory_order_relaxed);
      if (head_.compare_exchange_weak(old_head, pack(tag_of(old_head) + 1, index), std::memory_order_acq_rel,
                                      std::memory_order_relaxed)) {
        return true;
      }
    }
  }

  // Free blocks right now (a snapshot while other threads run). Thread: any. RT-safe: yes.
  size_t available() const noexcept { return num_blocks_ - blocks_out_.load(std::memory_order_relaxed); }
  // Number of blocks in the pool. Thread: any. RT-safe: yes.
  size_t capacity() const noexcept { return num_blocks_; }
  // Elements per block. Thread: any. RT-safe: yes.
  size_t block_capacity() const noexcept { return block_capacity_; }
  // acquire() calls that found the pool empty, since create(). Thread: any. RT-safe: yes.
  uint64_t acquire_failures() const noexcept { return acquire_failures_.load(std::memory_order_relaxed); }
  // release() calls refused (foreign pointer or double release), since create(). Thread: any. RT-safe: yes.
  uint64_t release_errors() const noexcept { return release_errors_.load(std::memory_order_relaxed); }
  // Heap bytes owned by the pool: block storage plus the per-block bookkeeping. Thread: any. RT-safe: yes.
  size_t memory_bytes() const noexcept {
    return num_blocks_ * (stride_elems_ * sizeof(T) + sizeof(std::atomic<uint32_t>) + sizeof(std::atomic<bool>));
  }

 private:
  static constexpr uint32_t kNil = 0xFFFF'FFFFu;

  BasicBufferPool(size_t num_blocks, size_t block_capacity)
      : num_blocks_(num_blocks), block_capacity_(block_capacity), stride_elems_(stride_elems_for(block_capacity)) {
    const size_t stride_bytes = stride_elems_ * sizeof(T);
    storage_ = static_cast<T*>(::operator new(stride_bytes * num_blocks, std::align_val_t{kBlockAlignBytes}));
    next_ = std::make_unique<std::atomic<uint32_t>[]>(num_blocks);
    in_use_ = std::make_unique<std::atomic<bool>[]>(num_blocks);
    for (size_t i = 0; i < num_blocks; ++i) {
      next_[i].store(i + 1 < num_blocks ? static_cast<uint32_t>(i + 1) : kNil, std::memory_order_relaxed);
      in_use_[i].store(false, std::memory_order_relaxed);
    }
    std::uninitialized_value_construct_n(storage_, stride_elems_ * num_blocks);
    head_.store(pack(0, 0), std::memory_order_release);
  }

  // Elements from one block's start to the next: block_capacity rounded up so every block starts on a
  // kBlockAlignBytes boundary (for a sizeof(T) that does not divide it, up to a common multiple).
  static size_t stride_elems_for(size_t block_capacity) {
    size_t stride_bytes = (block_capacity * sizeof(T) + kBlockAlignBytes - 1) / kBlockAlignBytes * kBlockAlignBytes;
    while (stride_bytes % sizeof(T) != 0) stride_bytes += kBlockAlignBytes;
    return stride_bytes / sizeof(T);
  }
  static constexpr uint64_t pack(uint32_t tag, uint32_t index) {
    return (static_cast<uint64_t>(tag) << 32) | index;
  }
  static constexpr uint32_t index_of(uint64_t head) { return static_cast<uint32_t>(head); }
  static constexpr uint32_t tag_of(uint64_t head) { return static_cast<uint32_t>(head >> 32); }

  T* block_at(uint32_t index) const noexcept { return storage_ + static_cast<size_t>(index) * stride_elems_; }

  // Index of the block starting at `p`, or kNil when `p` is not such a pointer. Compares addresses as integers
  // because pointer arithmetic on a foreign pointer would be undefined.
  uint32_t index_from_pointer(const T* p) const noexcept {
    const auto base = reinterpret_cast<uintptr_t>(storage_);
    const auto addr = reinterpret_cast<uintptr_t>(p);
    const size_t stride_bytes = stride_elems_ * sizeof(T);
    if (addr < base || addr >= base + stride_bytes * num_blocks_) return kNil;
    const size_t offset = addr - base;
    if (offset % stride_bytes != 0) return kNil;
    return static_cast<uint32_t>(offset / stride_bytes);
  }

  const size_t num_blocks_;
  const size_t block_capacity_;
  const size_t stride_elems_;
  T* storage_ = nullptr;
  std::unique_ptr<std::atomic<uint32_t>[]> next_;
  std::unique_ptr<std::atomic<bool>[]> in_use_;
  // Contended by every acquire/release; kept off the lines of the read-mostly fields above.
  alignas(kBlockAlignBytes) std::atomic<uint64_t> head_{pack(0, kNil)};
  std::atomic<size_t> blocks_out_{0};
  alignas(kBlockAlignBytes) std::atomic<uint64_t> acquire_failures_{0};
  std::atomic<uint64_t> release_errors_{0};
};

// The engine's sample blocks.
using BufferPool = BasicBufferPool<float>;

}  // namespace ae
