#pragma once
// What the echo benchmarks share: the echo scenario of the tests, built once per process, and the
// sessions_per_core counter.

#include <benchmark/benchmark.h>

#include "echo_scenario.hpp"

namespace ae::bench {

// The default echo scenario (synthesized speech through a synthetic room, 60 ms, double talk); nullptr when
// espeak-ng cannot synthesize it.
inline const test::EchoScenario* echo_scenario() {
  static auto sc = test::make_echo_scenario({});
  return sc.ok() ? &sc.value() : nullptr;
}

// The CPU column is the cost of one 10 ms frame. sessions_per_core (printed with a "/s" suffix) is 10 ms of audio
// per frame over the CPU seconds spent: how many such streams one core keeps up with.
inline void set_sessions_per_core(benchmark::State& state) {
  state.counters["sessions_per_core"] =
      benchmark::Counter(0.01 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

}  // namespace ae::bench
