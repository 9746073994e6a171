// SpscRing and BufferPool against the obvious locked / heap references, in the same run.
//
//   build/bin/ring_bench --benchmark_min_time=0.2
//
// Single-thread figures are the cost of one push+pop pair (or one 480-sample bulk pair = 10 ms at 48 kHz);
// two-thread figures are throughput with a producer (the benchmark thread) and a consumer thread.

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "audioengine/buffer_pool.hpp"
#include "audioengine/spsc_ring.hpp"

namespace {

constexpr size_t kBlockSamples = 480;  // 10 ms at 48 kHz
constexpr size_t kRingCapacity = 8192;

// The reference: what one would write without a lock-free ring.
class MutexDequeQueue {
 public:
  explicit MutexDequeQueue(size_t capacity) : capacity_(capacity) {}
  bool try_push(float v) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.size() == capacity_) return false;
    queue_.push_back(v);
    return true;
  }
  bool try_pop(float& out) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.empty()) return false;
    out = queue_.front();
    queue_.pop_front();
    return true;
  }
  size_t try_push_bulk(const float* src, size_t n) {
    std::lock_guard<std::mutex> lock(mutex_);
    const size_t k = std::min(n, capacity_ - queue_.size());
    queue_.insert(queue_.end(), src, src + k);
    return k;
  }
  size_t try_pop_bulk(float* dst, size_t n) {
    std::lock_guard<std::mutex> lock(mutex_);
    const size_t k = std::min(n, queue_.size());
    std::copy(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(k), dst);
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(k));
    return k;
  }

 private:
  const size_t capacity_;
  std::mutex mutex_;
  std::deque<float> queue_;
};

using Ring = ae::SpscRing<float>;

// ---- single thread ---------------------------------------------------------------------------------------

template <typename Queue>
void BM_SingleThread_PushPop1(benchmark::State& state) {
  Queue q(kRingCapacity);
  float out = 0.0f;
  float v = 1.0f;
  for (auto _ : state) {
    q.try_push(v);
    q.try_pop(out);
    benchmark::DoNotOptimize(out);
    v += 1.0f;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK_TEMPLATE(BM_SingleThread_PushPop1, Ring);
BENCHMARK_TEMPLATE(BM_SingleThread_PushPop1, MutexDequeQueue);

template <typename Queue>
void BM_SingleThread_PushPop480(benchmark::State& state) {
  Queue q(kRingCapacity);
  std::vector<float> in(kBlockSamples, 0.5f);
  std::vector<float> out(kBlockSamples);
  for (auto _ : state) {
    q.try_push_bulk(in.data(), in.size());
    q.try_pop_bulk(out.data(), out.size());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBlockSamples));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBlockSamples * sizeof(float)));
}
BENCHMARK_TEMPLATE(BM_SingleThread_PushPop480, Ring);
BENCHMARK_TEMPLATE(BM_SingleThread_PushPop480, MutexDequeQueue);

// ---- producer / consumer on two threads --------------------------------------------------------------------

// Moves `state.range(0)`-element bulks (1 = one element a call) from the benchmark thread to a consumer thread.
// One iteration = one bulk pushed; the consumer drains everything before the benchmark ends, and its sum is
// checked so the work cannot be skipped.
template <typename Queue>
void BM_TwoThreads_Throughput(benchmark::State& state) {
  const auto bulk = static_cast<size_t>(state.range(0));
  Queue q(kRingCapacity);
  std::atomic<bool> producer_done{false};
  std::atomic<uint64_t> pushed_total{0};
  uint64_t popped_total = 0;
  std::thread consumer([&] {
    std::vector<float> out(bulk);
    for (;;) {
      const bool done = producer_done.load(std::memory_order_acquire);
      size_t got = 0;
      if (bulk == 1) {
        got = q.try_pop(out[0]) ? 1 : 0;
      } else {
        got = q.try_pop_bulk(out.data(), bulk);
      }
      popped_total += got;
      if (got == 0) {
        if (done && popped_total == pushed_total.load(std::memory_order_relaxed)) break;
        std::this_thread::yield();
      }
    }
  });
  std::vector<float> in(bulk, 1.0f);
  uint64_t pushed = 0;
  for (auto _ : state) {
    size_t sent = 0;
    while (sent < bulk) {
      const size_t n = bulk == 1 ? (q.try_push(in[0]) ? 1 : 0) : q.try_push_bulk(in.data() + sent, bulk - sent);
      sent += n;
      if (n == 0) std::this_thread::yield();
    }
    pushed += bulk;
  }
  pushed_total.store(pushed, std::memory_order_relaxed);
  producer_done.store(true, std::memory_order_release);
  consumer.join();
  if (popped_total != pushed) state.SkipWithError("consumer lost elements");
  state.SetItemsProcessed(static_cast<int64_t>(pushed));
  state.SetBytesProcessed(static_cast<int64_t>(pushed * sizeof(float)));
}
BENCHMARK_TEMPLATE(BM_TwoThreads_Throughput, Ring)->Arg(1)->Arg(kBlockSamples)->UseRealTime();
BENCHMARK_TEMPLATE(BM_TwoThreads_Throughput, MutexDequeQueue)->Arg(1)->Arg(kBlockSamples)->UseRealTime();

// ---- block allocation ------------------------------------------------------------------------------------

void BM_BufferPool_AcquireRelease480(benchmark::State& state) {
  auto pool = std::move(ae::BufferPool::create(16, kBlockSamples)).value();
  for (auto _ : state) {
    float* block = pool->acquire();
    block[0] = 1.0f;
    benchmark::DoNotOptimize(block);
    pool->release(block);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_BufferPool_AcquireRelease480);

void BM_NewDelete480(benchmark::State& state) {
  for (auto _ : state) {
    float* block = new float[kBlockSamples];
    block[0] = 1.0f;
    benchmark::DoNotOptimize(block);
    delete[] block;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_NewDelete480);

// Four threads sharing one pool (contended CAS) against four threads sharing the heap.
void BM_BufferPool_AcquireRelease480_Threads(benchmark::State& state) {
  static std::unique_ptr<ae::BufferPool> pool;
  if (state.thread_index() == 0) pool = std::move(ae::BufferPool::create(16, kBlockSamples)).value();
  // Google Benchmark starts all threads' timed loops together, after thread 0's setup above.
  for (auto _ : state) {
    float* block = pool->acquire();
    if (block != nullptr) {
      block[0] = 1.0f;
      benchmark::DoNotOptimize(block);
      pool->release(block);
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_BufferPool_AcquireRelease480_Threads)->Threads(4)->UseRealTime();

void BM_NewDelete480_Threads(benchmark::State& state) {
  for (auto _ : state) {
    float* block = new float[kBlockSamples];
    block[0] = 1.0f;
    benchmark::DoNotOptimize(block);
    delete[] block;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_NewDelete480_Threads)->Threads(4)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
