#include "io/portaudio/portaudio_clock.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "audioengine/realtime.hpp"

namespace ae {
namespace {

constexpr size_t kMaxPieceFrames = 4096;
constexpr int kCloseTimeoutMs = 2000;   // a stream close that takes longer is abandoned (see close_streams())  // largest device block converted at once (bigger ones are split)

int64_t ld(const std::atomic<int64_t>& a) { return a.load(std::memory_order_relaxed); }
void bump(std::atomic<int64_t>& a, int64_t n = 1) { a.fetch_add(n, std::memory_order_relaxed); }

// Appends to a linear FIFO, moving the unread part to the front when the tail has no room. RT-safe.
void fifo_append(std::vector<float>& fifo, size_t& read, size_t& write, const float* src, size_t n) noexcept {
  if (write + n > fifo.size()) {
    const size_t level = write - read;
    std::memmove(fifo.data(), fifo.data() + read, level * sizeof(float));
    read = 0;
    write = level;
    n = std::min(n, fifo.size() - write);
  }
  std::memcpy(fifo.data() + write, src, n * sizeof(float));
  write += n;
}

// Frames of output the playback FIFO must be primed with so that it never runs dry, for a device that asks
// `device_frames` per callback: replays the exact frame counts of the converters (floor of the rate ratio) over
// many callbacks and keeps the worst deficit. Also returns the most engine samples the capture FIFO holds back.
struct FifoPlan {
  size_t prime_frames = 0;
  size_t max_capture_hold = 0;
};
FifoPlan plan_fifos(size_t device_frames, size_t period, int device_rate, int engine_rate) {
  FifoPlan plan;
  if (device_frames == 0) {
    // Variable blocks: one engine period at the device rate covers any block pattern up to a period.
    plan.prime_frames = static_cast<size_t>(std::ceil(static_cast<double>(period) * device_rate / engine_rate)) + 1;
    plan.max_capture_hold = period - 1;
    return plan;
  }
  int64_t worst = 0;
  for (int64_t n = 1; n <= 4000; ++n) {
    const int64_t captured = n * static_cast<int64_t>(device_frames) * engine_rate / device_rate;
    const int64_t ticks = captured / static_cast<int64_t>(period);
    const int64_t produced = ticks * static_cast<int64_t>(period) * device_rate / engine_rate;
    worst = std::max(worst, n * static_cast<int64_t>(device_frames) - produced);
    plan.max_capture_hold =
        std::max(plan.max_capture_hold, static_cast<size_t>(captured - ticks * static_cast<int64_t>(period)));
  }
  plan.prime_frames = static_cast<size_t>(worst);
  return plan;
}

const std::string& capture_host_api(const DeviceConfig& c) {
  return c.capture_host_api.empty() ? c.host_api : c.capture_host_api;
}
const std::string& playback_host_api(const DeviceConfig& c) {
  return c.playback_host_api.empty() ? c.host_api : c.playback_host_api;
}

std::string pa_message(const char* what, PaError err) {
  std::string m = std::string(what) + ": " + Pa_GetErrorText(err);
  if (err == paUnanticipatedHostError) {
    const PaHostErrorInfo* h = Pa_GetLastHostErrorInfo();
    if (h != nullptr && h->errorText != nullptr) m += std::string(" (") + h->errorText + ")";
  }
  return m;
}

}  // namespace

PortAudioClock::PortAudioClock(const DeviceConfig& config, ResamplerKind resampler, FaultCallback on_fault)
    : config_(config), resampler_kind_(resampler), on_fault_(std::move(on_fault)) {}

PortAudioClock::~PortAudioClock() { (void)stop(5000); }

Status PortAudioClock::start(TickTarget* target, size_t period_frames, int sample_rate_hz) {
  if (running()) return Status(Error::kAlreadyRunning, "device clock: already running");
  if (target == nullptr || period_frames == 0 || sample_rate_hz <= 0) {
    return Status(Error::kInvalidArgument, "device clock: needs a target, period_frames > 0 and sample_rate_hz > 0");
  }
  period_ = period_frames;
  engine_rate_hz_ = sample_rate_hz;
  capture_name_ = config_.capture_device;
  playback_name_ = config_.playback_device;
  capture_conv_.reset();
  playback_conv_.reset();
  feeder_ring_.reset();
  capture_read_ = capture_write_ = 0;
  for (auto* c : {&callbacks_, &xruns_, &captured_, &consumed_, &played_frames_, &out_underflow_, &drift_dropped_,
                  &drift_inserted_, &feeder_discarded_, &failures_, &reopens_, &callback_max_ns_,
                  &callbacks_over_period_}) {
    c->store(0);
  }
  ticks_.store(0, std::memory_order_release);
  set_output_pending_samples(0);
  device_frames_ahead_ = 0;
  failed_.store(false);
  target_.store(target, std::memory_order_release);
  {
    std::lock_guard lock(pa::library_mutex());
    if (auto st = session_.open(config_.client_name); !st.ok()) return st;
    if (auto st = open_streams(false); !st.ok()) {
      close_streams();
      session_.close();
      return st;
    }
  }
  running_.store(true, std::memory_order_release);
  stop_watch_.store(false, std::memory_order_release);
  watchdog_ = std::thread([this] { watch(); });
  pthread_setname_np(watchdog_.native_handle(), "ae-device");
  return ok_status();
}

Status PortAudioClock::stop(int /*timeout_ms*/) {
  stop_watch_.store(true, std::memory_order_release);
  if (watchdog_.joinable()) watchdog_.join();
  if (!running() && num_slots_ == 0 && !session_.is_open()) return ok_status();
  // A wedged session can neither be used nor terminated; a later start() needs a fresh clock.
  {
    std::lock_guard lock(pa::library_mutex());
    close_streams();
    if (wedged_) session_.abandon();
    session_.close();
  }
  target_.store(nullptr, std::memory_order_release);
  running_.store(false, std::memory_order_release);
  return ok_status();
}

// ---- opening -----------------------------------------------------------------------------------------------
Status PortAudioClock::open_streams(bool fallback) {
  const bool want_capture = config_.duplex_mode != DuplexMode::kPlaybackOnly;
  const bool want_playback = config_.duplex_mode != DuplexMode::kCaptureOnly;
  DeviceInfo cap, play;
  if (want_capture) {
    auto r = find_device_locked(capture_host_api(config_), fallback ? "" : capture_name_, true);
    if (!r.ok()) return Status(r.error(), "capture: " + r.message());
    cap = *r;
  }
  if (want_playback) {
    auto r = find_device_locked(playback_host_api(config_), fallback ? "" : playback_name_, false);
    if (!r.ok()) return Status(r.error(), "playback: " + r.message());
    play = *r;
  }
  // One stream when both directions are on one host API (one clock); else two, each at its device's own rate.
  const bool shared = want_capture && want_playback && cap.host_api_index == play.host_api_index;
  int cap_rate = 0, play_rate = 0;
  for (const bool capture : {true, false}) {
    if (!(capture ? want_capture : want_playback)) continue;
    const DeviceInfo& d = capture ? cap : play;
    const int r = config_.sample_rate_hz > 0 ? config_.sample_rate_hz
                                             : (capture || !shared ? static_cast<int>(std::lround(d.default_sample_rate_hz))
                                                                   : cap_rate);
    if (r < kMinSampleRateHz || r > kMaxSampleRateHz) {
      return Status(Error::kUnsupported, "device '" + d.name + "' runs at " + std::to_string(r) +
                                             " Hz; valid: " + std::to_string(kMinSampleRateHz) + ".." +
                                             std::to_string(kMaxSampleRateHz));
    }
    (capture ? cap_rate : play_rate) = r;
  }
  // One engine period at the device rate when that is a whole number of frames: the FIFOs then hold nothing.
  auto period_at = [&](int r) -> size_t {
    if (r == 0) return 0;
    if (config_.period_frames > 0) return static_cast<size_t>(config_.period_frames);
    if ((static_cast<int64_t>(period_) * r) % engine_rate_hz_ != 0) return 0;
    return static_cast<size_t>(static_cast<int64_t>(period_) * r / engine_rate_hz_);
  };
  const size_t cap_period = period_at(cap_rate);
  const size_t play_period = period_at(play_rate);
  const int cap_ch = want_capture ? std::min(config_.capture_channels, cap.max_input_channels) : 0;
  const int play_ch = want_playback ? std::min(config_.playback_channels, play.max_output_channels) : 0;

  // Converters and buffers: kept across a reopen when the formats are unchanged, so that nothing they hold is lost.
  const AudioFormat engine_fmt{engine_rate_hz_, 1, SampleType::kFloat32};
  if (want_capture) {
    const AudioFormat dev_fmt{cap_rate, cap_ch, SampleType::kFloat32};
    if (!capture_conv_ || !(capture_conv_->input_format() == dev_fmt)) {
      auto c = FormatConverter::create(dev_fmt, engine_fmt, resampler_kind_, kMaxPieceFrames);
      if (!c.ok()) return Status(c.error(), "capture converter: " + c.message());
      capture_conv_ = std::move(c).value();
    }
  }
  if (want_playback) {
    const AudioFormat dev_fmt{play_rate, play_ch, SampleType::kFloat32};
    if (!playback_conv_ || !(playback_conv_->output_format() == dev_fmt)) {
      auto c = FormatConverter::create(engine_fmt, dev_fmt, resampler_kind_, period_);
      if (!c.ok()) return Status(c.error(), "playback converter: " + c.message());
      playback_conv_ = std::move(c).value();
    }
  }
  max_piece_frames_ = kMaxPieceFrames;
  const size_t cap_piece = capture_conv_ ? capture_conv_->max_output_frames(kMaxPieceFrames) : 0;
  capture_tmp_.resize(cap_piece + 1);
  if (capture_fifo_.size() < cap_piece + 2 * period_) {
    // Keep the samples already captured (a reopen must not lose them).
    std::vector<float> bigger(cap_piece + 2 * period_);
    if (capture_write_ > capture_read_) {
      std::memcpy(bigger.data(), capture_fifo_.data() + capture_read_, (capture_write_ - capture_read_) * sizeof(float));
    }
    capture_write_ -= capture_read_;
    capture_read_ = 0;
    capture_fifo_.swap(bigger);
  }
  engine_in_.assign(period_, 0.0f);
  engine_out_.assign(period_, 0.0f);
  // The FIFOs between device and engine periods: sized by the stream that runs the ticks.
  const size_t dev_period = want_playback ? play_period : cap_period;
  const FifoPlan plan = plan_fifos(dev_period, period_, want_playback ? play_rate : cap_rate, engine_rate_hz_);
  const size_t play_piece = playback_conv_ ? playback_conv_->max_output_frames(period_) * static_cast<size_t>(play_ch) : 0;
  playback_tmp_.assign(play_piece + 1, 0.0f);
  const size_t max_block = (dev_period > 0 ? dev_period : kMaxPieceFrames) * static_cast<size_t>(std::max(play_ch, 1));
  output_fifo_.assign(plan.prime_frames * static_cast<size_t>(std::max(play_ch, 1)) + max_block + 2 * play_piece + 16,
                      0.0f);
  output_read_ = 0;
  output_write_ = plan.prime_frames * static_cast<size_t>(play_ch);  // primed with silence
  silence_.assign(kMaxPieceFrames * 8, 0.0f);
  if (want_capture && want_playback && !shared) {
    // Two clocks: the playback stream drives; capture waits in a ring a few periods deep.
    if (!feeder_ring_) feeder_ring_ = std::make_unique<SpscRing<float>>(16 * period_ + cap_piece);
    feeder_target_samples_ =
        2 * period_ + (cap_period > 0 ? static_cast<size_t>(static_cast<int64_t>(cap_period) * engine_rate_hz_ / cap_rate)
                                      : period_);
  } else {
    feeder_ring_.reset();
  }

  auto suggested = [&](double def_ms) {
    return (config_.suggested_latency_ms > 0 ? config_.suggested_latency_ms : def_ms) / 1000.0;
  };
  PaStreamParameters in{cap.id, cap_ch, paFloat32, suggested(cap.default_low_input_latency_ms), nullptr};
  PaStreamParameters out{play.id, play_ch, paFloat32, suggested(play.default_low_output_latency_ms), nullptr};
  num_slots_ = 0;
  auto open_one = [&](const PaStreamParameters* pin, const PaStreamParameters* pout, Role role) -> Status {
    StreamSlot& slot = slots_[num_slots_];
    slot.role = role;
    slot.owner = this;
    const int rate = pin != nullptr ? cap_rate : play_rate;
    const size_t frames = pin != nullptr ? cap_period : play_period;
    slot.rate_hz = rate;
    const unsigned long fpb = frames > 0 ? static_cast<unsigned long>(frames) : paFramesPerBufferUnspecified;
    const PaError err = Pa_OpenStream(&slot.stream, pin, pout, rate, fpb, paNoFlag, &PortAudioClock::callback, &slot);
    if (err != paNoError) {
      slot.stream = nullptr;
      const std::string dev = pin != nullptr ? cap.name : play.name;
      return Status(err == paInvalidSampleRate || err == paInvalidChannelCount ? Error::kUnsupported : Error::kIo,
                    pa_message(("opening '" + dev + "' at " + std::to_string(rate) + " Hz").c_str(), err));
    }
    ++num_slots_;
    return ok_status();
  };
  Status st = ok_status();
  if (shared) {
    st = open_one(&in, &out, Role::kDuplex);
    driver_slot_ = 0;
  } else if (want_capture && want_playback) {
    st = open_one(&in, nullptr, Role::kCaptureFeeder);
    if (st.ok()) st = open_one(nullptr, &out, Role::kPlaybackDriver);
    driver_slot_ = 1;
  } else if (want_capture) {
    st = open_one(&in, nullptr, Role::kCaptureDriver);
    driver_slot_ = 0;
  } else {
    st = open_one(nullptr, &out, Role::kPlaybackDriver);
    driver_slot_ = 0;
  }
  if (!st.ok()) return st;

  // What each step costs, for the caller to report.
  DuplexStreams info;
  const double period_ms = 1000.0 * static_cast<double>(period_) / engine_rate_hz_;
  for (int i = 0; i < num_slots_; ++i) {
    const PaStreamInfo* si = Pa_GetStreamInfo(slots_[i].stream);
    const Role r = slots_[i].role;
    // The device half of each direction's report; the caller adds what lies between the device and the tick.
    auto describe = [&](auto& d, const DeviceInfo& dev, int rate, int ch, size_t period, double device_latency_s,
                        double converter_delay_ms) {
      d.open = true;
      d.shares_stream = r == Role::kDuplex;
      d.device_id = dev.id;
      d.device_name = dev.name;
      d.host_api = dev.host_api;
      d.sample_rate_hz = rate;
      d.channels = ch;
      d.period_frames = static_cast<int>(period);
      d.device_latency_ms = device_latency_s * 1000.0;
      d.converter_delay_ms = converter_delay_ms;
    };
    if (r != Role::kPlaybackDriver) {
      auto& c = info.capture;
      describe(c, cap, cap_rate, cap_ch, cap_period, si != nullptr ? si->inputLatency : 0, capture_conv_->delay_ms());
      c.fifo_latency_ms = 1000.0 * static_cast<double>(feeder_ring_ ? feeder_target_samples_ : plan.max_capture_hold) /
                          engine_rate_hz_;
      c.engine_period_ms = period_ms;
      c.total_latency_ms = c.device_latency_ms + c.converter_delay_ms + c.fifo_latency_ms + c.engine_period_ms;
    }
    if (r == Role::kDuplex || r == Role::kPlaybackDriver) {
      auto& p = info.playback;
      describe(p, play, play_rate, play_ch, play_period, si != nullptr ? si->outputLatency : 0,
               playback_conv_->delay_ms());
      p.fifo_latency_ms = 1000.0 * static_cast<double>(plan.prime_frames) / play_rate;
      p.engine_period_ms = 0;  // the tick's output leaves in the same callback
      p.total_latency_ms = p.device_latency_ms + p.converter_delay_ms + p.fifo_latency_ms;
    }
    slots_[i].output_latency_s = si != nullptr ? si->outputLatency : 0;
  }
  device_rate_hz_ = want_playback ? play_rate : cap_rate;
  playback_conv_delay_samples_ =
      want_playback ? std::llround(playback_conv_->delay_ms() * engine_rate_hz_ / 1000.0) : 0;
  device_period_frames_ = static_cast<int>(dev_period);
  capture_channels_ = cap_ch;
  playback_channels_ = play_ch;
  has_capture_ = want_capture;
  has_playback_ = want_playback;
  if (want_capture) capture_name_ = cap.name;
  if (want_playback) playback_name_ = play.name;
  {
    std::lock_guard lock(status_mutex_);
    info_ = info;
  }
  // Start the feeder first so the driver finds capture waiting.
  for (int i = 0; i < num_slots_; ++i) {
    const PaError err = Pa_StartStream(slots_[i].stream);
    if (err != paNoError) return Status(Error::kIo, pa_message("starting the stream", err));
  }
  return ok_status();
}

void PortAudioClock::close_streams() {
  if (num_slots_ == 0) return;
  PaStream* streams[2] = {num_slots_ > 0 ? slots_[0].stream : nullptr, num_slots_ > 1 ? slots_[1].stream : nullptr};
  num_slots_ = 0;
  slots_[0].stream = slots_[1].stream = nullptr;
  if (wedged_) {
    (void)callback_exits_.load(std::memory_order_acquire);
    return;
  }
  // Stopping a stream waits for the host API to acknowledge from its own thread. PortAudio 19.6's JACK host API
  // waits up to 10 minutes when the server died under it, so the close runs on a helper thread and is abandoned
  // (with the PortAudio session, which can then never be terminated) when it does not finish in time.
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread closer([streams, done] {
    rt::set_current_thread_name("ae-device-close");
    for (int i = 1; i >= 0; --i) {
      if (streams[i] == nullptr) continue;
      Pa_AbortStream(streams[i]);
      Pa_CloseStream(streams[i]);
    }
    done->store(true, std::memory_order_release);
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kCloseTimeoutMs);
  while (!done->load(std::memory_order_acquire) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (done->load(std::memory_order_acquire)) {
    closer.join();
  } else {
    closer.detach();
    wedged_ = true;
  }
  (void)callback_exits_.load(std::memory_order_acquire);
}

// ---- the callback ------------------------------------------------------------------------------------------
int PortAudioClock::callback(const void* input, void* output, unsigned long frames,
                             const PaStreamCallbackTimeInfo* time, PaStreamCallbackFlags flags,
                             void* user) noexcept {
  auto* slot = static_cast<StreamSlot*>(user);
  // Everything our callback does counts as the audio thread's work (the probe sees it).
  rt::ScopedAudioThread audio_thread;
  // steady_clock reads the vDSO, no system call: the callback's own cost is measured on every callback, so a
  // deadline miss can be told apart from the server or the machine running late.
  const auto began = std::chrono::steady_clock::now();
  PortAudioClock& self = *slot->owner;
  if (slot->role == Role::kDuplex || slot->role == Role::kPlaybackDriver) {
    self.device_frames_ahead_ = device_frames_ahead(*slot, time);
  }
  self.on_callback(slot->role, input, output, static_cast<size_t>(frames), flags);
  const int64_t took_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                               began).count();
  int64_t max_ns = self.callback_max_ns_.load(std::memory_order_relaxed);
  while (took_ns > max_ns &&
         !self.callback_max_ns_.compare_exchange_weak(max_ns, took_ns, std::memory_order_relaxed)) {
  }
  if (took_ns * slot->rate_hz > static_cast<int64_t>(frames) * 1'000'000'000) {
    bump(self.callbacks_over_period_);
  }
  self.callback_exits_.fetch_add(1, std::memory_order_release);
  return paContinue;
}

int64_t PortAudioClock::device_frames_ahead(const StreamSlot& slot, const PaStreamCallbackTimeInfo* time) noexcept {
  // outputBufferDacTime is when this callback's first output frame reaches the DAC; what plays before it was
  // written by earlier callbacks. ALSA fills it from the PCM's delay (snd_pcm_status), JACK from the output
  // port's latency, both on the clock of currentTime. JACK leaves it 0 while the output port is connected to
  // nothing, and other host APIs may too: the stream's reported output latency then stands in for it.
  double ahead_s = slot.output_latency_s;
  if (time != nullptr && time->outputBufferDacTime > 0 && time->outputBufferDacTime >= time->currentTime) {
    ahead_s = time->outputBufferDacTime - time->currentTime;
  }
  return std::llround(ahead_s * slot.rate_hz);
}

void PortAudioClock::publish_output_pending() noexcept {
  const int64_t fifo_frames =
      static_cast<int64_t>((output_write_ - output_read_) / static_cast<size_t>(playback_channels_));
  const int64_t engine_samples = (device_frames_ahead_ + fifo_frames) * engine_rate_hz_ / device_rate_hz_;
  set_output_pending_samples(engine_samples + playback_conv_delay_samples_);
}

void PortAudioClock::on_callback(Role role, const void* input, void* output, size_t frames,
                                 PaStreamCallbackFlags flags) noexcept {
  if ((flags & (paInputUnderflow | paInputOverflow | paOutputUnderflow | paOutputOverflow)) != 0) bump(xruns_);
  const auto* in = static_cast<const float*>(input);
  auto* out = static_cast<float*>(output);
  switch (role) {
    case Role::kDuplex:
      bump(callbacks_);
      capture_in(in, frames);
      run_ticks_from_fifo(true);
      playback_out(out, frames);
      break;
    case Role::kCaptureDriver:
      bump(callbacks_);
      capture_in(in, frames);
      run_ticks_from_fifo(false);
      break;
    case Role::kCaptureFeeder:
      capture_in(in, frames);
      break;
    case Role::kPlaybackDriver:
      bump(callbacks_);
      fill_output_from_ticks(frames, feeder_ring_ != nullptr);
      playback_out(out, frames);
      break;
  }
}

void PortAudioClock::capture_in(const float* input, size_t frames) noexcept {
  const size_t ch = static_cast<size_t>(capture_channels_);
  size_t done = 0;
  while (done < frames) {
    const size_t piece = std::min(frames - done, std::min(max_piece_frames_, silence_.size() / ch));
    // PortAudio may pass no input on an input underflow: that period is silence.
    const float* src = input != nullptr ? input + done * ch : silence_.data();
    const size_t n = capture_conv_->convert_to_float(src, piece, capture_tmp_.data(), capture_tmp_.size());
    if (feeder_ring_) {
      const size_t kept = feeder_ring_->try_push_bulk(capture_tmp_.data(), n);
      if (kept < n) bump(drift_dropped_, static_cast<int64_t>(n - kept));
      bump(captured_, static_cast<int64_t>(kept));
    } else {
      fifo_append(capture_fifo_, capture_read_, capture_write_, capture_tmp_.data(), n);
      bump(captured_, static_cast<int64_t>(n));
    }
    done += piece;
  }
}

void PortAudioClock::run_ticks_from_fifo(bool with_playback) noexcept {
  while (capture_write_ - capture_read_ >= period_) {
    if (with_playback) publish_output_pending();
    drive(capture_fifo_.data() + capture_read_, with_playback ? engine_out_.data() : nullptr, period_);
    capture_read_ += period_;
    bump(consumed_, static_cast<int64_t>(period_));
    if (with_playback) append_output(engine_out_.data());
  }
  if (capture_read_ == capture_write_) capture_read_ = capture_write_ = 0;
}

void PortAudioClock::append_output(const float* engine_samples) noexcept {
  const size_t n = playback_conv_->convert_to_float(engine_samples, period_, playback_tmp_.data(),
                                                    playback_tmp_.size() / static_cast<size_t>(playback_channels_));
  fifo_append(output_fifo_, output_read_, output_write_, playback_tmp_.data(),
              n * static_cast<size_t>(playback_channels_));
}

void PortAudioClock::fill_output_from_ticks(size_t frames, bool capture_from_feeder) noexcept {
  const size_t need = frames * static_cast<size_t>(playback_channels_);
  while (output_write_ - output_read_ < need) {
    const float* cap = nullptr;
    if (capture_from_feeder) {
      // Follow the playback clock: drop what the capture clock delivered beyond the target depth, pad when late.
      const size_t level = feeder_ring_->read_available();
      if (level > feeder_target_samples_ + period_) {
        const size_t excess = level - feeder_target_samples_;
        feeder_ring_->discard(excess);
        bump(drift_dropped_, static_cast<int64_t>(excess));
        bump(feeder_discarded_, static_cast<int64_t>(excess));
      }
      const size_t got = feeder_ring_->try_pop_bulk(engine_in_.data(), period_);
      if (got < period_) {
        std::memset(engine_in_.data() + got, 0, (period_ - got) * sizeof(float));
        bump(drift_inserted_, static_cast<int64_t>(period_ - got));
      }
      bump(consumed_, static_cast<int64_t>(got));
      cap = engine_in_.data();
    }
    publish_output_pending();
    drive(cap, engine_out_.data(), period_);
    append_output(engine_out_.data());
  }
}

void PortAudioClock::playback_out(float* output, size_t frames) noexcept {
  if (output == nullptr) return;
  const size_t need = frames * static_cast<size_t>(playback_channels_);
  const size_t have = std::min(need, output_write_ - output_read_);
  std::memcpy(output, output_fifo_.data() + output_read_, have * sizeof(float));
  output_read_ += have;
  if (have < need) {
    std::memset(output + have, 0, (need - have) * sizeof(float));
    bump(out_underflow_, static_cast<int64_t>((need - have) / static_cast<size_t>(playback_channels_)));
  }
  if (output_read_ == output_write_) output_read_ = output_write_ = 0;
  bump(played_frames_, static_cast<int64_t>(frames));
}

// ---- faults and recovery (ae-device) -----------------------------------------------------------------------
void PortAudioClock::watch() {
  rt::set_current_thread_name("ae-device");
  using clock = std::chrono::steady_clock;
  const auto stall = std::chrono::milliseconds(config_.recovery.stall_timeout_ms);
  int64_t last_callbacks = ld(callbacks_);
  auto last_progress = clock::now();
  while (!stop_watch_.load(std::memory_order_acquire)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (failed_.load(std::memory_order_acquire)) continue;  // gave up: stay failed until stop()
    const int64_t cb = ld(callbacks_);
    const auto now = clock::now();
    if (cb != last_callbacks) {
      last_callbacks = cb;
      last_progress = now;
    }
    PaError active = 1;
    {
      std::lock_guard lock(pa::library_mutex());
      if (num_slots_ > 0) active = Pa_IsStreamActive(slots_[driver_slot_].stream);
    }
    const bool stalled = now - last_progress > stall;
    if (active == 1 && !stalled) continue;

    // A failure: report it, then reopen per the policy.
    bump(failures_);
    failed_.store(true, std::memory_order_release);
    DeviceFault fault;
    fault.detail = active < 0 ? active : -1;
    fault.message = active < 0 ? pa_message("device stream failed", active)
                               : (active == 0 ? std::string("device stream stopped")
                                              : "no device callback for " +
                                                    std::to_string(config_.recovery.stall_timeout_ms) + " ms");
    {
      std::lock_guard lock(status_mutex_);
      last_error_ = fault.message;
    }
    if (on_fault_) on_fault_(fault);
    if (!config_.recovery.enabled) continue;
    bool recovered = false;
    for (int attempt = 0; attempt < config_.recovery.max_attempts && !stop_watch_.load(); ++attempt) {
      {
        std::lock_guard lock(pa::library_mutex());
        close_streams();
        if (wedged_) {
          std::lock_guard slock(status_mutex_);
          last_error_ = fault.message + "; the host API did not release the stream within " +
                        std::to_string(kCloseTimeoutMs) + " ms (PortAudio's JACK host API cannot stop a stream "
                        "whose server died), so it cannot be reopened in this process";
          break;
        }
        // A new session re-reads the host APIs: a restarted sound server is found again.
        session_.close();
        if (session_.open(config_.client_name).ok()) {
          Status st = open_streams(false);
          if (!st.ok() && config_.recovery.fall_back_to_default) {
            close_streams();
            st = open_streams(true);
          }
          if (st.ok()) {
            recovered = true;
          } else {
            close_streams();
            std::lock_guard slock(status_mutex_);
            last_error_ = st.message();
          }
        }
      }
      if (recovered) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(config_.recovery.retry_interval_ms));
    }
    if (recovered) {
      bump(reopens_);
      failed_.store(false, std::memory_order_release);
      last_callbacks = ld(callbacks_);
      last_progress = clock::now();
      DeviceFault ok;
      ok.code = Error::kOk;
      ok.from = DeviceState::kFailed;
      ok.to = DeviceState::kRunning;
      ok.message = "device reopened";
      if (on_fault_) on_fault_(ok);
    }
  }
}

// ---- reports -----------------------------------------------------------------------------------------------
DuplexStreams PortAudioClock::streams() const {
  std::lock_guard lock(status_mutex_);
  return info_;
}

DeviceStats PortAudioClock::stats() const {
  DeviceStats s;
  s.callbacks = ld(callbacks_);
  s.ticks = ticks();
  s.xruns = ld(xruns_);
  s.callback_max_us = ld(callback_max_ns_) / 1000;
  s.callbacks_over_period = ld(callbacks_over_period_);
  s.captured_samples = ld(captured_);
  s.consumed_samples = ld(consumed_);
  s.fifo_samples = s.captured_samples - s.consumed_samples - ld(feeder_discarded_);
  s.played_frames = ld(played_frames_);
  s.playback_fifo_underflow_frames = ld(out_underflow_);
  s.drift_dropped_samples = ld(drift_dropped_);
  s.drift_inserted_samples = ld(drift_inserted_);
  s.failures = ld(failures_);
  s.reopens = ld(reopens_);
  s.running = running();
  s.failed = failed_.load(std::memory_order_acquire);
  std::lock_guard lock(status_mutex_);
  s.last_error = last_error_;
  return s;
}

}  // namespace ae
