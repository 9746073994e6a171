#include "audioengine/buffer_pool.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "audioengine/realtime.hpp"

namespace ae {
namespace {

std::unique_ptr<BufferPool> make_pool(size_t num_blocks, size_t block_capacity) {
  auto pool = BufferPool::create(num_blocks, block_capacity);
  EXPECT_TRUE(pool.ok()) << pool.message();
  return std::move(pool).value();
}

TEST(BufferPool, CreateRejectsBadSizesNamingTheField) {
  auto no_blocks = BufferPool::create(0, 480);
  ASSERT_FALSE(no_blocks.ok());
  EXPECT_EQ(no_blocks.error(), Error::kInvalidArgument);
  EXPECT_NE(no_blocks.message().find("num_blocks = 0"), std::string::npos) << no_blocks.message();

  auto too_many = BufferPool::create(BufferPool::kMaxBlocks + 1, 1);
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.message().find("num_blocks"), std::string::npos) << too_many.message();

  auto empty_blocks = BufferPool::create(4, 0);
  ASSERT_FALSE(empty_blocks.ok());
  EXPECT_NE(empty_blocks.message().find("block_capacity = 0"), std::string::npos) << empty_blocks.message();

  auto overflowing = BufferPool::create(1024, SIZE_MAX / 8);
  ASSERT_FALSE(overflowing.ok());
  EXPECT_NE(overflowing.message().find("block_capacity"), std::string::npos) << overflowing.message();
}

TEST(BufferPool, HandsOutDistinctAlignedNonOverlappingBlocksUntilExhausted) {
  constexpr size_t kBlocks = 8;
  constexpr size_t kCapacity = 481;  // not a multiple of a cache line
  auto pool = make_pool(kBlocks, kCapacity);
  EXPECT_EQ(pool->capacity(), kBlocks);
  EXPECT_EQ(pool->block_capacity(), kCapacity);
  EXPECT_EQ(pool->available(), kBlocks);
  EXPECT_GE(pool->memory_bytes(), kBlocks * kCapacity * sizeof(float));

  std::vector<float*> blocks;
  for (size_t i = 0; i < kBlocks; ++i) {
    float* b = pool->acquire();
    ASSERT_NE(b, nullptr) << "block " << i;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b) % BufferPool::kBlockAlignBytes, 0u) << "block " << i;
    blocks.push_back(b);
    EXPECT_EQ(pool->available(), kBlocks - i - 1);
  }
  EXPECT_EQ(pool->acquire(), nullptr) << "an exhausted pool returns null";
  EXPECT_EQ(pool->acquire(), nullptr);
  EXPECT_EQ(pool->acquire_failures(), 2u);
  EXPECT_EQ(pool->available(), 0u);

  std::sort(blocks.begin(), blocks.end());
  for (size_t i = 0; i + 1 < blocks.size(); ++i) {
    EXPECT_GE(blocks[i + 1] - blocks[i], static_cast<ptrdiff_t>(kCapacity)) << "blocks overlap";
  }
  // Each block holds its own full pattern: writing one never disturbs another.
  for (size_t i = 0; i < kBlocks; ++i) std::fill(blocks[i], blocks[i] + kCapacity, static_cast<float>(i));
  for (size_t i = 0; i < kBlocks; ++i) {
    EXPECT_TRUE(std::all_of(blocks[i], blocks[i] + kCapacity, [i](float v) { return v == static_cast<float>(i); }))
        << "block " << i;
  }
  for (float* b : blocks) EXPECT_TRUE(pool->release(b));
  EXPECT_EQ(pool->available(), kBlocks);
}

TEST(BufferPool, ReleasedBlocksAreReusedAndKeepTheirContents) {
  auto pool = make_pool(2, 16);
  float* a = pool->acquire();
  float* b = pool->acquire();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(pool->acquire(), nullptr);
  a[0] = 42.0f;
  ASSERT_TRUE(pool->release(a));
  EXPECT_EQ(pool->available(), 1u);
  float* again = pool->acquire();
  EXPECT_EQ(again, a) << "the only free block is the one just released";
  EXPECT_EQ(again[0], 42.0f) << "the pool does not clear blocks";
  // Many cycles through a small pool never leak a block.
  ASSERT_TRUE(pool->release(again));
  ASSERT_TRUE(pool->release(b));
  for (int i = 0; i < 1000; ++i) {
    float* x = pool->acquire();
    float* y = pool->acquire();
    ASSERT_NE(x, nullptr);
    ASSERT_NE(y, nullptr);
    ASSERT_NE(x, y);
    ASSERT_TRUE(pool->release(i % 2 ? x : y));
    ASSERT_TRUE(pool->release(i % 2 ? y : x));
  }
  EXPECT_EQ(pool->available(), 2u);
  EXPECT_EQ(pool->acquire_failures(), 1u);
}

TEST(BufferPool, RefusesDoubleReleaseAndForeignPointers) {
  auto pool = make_pool(4, 32);
  float* a = pool->acquire();
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(pool->release(a));
  EXPECT_FALSE(pool->release(a)) << "a block released twice must be refused";
  EXPECT_EQ(pool->available(), 4u) << "the refused release must not grow the pool";

  float foreign[32] = {};
  EXPECT_FALSE(pool->release(foreign));
  EXPECT_FALSE(pool->release(nullptr));
  float* b = pool->acquire();
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(pool->release(b + 1)) << "a pointer inside a block is not a block";
  EXPECT_EQ(pool->release_errors(), 4u);

  // The stack is intact: exactly four distinct blocks come out, then none.
  std::set<float*> seen{b};
  for (int i = 0; i < 3; ++i) {
    float* p = pool->acquire();
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(seen.insert(p).second) << "block handed out twice";
  }
  EXPECT_EQ(pool->acquire(), nullptr);
}

