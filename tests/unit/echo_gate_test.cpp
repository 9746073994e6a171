// EchoGate on synthetic power sequences (16 kHz, 10 ms periods): open without render (above the floor), the prior at the start of
// render, the learnt coupling and its decay, the margin, the floor, the tail after the render stops, and the
// configuration errors; BargeInConfig's gate fields validated by name. The envelope's fall past the echo delay,
// and the banded decision on sample blocks (a user's harmonics where the render has none).

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

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

// Without render nothing is echo: every period above the floor (-60 dBFS) is near-end, and below it none is (a
// room's tail can outlast the window; what is left of it under the floor is not the user).
TEST(EchoGate, OpenWithoutRenderAboveTheFloor) {
  EchoGate g = prepared();
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(g.update(0.0, i % 2 == 0 ? db(-61.0) : db(-59.0), -1), i % 2 == 1) << i;
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
// period and opens at the 31st (processed at -50 dBFS: above the floor, under the learnt coupling's margin).
TEST(EchoGate, OpensWhenTheTailHasPassed) {
  EchoGate g = prepared();
  for (int i = 0; i < 25; ++i) (void)g.update(kRender, kRender * db(-40.0), -1);
  for (int k = 1; k <= 30; ++k) {
    EXPECT_FALSE(g.update(0.0, db(-50.0), -1)) << k;
    EXPECT_TRUE(g.render_active()) << k;
    EXPECT_DOUBLE_EQ(g.envelope_power(), kRender) << k;
  }
  EXPECT_TRUE(g.update(0.0, db(-50.0), -1));
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

// tail_fall_db 60 over tail_ms 300: past the knee (delay 60 ms + knee 40 ms = 10 periods) each period of lag
// weighs 2 dB less, so 5 periods past the knee the last render period explains 10 dB less echo.
TEST(EchoGate, EnvelopeFallsPastTheKnee) {
  EchoGateConfig c;
  c.tail_fall_db = 60.0;
  EchoGate g = prepared(c);
  for (int i = 0; i < 25; ++i) (void)g.update(kRender, 0.0, 60);
  for (int k = 1; k <= 10; ++k) {
    (void)g.update(0.0, 0.0, 60);
    EXPECT_DOUBLE_EQ(g.envelope_power(), kRender) << k;
  }
  for (int k = 11; k <= 15; ++k) {
    (void)g.update(0.0, 0.0, 60);
    EXPECT_NEAR(10.0 * std::log10(g.envelope_power() / kRender), -2.0 * (k - 10), 1e-9) << k;
  }
  // Learnt coupling -20 dB, decayed 0.1 dB per silent period to -21.4 dB; the envelope 10 dB down: a period
  // 6.1 dB over -31.4 dB is near-end, one 5.9 dB over is not. With the fall off (the default) the same period is
  // compared with the full render, and is echo.
  auto after_render = [](EchoGateConfig config) {
    EchoGate gate = prepared(config);
    for (int i = 0; i < 25; ++i) EXPECT_FALSE(gate.update(kRender, kRender * db(-20.0), 60));
    for (int k = 1; k <= 14; ++k) EXPECT_FALSE(gate.update(0.0, 0.0, 60));
    return gate;
  };
  EchoGate a = after_render(c);
  EXPECT_NEAR(a.coupling_db(), -21.4, 1e-9);
  EchoGate b = a;
  EXPECT_TRUE(a.update(0.0, kRender * db(-31.4 + 6.1), 60));
  EXPECT_FALSE(b.update(0.0, kRender * db(-31.4 + 5.9), 60));
  EchoGate flat = after_render(EchoGateConfig{});
  EXPECT_FALSE(flat.update(0.0, kRender * db(-31.4 + 6.1), 60));
  // Changed in place to no fall: the render 16 periods back weighs fully again.
  EchoGate c0 = after_render(c);
  c0.set_margin_and_tail(6.0, 300, 0.0);
  (void)c0.update(0.0, 0.0, 60);
  EXPECT_DOUBLE_EQ(c0.envelope_power(), kRender);
}

// max_coupling_db 0: echo-only periods 10 dB over the envelope raise the coupling to 0 dB and no further, so a
// period 6.1 dB over the envelope is near-end; without the cap the coupling follows them to +10 dB.
TEST(EchoGate, CouplingStopsAtItsCap) {
  EchoGateConfig c;
  c.max_coupling_db = 0.0;
  c.margin_db = 12.0;  // the loud periods are echo-only for both gates
  EchoGate capped = prepared(c);
  EchoGateConfig no_cap;
  no_cap.margin_db = 12.0;
  EchoGate uncapped = prepared(no_cap);
  for (int i = 0; i < 25; ++i) {
    EXPECT_FALSE(capped.update(kRender, kRender * db(10.0), -1)) << i;
    EXPECT_FALSE(uncapped.update(kRender, kRender * db(10.0), -1)) << i;
  }
  EXPECT_NEAR(capped.coupling_db(), 0.0, 1e-9);
  EXPECT_NEAR(uncapped.coupling_db(), 10.0, 1e-9);
  capped.set_margin_and_tail(6.0, 300);
  uncapped.set_margin_and_tail(6.0, 300);
  EXPECT_TRUE(capped.update(kRender, kRender * db(6.1), -1));
  EXPECT_FALSE(uncapped.update(kRender, kRender * db(6.1), -1));
}

// Blocks of `n` samples: a sum of sines (Hz, amplitude), phase continuous from sample `t0`.
std::vector<float> tones(const std::vector<std::pair<double, double>>& parts, int64_t t0, size_t n) {
  std::vector<float> x(n, 0.0f);
  for (size_t i = 0; i < n; ++i) {
    double v = 0.0;
    const auto t = static_cast<double>(t0 + static_cast<int64_t>(i));
    for (const auto& [hz, amplitude] : parts) v += amplitude * std::sin(2.0 * M_PI * hz * t / 16000.0);
    x[i] = static_cast<float>(v);
  }
  return x;
}

// The render a 500 Hz tone, its echo 20 dB down; the user three harmonics at 2, 2.5 and 3 kHz, together 3 dB below
// the echo's power. Whole-band, the period is within the margin of the learnt coupling: echo. In 32 bands the
// user's three bands hold nothing of the render: near-end. Echo alone is echo in both.
TEST(EchoGate, BandsFindAQuietUserWhereTheRenderHasNoEnergy) {
  EchoGateConfig whole;
  EchoGateConfig banded;
  banded.num_bands = 32;
  EchoGate w = prepared(whole);
  EchoGate b = prepared(banded);
  const size_t n = 160;
  const double user_amplitude = 0.3 * 0.1 * std::sqrt(0.5 / 3.0);  // three tones, 3 dB below the echo
  int64_t t = 0;
  for (int k = 0; k < 60; ++k, t += static_cast<int64_t>(n)) {
    const auto render = tones({{500.0, 0.3}}, t, n);
    const auto echo = tones({{500.0, 0.03}}, t - 960, n);
    EXPECT_FALSE(w.update_blocks(render.data(), echo.data(), n, 60)) << k;
    EXPECT_FALSE(b.update_blocks(render.data(), echo.data(), n, 60)) << k;
    EXPECT_EQ(b.near_end_bands(), 0) << k;
  }
  int near_whole = 0;
  int near_banded = 0;
  for (int k = 0; k < 10; ++k, t += static_cast<int64_t>(n)) {
    const auto render = tones({{500.0, 0.3}}, t, n);
    const auto mic = tones(
        {{500.0, 0.03}, {2000.0, user_amplitude}, {2500.0, user_amplitude}, {3000.0, user_amplitude}}, t - 960, n);
    near_whole += w.update_blocks(render.data(), mic.data(), n, 60) ? 1 : 0;
    near_banded += b.update_blocks(render.data(), mic.data(), n, 60) ? 1 : 0;
  }
  EXPECT_EQ(near_whole, 0);
  EXPECT_EQ(near_banded, 10);
  EXPECT_GE(b.near_end_bands(), 3);
}

// Short periods and many bands at 48 kHz: the analysis grows so that every band holds a bin below Nyquist, and a
// steady tone with its echo stays echo (no band reads past the spectrum).
TEST(EchoGate, BandsFitTheSpectrumAtAnyRate) {
  EchoGateConfig c;
  c.sample_rate_hz = 48000;
  c.period_frames = 48;
  c.num_bands = 64;
  c.band_high_hz = 24000;
  EchoGate g = prepared(c);
  std::vector<float> render(48), echo(48);
  for (int k = 0; k < 300; ++k) {
    for (size_t i = 0; i < 48; ++i) {
      const auto t = static_cast<double>(k * 48 + static_cast<int>(i));
      render[i] = static_cast<float>(0.3 * std::sin(2.0 * M_PI * 1000.0 * t / 48000.0));
      echo[i] = 0.1f * render[i];
    }
    EXPECT_FALSE(g.update_blocks(render.data(), echo.data(), 48, 0)) << k;
  }
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
  c = EchoGateConfig{};
  c.tail_fall_db = 130;
  EXPECT_NE(g.prepare(c).message().find("tail_fall_db = 130"), std::string::npos);
  c = EchoGateConfig{};
  c.max_coupling_db = 41;
  EXPECT_NE(g.prepare(c).message().find("max_coupling_db = 41"), std::string::npos);
  c = EchoGateConfig{};
  c.num_bands = 65;
  EXPECT_NE(g.prepare(c).message().find("num_bands = 65"), std::string::npos);
  c = EchoGateConfig{};
  c.num_bands = 8;
  c.min_near_end_bands = 9;
  st = g.prepare(c);
  EXPECT_NE(st.message().find("min_near_end_bands = 9"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("1..num_bands"), std::string::npos) << st.message();
  c = EchoGateConfig{};
  c.num_bands = 8;
  c.band_high_hz = 9000;
  EXPECT_NE(g.prepare(c).message().find("band_high_hz = 9000"), std::string::npos);
}

TEST(EchoGate, BargeInConfigValidatesTheGateFields) {
  EngineConfig c;
  EXPECT_TRUE(validate_config(c).empty());
  c.barge_in.echo_gate_margin_db = -1.0f;
  c.barge_in.echo_gate_tail_ms = 5000;
  c.barge_in.echo_gate_min_near_end_ms = -3;
  c.barge_in.echo_gate = static_cast<EchoGateMode>(7);
  c.barge_in.vad_echo_gate = static_cast<EchoGateMode>(-1);
  c.barge_in.echo_gate_tail_fall_db = -1.0f;
  c.barge_in.echo_gate_bands = 65;
  c.barge_in.echo_gate_max_coupling_db = -30.0f;
  const auto issues = validate_config(c);
  std::string fields;
  for (const auto& i : issues) fields += i.field + "=" + i.value + " ";
  EXPECT_NE(fields.find("barge_in.echo_gate_margin_db=-1"), std::string::npos) << fields;
  EXPECT_NE(fields.find("barge_in.echo_gate_tail_ms=5000"), std::string::npos) << fields;
  EXPECT_NE(fields.find("barge_in.echo_gate_min_near_end_ms=-3"), std::string::npos) << fields;
  EXPECT_NE(fields.find("barge_in.echo_gate=7"), std::string::npos) << fields;
  EXPECT_NE(fields.find("barge_in.vad_echo_gate=-1"), std::string::npos) << fields;
  EXPECT_NE(fields.find("barge_in.echo_gate_tail_fall_db=-1"), std::string::npos) << fields;
  EXPECT_NE(fields.find("barge_in.echo_gate_bands=65"), std::string::npos) << fields;
  EXPECT_NE(fields.find("barge_in.echo_gate_max_coupling_db=-30"), std::string::npos) << fields;
  c = EngineConfig{};
  c.barge_in.echo_gate_bands = 8;
  c.barge_in.echo_gate_min_bands = 9;
  const auto band_issues = validate_config(c);
  ASSERT_EQ(band_issues.size(), 1u);
  EXPECT_EQ(band_issues[0].field, "barge_in.echo_gate_min_bands");
  EXPECT_EQ(band_issues[0].value, "9");
  EXPECT_STREQ(to_string(EchoGateMode::kAuto), "auto");
  EXPECT_STREQ(to_string(EchoGateMode::kOff), "off");
}

}  // namespace
}  // namespace ae
