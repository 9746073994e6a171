#include "audioengine/resampler.hpp"

#include <soxr.h>
#include <speex/speex_resampler.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "audioengine/format.hpp"

namespace ae {

const char* to_string(ResamplerKind kind) noexcept {
  switch (kind) {
    case ResamplerKind::kSpeex: return "speex";
    case ResamplerKind::kSoxr: return "soxr";
  }
  return "unknown";
}

namespace {

constexpr int kSpeexDefaultQuality = 3;
constexpr int kSoxrDefaultRecipe = SOXR_HQ;
constexpr unsigned kSoxrLowLatencyLog2Dft = 8;  // the smallest soxr accepts
// Length of silence run through soxr in create() to find how much output it withholds: several of its DFT
// blocks even at the default (largest) sizes.
constexpr double kHoldbackProbeSeconds = 0.5;

}  // namespace

struct Resampler::State {
  ResamplerConfig config;
  size_t channels = 1;
  int64_t in_rate = 1;   // reduced by the gcd
  int64_t out_rate = 1;
  bool passthrough = false;
  SpeexResamplerState* speex = nullptr;
  soxr_t soxr = nullptr;

  std::vector<float> scratch;  // engine output of one chunk, interleaved
  size_t scratch_frames = 0;

  // Output FIFO, interleaved frames.
  std::vector<float> fifo;
  size_t fifo_capacity_frames = 0;
  size_t fifo_read = 0;   // frame index
  size_t fifo_frames = 0;

  int64_t total_in = 0;    // frames consumed since the stream started
  int64_t total_out = 0;   // frames returned since the stream started
  uint64_t dropped = 0;

  size_t prime_frames = 0;       // zeros queued at stream start
  size_t holdback_frames = 0;    // most output the engine ever withheld (measured)
  double engine_delay_frames = 0.0;
  double delay = 0.0;

  ~State() {
    if (speex != nullptr) speex_resampler_destroy(speex);
    if (soxr != nullptr) soxr_delete(soxr);
  }

  int64_t expected_out(int64_t in_frames) const { return in_frames * out_rate / in_rate; }

  void fifo_push(const float* frames, size_t n) noexcept {
    const size_t room = fifo_capacity_frames - fifo_frames;
    if (n > room) {
      dropped += n - room;
      n = room;
    }
    size_t write = (fifo_read + fifo_frames) % fifo_capacity_frames;
    while (n > 0) {
      const size_t run = std::min(n, fifo_capacity_frames - write);
      if (frames != nullptr) {
        std::memcpy(&fifo[write * channels], frames, run * channels * sizeof(float));
        frames += run * channels;
      } else {
        std::memset(&fifo[write * channels], 0, run * channels * sizeof(float));
      }
      fifo_frames += run;
      write = (write + run) % fifo_capacity_frames;
      n -= run;
    }
  }

  size_t fifo_pop(float* out, size_t n) noexcept {
    n = std::min(n, fifo_frames);
    size_t left = n;
    while (left > 0) {
      const size_t run = std::min(left, fifo_capacity_frames - fifo_read);
      std::memcpy(out, &fifo[fifo_read * channels], run * channels * sizeof(float));
      out += run * channels;
      fifo_read = (fifo_read + run) % fifo_capacity_frames;
      fifo_frames -= run;
      left -= run;
    }
    return n;
  }

