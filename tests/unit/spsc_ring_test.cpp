#include "audioengine/spsc_ring.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "audioengine/realtime.hpp"

namespace ae {
namespace {

// A cache-line sized record, the shape of an event or a command.
struct Record64 {
  uint64_t sequence;
  uint32_t words[14];
};
static_assert(sizeof(Record64) == 64);

// Builds the i-th value of a test sequence and recognises it, for every element type under test.
template <typename T>
T make_value(uint64_t i);
template <>
float make_value<float>(uint64_t i) {
  return static_cast<float>(i % (1u << 24));  // exactly representable
}
template <>
int16_t make_value<int16_t>(uint64_t i) {
  return static_cast<int16_t>(static_cast<uint16_t>(i * 40503u));
}
template <>
Record64 make_value<Record64>(uint64_t i) {
  Record64 r{};
  r.sequence = i;
  for (uint32_t k = 0; k < 14; ++k) r.words[k] = static_cast<uint32_t>(i * 2654435761u + k);
  return r;
}

bool same(float a, float b) { return a == b; }
bool same(int16_t a, int16_t b) { return a == b; }
bool same(const Record64& a, const Record64& b) {
  if (a.sequence != b.sequence) return false;
  for (int k = 0; k < 14; ++k) {
    if (a.words[k] != b.words[k]) return false;
  }
  return true;
}

template <typename T>
std::vector<T> make_values(uint64_t first, size_t n) {
  std::vector<T> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = make_value<T>(first + i);
  return v;
}

template <typename T>
class SpscRingTyped : public ::testing::Test {};
using ElementTypes = ::testing::Types<float, int16_t, Record64>;
TYPED_TEST_SUITE(SpscRingTyped, ElementTypes);

TYPED_TEST(SpscRingTyped, CapacityRoundsUpToPowerOfTwoAtLeastTwo) {
  const std::array<std::pair<size_t, size_t>, 7> cases{
      {{0, 2}, {1, 2}, {2, 2}, {3, 4}, {5, 8}, {480, 512}, {1024, 1024}}};
  for (const auto& [requested, expected] : cases) {
    SpscRing<TypeParam> ring(requested);
    EXPECT_EQ(ring.capacity(), expected) << "requested " << requested;
    EXPECT_EQ(ring.memory_bytes(), expected * sizeof(TypeParam));
    EXPECT_EQ(ring.write_available(), expected);
    EXPECT_EQ(ring.read_available(), 0u);
  }
}

TYPED_TEST(SpscRingTyped, SingleElementFullAndEmpty) {
  SpscRing<TypeParam> ring(4);
  TypeParam out{};
  EXPECT_FALSE(ring.try_pop(out));
  EXPECT_TRUE(ring.empty());
  for (uint64_t i = 0; i < 4; ++i) ASSERT_TRUE(ring.try_push(make_value<TypeParam>(i)));
  EXPECT_FALSE(ring.try_push(make_value<TypeParam>(99))) << "a full ring must refuse";
  EXPECT_EQ(ring.size(), 4u);
  EXPECT_EQ(ring.write_available(), 0u);
  for (uint64_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(ring.try_pop(out));
    EXPECT_TRUE(same(out, make_value<TypeParam>(i))) << "element " << i;
  }
  EXPECT_FALSE(ring.try_pop(out));
  EXPECT_TRUE(ring.empty());
  // After the refused push, the element that did not fit must not have been written anywhere visible.
  EXPECT_EQ(ring.total_pushed(), 4u);
  EXPECT_EQ(ring.total_popped(), 4u);
}

TYPED_TEST(SpscRingTyped, TryPushAllIsAllOrNothing) {
  SpscRing<TypeParam> ring(8);
  const auto first = make_values<TypeParam>(0, 5);
  ASSERT_TRUE(ring.try_push_all(first.data(), first.size()));
  const auto second = make_values<TypeParam>(5, 4);
  EXPECT_FALSE(ring.try_push_all(second.data(), second.size())) << "4 elements do not fit in 3 free slots";
  EXPECT_EQ(ring.size(), 5u) << "a refused try_push_all must push nothing";
  EXPECT_EQ(ring.total_pushed(), 5u);
  const auto too_many = make_values<TypeParam>(100, 9);
  EXPECT_FALSE(ring.try_push_all(too_many.data(), too_many.size())) << "more than the capacity never fits";
  EXPECT_TRUE(ring.try_push_all(second.data(), 3));
  EXPECT_EQ(ring.size(), 8u);
  std::vector<TypeParam> out(8);
  ASSERT_EQ(ring.try_pop_bulk(out.data(), out.size()), 8u);
  const auto expected = make_values<TypeParam>(0, 8);
  for (size_t i = 0; i < 8; ++i) EXPECT_TRUE(same(out[i], expected[i])) << "element " << i;
  EXPECT_TRUE(ring.try_push_all(second.data(), 0)) << "pushing nothing always succeeds";
}

TYPED_TEST(SpscRingTyped, BulkOperationsAcrossTheWrapPoint) {
  SpscRing<TypeParam> ring(16);
  uint64_t next_in = 0;
  uint64_t next_out = 0;
  // Every start offset in the storage and every length crossing (or not) the end of it.
  for (size_t offset = 0; offset < 16; ++offset) {
    for (size_t len = 1; len <= 16; ++len) {
      // Move the indices to `offset` modulo the capacity.
      while ((ring.total_pushed() & 15) != offset) {
        ASSERT_TRUE(ring.try_push(make_value<TypeParam>(next_in++)));
        TypeParam sink{};
        ASSERT_TRUE(ring.try_pop(sink));
        ASSERT_TRUE(same(sink, make_value<TypeParam>(next_out++)));
      }
      const auto in = make_values<TypeParam>(next_in, len);
      ASSERT_EQ(ring.try_push_bulk(in.data(), len), len);
      next_in += len;
      std::vector<TypeParam> out(len);
      ASSERT_EQ(ring.try_pop_bulk(out.data(), len), len);
      for (size_t i = 0; i < len; ++i) {
        ASSERT_TRUE(same(out[i], make_value<TypeParam>(next_out + i)))
            << "offset " << offset << " length " << len << " element " << i;
      }
      next_out += len;
    }
  }
  EXPECT_EQ(ring.total_pushed(), next_in);
  EXPECT_EQ(ring.total_popped(), next_out);
}

TYPED_TEST(SpscRingTyped, BulkPushAndPopArePartialWhenShort) {
  SpscRing<TypeParam> ring(8);
  const auto in = make_values<TypeParam>(0, 12);
  EXPECT_EQ(ring.try_push_bulk(in.data(), 12), 8u) << "only the free slots are filled";
  EXPECT_EQ(ring.try_push_bulk(in.data(), 1), 0u);
  std::vector<TypeParam> out(12);
  EXPECT_EQ(ring.try_pop_bulk(out.data(), 5), 5u);
  EXPECT_EQ(ring.try_push_bulk(in.data() + 8, 4), 4u);  // wraps
  EXPECT_EQ(ring.try_pop_bulk(out.data() + 5, 12), 7u) << "only what is there is popped";
  for (size_t i = 0; i < 12; ++i) EXPECT_TRUE(same(out[i], in[i])) << "element " << i;
  EXPECT_EQ(ring.try_pop_bulk(out.data(), 3), 0u);
}

TYPED_TEST(SpscRingTyped, PeekShowsTheNextElementWithoutPopping) {
  SpscRing<TypeParam> ring(4);
  EXPECT_EQ(ring.peek(), nullptr);
  ASSERT_TRUE(ring.try_push(make_value<TypeParam>(7)));
  ASSERT_TRUE(ring.try_push(make_value<TypeParam>(8)));
  const TypeParam* p = ring.peek();
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(same(*p, make_value<TypeParam>(7)));
  EXPECT_EQ(ring.peek(), p) << "peeking twice sees the same element";
  EXPECT_EQ(ring.size(), 2u);
  TypeParam out{};
  ASSERT_TRUE(ring.try_pop(out));
  EXPECT_TRUE(same(out, make_value<TypeParam>(7)));
  ASSERT_NE(ring.peek(), nullptr);
  EXPECT_TRUE(same(*ring.peek(), make_value<TypeParam>(8)));
}

TYPED_TEST(SpscRingTyped, ClaimedSlotIsSeenOnlyOnceCommitted) {
  SpscRing<TypeParam> ring(2);
  TypeParam* slot = ring.try_claim();
  ASSERT_NE(slot, nullptr);
  *slot = make_value<TypeParam>(3);
  EXPECT_EQ(ring.try_claim(), slot) << "claiming again before the commit gives the same slot";
  EXPECT_EQ(ring.read_available(), 0u) << "a claimed slot is invisible to the consumer";
  EXPECT_EQ(ring.peek(), nullptr);
  ring.commit_claimed();
  ASSERT_EQ(ring.read_available(), 1u);
  EXPECT_TRUE(same(*ring.peek(), make_value<TypeParam>(3)));
  // The next claim is the next slot; a full ring has none.
  TypeParam* second = ring.try_claim();
  ASSERT_NE(second, nullptr);
  EXPECT_NE(second, slot);
  *second = make_value<TypeParam>(4);
  ring.commit_claimed();
  EXPECT_EQ(ring.try_claim(), nullptr) << "full";
  EXPECT_FALSE(ring.try_push(make_value<TypeParam>(5)));
  TypeParam out{};
  ASSERT_TRUE(ring.try_pop(out));
  EXPECT_TRUE(same(out, make_value<TypeParam>(3)));
  EXPECT_EQ(ring.try_claim(), slot) << "the popped slot comes back to the producer";
  ASSERT_TRUE(ring.try_pop(out));
  EXPECT_TRUE(same(out, make_value<TypeParam>(4)));
  EXPECT_EQ(ring.total_pushed(), 2u);
}

TYPED_TEST(SpscRingTyped, DiscardDropsElementsAndCountsThem) {
  SpscRing<TypeParam> ring(8);
  const auto in = make_values<TypeParam>(0, 6);
  ASSERT_TRUE(ring.try_push_all(in.data(), 6));
  EXPECT_EQ(ring.discard(2), 2u);
  TypeParam out{};
  ASSERT_TRUE(ring.try_pop(out));
  EXPECT_TRUE(same(out, in[2])) << "discard drops from the front";
  EXPECT_EQ(ring.discard(10), 3u) << "discard stops at what is there";
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.discard(1), 0u);
  ASSERT_TRUE(ring.try_push_all(in.data(), 6));
  EXPECT_EQ(ring.discard_all(), 6u);
  EXPECT_EQ(ring.read_available(), 0u);
  EXPECT_EQ(ring.write_available(), 8u) << "discarded slots return to the producer";
  EXPECT_EQ(ring.total_pushed(), 12u);
  EXPECT_EQ(ring.total_popped(), 12u) << "discarded elements count as popped";
}

// Producer and consumer on two threads, random bulk sizes on both sides (and single-element calls mixed in),
// a small ring so it is full and empty often: the consumer must see the exact counting sequence.
TEST(SpscRingStress, TwoThreadsCountingSequenceIsExact) {
#if defined(__SANITIZE_THREAD__)
  constexpr uint64_t kTotal = 2'000'000;  // TSan slows every access; stays well under 3 s
#else
  constexpr uint64_t kTotal = 8'000'000;
#endif
  constexpr size_t kMaxBulk = 96;
  SpscRing<uint32_t> ring(128);
  std::atomic<bool> consumer_failed{false};
  uint64_t consumer_mismatch_at = 0;

  std::thread consumer([&] {
    std::mt19937 rng(2);
    std::uniform_int_distribution<size_t> bulk(1, kMaxBulk);
    std::vector<uint32_t> buf(kMaxBulk);
    uint64_t expected = 0;
    while (expected < kTotal) {
      size_t got = 0;
      if (expected % 7 == 0) {
        got = ring.try_pop(buf[0]) ? 1 : 0;
      } else {
        got = ring.try_pop_bulk(buf.data(), bulk(rng));
      }
      for (size_t i = 0; i < got; ++i) {
        if (buf[i] != static_cast<uint32_t>(expected + i)) {
          consumer_mismatch_at = expected + i;
          consumer_failed.store(true);
          return;
        }
      }
      expected += got;
      if (got == 0) std::this_thread::yield();
    }
  });

  std::mt19937 rng(1);
  std::uniform_int_distribution<size_t> bulk(1, kMaxBulk);
  std::vector<uint32_t> buf(kMaxBulk);
  uint64_t next = 0;
  while (next < kTotal && !consumer_failed.load(std::memory_order_relaxed)) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(bulk(rng), kTotal - next));
    for (size_t i = 0; i < want; ++i) buf[i] = static_cast<uint32_t>(next + i);
    size_t pushed = 0;
    if (want % 5 == 0) {
      pushed = ring.try_push_all(buf.data(), want) ? want : 0;
    } else if (want % 5 == 1) {
      pushed = ring.try_push(buf[0]) ? 1 : 0;
    } else {
      pushed = ring.try_push_bulk(buf.data(), want);
    }
    next += pushed;
    if (pushed == 0) std::this_thread::yield();
  }
  consumer.join();
  ASSERT_FALSE(consumer_failed.load()) << "sequence broken at element " << consumer_mismatch_at;
  EXPECT_EQ(ring.total_pushed(), kTotal);
  EXPECT_EQ(ring.total_popped(), kTotal);
  EXPECT_TRUE(ring.empty());
}

