// audioengine aec: echo cancellation of a recorded call, offline, through the engine on the virtual clock.
#include <sndfile.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "audioengine/engine.hpp"
#include "audioengine/file_io.hpp"
#include "audioengine/resampler.hpp"
#include "cli.hpp"

namespace ae::cli {
namespace {

constexpr const char* kCmd = "aec";
constexpr int kPeriodMs = 10;
constexpr int64_t kBlockTicks = 100;  // audio handed to the engine per advance(): 1 s

// CPU time of the calling thread, in ns: the inline virtual clock runs the ticks on it, so this is the engine's
// work, unaffected by other processes competing for the CPU (wall time is reported beside it).
int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The whole of `x` at `output_rate_hz`, time-aligned (the resampler's delay removed) and exactly `output_frames`
// long (cut, or padded with silence).
Result<std::vector<float>> resample_aligned(const std::vector<float>& x, int input_rate_hz, int output_rate_hz,
                                            size_t output_frames) {
  if (input_rate_hz == output_rate_hz) {
    std::vector<float> y(x);
    y.resize(output_frames, 0.0f);
    return y;
  }
  ResamplerConfig rc;
  rc.input_rate_hz = input_rate_hz;
  rc.output_rate_hz = output_rate_hz;
  rc.kind = ResamplerKind::kSoxr;
  auto r = Resampler::create(rc);
  if (!r.ok()) return Result<std::vector<float>>(r.error(), r.message());
  Resampler& rs = **r;
  std::vector<float> y;
  std::vector<float> block(rs.max_output_frames(rc.max_input_frames) + rs.max_flush_frames());
  for (size_t at = 0; at < x.size(); at += rc.max_input_frames) {
    const size_t n = std::min(rc.max_input_frames, x.size() - at);
    const size_t got = rs.process(x.data() + at, n, block.data(), block.size());
    y.insert(y.end(), block.begin(), block.begin() + static_cast<std::ptrdiff_t>(got));
  }
  const size_t tail = rs.flush(block.data(), block.size());
  y.insert(y.end(), block.begin(), block.begin() + static_cast<std::ptrdiff_t>(tail));
  const auto delay = std::min(y.size(), static_cast<size_t>(std::lround(rs.delay_frames())));
  y.erase(y.begin(), y.begin() + static_cast<std::ptrdiff_t>(delay));
  y.resize(output_frames, 0.0f);
  return y;
}

// Records, for every MIC sample, the far-end reference the capture-pre stage gave the echo canceller with it.
// Storage is allocated up front; process() only copies.
class ReferenceRecorder final : public AudioProcessor {
 public:
  explicit ReferenceRecorder(size_t num_frames) : reference_(num_frames, 0.0f) {}
  Status prepare(int, size_t) override { return ok_status(); }
  void process(float*, size_t n, const ProcessContext& ctx) noexcept override {
    const auto at = static_cast<size_t>(ctx.t_samples);
    for (size_t i = 0; i < n && at + i < reference_.size(); ++i) {
      reference_[at + i] = ctx.render != nullptr && i < ctx.render_frames ? ctx.render[i] : 0.0f;
    }
  }
  void reset() noexcept override {}
  const char* name() const noexcept override { return "reference_recorder"; }
  const std::vector<float>& reference() const { return reference_; }

 private:
  std::vector<float> reference_;
};

struct Collected {
  std::vector<float> out;
  static void on_chunk(const ChunkInfo& info, const float* mono, void* user) {
    auto& out = static_cast<Collected*>(user)->out;
    const auto at = static_cast<size_t>(info.start_sample);
    if (at >= out.size()) return;
    const size_t n = std::min(out.size() - at, static_cast<size_t>(info.num_frames));
    std::copy(mono, mono + n, out.begin() + static_cast<std::ptrdiff_t>(at));
  }
};

// Looks a word up in a table of names; nullopt when absent.
template <typename T, size_t N>
std::optional<T> lookup(const std::string& word, const std::pair<const char*, T> (&table)[N]) {
  for (const auto& [name, value] : table) {
    if (word == name) return value;
  }
  return std::nullopt;
}

template <typename T, size_t N>
std::string names(const std::pair<const char*, T> (&table)[N]) {
  std::string s;
  for (const auto& entry : table) s += (s.empty() ? "" : ", ") + std::string(entry.first);
  return s;
}

constexpr std::pair<const char*, EchoImplementation> kImpls[] = {{"webrtc", EchoImplementation::kWebRtc},
                                                                 {"speex", EchoImplementation::kSpeex}};
constexpr std::pair<const char*, EchoSuppression> kSuppressions[] = {{"low", EchoSuppression::kLow},
                                                                     {"moderate", EchoSuppression::kModerate},
                                                                     {"high", EchoSuppression::kHigh},
                                                                     {"adaptive", EchoSuppression::kAdaptive}};
constexpr std::pair<const char*, NoiseSuppressionLevel> kNoise[] = {{"off", NoiseSuppressionLevel::kOff},
                                                                    {"low", NoiseSuppressionLevel::kLow},
                                                                    {"moderate", NoiseSuppressionLevel::kModerate},
                                                                    {"high", NoiseSuppressionLevel::kHigh},
                                                                    {"very-high", NoiseSuppressionLevel::kVeryHigh}};
constexpr std::pair<const char*, bool> kOnOff[] = {{"on", true}, {"off", false}};

// Writes mono `samples` to `path` in `format` (libsndfile's major type | subtype) at `rate_hz`.
Status write_mono(const std::string& path, int format, int rate_hz, const std::vector<float>& samples) {
  SF_INFO info{};
  info.samplerate = rate_hz;
  info.channels = 1;
  info.format = format;
  if (sf_format_check(&info) == 0) {
    return Status(Error::kUnsupported, "'" + path + "': libsndfile cannot write this file type in mono");
  }
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  if (f == nullptr) return Status(Error::kIo, "cannot create '" + path + "': " + sf_strerror(nullptr));
  sf_command(f, SFC_SET_CLIPPING, nullptr, SF_TRUE);
  const sf_count_t n = static_cast<sf_count_t>(samples.size());
  const sf_count_t wrote = sf_writef_float(f, samples.data(), n);
  const int rc = sf_close(f);
  if (wrote != n || rc != 0) return Status(Error::kIo, "writing '" + path + "' failed: " + sf_error_number(rc));
  return ok_status();
}

}  // namespace

int cmd_aec(const std::vector<std::string>& argv) {
  Args args = Args::parse(argv, {"json", "help"});
  if (args.has("help")) {
    std::printf(
        "usage: audioengine aec --far FAR --mic MIC --out OUT [--impl webrtc|speex] [--json]\n"
        "                       [--suppression low|moderate|high|adaptive] [--ns off|low|moderate|high|very-high]\n"
        "                       [--agc on|off] [--hpf on|off] [--stream-delay-ms MS] [--reference-out PATH]\n\n"
        "Cancels the echo of FAR (what the speaker played) in MIC (what the microphone heard) by running the\n"
        "engine's capture chain offline on the virtual clock, as fast as possible: MIC is injected as the\n"
        "microphone and FAR queued as playback, so that MIC sample n is processed with FAR sample n as its\n"
        "far-end reference (FAR must start when MIC does). OUT is the processed capture (high-pass filter, echo\n"
        "canceller, noise suppressor, gain): MIC's rate, length and file type (sample subtype), mono.\n\n"
        "FAR and MIC are any files libsndfile reads; several channels are averaged to mono. The engine runs at\n"
        "MIC's rate when that is 8000 or 16000 Hz (the rates the WebRTC components run at), otherwise at 16000 Hz\n"
        "with MIC, FAR and OUT resampled (soxr, delay removed). FAR is resampled to the engine rate when its rate differs;\n"
        "FAR and MIC must last as long as each other (to one sample at MIC's rate).\n\n"
        "  --far FAR             the far-end (speaker) signal\n"
        "  --mic MIC             the microphone signal\n"
        "  --out OUT             the processed microphone signal (created or overwritten)\n"
        "  --impl IMPL           webrtc (default) or speex\n"
        "  --suppression LEVEL   residual echo suppression (default adaptive: high with the far end alone, low in\n"
        "                        double talk)\n"
        "  --ns LEVEL            noise suppression (default moderate)\n"
        "  --agc on|off          adaptive digital gain (default on)\n"
        "  --hpf on|off          80 Hz high-pass filter (default on)\n"
        "  --stream-delay-ms MS  the known speaker-to-microphone delay in FAR/MIC, 0..500 (default: estimated by\n"
        "                        the canceller, which is delay-agnostic either way)\n"
        "  --reference-out PATH  also write the far-end reference each MIC sample was processed with, at the\n"
        "                        engine rate, 32-bit float WAV (to check the alignment)\n"
        "  --json                print {\"erle_db\":..,\"delay_ms\":..,\"frames\":..,\"mean_us_per_frame\":..,\n"
        "                        \"wall_us_per_frame\":..,\"double_talk_fraction\":..}: the canceller's ERLE over\n"
        "                        its last far-end-only second, its delay estimate (-1: none), the 10 ms frames\n"
        "                        processed, and the CPU time (of the thread running the ticks) and wall time per\n"
        "                        frame of the engine run (injection and queueing included)\n\n"
        "Exit status: 0 done, 1 unreadable or mismatched files or a canceller that cannot run, 2 bad usage.\n");
    return kExitOk;
  }
  if (auto bad = args.unknown({"json", "far", "mic", "out", "impl", "suppression", "ns", "agc", "hpf",
                               "stream-delay-ms", "reference-out"});
      !bad.empty()) {
    return fail(kCmd, "unknown option " + bad[0], kExitUsage);
  }
  if (!args.parse_error().empty()) return fail(kCmd, args.parse_error(), kExitUsage);
  if (!args.positionals().empty()) return fail(kCmd, "unexpected argument '" + args.positionals()[0] + "'", kExitUsage);
  for (const char* required : {"far", "mic", "out"}) {
    if (!args.get(required) || args.get(required)->empty()) {
      return fail(kCmd, std::string("--") + required + " is required (see --help)", kExitUsage);
    }
  }
  EchoCancellerConfig ec;
  auto choose = [&](const char* option, const auto& table, auto& field) {
    const auto word = args.get(option);
    if (!word) return true;
    const auto value = lookup(*word, table);
    if (!value) {
      fail(kCmd, std::string("--") + option + " '" + *word + "' is not known; valid: " + names(table), kExitUsage);
      return false;
    }
    field = *value;
    return true;
  };
  bool hpf = ec.high_pass_filter;
  bool agc = ec.agc_enabled;
  if (!choose("impl", kImpls, ec.implementation) || !choose("suppression", kSuppressions, ec.suppression) ||
      !choose("ns", kNoise, ec.noise_suppression) || !choose("agc", kOnOff, agc) || !choose("hpf", kOnOff, hpf)) {
    return kExitUsage;
  }
  ec.high_pass_filter = hpf;
  ec.agc_enabled = agc;
  const auto delay = number_option(args, kCmd, "stream-delay-ms", -1, -1, 500);
  if (!delay) return kExitUsage;
  if (*delay != std::floor(*delay)) return fail(kCmd, "--stream-delay-ms must be a whole number of ms", kExitUsage);
  ec.stream_delay_ms = static_cast<int>(*delay);
  const std::string far_path = *args.get("far");
  const std::string mic_path = *args.get("mic");
  const std::string out_path = *args.get("out");

  // The files: MIC's type and rate decide OUT's.
  SF_INFO mic_info{};
  SNDFILE* probe = sf_open(mic_path.c_str(), SFM_READ, &mic_info);
  if (probe == nullptr) return fail(kCmd, "cannot read MIC '" + mic_path + "': " + sf_strerror(nullptr));
  sf_close(probe);
  SF_INFO far_info{};
  probe = sf_open(far_path.c_str(), SFM_READ, &far_info);
  if (probe == nullptr) return fail(kCmd, "cannot read FAR '" + far_path + "': " + sf_strerror(nullptr));
  sf_close(probe);
  const int mic_rate = mic_info.samplerate;
  const int far_rate = far_info.samplerate;
  const auto mic_frames = static_cast<size_t>(mic_info.frames);
  const auto far_at_mic_rate = static_cast<int64_t>(
      std::llround(static_cast<double>(far_info.frames) * mic_rate / static_cast<double>(far_rate)));
  const int64_t tolerance = far_rate == mic_rate ? 0 : 1;
  if (std::llabs(far_at_mic_rate - static_cast<int64_t>(mic_frames)) > tolerance) {
    char msg[320];
    std::snprintf(msg, sizeof msg,
                  "FAR and MIC differ in length: FAR '%s' is %.3f s (%lld frames at %d Hz), MIC '%s' is %.3f s "
                  "(%lld frames at %d Hz); they must cover the same time",
                  far_path.c_str(), static_cast<double>(far_info.frames) / far_rate,
                  static_cast<long long>(far_info.frames), far_rate, mic_path.c_str(),
                  static_cast<double>(mic_frames) / mic_rate, static_cast<long long>(mic_frames), mic_rate);
    return fail(kCmd, msg);
  }
  if (mic_frames == 0) return fail(kCmd, "MIC '" + mic_path + "' holds no audio");
  const int engine_rate = mic_rate == 8000 || mic_rate == 16000 ? mic_rate : 16000;
  const auto engine_frames = static_cast<size_t>(
      std::llround(static_cast<double>(mic_frames) * engine_rate / static_cast<double>(mic_rate)));
  auto mic_native = AudioFileReader::read_all(mic_path, 0, 1);
  if (!mic_native.ok()) return fail(kCmd, "MIC: " + mic_native.message());
  auto far_native = AudioFileReader::read_all(far_path, 0, 1);
  if (!far_native.ok()) return fail(kCmd, "FAR: " + far_native.message());
  auto mic = resample_aligned(*mic_native, mic_rate, engine_rate, engine_frames);
  if (!mic.ok()) return fail(kCmd, "MIC: " + mic.message());
  auto far = resample_aligned(*far_native, far_rate, engine_rate, engine_frames);
  if (!far.ok()) return fail(kCmd, "FAR: " + far.message());

  // The engine: inline virtual clock (ticks run in advance() on this thread), no VAD and so no barge-in.
  EngineConfig config = EngineConfig::fast_lane();
  config.audio.sample_rate_hz = engine_rate;
  config.audio.chunk_duration_ms = kPeriodMs;
  config.clock.virtual_mode = VirtualClockMode::kInline;
  config.vad.enabled = false;
  config.barge_in.enabled = false;
  config.metrics.stage_timing = false;
  auto engine = AudioEngine::create(config);
  std::shared_ptr<ReferenceRecorder> recorder;
  if (args.get("reference-out")) {
    // Before the canceller in the capture-pre stage: it sees what the canceller is given.
    recorder = std::make_shared<ReferenceRecorder>(engine_frames);
    if (auto id = engine->add_processor(recorder, ProcessingStage::kCapturePre); !id.ok()) return fail(kCmd, id.message());
  }
  if (Status st = engine->enable_echo_cancellation(ec); !st.ok()) return fail(kCmd, st.message());
  Collected collected;
  collected.out.assign(engine_frames, 0.0f);
  engine->set_realtime_chunk_callback(&Collected::on_chunk, &collected);
  if (Status st = engine->start(); !st.ok()) return fail(kCmd, st.message());
  if (Status st = engine->start_capture(); !st.ok()) return fail(kCmd, st.message());

  const size_t period = engine->period_frames();
  const size_t block = period * static_cast<size_t>(kBlockTicks);
  const AudioFormat float_mono{engine_rate, 1, SampleType::kFloat32};
  Progress progress("aec");
  int64_t ticks = 0;
  std::chrono::nanoseconds busy{0};
  int64_t cpu_ns = 0;
  for (size_t at = 0; at < engine_frames; at += block) {
    const size_t n = std::min(block, engine_frames - at);
    // The capture ring and the playback queue each get the same span of time; the last tick of a partial
    // period runs on silence past the end of both.
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t cpu0 = thread_cpu_ns();
    if (Status st = engine->inject_test_audio(std::span<const float>(mic->data() + at, n)); !st.ok()) {
      return fail(kCmd, st.message());
    }
    if (Status st = engine->queue_playback(far->data() + at, n * sizeof(float), float_mono); !st.ok()) {
      return fail(kCmd, st.message());
    }
    const auto num_ticks = static_cast<int64_t>((n + period - 1) / period);
    if (Status st = engine->advance_ticks(num_ticks); !st.ok()) return fail(kCmd, st.message());
    busy += std::chrono::steady_clock::now() - t0;
    cpu_ns += thread_cpu_ns() - cpu0;
    ticks += num_ticks;
    progress.update(static_cast<double>(at + n) / static_cast<double>(engine_frames));
  }
  progress.finish();
  engine->set_realtime_chunk_callback(nullptr, nullptr);
  const auto metrics = engine->get_duplex_metrics();
  if (!metrics.ok()) return fail(kCmd, metrics.message());
  (void)engine->shutdown();

  auto out = resample_aligned(collected.out, engine_rate, mic_rate, mic_frames);
  if (!out.ok()) return fail(kCmd, "OUT: " + out.message());
  if (Status st = write_mono(out_path, mic_info.format, mic_rate, *out); !st.ok()) return fail(kCmd, st.message());
  if (recorder) {
    const std::string ref_path = *args.get("reference-out");
    if (Status st = write_mono(ref_path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, engine_rate, recorder->reference()); !st.ok()) {
      return fail(kCmd, st.message());
    }
  }

  const double frames = static_cast<double>(std::max<int64_t>(ticks, 1));
  const double us_per_frame = 1e-3 * static_cast<double>(cpu_ns) / frames;
  const double wall_us_per_frame = 1e-3 * static_cast<double>(busy.count()) / frames;
  if (args.has("json")) {
    std::printf("{\"erle_db\":%.2f,\"delay_ms\":%d,\"frames\":%lld,\"mean_us_per_frame\":%.2f,"
                "\"wall_us_per_frame\":%.2f,\"double_talk_fraction\":%.4f}\n",
                metrics->erle_db, metrics->delay_ms, static_cast<long long>(metrics->frames), us_per_frame,
                wall_us_per_frame, metrics->double_talk_fraction);
  } else {
    std::printf("%s: %zu samples at %d Hz, echo-cancelled (%s at %d Hz) into %s\n", mic_path.c_str(), mic_frames,
                mic_rate, args.get("impl").value_or("webrtc").c_str(), engine_rate, out_path.c_str());
    std::printf("  ERLE %.1f dB (last far-end-only second), delay estimate %d ms, double talk %.1f%% of far-end "
                "frames\n",
                metrics->erle_db, metrics->delay_ms, 100.0 * metrics->double_talk_fraction);
    std::printf("  %lld frames of %d ms, %.1f us of CPU per frame (%.0f sessions per core), %.1f us wall\n",
                static_cast<long long>(metrics->frames), kPeriodMs, us_per_frame,
                us_per_frame > 0 ? 1000.0 * kPeriodMs / us_per_frame : 0.0, wall_us_per_frame);
  }
  return kExitOk;
}

}  // namespace ae::cli
