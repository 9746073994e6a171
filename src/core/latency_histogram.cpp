#include "core/latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace ae {

static_assert(sizeof(LatencyHistogram) < 8 * 1024, "the histogram is meant to stay under 8 KB");
static_assert(LatencyHistogram::bucket_index(63) == 31 && LatencyHistogram::bucket_index(64) == 32);
static_assert(LatencyHistogram::bucket_index(LatencyHistogram::kMaxTrackedNs - 1) ==
              LatencyHistogram::kNumRangeBuckets - 1);
static_assert(LatencyHistogram::bucket_lower_ns(LatencyHistogram::bucket_index(10'000'000'000)) <= 10'000'000'000);

uint64_t LatencyHistogram::percentile_ns(double percent) const noexcept {
  // The rank is taken against the buckets' own total so that a reading racing the writer stays self-consistent.
  uint64_t total = 0;
  for (const auto& bucket : buckets_) total += bucket.load(std::memory_order_relaxed);
  if (total == 0) return 0;
  const double fraction = std::clamp(percent, 0.0, 100.0) / 100.0;
  const auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(fraction * static_cast<double>(total))));
  const uint64_t max_seen_ns = max_ns();
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kNumBuckets; ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    if (cumulative >= rank) {
      if (i == kNumRangeBuckets) return max_seen_ns;
      const uint64_t middle_ns = bucket_lower_ns(i) + bucket_width_ns(i) / 2;
      return std::min(middle_ns, max_seen_ns);
    }
  }
  return max_seen_ns;
}

double LatencyHistogram::mean_ns() const noexcept {
  const uint64_t n = count();
  if (n == 0) return 0.0;
  return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / static_cast<double>(n);
}

void LatencyHistogram::reset() noexcept {
  for (auto& bucket : buckets_) bucket.store(0, std::memory_order_relaxed);
  count_.store(0, std::memory_order_relaxed);
  sum_ns_.store(0, std::memory_order_relaxed);
  max_ns_.store(0, std::memory_order_relaxed);
}

}  // namespace ae