// Records (not just integers) cross threads intact: a torn or stale 64-byte element would show.
TEST(SpscRingStress, TwoThreadsRecordsArriveIntact) {
  constexpr uint64_t kTotal = 200'000;
  SpscRing<Record64> ring(32);
  std::atomic<uint64_t> bad{0};
  std::thread consumer([&] {
    uint64_t expected = 0;
    Record64 r{};
    while (expected < kTotal) {
      if (ring.try_pop(r)) {
        if (!same(r, make_value<Record64>(expected))) bad.fetch_add(1);
        ++expected;
      } else {
        std::this_thread::yield();
      }
    }
  });
  for (uint64_t i = 0; i < kTotal;) {
    // Every other record is written in place through a claimed slot, word by word as a producer fills one.
    if (i % 2 == 1) {
      if (Record64* slot = ring.try_claim()) {
        const Record64 r = make_value<Record64>(i);
        slot->sequence = r.sequence;
        for (int k = 0; k < 14; ++k) slot->words[k] = r.words[k];
        ring.commit_claimed();
        ++i;
        continue;
      }
    } else if (ring.try_push(make_value<Record64>(i))) {
      ++i;
      continue;
    }
    std::this_thread::yield();
  }
  consumer.join();
  EXPECT_EQ(bad.load(), 0u);
}

