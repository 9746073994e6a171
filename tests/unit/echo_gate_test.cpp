// EchoGate on synthetic power sequences (16 kHz, 10 ms periods): open without render, the prior at the start of
// render, the learnt coupling and its decay, the margin, the floor, the tail after the render stops, and the
// configuration errors; BargeInConfig's gate fields validated by name.

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "audioengine/config.hpp"
#include "engine/echo_gate.hpp"

namespace ae {
namespace {

double db(double x) { return std::pow(10.0, x / 10.0); }

EchoGate prepared(EchoGateConfig c = {}) {
  EchoGate g;
  EXPECT_TRUE(g.prepare(c).ok());
  return g;
}

constexpr double kRender = 0.1;  // -10 dBFS mean square

TEST(EchoGate, OpenWithoutRender) {
  EchoGate g = prepared();
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(g.update(0.0, i % 2 == 0 ? 0.0 : 0.01, -1)) << i;
    EXPECT_FALSE(g.render_active());
  }
}

// A gate that saw `periods` echo-only periods at `ratio_db` (processed over render) from the start of render.
EchoGate learnt(double ratio_db, int periods = 20) {
  EchoGate g = prepared();
  for (int i = 0; i < periods; ++i) EXPECT_FALSE(g.update(kRender, kRender * db(ratio_db), -1)) << i;
  return g;
}

// The first prior_ms (20 periods) of render: the coupling is at least 0 dB, so processed power up to +6 dB over
// the render envelope is echo; above that, near-end.
TEST(EchoGate, PriorHoldsForTheFirstPeriodsOfRender) {
  EchoGate a = prepared();
  EXPECT_FALSE(a.update(kRender, kRender * db(5.9), -1));
  EXPECT_TRUE(a.render_active());
  EchoGate b = prepared();
  EXPECT_TRUE(b.update(kRender, kRender * db(6.1), -1));
  // After the prior, nothing learnt (processed silent): the coupling is its floor, -60 dB, and -50 dB is near-end.
  EchoGate c = learnt(-200.0);
  EXPECT_NEAR(c.coupling_db(), -60.0, 1e-9);
  EXPECT_TRUE(c.update(kRender, kRender * db(-50.0), -1));
}

// What the echo-only periods showed: -20 dB, so the decision is at -14 dB (margin 6 dB). An echo-only period
// above the coupling raises it at once.
TEST(EchoGate, LearnsTheCouplingAndDecidesAtTheMargin) {
  EchoGate a = learnt(-20.0);
  EXPECT_NEAR(a.coupling_db(), -20.0, 1e-9);
  EXPECT_TRUE(a.update(kRender, kRender * db(-13.9), -1));
  EchoGate b = learnt(-20.0);
  EXPECT_FALSE(b.update(kRender, kRender * db(-14.1), -1));
  EXPECT_NEAR(b.coupling_db(), -14.1, 1e-9);
  EXPECT_FALSE(b.update(kRender, kRender * db(-8.2), -1));
}

// The learnt coupling falls by decay_db_per_s (10 dB/s: 0.1 dB per 10 ms period) while echo-only periods show less.
TEST(EchoGate, CouplingDecaysAtItsRate) {
  EchoGate g = learnt(-20.0);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(g.update(kRender, 0.0, -1)) << i;
  EXPECT_NEAR(g.coupling_db(), -30.0, 1e-6);
  EXPECT_TRUE(g.update(kRender, kRender * db(-23.9), -1));
}

// Quieter than the near-end floor (-60 dBFS) is never near-end while the render plays, however low the coupling.
TEST(EchoGate, FloorHoldsBackFaintPeriods) {
  EchoGate g = prepared();
  for (int i = 0; i < 25; ++i) (void)g.update(kRender, 0.0, -1);
  EXPECT_FALSE(g.update(kRender, db(-61.0), -1));
  EXPECT_TRUE(g.update(kRender, db(-59.0), -1));
}

// The envelope reaches tail_ms (300 ms = 30 periods) back: the gate decides for 30 periods after the last render
// period and opens at the 31st.
TEST(EchoGate, OpensWhenTheTailHasPassed) {
  EchoGate g = prepared();
  for (int i = 0; i < 25; ++i) (void)g.update(kRender, 0.0, -1);
  for (int k = 1; k <= 30; ++k) {
    EXPECT_FALSE(g.update(0.0, 0.0, -1)) << k;
    EXPECT_TRUE(g.render_active()) << k;
    EXPECT_DOUBLE_EQ(g.envelope_power(), kRender) << k;
  }
  EXPECT_TRUE(g.update(0.0, 0.0, -1));
  EXPECT_FALSE(g.render_active());
}

// A known delay longer than tail_ms - 100 ms stretches the window to delay + 100 ms.
TEST(EchoGate, LongDelayStretchesTheWindow) {
  EchoGate g = prepared();
  for (int i = 0; i < 25; ++i) (void)g.update(kRender, 0.0, 400);
  for (int k = 1; k <= 50; ++k) EXPECT_TRUE(g.update(0.0, 0.0, 400) == false && g.render_active()) << k;
  (void)g.update(0.0, 0.0, 400);
  EXPECT_FALSE(g.render_active());
}

TEST(EchoGate, PrepareNamesTheBadField) {
  EchoGate g;
  EchoGateConfig c;
  c.margin_db = 50;
  auto st = g.prepare(c);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error(), Error::kInvalidArgument);
  EXPECT_NE(st.message().find("margin_db = 50"), std::string::npos) << st.message();
  c = EchoGateConfig{};
  c.tail_ms = 5;
  st = g.prepare(c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("tail_ms = 5"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("20..1000"), std::string::npos) << st.message();
}

TEST(EchoGate, BargeInConfigValidatesTheGateFields) {
  EngineConfig c;
  EXPECT_TRUE(validate_config(c).empty());
  c.barge_in.echo_gate_margin_db = -1.0f;
  c.barge_in.echo_gate_tail_ms = 5000;
  c.barge_in.echo_gate_min_near_end_ms = -3;
  c.barge_in.echo_gate = static_cast<EchoGateMode>(7);
  const auto issues = validate_config(c);
  std::string fields;
  for (const auto& i : issues) fields += i.field + "=" + i.value + " ";
  EXPECT_NE(fields.find("barge_in.echo_gate_margin_db=-1"), std::string::npos) << fields;
  EXPECT_NE(fields.find("barge_in.echo_gate_tail_ms=5000"), std::string::npos) << fields;
  EXPECT_NE(fields.find("barge_in.echo_gate_min_near_end_ms=-3"), std::string::npos) << fields;
  EXPECT_NE(fields.find("barge_in.echo_gate=7"), std::string::npos) << fields;
  EXPECT_STREQ(to_string(EchoGateMode::kAuto), "auto");
  EXPECT_STREQ(to_string(EchoGateMode::kOff), "off");
}

}  // namespace
}  // namespace ae
