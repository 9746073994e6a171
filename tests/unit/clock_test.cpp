// VirtualClock: the four modes, exact tick counts, remainders carried between advance() calls, the thread name,
// and a stop() that honours its deadline even when a tick blocks.

#include <gtest/gtest.h>

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "audioengine/clock.hpp"
#include "audioengine/realtime.hpp"

namespace ae {
namespace {

struct Recorder : TickTarget {
  std::atomic<int64_t> ticks{0};
  std::atomic<int64_t> frames{0};
  std::atomic<int> on_audio_thread{0};
  std::atomic<int> named_ae_audio{0};
  std::atomic<int> block_ms{0};
  void run_tick(const float*, float*, size_t n) noexcept override {
    ++ticks;
    frames += static_cast<int64_t>(n);
    if (rt::is_audio_thread()) ++on_audio_thread;
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    if (std::string(name) == "ae-audio") ++named_ae_audio;
    if (block_ms.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(block_ms.load()));
  }
};

TEST(VirtualClock, InlineRunsTicksOnTheCallerWithRemainderCarried) {
  VirtualClock clock(VirtualClockMode::kInline);
  Recorder r;
  ASSERT_TRUE(clock.start(&r, 160, 16000).ok());
  ASSERT_TRUE(clock.advance(25).ok());  // 2 ticks, 5 ms carried
  EXPECT_EQ(r.ticks.load(), 2);
  ASSERT_TRUE(clock.advance(5).ok());   // the carried 5 ms make a third tick
  EXPECT_EQ(r.ticks.load(), 3);
  ASSERT_TRUE(clock.advance_ticks(7).ok());
  EXPECT_EQ(r.ticks.load(), 10);
  EXPECT_EQ(r.frames.load(), 1600);
  EXPECT_EQ(clock.ticks(), 10);
  EXPECT_EQ(r.on_audio_thread.load(), 10);
  EXPECT_EQ(r.named_ae_audio.load(), 0);
  EXPECT_FALSE(rt::is_audio_thread());  // the mark ends with advance()
  EXPECT_EQ(clock.advance(-1).error(), Error::kInvalidArgument);
}

TEST(VirtualClock, SteppedRunsTicksOnAeAudioAndWaitsForThem) {
  VirtualClock clock(VirtualClockMode::kStepped);
  Recorder r;
  ASSERT_TRUE(clock.start(&r, 480, 48000).ok());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(clock.advance(20).ok());
    ASSERT_EQ(r.ticks.load(), 2 * (i + 1));  // advance returns only once its ticks ran
  }
  EXPECT_EQ(r.named_ae_audio.load(), 100);
  EXPECT_EQ(r.on_audio_thread.load(), 100);
  ASSERT_TRUE(clock.stop(1000).ok());
  EXPECT_FALSE(clock.running());
  EXPECT_EQ(clock.advance(10).error(), Error::kNotRunning);
}

TEST(VirtualClock, FreeRunStopsAtItsTickLimit) {
  VirtualClock clock(VirtualClockMode::kFreeRun);
  clock.set_tick_limit(5000);
  Recorder r;
  ASSERT_TRUE(clock.start(&r, 160, 16000).ok());
  EXPECT_TRUE(clock.self_driven());
  ASSERT_TRUE(clock.wait_until_finished(10000));
  EXPECT_EQ(r.ticks.load(), 5000);
  EXPECT_EQ(clock.advance(10).error(), Error::kInvalidArgument);  // self-driven: advance makes no sense
  ASSERT_TRUE(clock.stop(1000).ok());
}

TEST(VirtualClock, RealtimeIsPacedNotFreeRunning) {
  VirtualClock clock(VirtualClockMode::kRealtime);
  clock.set_tick_limit(10);  // 10 periods of 10 ms
  Recorder r;
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(clock.start(&r, 160, 16000).ok());
  ASSERT_TRUE(clock.wait_until_finished(5000));
  const auto elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.ticks.load(), 10);
  // Paced: the ten ticks cannot finish before nine periods have passed (a lower bound, not a speed claim).
  EXPECT_GE(elapsed_ms, 90);
}

TEST(VirtualClock, StopHonoursItsDeadlineWhenATickBlocks) {
  VirtualClock clock(VirtualClockMode::kFreeRun);
  Recorder r;
  r.block_ms = 3000;  // a target that breaks the rules
  ASSERT_TRUE(clock.start(&r, 160, 16000).ok());
  while (r.ticks.load() == 0) std::this_thread::yield();
  const auto t0 = std::chrono::steady_clock::now();
  Status st = clock.stop(100);
  const auto elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(st.error(), Error::kTimeout);
  EXPECT_LT(elapsed_ms, 2000);
  EXPECT_FALSE(clock.running());
  r.block_ms = 0;
  // The detached thread leaves its tick by itself and then exits; wait for that (an acquire on its exit flag)
  // before `r` goes out of scope.
  EXPECT_TRUE(clock.wait_until_finished(10000));
}

TEST(VirtualClock, StartValidatesItsArguments) {
  VirtualClock clock(VirtualClockMode::kInline);
  Recorder r;
  EXPECT_EQ(clock.start(nullptr, 160, 16000).error(), Error::kInvalidArgument);
  EXPECT_EQ(clock.start(&r, 0, 16000).error(), Error::kInvalidArgument);
  EXPECT_EQ(clock.advance(10).error(), Error::kNotRunning);
  ASSERT_TRUE(clock.start(&r, 160, 16000).ok());
  EXPECT_EQ(clock.start(&r, 160, 16000).error(), Error::kAlreadyRunning);
}

}  // namespace
}  // namespace ae