// A volatile sink keeps the compiler from eliding the deliberate allocation below.
float* volatile g_alloc_sink = nullptr;

TEST(SpscRingRealtime, PushAndPopNeitherAllocateNorLock) {
  if (!ae::rt::probe_installed()) GTEST_SKIP() << "the real-time probe is not linked (sanitizer build)";
  SpscRing<float> ring(1024);
  std::vector<float> block(480, 0.25f);
  std::vector<float> out(480);
  ae::rt::reset_violation_counts();
  {
    ae::rt::ScopedAudioThread audio;
    for (int i = 0; i < 1000; ++i) {
      ring.try_push_all(block.data(), block.size());
      ring.try_push_bulk(block.data(), 100);
      ring.try_push(1.0f);
      if (float* slot = ring.try_claim()) {
        *slot = 2.0f;
        ring.commit_claimed();
      }
      (void)ring.write_available();
      (void)ring.peek();
      ring.try_pop_bulk(out.data(), out.size());
      float x = 0;
      ring.try_pop(x);
      (void)ring.read_available();
      ring.discard(50);
      ring.discard_all();
    }
  }
  const auto counts = ae::rt::violation_counts();
  EXPECT_EQ(counts.allocations, 0u);
  EXPECT_EQ(counts.mutex_locks, 0u);
  EXPECT_EQ(ring.total_pushed(), ring.total_popped());

  // The probe must see an allocation made on the marked thread, or the zeros above would prove nothing.
  ae::rt::reset_violation_counts();
  {
    ae::rt::ScopedAudioThread audio;
    g_alloc_sink = new float[16];
  }
  delete[] g_alloc_sink;
  EXPECT_GE(ae::rt::violation_counts().allocations, 1u);
}

}  // namespace
}  // namespace ae
