// The chain's cost per block: three processors called directly (the reference) against the same three through
// ProcessingChain (snapshot load, stage walk, routing check), steady state and during a crossfade.

#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "audioengine/processing_chain.hpp"

namespace {

constexpr int kRate = 16000;
constexpr size_t kBlock = 160;

class Gain : public ae::AudioProcessor {
 public:
  ae::Status prepare(int, size_t) override { return ae::ok_status(); }
  void process(float* mono, size_t n, const ae::ProcessContext&) noexcept override {
    for (size_t i = 0; i < n; ++i) mono[i] *= 0.999f;
  }
  void reset() noexcept override {}
  const char* name() const noexcept override { return "gain"; }
};

void BM_Direct(benchmark::State& state) {
  std::vector<std::shared_ptr<Gain>> procs{std::make_shared<Gain>(), std::make_shared<Gain>(), std::make_shared<Gain>()};
  std::vector<float> block(kBlock, 0.5f);
  ae::ProcessContext ctx;
  for (auto _ : state) {
    for (auto& p : procs) p->process(block.data(), kBlock, ctx);
    benchmark::DoNotOptimize(block.data());
  }
}
BENCHMARK(BM_Direct);

std::unique_ptr<ae::ProcessingChain> chain_of_three() {
  auto chain = std::move(ae::ProcessingChain::create({kRate, kBlock, 5}).value());
  for (int i = 0; i < 3; ++i) (void)chain->add(std::make_shared<Gain>(), ae::ProcessingStage::kCapturePre);
  return chain;
}

void BM_Chain(benchmark::State& state) {
  auto chain = chain_of_three();
  std::vector<float> block(kBlock, 0.5f);
  ae::ProcessContext ctx;
  for (int i = 0; i < 4; ++i) {  // past the fade-in
    chain->begin_tick();
    chain->process_capture(block.data(), kBlock, ctx);
  }
  for (auto _ : state) {
    chain->begin_tick();
    chain->process_capture(block.data(), kBlock, ctx);
    benchmark::DoNotOptimize(block.data());
  }
}
BENCHMARK(BM_Chain);

// Every block crosses a routing change: all three processors ramp (dry copy + mix).
void BM_ChainSwitchingEveryBlock(benchmark::State& state) {
  auto chain = chain_of_three();
  std::vector<float> block(kBlock, 0.5f);
  ae::ProcessContext ctx;
  bool bypass = false;
  for (auto _ : state) {
    bypass = !bypass;
    for (ae::ProcessorId id = 1; id <= 3; ++id) (void)chain->set_bypass(id, bypass);
    chain->begin_tick();
    chain->process_capture(block.data(), kBlock, ctx);
    benchmark::DoNotOptimize(block.data());
  }
}
BENCHMARK(BM_ChainSwitchingEveryBlock);

}  // namespace

BENCHMARK_MAIN();
