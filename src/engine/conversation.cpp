#include "audioengine/conversation.hpp"

#include <algorithm>

namespace ae {
namespace {

// One writer: a plain load and store is enough (no locked read-modify-write on the audio path).
inline void add(std::atomic<int64_t>& c, int64_t n = 1) noexcept {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

double to_ms(int64_t samples, int rate) noexcept {
  return rate > 0 ? 1000.0 * static_cast<double>(samples) / rate : 0.0;
}

}  // namespace

const char* to_string(ConversationState state) noexcept {
  switch (state) {
    case ConversationState::kIdle: return "idle";
    case ConversationState::kUserSpeaking: return "user_speaking";
    case ConversationState::kAiSpeaking: return "ai_speaking";
    case ConversationState::kOverlap: return "overlap";
  }
  return "unknown";
}

const char* to_string(TurnTakingMode mode) noexcept {
  switch (mode) {
    case TurnTakingMode::kAutomatic: return "automatic";
    case TurnTakingMode::kManual: return "manual";
  }
  return "unknown";
}

// ---- LatencyRecorder ----------------------------------------------------------------------------------------
void LatencyRecorder::record(int64_t samples) noexcept {
  const int64_t n = count_.load(std::memory_order_relaxed);
  window_[static_cast<size_t>(n) % LatencyStats::kWindow].store(samples, std::memory_order_relaxed);
  add(sum_, samples);
  if (samples > max_.load(std::memory_order_relaxed)) max_.store(samples, std::memory_order_relaxed);
  last_.store(samples, std::memory_order_relaxed);
  // Published last: a reader that sees the new count sees the window entry and the sums it covers.
  count_.store(n + 1, std::memory_order_release);
}

void LatencyRecorder::reset() noexcept {
  count_.store(0, std::memory_order_relaxed);
  sum_.store(0, std::memory_order_relaxed);
  max_.store(0, std::memory_order_relaxed);
  last_.store(-1, std::memory_order_relaxed);
  for (auto& w : window_) w.store(0, std::memory_order_relaxed);
}

LatencyStats LatencyRecorder::stats(int rate) const noexcept {
  LatencyStats s;
  s.count = count_.load(std::memory_order_acquire);
  if (s.count == 0) return s;
  s.last_samples = last_.load(std::memory_order_relaxed);
  s.last_ms = to_ms(s.last_samples, rate);
  s.mean_ms = to_ms(sum_.load(std::memory_order_relaxed), rate) / static_cast<double>(s.count);
  s.max_ms = to_ms(max_.load(std::memory_order_relaxed), rate);
  const size_t k = static_cast<size_t>(std::min<int64_t>(s.count, static_cast<int64_t>(LatencyStats::kWindow)));
  std::array<int64_t, LatencyStats::kWindow> v{};
  for (size_t i = 0; i < k; ++i) v[i] = window_[i].load(std::memory_order_relaxed);
  // The lower median: a measured value, never an average of two.
  auto mid = v.begin() + static_cast<long>((k - 1) / 2);
  std::nth_element(v.begin(), mid, v.begin() + static_cast<long>(k));
  s.p50_ms = to_ms(*mid, rate);
  return s;
}

// ---- ConversationTracker ------------------------------------------------------------------------------------
void ConversationTracker::reset() noexcept {
  state_.store(ConversationState::kIdle, std::memory_order_release);
  for (auto* c : {&user_turns_, &ai_turns_, &overlaps_, &interruptions_, &barge_ins_, &false_interruptions_,
                  &turn_changes_}) {
    c->store(0, std::memory_order_relaxed);
  }
  pending_endpoint_ = -1;
  response_latency_.reset();
  interrupt_latency_.reset();
}

bool ConversationTracker::update(bool user_active, bool ai_active, Change& change) noexcept {
  const ConversationState from = state_.load(std::memory_order_relaxed);
  const ConversationState to = conversation_state_of(user_active, ai_active);
  if (to == from) return false;
  if (has_user(to) && !has_user(from)) add(user_turns_);
  if (has_ai(to) && !has_ai(from)) add(ai_turns_);
  if (to == ConversationState::kOverlap) add(overlaps_);
  add(turn_changes_);
  state_.store(to, std::memory_order_release);
  change = Change{from, to};
  return true;
}

void ConversationTracker::on_endpoint(int64_t t_samples) noexcept { pending_endpoint_ = t_samples; }

void ConversationTracker::on_ai_started(int64_t t_samples) noexcept {
  if (pending_endpoint_ < 0) return;
  response_latency_.record(std::max<int64_t>(0, t_samples - pending_endpoint_));
  pending_endpoint_ = -1;
}

void ConversationTracker::on_interruption(bool barge_in) noexcept {
  add(interruptions_);
  if (barge_in) add(barge_ins_);
}

void ConversationTracker::on_interrupt_latency(int64_t onset_sample, int64_t silent_sample) noexcept {
  interrupt_latency_.record(std::max<int64_t>(0, silent_sample - onset_sample));
}

void ConversationTracker::on_false_interruption() noexcept { add(false_interruptions_); }

ConversationMetrics ConversationTracker::metrics(int rate) const noexcept {
  ConversationMetrics m;
  m.user_turns = user_turns_.load(std::memory_order_relaxed);
  m.ai_turns = ai_turns_.load(std::memory_order_relaxed);
  m.overlaps = overlaps_.load(std::memory_order_relaxed);
  m.interruptions = interruptions_.load(std::memory_order_relaxed);
  m.barge_ins = barge_ins_.load(std::memory_order_relaxed);
  m.false_interruptions = false_interruptions_.load(std::memory_order_relaxed);
  m.turn_changes = turn_changes_.load(std::memory_order_relaxed);
  m.response_latency = response_latency_.stats(rate);
  m.interrupt_latency = interrupt_latency_.stats(rate);
  return m;
}

}  // namespace ae
