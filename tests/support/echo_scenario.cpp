#include "echo_scenario.hpp"

#include <audioengine/resampler.hpp>
#include <audioengine/speech_synth.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include <unistd.h>

namespace ae::test {
namespace {

double rms(const std::vector<float>& x, size_t begin, size_t end) {
  double sum = 0.0;
  for (size_t i = begin; i < end && i < x.size(); ++i) sum += static_cast<double>(x[i]) * x[i];
  return end > begin ? std::sqrt(sum / static_cast<double>(end - begin)) : 0.0;
}

// Sentences from `texts`, spoken in turn with 300 ms pauses, until `length` samples are filled.
Result<std::vector<float>> speech_track(const std::vector<std::string>& texts, const SpeechOptions& voice,
                                        size_t length) {
  std::vector<float> out;
  out.reserve(length);
  const size_t pause = static_cast<size_t>(voice.sample_rate_hz) * 3 / 10;
  for (size_t k = 0; out.size() < length; ++k) {
    auto s = synthesize_speech(texts[k % texts.size()], voice);
    if (!s.ok()) return s.error_info();
    out.insert(out.end(), s->begin(), s->end());
    out.insert(out.end(), pause, 0.0f);
  }
  out.resize(length);
  return out;
}

// `x` at `to_hz`, time-aligned (soxr's delay removed), the same length in seconds.
Result<std::vector<float>> resampled(const std::vector<float>& x, int from_hz, int to_hz) {
  ResamplerConfig rc;
  rc.input_rate_hz = from_hz;
  rc.output_rate_hz = to_hz;
  rc.kind = ResamplerKind::kSoxr;
  rc.max_input_frames = x.size();
  auto r = Resampler::create(rc);
  if (!r.ok()) return r.error_info();
  std::vector<float> y(r.value()->max_output_frames(x.size()) + r.value()->max_flush_frames());
  size_t n = r.value()->process(x.data(), x.size(), y.data(), y.size());
  n += r.value()->flush(y.data() + n, y.size() - n);
  y.resize(n);
  const auto skip = static_cast<std::ptrdiff_t>(std::lround(r.value()->delay_frames()));
  y.erase(y.begin(), y.begin() + std::min<std::ptrdiff_t>(skip, static_cast<std::ptrdiff_t>(y.size())));
  y.resize(static_cast<size_t>(static_cast<int64_t>(x.size()) * to_hz / from_hz), 0.0f);
  return y;
}

}  // namespace

Result<EchoScenario> make_echo_scenario(const EchoScenarioOptions& o) {
  if (o.far_only_s <= 0 || o.double_talk_s <= 0 || o.near_only_s <= 0)
    return Result<EchoScenario>(Error::kInvalidArgument, "echo scenario: every stretch must be positive");
  if (o.sample_rate_hz != kRoomRateHz) {
    // The room is simulated at 16 kHz and the tracks brought to the rate together: the direct convolution with
    // the room's tail costs rate squared, and speech carries next to nothing above 8 kHz.
    EchoScenarioOptions at_room = o;
    at_room.sample_rate_hz = kRoomRateHz;
    auto base = make_echo_scenario(at_room);
    if (!base.ok()) return base;
    EchoScenario sc;
    sc.sample_rate_hz = o.sample_rate_hz;
    auto scale = [&](size_t i) { return static_cast<size_t>(static_cast<int64_t>(i) * o.sample_rate_hz / kRoomRateHz); };
    sc.double_talk_begin = scale(base->double_talk_begin);
    sc.double_talk_end = scale(base->double_talk_end);
    sc.near_only_begin = scale(base->near_only_begin);
    for (auto [src, dst] : {std::pair{&base->far, &sc.far}, {&base->mic, &sc.mic}, {&base->near, &sc.near},
                            {&base->echo, &sc.echo}}) {
      auto r = resampled(*src, kRoomRateHz, o.sample_rate_hz);
      if (!r.ok()) return r.error_info();
      *dst = std::move(r).value();
    }
    return sc;
  }
  const double fs = o.sample_rate_hz;
  EchoScenario sc;
  sc.sample_rate_hz = o.sample_rate_hz;
  sc.double_talk_begin = static_cast<size_t>(o.far_only_s * fs);
  sc.double_talk_end = sc.double_talk_begin + static_cast<size_t>(o.double_talk_s * fs);
  sc.near_only_begin = sc.double_talk_end;
  const size_t total = sc.double_talk_end + static_cast<size_t>(o.near_only_s * fs);

  SpeechOptions far_voice;
  far_voice.voice = "en";
  far_voice.sample_rate_hz = o.sample_rate_hz;
  SpeechOptions near_voice;
  near_voice.voice = "en+f3";
  near_voice.pitch = 70;
  near_voice.words_per_minute = 160;
  near_voice.sample_rate_hz = o.sample_rate_hz;
  auto far = speech_track({"The weather today will be sunny with a light breeze from the west.",
                           "Your appointment has been moved to Thursday at three in the afternoon.",
                           "I found four restaurants near you that are open until midnight.",
                           "Please hold on while I look up the details of your order."},
                          far_voice, sc.double_talk_end);
  if (!far.ok()) return far.error_info();
  auto near = speech_track({"Wait, stop, that is not what I asked for at all.",
                            "Can you tell me how long the drive to the airport takes?",
                            "No, I meant the other one, the blue one on the left."},
                           near_voice, total - sc.double_talk_begin);
  if (!near.ok()) return near.error_info();

  const double far_gain = std::pow(10.0, o.far_level_dbfs / 20.0) / std::max(rms(*far, 0, far->size()), 1e-9);
  sc.far.assign(total, 0.0f);
  for (size_t i = 0; i < far->size(); ++i) sc.far[i] = static_cast<float>((*far)[i] * far_gain);
  const double far_rms = rms(sc.far, 0, sc.double_talk_end);

  // Room: a direct-path tap at the delay, then decaying Gaussian noise (60 dB down after rt60), 0.6 * rt60 long.
  std::mt19937 rng(o.seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  const size_t delay = static_cast<size_t>(o.delay_ms * fs / 1000.0);
  const size_t tail = std::max<size_t>(1, static_cast<size_t>(0.6 * o.rt60_s * fs));
  std::vector<double> rir(tail);
  rir[0] = 1.0;
  for (size_t k = 1; k < tail; ++k) rir[k] = 0.5 * gauss(rng) * std::exp(-6.9 * static_cast<double>(k) / (o.rt60_s * fs));
  sc.echo.assign(total, 0.0f);
  for (size_t i = delay; i < total; ++i) {
    double acc = 0.0;
    const size_t src = i - delay;
    const size_t kmax = std::min(tail, src + 1);
    for (size_t k = 0; k < kmax; ++k) acc += rir[k] * sc.far[src - k];
    sc.echo[i] = static_cast<float>(acc);
  }
  const double echo_gain = std::pow(10.0, o.echo_level_db / 20.0) * far_rms /
                           std::max(rms(sc.echo, delay, sc.double_talk_end), 1e-12);
  for (float& v : sc.echo) v = static_cast<float>(v * echo_gain);

  sc.near.assign(total, 0.0f);
  const double near_gain = std::pow(10.0, o.near_level_db / 20.0) * far_rms /
                           std::max(rms(*near, 0, near->size()), 1e-12);
  for (size_t i = 0; i < near->size(); ++i) sc.near[sc.double_talk_begin + i] = static_cast<float>((*near)[i] * near_gain);

  const double noise_rms = std::pow(10.0, o.noise_dbfs / 20.0);
  sc.mic.resize(total);
  for (size_t i = 0; i < total; ++i)
    sc.mic[i] = static_cast<float>(sc.echo[i] + sc.near[i] + noise_rms * gauss(rng));
  return sc;
}

double level_db(const std::vector<float>& a, const std::vector<float>& b, size_t begin, size_t end,
                size_t lag_frames) {
  double ea = 0.0, eb = 0.0;
  for (size_t i = begin; i < end; ++i) {
    ea += static_cast<double>(a[i]) * a[i];
    const double r = i >= lag_frames ? b[i - lag_frames] : 0.0;
    eb += r * r;
  }
  return 10.0 * std::log10((ea + 1e-20) / (eb + 1e-20));
}

double correlation(const std::vector<float>& out, const std::vector<float>& ref, size_t begin, size_t end,
                   size_t lag_frames) {
  double xy = 0.0, xx = 0.0, yy = 0.0;
  for (size_t i = begin; i < end; ++i) {
    const double x = out[i];
    const double y = i >= lag_frames ? ref[i - lag_frames] : 0.0;
    xy += x * y;
    xx += x * x;
    yy += y * y;
  }
  return xy / std::sqrt(xx * yy + 1e-30);
}

size_t best_lag(const std::vector<float>& out, const std::vector<float>& ref, size_t begin, size_t end,
                size_t max_lag_frames) {
  size_t best = 0;
  double best_c = -2.0;
  for (size_t lag = 0; lag <= max_lag_frames; ++lag) {
    const double c = correlation(out, ref, begin, end, lag);
    if (c > best_c) {
      best_c = c;
      best = lag;
    }
  }
  return best;
}

namespace {

// ctest runs every test case in a process of its own, and building a scenario (speech synthesis, the room's
// convolution) takes seconds under the sanitizers: the first process to build one leaves it in the build tree for
// the others. The file name carries the time this file was compiled, so a changed generator never reads an old one.
// Without AE_TEST_CACHE_DIR (the benchmarks, one process each) there is no file.
std::string scenario_cache_path(int sample_rate_hz, int delay_ms) {
#ifndef AE_TEST_CACHE_DIR
  (void)sample_rate_hz;
  (void)delay_ms;
  return {};
#else
  std::string stamp = std::string(__DATE__ "_" __TIME__);
  for (char& c : stamp) {
    if (c == ' ' || c == ':') c = '_';
  }
  return std::string(AE_TEST_CACHE_DIR) + "/echo_scenario_" + std::to_string(sample_rate_hz) + "_" +
         std::to_string(delay_ms) + "_" + stamp + ".bin";
#endif
}

struct ScenarioFileHeader {
  uint64_t magic = 0x31436e6563686fULL;
  int64_t sample_rate_hz = 0;
  uint64_t samples = 0;
  uint64_t double_talk_begin = 0, double_talk_end = 0, near_only_begin = 0;
};

bool load_scenario(const std::string& path, EchoScenario& sc) {
  if (path.empty()) return false;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  ScenarioFileHeader h, want;
  bool ok = std::fread(&h, sizeof h, 1, f) == 1 && h.magic == want.magic;
  if (ok) {
    sc.sample_rate_hz = static_cast<int>(h.sample_rate_hz);
    sc.double_talk_begin = h.double_talk_begin;
    sc.double_talk_end = h.double_talk_end;
    sc.near_only_begin = h.near_only_begin;
    for (auto* v : {&sc.far, &sc.mic, &sc.near, &sc.echo}) {
      v->resize(h.samples);
      ok = ok && std::fread(v->data(), sizeof(float), v->size(), f) == v->size();
    }
  }
  std::fclose(f);
  return ok;
}

void save_scenario(const std::string& path, const EchoScenario& sc) {
  if (path.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return;  // only a cache: the next process builds it again
  ScenarioFileHeader h;
  h.sample_rate_hz = sc.sample_rate_hz;
  h.samples = sc.mic.size();
  h.double_talk_begin = sc.double_talk_begin;
  h.double_talk_end = sc.double_talk_end;
  h.near_only_begin = sc.near_only_begin;
  bool ok = std::fwrite(&h, sizeof h, 1, f) == 1;
  for (const auto* v : {&sc.far, &sc.mic, &sc.near, &sc.echo}) {
    ok = ok && v->size() == h.samples && std::fwrite(v->data(), sizeof(float), v->size(), f) == v->size();
  }
  ok = std::fclose(f) == 0 && ok;
  // The rename makes the file appear whole to processes reading it in parallel.
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) std::filesystem::remove(tmp, ec);
}

}  // namespace

const EchoScenario& cached_echo_scenario(int sample_rate_hz, int delay_ms) {
  static std::map<std::pair<int, int>, EchoScenario> cache;
  const auto key = std::make_pair(sample_rate_hz, delay_ms);
  auto it = cache.find(key);
  if (it == cache.end()) {
    const std::string path = scenario_cache_path(sample_rate_hz, delay_ms);
    EchoScenario loaded;
    if (load_scenario(path, loaded)) {
      it = cache.emplace(key, std::move(loaded)).first;
      return it->second;
    }
    EchoScenarioOptions o;
    o.sample_rate_hz = sample_rate_hz;
    o.delay_ms = delay_ms;
    auto sc = make_echo_scenario(o);
    if (!sc.ok()) {
      std::fprintf(stderr, "echo scenario: %s\n", sc.message().c_str());
      std::abort();
    }
    save_scenario(path, sc.value());
    it = cache.emplace(key, std::move(sc.value())).first;
  }
  return it->second;
}

std::vector<float> run_echo_processor(EchoProcessor& p, const EchoScenario& sc, int delay_hint_ms, size_t block,
                                      std::vector<uint8_t>* double_talk) {
  std::vector<float> out = sc.mic;
  const size_t usable = out.size() / block * block;
  out.resize(usable);
  for (size_t off = 0; off < usable; off += block) {
    ProcessContext ctx;
    ctx.sample_rate_hz = sc.sample_rate_hz;
    ctx.t_samples = static_cast<int64_t>(off);
    ctx.stage = ProcessingStage::kCapturePre;
    ctx.render = sc.far.data() + off;
    ctx.render_frames = block;
    ctx.echo_delay_ms = delay_hint_ms;
    p.process(out.data() + off, block, ctx);
    if (double_talk != nullptr) double_talk->push_back(p.double_talk() ? 1 : 0);
  }
  return out;
}

double erle_db(const EchoScenario& sc, const std::vector<float>& out, double converge_s) {
  const size_t begin = static_cast<size_t>(converge_s * sc.sample_rate_hz);
  return level_db(sc.mic, out, begin, sc.double_talk_begin);
}

NearFigures near_figures(const EchoScenario& sc, const std::vector<float>& out) {
  const size_t begin = sc.double_talk_begin, end = sc.double_talk_end;
  NearFigures f;
  f.lag = best_lag(out, sc.near, begin, end, static_cast<size_t>(sc.sample_rate_hz / 50));
  f.correlation = correlation(out, sc.near, begin, end, f.lag);
  f.level_db = level_db(out, sc.near, begin + f.lag, end, f.lag);
  return f;
}

ProbedRun run_probed(EchoProcessor& p, const EchoScenario& sc, int delay_hint_ms, size_t block) {
  std::vector<float> out = sc.mic;
  const size_t usable = out.size() / block * block;
  ProbedRun run;
  bool last = false;
  rt::reset_violation_counts();
  {
    rt::ScopedAudioThread audio;
    for (size_t off = 0; off < usable; off += block) {
      ProcessContext ctx;
      ctx.sample_rate_hz = sc.sample_rate_hz;
      ctx.render = sc.far.data() + off;
      ctx.render_frames = block;
      ctx.echo_delay_ms = delay_hint_ms;
      p.process(out.data() + off, block, ctx);
      run.double_talk_switches += p.double_talk() != last;
      last = p.double_talk();
      run.metrics = p.duplex_metrics();
    }
    p.reset();
  }
  run.violations = rt::violation_counts();
  return run;
}

ReadWhileProcessing run_with_metrics_reader(EchoProcessor& p, const EchoScenario& sc, int delay_hint_ms,
                                            size_t block) {
  ReadWhileProcessing r;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    int64_t last = 0;
    while (!done.load(std::memory_order_acquire)) {
      const DuplexMetrics m = p.duplex_metrics();
      r.went_back += m.frames < last;
      last = m.frames;
      ++r.reads;
    }
  });
  r.out = run_echo_processor(p, sc, delay_hint_ms, block);
  done.store(true, std::memory_order_release);
  reader.join();
  return r;
}

NoiseLag white_noise_lag(AudioProcessor& p, int sample_rate_hz, size_t block, size_t max_lag) {
  std::mt19937 rng(7);
  std::normal_distribution<float> g(0.0f, 0.05f);
  std::vector<float> x(static_cast<size_t>(sample_rate_hz) * 2 / block * block);
  for (float& v : x) v = g(rng);
  std::vector<float> y = x;
  for (size_t off = 0; off < y.size(); off += block) {
    ProcessContext ctx;
    ctx.sample_rate_hz = sample_rate_hz;
    p.process(y.data() + off, block, ctx);
  }
  const size_t begin = static_cast<size_t>(sample_rate_hz / 2);
  NoiseLag r;
  r.lag = best_lag(y, x, begin, y.size(), max_lag);
  r.correlation = correlation(y, x, begin, y.size(), r.lag);
  return r;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0.0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(double{a[i]} - b[i]));
  return m;
}

}  // namespace ae::test