TEST(BufferPool, WorksForOtherElementTypes) {
  auto pool = BasicBufferPool<int16_t>::create(3, 7);
  ASSERT_TRUE(pool.ok()) << pool.message();
  int16_t* a = (*pool)->acquire();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  EXPECT_TRUE((*pool)->release(a));
}

// Four threads acquire, stamp every element of the block with their identity, verify the stamp, and release,
// on a pool smaller than the threads could hold in total so it runs dry often. An ownership table outside the
// pool proves that no block is ever handed to two owners at once, and the stamps prove that no other thread
// wrote into a block while it was owned.
TEST(BufferPoolStress, FourThreadsNeverShareABlock) {
  constexpr int kThreads = 4;
  constexpr size_t kBlocks = 6;
  constexpr size_t kCapacity = 64;
#if defined(__SANITIZE_THREAD__)
  constexpr int kRoundsPerThread = 60'000;
#else
  constexpr int kRoundsPerThread = 1'000'000;
#endif
  auto pool = make_pool(kBlocks, kCapacity);
  // Block index -> owning thread + 1, or 0 when free; found from the pointer by a linear search of the
  // block list learned up front.
  std::vector<float*> all_blocks;
  for (size_t i = 0; i < kBlocks; ++i) all_blocks.push_back(pool->acquire());
  for (float* b : all_blocks) ASSERT_TRUE(pool->release(b));
  std::vector<std::atomic<int>> owner(kBlocks);
  for (auto& o : owner) o.store(0);
  auto block_index = [&](const float* p) -> size_t {
    return static_cast<size_t>(std::find(all_blocks.begin(), all_blocks.end(), p) - all_blocks.begin());
  };

  std::atomic<uint64_t> double_owned{0};
  std::atomic<uint64_t> corrupted{0};
  std::atomic<uint64_t> unknown_blocks{0};
  std::atomic<uint64_t> acquired_total{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t + 1));
      std::vector<float*> held;
      uint64_t acquired = 0;
      for (int round = 0; round < kRoundsPerThread; ++round) {
        // Hold up to two blocks at once, so the pool (6) is exhausted when all four threads hold two.
        if (held.size() < 2 && (held.empty() || rng() % 2 == 0)) {
          float* b = pool->acquire();
          if (b == nullptr) continue;
          const size_t idx = block_index(b);
          if (idx >= kBlocks) {
            unknown_blocks.fetch_add(1);
            continue;
          }
          int expected_free = 0;
          // Relaxed: the table must not add synchronisation of its own, or it would hide a missing
          // acquire/release inside the pool from ThreadSanitizer.
          if (!owner[idx].compare_exchange_strong(expected_free, t + 1, std::memory_order_relaxed)) {
            double_owned.fetch_add(1);
          }
          const float stamp = static_cast<float>(t * 1'000'000 + round % 1'000'000);
          std::fill(b, b + kCapacity, stamp);
          held.push_back(b);
          ++acquired;
        } else if (!held.empty()) {
          float* b = held.back();
          held.pop_back();
          const float stamp = b[0];
          if (!std::all_of(b, b + kCapacity, [stamp](float v) { return v == stamp; }) ||
              static_cast<int>(stamp) / 1'000'000 != t) {
            corrupted.fetch_add(1);
          }
          owner[block_index(b)].store(0, std::memory_order_relaxed);
          if (!pool->release(b)) corrupted.fetch_add(1);
        }
      }
      for (float* b : held) {
        owner[block_index(b)].store(0, std::memory_order_relaxed);
        pool->release(b);
      }
      acquired_total.fetch_add(acquired);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(double_owned.load(), 0u) << "a block was handed to two owners at once";
  EXPECT_EQ(corrupted.load(), 0u) << "a block was written by a thread that did not own it";
  EXPECT_EQ(unknown_blocks.load(), 0u);
  EXPECT_EQ(pool->release_errors(), 0u);
  EXPECT_EQ(pool->available(), kBlocks) << "every block came back";
  EXPECT_GT(acquired_total.load(), static_cast<uint64_t>(kThreads) * kRoundsPerThread / 4);
  // The pool really ran dry under contention, so the empty-stack path raced with releases too.
  EXPECT_GT(pool->acquire_failures(), 0u);
  std::set<float*> drained;
  for (size_t i = 0; i < kBlocks; ++i) drained.insert(pool->acquire());
  EXPECT_EQ(drained.size(), kBlocks);
  EXPECT_EQ(drained.count(nullptr), 0u);
}

TEST(BufferPoolRealtime, AcquireAndReleaseNeitherAllocateNorLock) {
  if (!ae::rt::probe_installed()) GTEST_SKIP() << "the real-time probe is not linked (sanitizer build)";
  auto pool = make_pool(4, 480);
  ae::rt::reset_violation_counts();
  {
    ae::rt::ScopedAudioThread audio;
    for (int i = 0; i < 1000; ++i) {
      float* a = pool->acquire();
      float* b = pool->acquire();
      a[0] = 1.0f;
      b[0] = 2.0f;
      pool->release(a);
      pool->release(b);
      pool->release(b);  // the refused path too
      (void)pool->available();
    }
    for (int i = 0; i < 5; ++i) (void)pool->acquire();  // including exhaustion
  }
  const auto counts = ae::rt::violation_counts();
  EXPECT_EQ(counts.allocations, 0u);
  EXPECT_EQ(counts.mutex_locks, 0u);
  EXPECT_EQ(pool->acquire_failures(), 1u);
}

}  // namespace
}  // namespace ae
