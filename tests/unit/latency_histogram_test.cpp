#include "core/latency_histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "audioengine/realtime.hpp"

namespace ae {
namespace {

using H = LatencyHistogram;

TEST(LatencyHistogramLayout, StaysUnderEightKilobytesWithoutHeap) {
  EXPECT_LT(sizeof(LatencyHistogram), 8u * 1024u);
}

TEST(LatencyHistogramLayout, BucketsTileTheRangeContiguously) {
  EXPECT_EQ(H::bucket_index(0), 0u);
  for (size_t i = 0; i + 1 < H::kNumRangeBuckets; ++i) {
    ASSERT_EQ(H::bucket_lower_ns(i) + H::bucket_width_ns(i), H::bucket_lower_ns(i + 1)) << "gap after bucket " << i;
    ASSERT_EQ(H::bucket_index(H::bucket_lower_ns(i)), i);
    ASSERT_EQ(H::bucket_index(H::bucket_lower_ns(i + 1) - 1), i) << "last value of bucket " << i;
  }
  EXPECT_EQ(H::bucket_index(H::kMaxTrackedNs), H::kNumRangeBuckets);
  EXPECT_EQ(H::bucket_index(UINT64_MAX), H::kNumRangeBuckets);
  EXPECT_GT(H::kMaxTrackedNs, 10'000'000'000u) << "10 s must be inside the tracked range";
}

TEST(LatencyHistogramLayout, RelativeBucketWidthAtMostFivePercentFrom50nsTo10s) {
  double worst = 0.0;
  // Every bucket whose values reach into [50 ns, 10 s].
  for (size_t i = H::bucket_index(50); i <= H::bucket_index(10'000'000'000); ++i) {
    const double lower = static_cast<double>(std::max<uint64_t>(H::bucket_lower_ns(i), 50));
    worst = std::max(worst, static_cast<double>(H::bucket_width_ns(i)) / lower);
  }
  EXPECT_LE(worst, 0.05);
}

TEST(LatencyHistogram, EmptyReadsZero) {
  auto h = std::make_unique<H>();
  EXPECT_EQ(h->count(), 0u);
  EXPECT_EQ(h->max_ns(), 0u);
  EXPECT_EQ(h->mean_ns(), 0.0);
  EXPECT_EQ(h->percentile_ns(50), 0u);
  EXPECT_EQ(h->percentile_ns(100), 0u);
}

// Exact percentile of a sample set: the smallest value with at least p% of the samples at or below it.
uint64_t exact_percentile(std::vector<uint64_t> sorted, double percent) {
  std::sort(sorted.begin(), sorted.end());
  const auto rank = std::max<size_t>(1, static_cast<size_t>(std::ceil(percent / 100.0 * sorted.size())));
  return sorted[rank - 1];
}

void expect_percentiles_within_one_bucket(const std::vector<uint64_t>& samples, const char* name) {
  auto h = std::make_unique<H>();
  for (uint64_t v : samples) h->record(v);
  for (double p : {0.1, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9}) {
    const uint64_t exact = exact_percentile(samples, p);
    const uint64_t got = h->percentile_ns(p);
    const uint64_t width = H::bucket_width_ns(H::bucket_index(exact));
    const uint64_t error = got > exact ? got - exact : exact - got;
    EXPECT_LE(error, width) << name << " p" << p << ": exact " << exact << " ns, histogram " << got << " ns";
  }
  EXPECT_EQ(h->count(), samples.size());
  EXPECT_EQ(h->max_ns(), *std::max_element(samples.begin(), samples.end()));
  EXPECT_EQ(h->percentile_ns(100), h->max_ns());
  long double sum = 0;
  for (uint64_t v : samples) sum += static_cast<long double>(v);
  EXPECT_NEAR(h->mean_ns(), static_cast<double>(sum / samples.size()), 1e-9 * static_cast<double>(sum / samples.size()))
      << name;
}

TEST(LatencyHistogram, UniformDistributionPercentilesWithinOneBucket) {
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<uint64_t> dist(1'000, 2'000);  // 1..2 us
  std::vector<uint64_t> samples(100'000);
  for (auto& v : samples) v = dist(rng);
  expect_percentiles_within_one_bucket(samples, "uniform 1-2 us");
}

TEST(LatencyHistogram, LogUniformDistributionOverTheWholeRangeWithinOneBucket) {
  std::mt19937_64 rng(12);
  std::uniform_real_distribution<double> exponent(std::log(50.0), std::log(1e10));
  std::vector<uint64_t> samples(200'000);
  for (auto& v : samples) v = static_cast<uint64_t>(std::exp(exponent(rng)));
  expect_percentiles_within_one_bucket(samples, "log-uniform 50 ns - 10 s");
}

TEST(LatencyHistogram, ExponentialDistributionWithinOneBucket) {
  std::mt19937_64 rng(13);
  std::exponential_distribution<double> dist(1.0 / 250'000.0);  // mean 250 us: callback jitter-like tail
  std::vector<uint64_t> samples(100'000);
  for (auto& v : samples) v = 50 + static_cast<uint64_t>(dist(rng));
  expect_percentiles_within_one_bucket(samples, "exponential, mean 250 us");
}

TEST(LatencyHistogram, BimodalDistributionSeparatesTheModes) {
  auto h = std::make_unique<H>();
  for (int i = 0; i < 900; ++i) h->record(100'000);   // 100 us
  for (int i = 0; i < 100; ++i) h->record(5'000'000);  // 5 ms
  const auto near = [](uint64_t got, uint64_t want) {
    return (got > want ? got - want : want - got) <= H::bucket_width_ns(H::bucket_index(want));
  };
  EXPECT_TRUE(near(h->percentile_ns(50), 100'000)) << h->percentile_ns(50);
  EXPECT_TRUE(near(h->percentile_ns(90), 100'000)) << h->percentile_ns(90);
  EXPECT_TRUE(near(h->percentile_ns(90.1), 5'000'000)) << h->percentile_ns(90.1);
  EXPECT_EQ(h->percentile_ns(99), 5'000'000u) << "clamped to the exact maximum";
  EXPECT_DOUBLE_EQ(h->mean_ns(), (900.0 * 100'000 + 100.0 * 5'000'000) / 1000.0);
}

TEST(LatencyHistogram, OverflowAndOutOfRangePercentiles) {
  auto h = std::make_unique<H>();
  h->record(1'000);
  h->record(30'000'000'000);  // 30 s, beyond the tracked range
  EXPECT_EQ(h->count(), 2u);
  EXPECT_EQ(h->max_ns(), 30'000'000'000u);
  EXPECT_EQ(h->percentile_ns(100), 30'000'000'000u) << "the overflow bucket reports the exact maximum";
  EXPECT_EQ(h->percentile_ns(250), 30'000'000'000u) << "percent is clamped to 100";
  const uint64_t low = h->percentile_ns(-5);
  EXPECT_LE(low > 1'000 ? low - 1'000 : 1'000 - low, H::bucket_width_ns(H::bucket_index(1'000)));
}

TEST(LatencyHistogram, ResetForgetsEverything) {
  auto h = std::make_unique<H>();
  for (uint64_t v = 100; v < 100'000; v += 37) h->record(v);
  ASSERT_GT(h->count(), 0u);
  h->reset();
  EXPECT_EQ(h->count(), 0u);
  EXPECT_EQ(h->max_ns(), 0u);
  EXPECT_EQ(h->mean_ns(), 0.0);
  EXPECT_EQ(h->percentile_ns(50), 0u);
  h->record(7'000);
  EXPECT_EQ(h->count(), 1u);
  EXPECT_EQ(h->max_ns(), 7'000u);
  EXPECT_EQ(h->percentile_ns(50), H::bucket_lower_ns(H::bucket_index(7'000)) + H::bucket_width_ns(H::bucket_index(7'000)) / 2)
      << "only the new value counts";
}

// One writer records while another thread reads: readings never exceed what was written, counts never go
// backwards, and once the writer stops the reading is exact. Under ThreadSanitizer this also proves the
// single-writer relaxed scheme is free of data races.
TEST(LatencyHistogramThreads, ReaderWhileOneWriterRecords) {
#if defined(__SANITIZE_THREAD__)
  constexpr uint64_t kRecords = 100'000;
#else
  constexpr uint64_t kRecords = 2'000'000;
#endif
  auto h = std::make_unique<H>();
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (uint64_t i = 0; i < kRecords; ++i) h->record(1'000 + i % 1'000);
    done.store(true, std::memory_order_release);
  });
  uint64_t last_count = 0;
  uint64_t backwards = 0;
  uint64_t out_of_range = 0;
  uint64_t readings = 0;
  while (!done.load(std::memory_order_acquire)) {
    const uint64_t c = h->count();
    if (c < last_count) ++backwards;
    last_count = c;
    const uint64_t p50 = h->percentile_ns(50);
    if (c > 0 && (p50 < 1'000 - H::bucket_width_ns(H::bucket_index(1'000)) || p50 > 2'000)) ++out_of_range;
    ++readings;
  }
  writer.join();
  EXPECT_EQ(backwards, 0u);
  EXPECT_EQ(out_of_range, 0u);
  EXPECT_EQ(h->count(), kRecords);
  EXPECT_EQ(h->max_ns(), 1'999u);
  EXPECT_DOUBLE_EQ(h->mean_ns(), 1'499.5);
  EXPECT_GT(readings, 0u);
}

TEST(LatencyHistogramRealtime, RecordNeitherAllocatesNorLocks) {
  if (!ae::rt::probe_installed()) GTEST_SKIP() << "the real-time probe is not linked (sanitizer build)";
  auto h = std::make_unique<H>();
  ae::rt::reset_violation_counts();
  {
    ae::rt::ScopedAudioThread audio;
    for (uint64_t v = 1; v < 20'000'000'000; v = v * 3 / 2 + 1) h->record(v);
    (void)h->percentile_ns(99);
  }
  const auto counts = ae::rt::violation_counts();
  EXPECT_EQ(counts.allocations, 0u);
  EXPECT_EQ(counts.mutex_locks, 0u);
  EXPECT_GT(h->count(), 50u);
}

}  // namespace
}  // namespace ae
