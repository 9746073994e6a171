#include "audioengine/processing_chain.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

namespace ae {

// A processor in the chain. The flags are written by the control side and read by the audio thread; ramp_pos
// and active belong to the audio thread (ramp_pos is mirrored for reclaim() to read).
struct ProcessingChain::Node {
  ProcessorId id = 0;
  ProcessingStage stage = ProcessingStage::kCapturePre;
  ModeMask modes = kAllModes;
  std::shared_ptr<AudioProcessor> processor;
  std::vector<float> dry;  // the block before this processor, for the crossfade
  std::atomic<bool> bypassed{false};
  std::atomic<bool> removing{false};
  std::atomic<bool> faded_out{false};  // audio → control: removing and fully dry
  std::atomic<int> ramp_pos{0};        // wet gain = ramp_pos / ramp_samples
};

struct ProcessingChain::Snapshot {
  uint64_t generation = 0;
  std::array<std::vector<std::shared_ptr<Node>>, 3> stages;
};

namespace {
size_t stage_index(ProcessingStage s) { return static_cast<size_t>(s); }
bool valid_stage(ProcessingStage s) {
  return s == ProcessingStage::kCapturePre || s == ProcessingStage::kCapturePost || s == ProcessingStage::kRender;
}
}  // namespace

Result<std::unique_ptr<ProcessingChain>> ProcessingChain::create(const ProcessingChainConfig& config) {
  if (config.sample_rate_hz < 8000 || config.sample_rate_hz > 192000) {
    return Result<std::unique_ptr<ProcessingChain>>(
        Error::kInvalidArgument,
        "ProcessingChain: sample_rate_hz = " + std::to_string(config.sample_rate_hz) + ", valid 8000..192000");
  }
  if (config.max_frames < 1 || config.max_frames > 65536) {
    return Result<std::unique_ptr<ProcessingChain>>(
        Error::kInvalidArgument, "ProcessingChain: max_frames = " + std::to_string(config.max_frames) + ", valid 1..65536");
  }
  if (config.crossfade_ms < 1 || config.crossfade_ms > 50) {
    return Result<std::unique_ptr<ProcessingChain>>(
        Error::kInvalidArgument, "ProcessingChain: crossfade_ms = " + std::to_string(config.crossfade_ms) + ", valid 1..50");
  }
  return std::unique_ptr<ProcessingChain>(new ProcessingChain(config));
}

ProcessingChain::ProcessingChain(const ProcessingChainConfig& config) : config_(config) {
  ramp_samples_ = std::max(1, static_cast<int>(static_cast<int64_t>(config.sample_rate_hz) * config.crossfade_ms / 1000));
  auto first = std::make_unique<Snapshot>();
  first->generation = next_generation_++;
  current_.store(first.get(), std::memory_order_release);
  owned_current_ = std::move(first);
}

ProcessingChain::~ProcessingChain() = default;

void ProcessingChain::publish_locked(std::unique_ptr<Snapshot> next) {
  next->generation = next_generation_++;
  current_.store(next.get(), std::memory_order_release);
  retired_.push_back(std::move(owned_current_));
  owned_current_ = std::move(next);
}

void ProcessingChain::free_retired_locked(bool audio_idle) {
  // The audio thread acknowledges the generation it loaded after loading it, so it never reads a snapshot older
  // than the acknowledged one.
  const uint64_t acked = acked_generation_.load(std::memory_order_acquire);
  std::erase_if(retired_, [&](const std::unique_ptr<Snapshot>& s) { return audio_idle || s->generation < acked; });
  if (audio_idle) {
    audio_snapshot_ = nullptr;
    audio_stages_ = 0;
  }
  update_reclaim_pending_locked();
}

void ProcessingChain::update_reclaim_pending_locked() {
  bool pending = !retired_.empty();
  for (const auto& list : owned_current_->stages) {
    for (const auto& n : list) pending = pending || n->removing.load(std::memory_order_relaxed);
  }
  reclaim_pending_.store(pending, std::memory_order_release);
}

Result<ProcessorId> ProcessingChain::add(std::shared_ptr<AudioProcessor> processor, ProcessingStage stage,
                                         ModeMask modes) {
  if (!processor) return Result<ProcessorId>(Error::kInvalidArgument, "add_processor: processor is null");
  if (!valid_stage(stage)) {
    return Result<ProcessorId>(Error::kInvalidArgument, "add_processor: stage = " +
                                                            std::to_string(static_cast<int>(stage)) +
                                                            ", valid capture_pre, capture_post, render");
  }
  if ((modes & kAllModes) == 0) {
    return Result<ProcessorId>(Error::kInvalidArgument, "add_processor: modes = " + std::to_string(modes) +
                                                            ", valid a mask with kModeFastLane and/or kModeQuality");
  }
  if (auto st = processor->prepare(config_.sample_rate_hz, config_.max_frames); !st.ok()) return st.error_info();
  auto node = std::make_shared<Node>();
  node->stage = stage;
  node->modes = modes & kAllModes;
  node->processor = std::move(processor);
  node->dry.assign(config_.max_frames, 0.0f);
  std::lock_guard lock(mutex_);
  node->id = next_id_++;
  auto next = std::make_unique<Snapshot>(*owned_current_);
  next->stages[stage_index(stage)].push_back(node);
  publish_locked(std::move(next));
  free_retired_locked(false);
  return node->id;
}

Status ProcessingChain::remove(ProcessorId id) {
  {
    std::lock_guard lock(mutex_);
    bool found = false;
    for (auto& list : owned_current_->stages) {
      for (auto& n : list) {
        if (n->id == id && !n->removing.load(std::memory_order_relaxed)) {
          n->removing.store(true, std::memory_order_release);
          found = true;
        }
      }
    }
    if (!found) {
      return Status(Error::kInvalidArgument, "remove_processor: id = " + std::to_string(id) + " is not in the chain");
    }
    reclaim_pending_.store(true, std::memory_order_release);
  }
  reclaim(false);
  return ok_status();
}

Status ProcessingChain::set_bypass(ProcessorId id, bool bypass) {
  std::lock_guard lock(mutex_);
  for (auto& list : owned_current_->stages) {
    for (auto& n : list) {
      if (n->id == id) {
        n->bypassed.store(bypass, std::memory_order_release);
        return ok_status();
      }
    }
  }
  return Status(Error::kInvalidArgument, "set_bypass: id = " + std::to_string(id) + " is not in the chain");
}

size_t ProcessingChain::reclaim(bool audio_idle, bool audio_stopped) {
  audio_idle = audio_idle || audio_stopped;
  std::lock_guard lock(mutex_);
  size_t leaving = 0;
  auto gone = [&](const std::shared_ptr<Node>& n) {
    if (!n->removing.load(std::memory_order_acquire)) return false;
    return audio_stopped || n->faded_out.load(std::memory_order_acquire) ||
           (audio_idle && n->ramp_pos.load(std::memory_order_relaxed) == 0);
  };
  for (const auto& list : owned_current_->stages) leaving += static_cast<size_t>(std::count_if(list.begin(), list.end(), gone));
  if (leaving > 0) {
    auto next = std::make_unique<Snapshot>(*owned_current_);
    for (auto& list : next->stages) std::erase_if(list, gone);
    publish_locked(std::move(next));
  }
  free_retired_locked(audio_idle);
  return leaving;
}

bool ProcessingChain::removal_pending() const {
  std::lock_guard lock(mutex_);
  for (const auto& list : owned_current_->stages) {
    for (const auto& n : list) {
      if (n->removing.load(std::memory_order_relaxed)) return true;
    }
  }
  return false;
}

size_t ProcessingChain::size() const {
  std::lock_guard lock(mutex_);
  size_t n = 0;
  for (const auto& list : owned_current_->stages) n += list.size();
  return n;
}

size_t ProcessingChain::live_snapshots() const {
  std::lock_guard lock(mutex_);
  return retired_.size() + 1;
}

void ProcessingChain::set_routing(ProcessingMode routing) noexcept {
  routing_bit_.store(routing == ProcessingMode::kFastLane ? kModeFastLane : kModeQuality, std::memory_order_release);
}

ProcessingMode ProcessingChain::routing() const noexcept {
  return routing_bit_.load(std::memory_order_acquire) == kModeFastLane ? ProcessingMode::kFastLane
                                                                        : ProcessingMode::kQuality;
}

// ---- audio thread --------------------------------------------------------------------------------------------
// Snapshots change only when processors come or go: most ticks find the one they hold, already acknowledged, and
// begin_tick() returns at once. It cannot be a new snapshot at a reused address: the one held is never freed while
// held (its generation is the acknowledged one and only older ones are freed, except when the audio side is idle,
// and then free_retired_locked() forgets it here too).
void ProcessingChain::take_snapshot() noexcept {
  const Snapshot* snap = current_.load(std::memory_order_acquire);
  audio_snapshot_ = snap;
  uint32_t stages = 0;
  for (size_t i = 0; i < snap->stages.size(); ++i) stages |= snap->stages[i].empty() ? 0u : 1u << i;
  audio_stages_ = stages;
  acked_generation_.store(snap->generation, std::memory_order_release);
}

void ProcessingChain::run_node(Node& node, ModeMask routing_bit, float* mono, size_t n,
                               const ProcessContext& context) noexcept {
  const bool removing = node.removing.load(std::memory_order_acquire);
  const bool want = !removing && !node.bypassed.load(std::memory_order_acquire) && (node.modes & routing_bit) != 0;
  const int ramp = ramp_samples_;
  int pos = node.ramp_pos.load(std::memory_order_relaxed);
  if (!want && pos == 0) {
    if (removing) node.faded_out.store(true, std::memory_order_release);
    return;
  }
  if (want && pos == ramp) {
    node.processor->process(mono, n, context);
    return;
  }
  if (pos == 0) node.processor->reset();
  std::memcpy(node.dry.data(), mono, n * sizeof(float));
  node.processor->process(mono, n, context);
  const int step = want ? 1 : -1;
  const float inv_ramp = 1.0f / static_cast<float>(ramp);
  for (size_t i = 0; i < n; ++i) {
    pos = std::clamp(pos + step, 0, ramp);
    const float g = static_cast<float>(pos) * inv_ramp;
    mono[i] = node.dry[i] + g * (mono[i] - node.dry[i]);
  }
  node.ramp_pos.store(pos, std::memory_order_relaxed);
  if (removing && pos == 0) node.faded_out.store(true, std::memory_order_release);
}

void ProcessingChain::run_stage(const Snapshot& snap, ProcessingStage stage, float* mono, size_t n,
                                const ProcessContext& context) noexcept {
  const auto& list = snap.stages[stage_index(stage)];
  if (list.empty()) return;
  ProcessContext ctx = context;
  ctx.stage = stage;
  const ModeMask bit = routing_bit_.load(std::memory_order_acquire);
  for (const auto& node : list) run_node(*node, bit, mono, n, ctx);
}

void ProcessingChain::process_render(float* mono, size_t n, const ProcessContext& context) noexcept {
  if (audio_snapshot_ == nullptr) return;
  run_stage(*audio_snapshot_, ProcessingStage::kRender, mono, std::min(n, config_.max_frames), context);
}

void ProcessingChain::process_capture(float* mono, size_t n, const ProcessContext& context) noexcept {
  if (audio_snapshot_ == nullptr) return;
  n = std::min(n, config_.max_frames);
  run_stage(*audio_snapshot_, ProcessingStage::kCapturePre, mono, n, context);
  run_stage(*audio_snapshot_, ProcessingStage::kCapturePost, mono, n, context);
}

// ---- offline -------------------------------------------------------------------------------------------------
Status ProcessingChain::process_audio(std::span<float> mono, std::span<const float> render, int64_t t_samples) {
  if (!render.empty() && render.size() != mono.size()) {
    return Status(Error::kInvalidArgument, "process_audio: render has " + std::to_string(render.size()) +
                                               " samples, valid 0 or " + std::to_string(mono.size()) +
                                               " (the length of the capture audio)");
  }
  for (size_t off = 0; off < mono.size(); off += config_.max_frames) {
    const size_t n = std::min(config_.max_frames, mono.size() - off);
    begin_tick();
    ProcessContext ctx;
    ctx.sample_rate_hz = config_.sample_rate_hz;
    ctx.t_samples = t_samples + static_cast<int64_t>(off);
    if (!render.empty()) {
      ctx.render = render.data() + off;
      ctx.render_frames = n;
    }
    process_capture(mono.data() + off, n, ctx);
  }
  return ok_status();
}

// ---- adaptive mode -------------------------------------------------------------------------------------------
void AdaptiveModeController::configure(const AdaptiveModeConfig& config) noexcept {
  config_ = config;
  above_ = 0;
  below_ = 0;
}

void AdaptiveModeController::reset(ProcessingMode routing) noexcept {
  routing_ = routing == ProcessingMode::kFastLane ? ProcessingMode::kFastLane : ProcessingMode::kQuality;
  above_ = 0;
  below_ = 0;
}

ProcessingMode AdaptiveModeController::update(double cost_fraction) noexcept {
  above_ = cost_fraction > config_.high_load_fraction ? above_ + 1 : 0;
  below_ = cost_fraction < config_.low_load_fraction ? below_ + 1 : 0;
  if (routing_ == ProcessingMode::kQuality && above_ >= config_.ticks_to_fast_lane) {
    routing_ = ProcessingMode::kFastLane;
    above_ = 0;
    below_ = 0;
  } else if (routing_ == ProcessingMode::kFastLane && below_ >= config_.ticks_to_quality) {
    routing_ = ProcessingMode::kQuality;
    above_ = 0;
    below_ = 0;
  }
  return routing_;
}

}  // namespace ae
