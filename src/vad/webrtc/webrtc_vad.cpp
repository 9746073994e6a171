// Why the VAD's C functions and not AudioProcessing::voice_detection(): in webrtc-audio-processing 0.3 every
// AudioProcessing::ProcessStream() call takes the module's mutex (measured: one pthread_mutex_lock per 10 ms
// frame), and re-initialising it (what a reset needs) rebuilds its audio buffers on the heap; the audio thread may
// do neither. voice_detection() itself is a thin layer over these functions: at 8 and 16 kHz it hands the 16-bit
// frame to WebRtcVad_Process unchanged, with its likelihood as the mode (the unit tests check that the decisions
// are identical). At 32 and 48 kHz it runs the VAD on the module's split 0-8 kHz band; here the VAD's own
// decimation does that.

#include "audioengine/webrtc_vad.hpp"

#include "audioengine/format.hpp"
#include "vad/rate_adapter.hpp"
#include "vad/webrtc/vad_library.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

namespace ae {
namespace {

constexpr int kMinRateHz = 8000;
constexpr int kMaxRateHz = 192000;
constexpr int kProcessingRatesHz[] = {8000, 16000, 32000, 48000};

}  // namespace

struct WebRtcVad::Impl {
  int aggressiveness = 2;
  int input_rate_hz = 0;
  int processing_rate_hz = 0;
  size_t max_frames = 0;
  size_t sub_frame_samples = 0;
  VadInst* handle = nullptr;
  VadRateAdapter rate;  // input rate -> processing rate (nothing when they are equal)
  std::vector<int16_t> sub_frame;        // the 10 ms sub-frame being filled
  size_t sub_frame_fill = 0;
  int64_t sub_frames = 0;
  bool last_decision = false;

  ~Impl() {
    if (handle != nullptr) WebRtcVad_Free(handle);
  }

  // Cuts `count` samples into sub-frames; counts the completed ones and the voiced among them.
  void feed(const float* x, size_t count, int& completed, int& voiced) noexcept {
    while (count > 0) {
      const size_t take = std::min(count, sub_frame_samples - sub_frame_fill);
      encode_samples(x, take, SampleType::kPcm16, sub_frame.data() + sub_frame_fill);
      sub_frame_fill += take;
      x += take;
      count -= take;
      if (sub_frame_fill < sub_frame_samples) break;
      sub_frame_fill = 0;
      // Rate and length were validated in prepare(), so -1 (bad argument) cannot happen; it would count as
      // not voiced.
      last_decision = WebRtcVad_Process(handle, processing_rate_hz, sub_frame.data(), sub_frame_samples) == 1;
      ++sub_frames;
      ++completed;
      if (last_decision) ++voiced;
    }
  }
};

Result<std::unique_ptr<WebRtcVad>> WebRtcVad::create(int aggressiveness) {
  if (aggressiveness < kMinAggressiveness || aggressiveness > kMaxAggressiveness) {
    VadConfig c;
    c.webrtc_aggressiveness = aggressiveness;
    return validate_vad_config(c).error_info();
  }
  auto impl = std::make_unique<Impl>();
  impl->aggressiveness = aggressiveness;
  return std::unique_ptr<WebRtcVad>(new WebRtcVad(std::move(impl)));
}

int WebRtcVad::processing_rate_for(int sample_rate_hz) noexcept {
  int best = kProcessingRatesHz[0];
  for (int rate : kProcessingRatesHz) {
    if (std::abs(rate - sample_rate_hz) < std::abs(best - sample_rate_hz)) best = rate;
  }
  return best;
}

WebRtcVad::WebRtcVad(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebRtcVad::~WebRtcVad() = default;

Status WebRtcVad::prepare(int sample_rate_hz, size_t max_frames) {
  if (sample_rate_hz < kMinRateHz || sample_rate_hz > kMaxRateHz) {
    return Status(Error::kInvalidArgument, "webrtc vad: sample_rate_hz = " + std::to_string(sample_rate_hz) +
                                               ": valid " + std::to_string(kMinRateHz) + ".." +
                                               std::to_string(kMaxRateHz) + " Hz (8000, 16000, 32000 and 48000 "
                                               "directly, others resampled)");
  }
  if (max_frames == 0 || max_frames > static_cast<size_t>(sample_rate_hz)) {
    return Status(Error::kInvalidArgument, "webrtc vad: max_frames = " + std::to_string(max_frames) +
                                               ": valid 1.." + std::to_string(sample_rate_hz) + " (1 s)");
  }
  Impl& s = *impl_;
  const int processing_rate = processing_rate_for(sample_rate_hz);
  if (Status st = s.rate.prepare(sample_rate_hz, processing_rate, max_frames, "webrtc vad"); !st.ok()) return st;
  if (s.handle == nullptr) {
    s.handle = WebRtcVad_Create();
    if (s.handle == nullptr) return Status(Error::kInternal, "webrtc vad: WebRtcVad_Create failed (out of memory)");
  }
  const auto sub_frame = static_cast<size_t>(processing_rate / 1000 * kSubFrameMs);
  if (WebRtcVad_ValidRateAndFrameLength(processing_rate, sub_frame) != 0) {
    return Status(Error::kInternal, "webrtc vad: the library refuses " + std::to_string(sub_frame) +
                                        "-sample frames at " + std::to_string(processing_rate) + " Hz");
  }
  s.input_rate_hz = sample_rate_hz;
  s.processing_rate_hz = processing_rate;
  s.max_frames = max_frames;
  s.sub_frame_samples = sub_frame;
  s.sub_frame.assign(sub_frame, 0);
  if (WebRtcVad_Init(s.handle) != 0 || WebRtcVad_set_mode(s.handle, s.aggressiveness) != 0) {
    s.processing_rate_hz = 0;
    return Status(Error::kInternal, "webrtc vad: the library refuses mode " + std::to_string(s.aggressiveness));
  }
  reset();
  return ok_status();
}

void WebRtcVad::reset() noexcept {
  Impl& s = *impl_;
  if (s.processing_rate_hz == 0) return;
  // Init restores the model's initial statistics and mode 0 without allocating; the mode was accepted in
  // prepare(), so setting it again cannot fail.
  WebRtcVad_Init(s.handle);
  WebRtcVad_set_mode(s.handle, s.aggressiveness);
  s.sub_frame_fill = 0;
  s.sub_frames = 0;
  s.last_decision = false;
}

float WebRtcVad::process(const float* mono, size_t num_frames) noexcept {
  Impl& s = *impl_;
  if (s.processing_rate_hz == 0 || mono == nullptr || num_frames == 0) return 0.0f;
  int completed = 0;
  int voiced = 0;
  s.rate.run(mono, num_frames, [&](const float* x, size_t n) { s.feed(x, n, completed, voiced); });
  if (completed == 0) return s.last_decision ? 1.0f : 0.0f;
  return static_cast<float>(voiced) / static_cast<float>(completed);
}

int WebRtcVad::aggressiveness() const noexcept { return impl_->aggressiveness; }
int WebRtcVad::processing_rate_hz() const noexcept { return impl_->processing_rate_hz; }
size_t WebRtcVad::sub_frame_samples() const noexcept { return impl_->sub_frame_samples; }
double WebRtcVad::resampler_delay_ms() const noexcept {
  return impl_->rate.delay_ms();
}
int64_t WebRtcVad::sub_frames_processed() const noexcept { return impl_->sub_frames; }
bool WebRtcVad::last_decision() const noexcept { return impl_->last_decision; }

}  // namespace ae