  // Runs the engine on `n` interleaved frames until it has consumed them all; its output goes to the FIFO when
  // `to_fifo`, else it is only counted. Returns the frames the engine produced.
  size_t run_engine(const float* input, size_t n, bool to_fifo) noexcept {
    size_t produced = 0;
    size_t consumed = 0;
    while (true) {
      size_t in_done = 0;
      size_t out_done = 0;
      if (speex != nullptr) {
        auto in_len = static_cast<spx_uint32_t>(n - consumed);
        auto out_len = static_cast<spx_uint32_t>(scratch_frames);
        speex_resampler_process_interleaved_float(speex, input + consumed * channels, &in_len, scratch.data(),
                                                  &out_len);
        in_done = in_len;
        out_done = out_len;
      } else {
        soxr_process(soxr, input + consumed * channels, n - consumed, &in_done, scratch.data(), scratch_frames,
                     &out_done);
      }
      consumed += in_done;
      produced += out_done;
      if (to_fifo) fifo_push(scratch.data(), out_done);
      // Done when the input is used up and the engine had no more output than the scratch could take.
      if (consumed >= n && out_done < scratch_frames) break;
      if (in_done == 0 && out_done == 0) break;  // no progress: never spin
    }
    return produced;
  }

  // Feeds silence one frame at a time and returns the largest shortfall of output against the expected count.
  // Also leaves the engine warmed up; the stream state is then restarted by start_stream().
  void measure_holdback() {
    const int64_t step = in_rate;  // frames after which the expected output is an integer again
    const auto target = static_cast<int64_t>(kHoldbackProbeSeconds * config.input_rate_hz);
    const int64_t probe_frames = std::max<int64_t>(step, (target + step - 1) / step * step);
    std::vector<float> zero(channels, 0.0f);
    int64_t produced = 0;
    int64_t worst = 0;
    for (int64_t i = 1; i <= probe_frames; ++i) {
      produced += static_cast<int64_t>(run_engine(zero.data(), 1, false));
      worst = std::max(worst, expected_out(i) - produced);
    }
    holdback_frames = static_cast<size_t>(worst);
  }

