#include "core/stage_clock.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

namespace ae {
namespace {

// The stage clock's durations, turned into nanoseconds, are steady_clock's: the same interval read on both
// (each pair of reads adjacent) agrees to within 2%. Units left unconverted, or a rate measured wrongly, would not.
TEST(StageClock, DurationsConvertToSteadyClockNanoseconds) {
  stage_clock::calibrate();
  using Steady = std::chrono::steady_clock;
  for (const auto interval : {std::chrono::milliseconds(5), std::chrono::milliseconds(30)}) {
    const auto s0 = Steady::now();
    const uint64_t c0 = stage_clock::now();
    while (Steady::now() - s0 < interval) {
    }
    const uint64_t c1 = stage_clock::now();
    const auto s1 = Steady::now();
    const double steady_ns = std::chrono::duration<double, std::nano>(s1 - s0).count();
    const double clock_ns = static_cast<double>(c1 - c0) * stage_clock::ns_per_unit();
    EXPECT_NEAR(clock_ns, steady_ns, 0.02 * steady_ns) << "interval " << interval.count() << " ms";
  }
}

TEST(StageClock, CalibratingAgainKeepsTheRate) {
  stage_clock::calibrate();
  const double rate = stage_clock::ns_per_unit();
  EXPECT_GT(rate, 0.0);
  stage_clock::calibrate();
  EXPECT_EQ(stage_clock::ns_per_unit(), rate) << "measured once per process: ticks already recorded keep their scale";
}

}  // namespace
}  // namespace ae
