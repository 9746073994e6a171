#include "engine/vad_echo_hold.hpp"

#include <algorithm>

namespace ae {

void VadEchoHold::configure(int64_t min_near_end_samples, float deactivation_threshold) noexcept {
  // One near-end sample at least, as the barge-in asks: with 0 the echo alone would pass.
  min_near_end_samples_ = std::max<int64_t>(1, min_near_end_samples);
  deactivation_ = deactivation_threshold;
}

void VadEchoHold::reset() noexcept {
  run_start_ = -1;
  near_end_samples_ = 0;
  held_ = false;
  published_start_ = -1;
  published_end_ = -1;
}

}  // namespace ae