  // Brings the engine into the state of a fresh stream whose output is primed so that it never runs short.
  void start_stream() noexcept {
    fifo_read = 0;
    fifo_frames = 0;
    total_in = 0;
    total_out = 0;
    if (passthrough) return;
    int64_t withheld_now = 0;
    if (speex != nullptr) {
      speex_resampler_reset_mem(speex);
    } else {
      // soxr_clear() releases soxr's buffers; running a whole number of output periods of silence through it
      // again makes it allocate them here rather than in process(). Silence in a linear filter is the same as a
      // fresh state, shifted: the output it produces is discarded and the shortfall it leaves is accounted for.
      soxr_clear(soxr);
      // soxr grows its internal FIFOs lazily, the last time after ~200 ms of streaming: warm up for longer than
      // that, in the largest blocks the caller may pass.
      const auto min_warm = std::max<int64_t>(static_cast<int64_t>(kHoldbackProbeSeconds * config.input_rate_hz),
                                              4 * static_cast<int64_t>(config.max_input_frames));
      const int64_t warm_frames = (min_warm + in_rate - 1) / in_rate * in_rate;
      std::vector<float> zero(config.max_input_frames * channels, 0.0f);
      int64_t produced = 0;
      for (int64_t done = 0; done < warm_frames;) {
        const auto n = static_cast<size_t>(std::min<int64_t>(warm_frames - done,
                                                              static_cast<int64_t>(config.max_input_frames)));
        produced += static_cast<int64_t>(run_engine(zero.data(), n, false));
        done += static_cast<int64_t>(n);
      }
      withheld_now = expected_out(warm_frames) - produced;
    }
    prime_frames = holdback_frames - static_cast<size_t>(std::clamp<int64_t>(withheld_now, 0,
                                                                               static_cast<int64_t>(holdback_frames)));
    fifo_push(nullptr, prime_frames);
  }
};

Resampler::Resampler(std::unique_ptr<State> state) : state_(std::move(state)) {}
Resampler::~Resampler() = default;

Result<std::unique_ptr<Resampler>> Resampler::create(const ResamplerConfig& config) {
  using R = Result<std::unique_ptr<Resampler>>;
  auto bad_rate = [](const char* field, int value) {
    return R(Error::kInvalidArgument, std::string(field) + " " + std::to_string(value) + " is out of range; valid: " +
                                          std::to_string(kMinSampleRateHz) + ".." + std::to_string(kMaxSampleRateHz));
  };
  if (config.input_rate_hz < kMinSampleRateHz || config.input_rate_hz > kMaxSampleRateHz)
    return bad_rate("input_rate_hz", config.input_rate_hz);
  if (config.output_rate_hz < kMinSampleRateHz || config.output_rate_hz > kMaxSampleRateHz)
    return bad_rate("output_rate_hz", config.output_rate_hz);
  if (config.channels < 1 || config.channels > kMaxChannels)
    return R(Error::kInvalidArgument, "channels " + std::to_string(config.channels) + " is out of range; valid: 1.." +
                                          std::to_string(kMaxChannels));
  if (config.max_input_frames < 1 || config.max_input_frames > (1u << 20))
    return R(Error::kInvalidArgument, "max_input_frames " + std::to_string(config.max_input_frames) +
                                          " is out of range; valid: 1..1048576");
  const int max_quality = config.kind == ResamplerKind::kSpeex ? 10 : 6;
  if (config.quality < -1 || config.quality > max_quality)
    return R(Error::kInvalidArgument, "quality " + std::to_string(config.quality) + " is out of range for " +
                                          to_string(config.kind) + "; valid: -1 (default) or 0.." +
                                          std::to_string(max_quality));

  auto s = std::make_unique<State>();
  s->config = config;
  s->channels = static_cast<size_t>(config.channels);
  const int64_t g = std::gcd(config.input_rate_hz, config.output_rate_hz);
  s->in_rate = config.input_rate_hz / g;
  s->out_rate = config.output_rate_hz / g;
  s->passthrough = config.input_rate_hz == config.output_rate_hz;
  if (!s->passthrough) {
    if (config.kind == ResamplerKind::kSpeex) {
      int err = 0;
      const int quality = config.quality < 0 ? kSpeexDefaultQuality : config.quality;
      s->speex = speex_resampler_init(static_cast<spx_uint32_t>(config.channels),
                                      static_cast<spx_uint32_t>(config.input_rate_hz),
                                      static_cast<spx_uint32_t>(config.output_rate_hz), quality, &err);
      if (s->speex == nullptr)
        return R(Error::kInternal, std::string("speex_resampler_init failed: ") + speex_resampler_strerror(err));
      // Output frame j is computed around input time j / ratio - input_latency: the filter's half length.
      s->engine_delay_frames = speex_resampler_get_input_latency(s->speex) * static_cast<double>(s->out_rate) /
                               static_cast<double>(s->in_rate);
    } else {
      const int recipe = config.quality < 0 ? kSoxrDefaultRecipe : config.quality;
      soxr_quality_spec_t quality = soxr_quality_spec(static_cast<unsigned long>(recipe), 0);
      soxr_runtime_spec_t runtime = soxr_runtime_spec(1);
      if (config.low_latency) {
        runtime.log2_min_dft_size = kSoxrLowLatencyLog2Dft;
        runtime.log2_large_dft_size = kSoxrLowLatencyLog2Dft;
      }
      soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
      soxr_error_t err = nullptr;
      s->soxr = soxr_create(config.input_rate_hz, config.output_rate_hz, static_cast<unsigned>(config.channels),
                            &err, &io, &quality, &runtime);
      if (s->soxr == nullptr || err != nullptr)
        return R(Error::kInternal, std::string("soxr_create failed: ") + (err != nullptr ? err : "unknown error"));
      s->engine_delay_frames = 0.0;  // soxr trims its filter delay: its output is time-aligned
    }
    const double ratio = static_cast<double>(s->out_rate) / static_cast<double>(s->in_rate);
    s->scratch_frames = static_cast<size_t>(std::ceil(static_cast<double>(config.max_input_frames) * ratio)) + 64;
    s->scratch.assign(s->scratch_frames * s->channels, 0.0f);
    s->measure_holdback();
    s->fifo_capacity_frames = s->holdback_frames + 4 * s->scratch_frames + 1024;
    s->fifo.assign(s->fifo_capacity_frames * s->channels, 0.0f);
  }
  s->delay = s->engine_delay_frames + static_cast<double>(s->holdback_frames);
  s->start_stream();
  return std::unique_ptr<Resampler>(new Resampler(std::move(s)));
}

size_t Resampler::max_output_frames(size_t input_frames) const noexcept {
  const State& s = *state_;
  return static_cast<size_t>((static_cast<int64_t>(input_frames) * s.out_rate + s.in_rate - 1) / s.in_rate) + 1;
}

size_t Resampler::max_flush_frames() const noexcept {
  return static_cast<size_t>(std::ceil(state_->delay)) + 2;
}

size_t Resampler::process(const float* input, size_t input_frames, float* output,
                          size_t out_capacity_frames) noexcept {
  State& s = *state_;
  if (s.passthrough) {
    const size_t n = std::min(input_frames, out_capacity_frames);
    std::memmove(output, input, n * s.channels * sizeof(float));
    s.dropped += input_frames - n;
    s.total_in += static_cast<int64_t>(input_frames);
    s.total_out += static_cast<int64_t>(n);
    return n;
  }
  size_t written = 0;
  size_t done = 0;
  while (done < input_frames) {
    const size_t n = std::min(input_frames - done, s.config.max_input_frames);
    s.run_engine(input + done * s.channels, n, true);
    done += n;
    s.total_in += static_cast<int64_t>(n);
    const int64_t due = s.expected_out(s.total_in) - s.total_out;
    const size_t want = std::min(static_cast<size_t>(std::max<int64_t>(due, 0)), out_capacity_frames - written);
    const size_t got = s.fifo_pop(output + written * s.channels, want);
    written += got;
    s.total_out += static_cast<int64_t>(got);
  }
  return written;
}

size_t Resampler::flush(float* output, size_t out_capacity_frames) noexcept {
  State& s = *state_;
  if (s.passthrough) return 0;
  const double exact = static_cast<double>(s.total_in) * static_cast<double>(s.out_rate) /
                           static_cast<double>(s.in_rate) + s.delay;
  const auto final_total = static_cast<int64_t>(std::llround(exact));
  const int64_t due = final_total - s.total_out;
  if (due <= 0) return 0;
  if (s.soxr != nullptr) {
    // End of input: soxr drains its filter.
    while (true) {
      size_t out_done = 0;
      soxr_process(s.soxr, nullptr, 0, nullptr, s.scratch.data(), s.scratch_frames, &out_done);
      s.fifo_push(s.scratch.data(), out_done);
      if (out_done == 0) break;
    }
  } else {
    // Speex has no end-of-stream call: push silence until the filter's content has come out.
    const size_t zero_block = std::min<size_t>(s.config.max_input_frames, 256);
    std::vector<float> silence(zero_block * s.channels, 0.0f);
    int guard = 0;
    while (static_cast<int64_t>(s.fifo_frames) < due && guard++ < 100000) {
      s.run_engine(silence.data(), zero_block, true);
    }
  }
  if (static_cast<int64_t>(s.fifo_frames) < due) s.fifo_push(nullptr, static_cast<size_t>(due) - s.fifo_frames);
  const size_t got = s.fifo_pop(output, std::min(static_cast<size_t>(due), out_capacity_frames));
  s.total_out += static_cast<int64_t>(got);
  return got;
}

void Resampler::reset() noexcept { state_->start_stream(); }

double Resampler::delay_frames() const noexcept { return state_->delay; }

double Resampler::delay_ms() const noexcept {
  return state_->delay * 1000.0 / static_cast<double>(state_->config.output_rate_hz);
}

uint64_t Resampler::dropped_frames() const noexcept { return state_->dropped; }

const ResamplerConfig& Resampler::config() const noexcept { return state_->config; }

}  // namespace ae
