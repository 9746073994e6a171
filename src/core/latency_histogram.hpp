#pragma once
// LatencyHistogram: a fixed-size log-linear histogram of durations in nanoseconds, written by one real-time
// thread and read by any other (metrics, reports).
//
// Buckets: values below 64 ns fall in 32 linear buckets 2 ns wide; from 64 ns on, each power-of-two octave
// [2^k, 2^(k+1)) is cut into 32 equal buckets of 2^(k-5) ns, up to 2^34 ns (17.2 s); one more bucket holds
// anything longer. A bucket's width is at most 1/32 = 3.1% of its lower edge from 64 ns up, and 2/50 = 4% at
// 50 ns, so every value in the 50 ns .. 10 s range is resolved to better than 5%. 928 + 1 buckets of 64-bit
// counters: sizeof(LatencyHistogram) is 7456 bytes, no heap.
//
// Concurrency: record() is called by one writer thread only, and updates each counter with a relaxed load and
// store (no read-modify-write: there is no second writer to lose an update to). Readers load the counters
// relaxed; a reading taken while the writer runs is a blend of adjacent states (a count may be one record ahead
// of the buckets), never torn, and exact once the writer is idle.

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace ae {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 5;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;  // per octave
  static constexpr int kMaxOctaveBits = 34;                               // last octave ends at 2^34 ns
  // Buckets below the overflow bucket: 32 linear ones plus 32 per octave from 2^6 to 2^34.
  static constexpr size_t kNumRangeBuckets = kSubBuckets * (kMaxOctaveBits - kSubBucketBits);
  static constexpr size_t kNumBuckets = kNumRangeBuckets + 1;
  static constexpr uint64_t kMaxTrackedNs = uint64_t{1} << kMaxOctaveBits;  // values >= this overflow

  // Counts one duration of `duration_ns` nanoseconds.
  // Thread: the single writer thread. RT-safe: yes (a few relaxed atomic operations).
  void record(uint64_t duration_ns) noexcept {
    auto& bucket = buckets_[bucket_index(duration_ns)];
    bucket.store(bucket.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    count_.store(count_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    sum_ns_.store(sum_ns_.load(std::memory_order_relaxed) + duration_ns, std::memory_order_relaxed);
    if (duration_ns > max_ns_.load(std::memory_order_relaxed)) max_ns_.store(duration_ns, std::memory_order_relaxed);
  }

  // The smallest bucket value such that at least `percent` % of the recorded durations are at or below it,
  // reported as the middle of that bucket, clamped to max_ns() (so percentile_ns(100) == max_ns()). `percent` is
  // clamped to [0, 100]. Returns 0 when nothing was recorded. Durations in the overflow bucket report max_ns().
  // Thread: any. RT-safe: yes (reads 929 counters; no allocation).
  uint64_t percentile_ns(double percent) const noexcept;

  // Number of recorded durations. Thread: any. RT-safe: yes.
  uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  // Longest recorded duration, exact (not bucketed); 0 when empty. Thread: any. RT-safe: yes.
  uint64_t max_ns() const noexcept { return max_ns_.load(std::memory_order_relaxed); }
  // Exact mean of the recorded durations; 0 when empty. Thread: any. RT-safe: yes.
  double mean_ns() const noexcept;

  // Forgets everything recorded. Thread: the writer thread, or any thread while no record() runs (a record()
  // racing with reset() from another thread may leave part of its old counts behind). RT-safe: yes.
  void reset() noexcept;

  // Bucket layout, exposed for tests and reports. Thread: any. RT-safe: yes.
  static constexpr size_t bucket_index(uint64_t duration_ns) noexcept {
    if (duration_ns < 2 * kSubBuckets) return static_cast<size_t>(duration_ns >> 1);
    if (duration_ns >= kMaxTrackedNs) return kNumRangeBuckets;
    const int octave = std::bit_width(duration_ns) - 1;  // 6 .. 33
    const int shift = octave - kSubBucketBits;
    return static_cast<size_t>(shift) * kSubBuckets + static_cast<size_t>((duration_ns >> shift) & (kSubBuckets - 1));
  }
  // Smallest duration counted in bucket `index` (kMaxTrackedNs for the overflow bucket).
  static constexpr uint64_t bucket_lower_ns(size_t index) noexcept {
    if (index < kSubBuckets) return uint64_t{index} * 2;
    if (index >= kNumRangeBuckets) return kMaxTrackedNs;
    const size_t shift = index / kSubBuckets;
    return (kSubBuckets + index % kSubBuckets) << shift;
  }
  // Width of bucket `index` in ns (0 for the unbounded overflow bucket).
  static constexpr uint64_t bucket_width_ns(size_t index) noexcept {
    if (index < kSubBuckets) return 2;
    if (index >= kNumRangeBuckets) return 0;
    return uint64_t{1} << (index / kSubBuckets);
  }

 private:
  std::array<std::atomic<uint64_t>, kNumBuckets> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
  std::atomic<uint64_t> max_ns_{0};
};

}  // namespace ae
