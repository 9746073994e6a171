// Runs the fast-lane chunk through one side of BM_FacadeOverhead (engine_bench), step by step, for counting its
// instructions under callgrind: scripts/facade_instructions.sh runs it and prints instructions per chunk for each
// step. Instruction counts do not wander with the machine's load as wall-clock times do; they miss what costs time
// without instructions (a locked read-modify-write, a store-forwarding stall, a cache miss), which the wall-clock
// bench sees.
//
// usage: facade_instructions facade|facade_timed|direct [chunks]

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "facade_pipelines.hpp"

namespace ae::facade_bench {
namespace {

// One function per step, never inlined: callgrind counts each one's instructions inclusively by name.
template <typename P>
[[gnu::noinline]] bool step_inject(P& p) {
  return p.inject();
}
template <typename P>
[[gnu::noinline]] bool step_tick(P& p) {
  return p.tick();
}
template <typename P>
[[gnu::noinline]] bool step_read(P& p) {
  return p.read();
}

// Batches of 100 chunks, each step over the batch in turn, as BM_FacadeOverhead runs them.
template <typename P>
bool run(P& p, int chunks) {
  constexpr int kBatch = 100;
  bool good = true;
  for (int b = 0; b < chunks / kBatch; ++b) {
    if (p.needs_refill(kBatch)) p.refill();
    for (int i = 0; i < kBatch; ++i) good &= step_inject(p);
    for (int i = 0; i < kBatch; ++i) good &= step_tick(p);
    for (int i = 0; i < kBatch; ++i) good &= step_read(p);
  }
  return good;
}

}  // namespace
}  // namespace ae::facade_bench

int main(int argc, char** argv) {
  using namespace ae::facade_bench;
  const std::string side = argc > 1 ? argv[1] : "";
  const int chunks = argc > 2 ? std::atoi(argv[2]) : 2000;
  if ((side != "facade" && side != "facade_timed" && side != "direct") || chunks < 100) {
    std::fprintf(stderr, "usage: facade_instructions facade|facade_timed|direct [chunks >= 100]\n");
    return 2;
  }
  bool good = false;
  if (side == "direct") {
    DirectPipeline d;
    good = d.ok() && run(d, chunks);
  } else {
    FacadePipeline f(side == "facade_timed");
    good = f.ok() && run(f, chunks);
  }
  if (!good) {
    std::fprintf(stderr, "facade_instructions: a step failed\n");
    return 1;
  }
  return 0;
}
