#include "audioengine/flush_epoch.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

#include "audioengine/realtime.hpp"

namespace ae {
namespace {

TEST(FlushEpoch, ConsumeReportsEachChangeOnceAndCoalescesBursts) {
  FlushEpoch flush;
  uint64_t seen = 0;
  EXPECT_FALSE(flush.consume(seen)) << "no request yet";
  EXPECT_EQ(flush.request(), 1u);
  EXPECT_TRUE(flush.consume(seen));
  EXPECT_EQ(seen, 1u);
  EXPECT_FALSE(flush.consume(seen)) << "the same request is reported once";
  EXPECT_EQ(flush.request(), 2u);
  EXPECT_EQ(flush.request(), 3u);
  EXPECT_EQ(flush.request(), 4u);
  EXPECT_TRUE(flush.consume(seen)) << "three requests between two ticks";
  EXPECT_EQ(seen, 4u);
  EXPECT_FALSE(flush.consume(seen)) << "... give one flush";
  EXPECT_EQ(flush.epoch(), 4u);
}

TEST(FlushEpoch, TwoConsumersKeepTheirOwnSeenValues) {
  FlushEpoch flush;
  uint64_t seen_a = 0;
  uint64_t seen_b = 0;
  flush.request();
  EXPECT_TRUE(flush.consume(seen_a));
  flush.request();
  EXPECT_TRUE(flush.consume(seen_b));
  EXPECT_EQ(seen_b, 2u);
  EXPECT_TRUE(flush.consume(seen_a));
  EXPECT_FALSE(flush.consume(seen_a));
}

// The requester writes a plain (non-atomic) "flush up to" position before each request(); the consumer, once
// consume() reports epoch e, reads the positions of requests 1..e. Under ThreadSanitizer that is reported as a
// race unless request() releases and consume() acquires; in every build each value must be the one written.
TEST(FlushEpochThreads, RequestPublishesWhatTheRequesterWroteBefore) {
#if defined(__SANITIZE_THREAD__)
  constexpr uint64_t kRequests = 200'000;
#else
  constexpr uint64_t kRequests = 500'000;
#endif
  FlushEpoch flush;
  std::vector<uint64_t> flush_up_to_sample(kRequests, 0);
  uint64_t flushes_seen = 0;
  uint64_t bad_reads = 0;
  bool went_backwards = false;
  std::thread consumer([&] {
    uint64_t seen = 0;
    uint64_t checked = 0;
    while (checked < kRequests) {
      if (!flush.consume(seen)) continue;
      ++flushes_seen;
      if (seen <= checked) went_backwards = true;
      for (; checked < seen; ++checked) {
        if (flush_up_to_sample[checked] != (checked + 1) * 480) ++bad_reads;
      }
    }
  });
  uint64_t wrong_epochs = 0;
  for (uint64_t i = 0; i < kRequests; ++i) {
    flush_up_to_sample[i] = (i + 1) * 480;  // plain write, published by the request below
    if (flush.request() != i + 1) ++wrong_epochs;
  }
  consumer.join();
  EXPECT_EQ(wrong_epochs, 0u);
  EXPECT_EQ(bad_reads, 0u);
  EXPECT_FALSE(went_backwards);
  EXPECT_GE(flushes_seen, 1u);
  EXPECT_LE(flushes_seen, kRequests);
}

// Concurrent requesters each get a distinct epoch, together exactly 1..N, and the consumer sees the last one.
TEST(FlushEpochThreads, ConcurrentRequestersGetDistinctEpochs) {
  constexpr int kRequesters = 2;
  constexpr uint64_t kRequestsPerThread = 50'000;
  constexpr uint64_t kTotal = kRequesters * kRequestsPerThread;
  FlushEpoch flush;
  std::vector<std::vector<uint64_t>> returned(kRequesters);
  std::vector<std::thread> requesters;
  for (int r = 0; r < kRequesters; ++r) {
    requesters.emplace_back([&, r] {
      returned[r].reserve(kRequestsPerThread);
      for (uint64_t i = 0; i < kRequestsPerThread; ++i) returned[r].push_back(flush.request());
    });
  }
  uint64_t seen = 0;
  while (seen < kTotal) flush.consume(seen);
  for (auto& t : requesters) t.join();
  EXPECT_EQ(seen, kTotal);
  std::vector<bool> hit(kTotal + 1, false);
  uint64_t duplicates_or_out_of_range = 0;
  for (const auto& list : returned) {
    for (uint64_t e : list) {
      if (e == 0 || e > kTotal || hit[e]) ++duplicates_or_out_of_range;
      if (e <= kTotal) hit[e] = true;
    }
  }
  EXPECT_EQ(duplicates_or_out_of_range, 0u);
}

TEST(FlushRequest, CarriesThePayloadOfTheLatestRequest) {
  FlushRequest flush;
  uint64_t seen = 0;
  uint64_t payload = 777;
  EXPECT_FALSE(flush.consume(seen, payload));
  EXPECT_EQ(payload, 777u) << "untouched when nothing is pending";
  EXPECT_EQ(flush.request(48'000), 1u);
  EXPECT_TRUE(flush.consume(seen, payload));
  EXPECT_EQ(seen, 1u);
  EXPECT_EQ(payload, 48'000u);
  EXPECT_FALSE(flush.consume(seen, payload));
  EXPECT_EQ(flush.request(96'000), 2u);
  EXPECT_EQ(flush.request(96'480), 3u);
  EXPECT_TRUE(flush.consume(seen, payload));
  EXPECT_EQ(seen, 3u);
  EXPECT_EQ(payload, 96'480u) << "coalesced requests report the last payload";
  EXPECT_EQ(flush.epoch(), 3u);
  // Alternating slots: many single requests each read back exactly.
  for (uint64_t i = 4; i < 100; ++i) {
    ASSERT_EQ(flush.request(i * 1000 + 1), i);
    ASSERT_TRUE(flush.consume(seen, payload));
    ASSERT_EQ(seen, i);
    ASSERT_EQ(payload, i * 1000 + 1);
  }
}

// Two requesters and one consumer. Each requester's payload encodes (requester, its own counter); after the
// run, every (epoch, payload) pair the consumer saw must be exactly the pair a request returned. A payload torn
// between two requests, or paired with another request's epoch, fails the match.
TEST(FlushRequestThreads, EpochAndPayloadArriveTogether) {
  constexpr int kRequesters = 2;
#if defined(__SANITIZE_THREAD__)
  constexpr uint64_t kRequestsPerThread = 50'000;
#else
  constexpr uint64_t kRequestsPerThread = 100'000;
#endif
  constexpr uint64_t kTotal = kRequesters * kRequestsPerThread;
  FlushRequest flush;
  // issued[epoch] = payload, written by the requester after request() returns; read only after joining.
  std::vector<uint64_t> issued(kTotal + 1, 0);
  std::vector<std::pair<uint64_t, uint64_t>> observed;
  observed.reserve(kTotal);
  std::atomic<bool> done{false};
  bool went_backwards = false;

  std::thread consumer([&] {
    uint64_t seen = 0;
    uint64_t payload = 0;
    for (;;) {
      const bool finished = done.load(std::memory_order_acquire);
      const uint64_t before = seen;
      if (flush.consume(seen, payload)) {
        if (seen <= before) went_backwards = true;
        observed.emplace_back(seen, payload);
      }
      if (finished) break;
    }
  });
  std::vector<std::thread> requesters;
  for (int r = 0; r < kRequesters; ++r) {
    requesters.emplace_back([&, r] {
      for (uint64_t i = 0; i < kRequestsPerThread; ++i) {
        // High half: requester and counter; low half: a mix of them, so a torn read would not match.
        const uint64_t payload = (static_cast<uint64_t>(r + 1) << 56) | (i << 24) | ((i * 2654435761u) & 0xFFFFFF);
        const uint64_t epoch = flush.request(payload);
        issued[epoch] = payload;  // each epoch is returned to exactly one requester
      }
    });
  }
  for (auto& t : requesters) t.join();
  done.store(true, std::memory_order_release);
  consumer.join();

  EXPECT_FALSE(went_backwards) << "consume() must report increasing epochs";
  ASSERT_FALSE(observed.empty());
  EXPECT_EQ(observed.back().first, kTotal) << "the last request is always seen";
  uint64_t mismatched = 0;
  for (const auto& [epoch, payload] : observed) {
    if (epoch == 0 || epoch > kTotal || issued[epoch] != payload) ++mismatched;
  }
  EXPECT_EQ(mismatched, 0u) << "of " << observed.size() << " observed requests";
}

TEST(FlushRealtime, ConsumeNeitherAllocatesNorLocks) {
  if (!ae::rt::probe_installed()) GTEST_SKIP() << "the real-time probe is not linked (sanitizer build)";
  FlushEpoch epoch;
  FlushRequest request;
  uint64_t seen_epoch = 0;
  uint64_t seen_request = 0;
  uint64_t payload = 0;
  int changes = 0;
  ae::rt::reset_violation_counts();
  for (uint64_t i = 0; i < 100; ++i) {
    epoch.request();
    request.request(i);  // control side: may lock, outside the marked scope
    ae::rt::ScopedAudioThread audio;
    changes += epoch.consume(seen_epoch) ? 1 : 0;
    changes += request.consume(seen_request, payload) ? 1 : 0;
    changes += epoch.consume(seen_epoch) ? 1 : 0;
  }
  const auto counts = ae::rt::violation_counts();
  EXPECT_EQ(counts.allocations, 0u);
  EXPECT_EQ(counts.mutex_locks, 0u);
  EXPECT_EQ(changes, 200);
  EXPECT_EQ(payload, 99u);
}

}  // namespace
}  // namespace ae
