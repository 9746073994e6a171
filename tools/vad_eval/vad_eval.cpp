// vad_eval: frame-level accuracy of the voice activity detectors on labelled audio (docs/vad.md).
//
//   vad_eval label FILE   labels the speech in a clean recording (the rule is in label_speech below) and prints
//                         its active speech level; tools/vad_eval/make_corpus.sh builds the corpus with it.
//   vad_eval run DIR      runs every detector make_vad() can build over the corpus in DIR at the engine's default
//                         VAD settings and prints precision / recall / F1 per algorithm, noise and SNR.
//
// Exit codes: 0 success, 1 failure (unreadable file, a requested algorithm unavailable), 2 bad usage.
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "audioengine/vad.hpp"
#include "audioengine/vad_stream.hpp"
#include "cli.hpp"

namespace {

using ae::cli::Args;
using ae::cli::kExitFailure;
using ae::cli::kExitOk;
using ae::cli::kExitUsage;

// ---- the label rule -------------------------------------------------------------------------------------------
// 10 ms frames: the resolution of the scores; finer than any detector's frame, coarser than a plosive burst.
constexpr int kLabelFrameMs = 10;
// A frame is speech when its level is within 35 dB of the loudest frame of the same clip. Vowels lie 0-15 dB
// under that frame; weak fricatives and breathy word ends 25-35 dB under it, while the recordings' floor (room
// and line noise; the 10th-percentile frame of the clips make_corpus.sh uses) lies 42 dB or more under it.
constexpr double kLabelMarginDb = 35.0;
// Silences shorter than 100 ms between speech frames are speech: stop-consonant closures and the dips between
// syllables are part of the word, and no detector at 20-32 ms frames could resolve them anyway.
constexpr int kLabelBridgeMs = 100;
// Speech runs shorter than 30 ms (after bridging) are not speech: lip smacks and clicks, not words.
constexpr int kLabelMinRunMs = 30;

struct Audio {
  int sample_rate_hz = 0;
  std::vector<float> mono;
};

int fail(const std::string& message, int code = kExitFailure) {
  std::fprintf(stderr, "vad_eval: %s\n", message.c_str());
  return code;
}

// Reads any file libsndfile reads, channels averaged. nullopt (after a message) when it cannot.
std::optional<Audio> read_mono(const std::string& path) {
  SF_INFO info{};
  SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
  if (file == nullptr) {
    fail("cannot read '" + path + "': " + sf_strerror(nullptr));
    return std::nullopt;
  }
  if (info.samplerate < 8000 || info.samplerate > 192000) {
    sf_close(file);
    fail("'" + path + "' is at " + std::to_string(info.samplerate) + " Hz; valid: 8000..192000 Hz");
    return std::nullopt;
  }
  Audio audio;
  audio.sample_rate_hz = info.samplerate;
  const auto channels = static_cast<size_t>(info.channels);
  std::vector<float> block(4096 * channels);
  sf_count_t got;
  while ((got = sf_readf_float(file, block.data(), 4096)) > 0) {
    for (sf_count_t i = 0; i < got; ++i) {
      float sum = 0;
      for (size_t c = 0; c < channels; ++c) sum += block[static_cast<size_t>(i) * channels + c];
      audio.mono.push_back(sum / static_cast<float>(channels));
    }
  }
  sf_close(file);
  return audio;
}

size_t label_frame_samples(int sample_rate_hz) {
  return static_cast<size_t>(sample_rate_hz * kLabelFrameMs / 1000);
}

struct Labels {
  std::vector<uint8_t> speech;  // per label frame
  double active_level_dbfs = -120;  // mean power of the speech frames
};

// Applies the label rule above to a clean recording; a partial last frame is dropped.
Labels label_speech(const Audio& audio) {
  const size_t frame = label_frame_samples(audio.sample_rate_hz);
  const size_t num_frames = audio.mono.size() / frame;
  std::vector<double> power(num_frames, 0.0);
  double peak_power = 0;
  for (size_t k = 0; k < num_frames; ++k) {
    double sum = 0;
    for (size_t i = 0; i < frame; ++i) {
      const double x = audio.mono[k * frame + i];
      sum += x * x;
    }
    power[k] = sum / static_cast<double>(frame);
    peak_power = std::max(peak_power, power[k]);
  }
  Labels labels;
  labels.speech.assign(num_frames, 0);
  const double threshold = peak_power * std::pow(10.0, -kLabelMarginDb / 10.0);
  for (size_t k = 0; k < num_frames; ++k) labels.speech[k] = peak_power > 0 && power[k] >= threshold;

  // Runs of equal value: bridge short silences between speech, then drop short speech runs.
  const auto fill = [&](size_t begin, size_t end, uint8_t value) {
    const auto first = labels.speech.begin();
    std::fill(first + static_cast<ptrdiff_t>(begin), first + static_cast<ptrdiff_t>(end), value);
  };
  auto for_each_run = [&](uint8_t value, auto&& fn) {
    for (size_t k = 0; k < num_frames;) {
      size_t end = k;
      while (end < num_frames && labels.speech[end] == labels.speech[k]) ++end;
      if (labels.speech[k] == value) fn(k, end);
      k = end;
    }
  };
  const auto bridge_frames = static_cast<size_t>(kLabelBridgeMs / kLabelFrameMs);
  for_each_run(0, [&](size_t begin, size_t end) {
    if (begin > 0 && end < num_frames && end - begin < bridge_frames) fill(begin, end, 1);
  });
  const auto min_run_frames = static_cast<size_t>(kLabelMinRunMs / kLabelFrameMs);
  for_each_run(1, [&](size_t begin, size_t end) {
    if (end - begin < min_run_frames) fill(begin, end, 0);
  });

  double speech_power = 0;
  size_t speech_frames = 0;
  for (size_t k = 0; k < num_frames; ++k) {
    if (labels.speech[k]) {
      speech_power += power[k];
      ++speech_frames;
    }
  }
  if (speech_frames > 0 && speech_power > 0) {
    labels.active_level_dbfs = 10.0 * std::log10(speech_power / static_cast<double>(speech_frames));
  }
  return labels;
}

int cmd_label(const std::vector<std::string>& argv) {
  Args args = Args::parse(argv, {"help"});
  if (args.has("help")) {
    std::printf(
        "usage: vad_eval label FILE\n\n"
        "Labels the speech of a clean recording (channels averaged) in %d ms frames: a frame is speech when its\n"
        "level is within %.0f dB of the clip's loudest frame; silences under %d ms between speech are speech;\n"
        "speech runs under %d ms are not. Prints 'active_level_dbfs L' (mean power of the speech frames), then\n"
        "one line 'START END' per speech interval, in samples (END exclusive).\n",
        kLabelFrameMs, kLabelMarginDb, kLabelBridgeMs, kLabelMinRunMs);
    return kExitOk;
  }
  if (auto bad = args.unknown({}); !bad.empty()) return fail("label: unknown option " + bad[0], kExitUsage);
  if (!args.parse_error().empty()) return fail("label: " + args.parse_error(), kExitUsage);
  if (args.positionals().size() != 1) return fail("label: expected one FILE (see --help)", kExitUsage);
  auto audio = read_mono(args.positionals()[0]);
  if (!audio) return kExitFailure;
  const Labels labels = label_speech(*audio);
  const size_t frame = label_frame_samples(audio->sample_rate_hz);
  std::printf("active_level_dbfs %.3f\n", labels.active_level_dbfs);
  for (size_t k = 0; k < labels.speech.size();) {
    size_t end = k;
    while (end < labels.speech.size() && labels.speech[end] == labels.speech[k]) ++end;
    if (labels.speech[k]) std::printf("%zu %zu\n", k * frame, end * frame);
    k = end;
  }
  return kExitOk;
}

// ---- evaluation -----------------------------------------------------------------------------------------------

struct CorpusFile {
  std::string path;
  std::string noise;
  std::optional<double> snr_db;  // nullopt: the clean signal
};

struct Score {
  int64_t tp = 0, fp = 0, fn = 0, tn = 0;
  double precision() const { return tp + fp > 0 ? static_cast<double>(tp) / static_cast<double>(tp + fp) : 0.0; }
  double recall() const { return tp + fn > 0 ? static_cast<double>(tp) / static_cast<double>(tp + fn) : 0.0; }
  // Share of the non-speech frames called speech.
  double false_alarm() const { return fp + tn > 0 ? static_cast<double>(fp) / static_cast<double>(fp + tn) : 0.0; }
  double f1() const {
    const double p = precision(), r = recall();
    return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
  }
};

// Three views of one run: the segments (the segmenter's output: onset back-dated to the first frame of the
// confirming run, end at the first silent sample; what the engine's events and delivered audio follow), the state
// after each frame (late by the confirmation time at onsets and by min_silence_ms at ends), and the raw
// per-frame decision p >= activation_threshold.
struct Row {
  std::string algorithm;
  const CorpusFile* file = nullptr;
  size_t frame_samples = 0;
  Score segments, state, raw;
};

// Frame sizes: 20 ms for the frame-based detectors (a common capture period, and a size WebRTC's detector
// accepts); Silero's own chunk (512 samples at 16 kHz, 256 at 8 kHz), so each frame gets a fresh probability.
size_t frame_samples_for(ae::VadAlgorithm algorithm, int sample_rate_hz) {
  if (algorithm == ae::VadAlgorithm::kSilero) return sample_rate_hz == 8000 ? 256 : 512;
  return static_cast<size_t>(sample_rate_hz / 50);
}

void score(Score& s, bool detected, bool labelled) {
  if (detected && labelled) ++s.tp;
  if (detected && !labelled) ++s.fp;
  if (!detected && labelled) ++s.fn;
  if (!detected && !labelled) ++s.tn;
}

// Scores label frame k by the detector frame that holds its middle sample.
void score_stream(const ae::VadStream& stream, const ae::VadConfig& config, const std::vector<uint8_t>& labels,
                  Row& row) {
  const size_t label_frame = label_frame_samples(stream.sample_rate_hz());
  const auto& frames = stream.frames();
  const auto segments = stream.segments();
  const int64_t end = stream.position_samples();
  size_t seg = 0;
  for (size_t k = 0; k < labels.size(); ++k) {
    const auto mid = static_cast<int64_t>(k * label_frame + label_frame / 2);
    if (mid >= end) break;
    const ae::VadFrame& f = frames[static_cast<size_t>(mid) / stream.frame_samples()];
    while (seg < segments.size() && segments[seg].end_sample >= 0 && segments[seg].end_sample <= mid) ++seg;
    const bool in_segment = seg < segments.size() && segments[seg].start_sample <= mid;
    score(row.segments, in_segment, labels[k]);
    score(row.state, f.state == ae::VadState::kSpeaking, labels[k]);
    score(row.raw, f.probability >= config.activation_threshold, labels[k]);
  }
}

std::optional<std::vector<std::string>> split_list(const Args& args, const std::string& name,
                                                   const std::vector<std::string>& valid) {
  std::vector<std::string> out;
  auto text = args.get(name);
  if (!text) return valid;
  std::stringstream ss(*text);
  for (std::string item; std::getline(ss, item, ',');) {
    if (!valid.empty() && std::find(valid.begin(), valid.end(), item) == valid.end()) {
      std::string list;
      for (const auto& v : valid) list += (list.empty() ? "" : ", ") + v;
      fail("run: --" + name + " '" + item + "' is not known; valid: " + list, kExitUsage);
      return std::nullopt;
    }
    out.push_back(item);
  }
  return out;
}

std::string snr_text(const CorpusFile& f) {
  if (!f.snr_db) return "clean";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", *f.snr_db);
  return buf;
}

void print_json(const std::string& dir, double speech_fraction, const std::vector<Row>& rows,
                const std::vector<std::pair<std::string, std::string>>& unavailable) {
  auto metrics = [](const Score& s) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "{\"precision\":%.4f,\"recall\":%.4f,\"f1\":%.4f,\"false_alarm\":%.4f,\"tp\":%lld,\"fp\":%lld,"
                  "\"fn\":%lld,\"tn\":%lld}",
                  s.precision(), s.recall(), s.f1(), s.false_alarm(), static_cast<long long>(s.tp),
                  static_cast<long long>(s.fp), static_cast<long long>(s.fn), static_cast<long long>(s.tn));
    return std::string(buf);
  };
  std::printf("{\"corpus\":\"%s\",\"label_frame_ms\":%d,\"speech_fraction\":%.4f,\"unavailable\":[",
              ae::cli::json_escape(dir).c_str(), kLabelFrameMs, speech_fraction);
  for (size_t i = 0; i < unavailable.size(); ++i) {
    std::printf("%s{\"algorithm\":\"%s\",\"error\":\"%s\"}", i ? "," : "", unavailable[i].first.c_str(),
                ae::cli::json_escape(unavailable[i].second).c_str());
  }
  std::printf("],\"results\":[");
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    std::printf("%s\n{\"algorithm\":\"%s\",\"noise\":\"%s\",\"snr_db\":%s,\"frame_samples\":%zu,\"segments\":%s,"
                "\"state\":%s,\"raw\":%s}",
                i ? "," : "", r.algorithm.c_str(), ae::cli::json_escape(r.file->noise).c_str(),
                r.file->snr_db ? snr_text(*r.file).c_str() : "null", r.frame_samples, metrics(r.segments).c_str(),
                metrics(r.state).c_str(), metrics(r.raw).c_str());
  }
  std::printf("\n]}\n");
}

void print_table(const std::string& dir, double speech_fraction, const std::vector<Row>& rows,
                 const std::vector<std::pair<std::string, std::string>>& unavailable) {
  std::printf("corpus %s: speech in %.1f%% of the %d ms frames\n", dir.c_str(), 100 * speech_fraction,
              kLabelFrameMs);
  for (const auto& [algo, error] : unavailable) std::printf("%s: not evaluated (%s)\n", algo.c_str(), error.c_str());
  std::printf("\n%-14s %-8s %6s %6s | %-20s | %-20s | %-20s\n", "", "", "", "", "segments", "state", "raw p>=act");
  std::printf("%-14s %-8s %6s %6s | %6s %6s %6s | %6s %6s %6s | %6s %6s %6s\n", "algorithm", "noise", "SNR", "frame",
              "P", "R", "F1", "P", "R", "F1", "P", "R", "F1");
  for (const Row& r : rows) {
    std::printf("%-14s %-8s %6s %6zu | %6.3f %6.3f %6.3f | %6.3f %6.3f %6.3f | %6.3f %6.3f %6.3f\n",
                r.algorithm.c_str(), r.file->noise.c_str(), snr_text(*r.file).c_str(), r.frame_samples,
                r.segments.precision(), r.segments.recall(), r.segments.f1(), r.state.precision(), r.state.recall(),
                r.state.f1(), r.raw.precision(), r.raw.recall(), r.raw.f1());
  }
}

int cmd_run(const std::vector<std::string>& argv) {
  Args args = Args::parse(argv, {"help", "json", "baselines"});
  if (args.has("help")) {
    std::printf(
        "usage: vad_eval run DIR [--algo LIST] [--noise LIST] [--snr LIST] [--baselines] [--json]\n\n"
        "Runs every VAD algorithm make_vad() can build (energy, webrtc, silero; those it cannot are listed as not\n"
        "evaluated) over the corpus in DIR (made by tools/vad_eval/make_corpus.sh: manifest.tsv, labels.txt and\n"
        "the WAV files) at the engine's default VAD settings, frames of 20 ms (Silero: 512 samples at 16 kHz),\n"
        "and scores every %d ms frame against the labels: precision, recall and F1 of the segments, of the\n"
        "segmenter's state and of the raw decision p >= activation_threshold.\n\n"
        "  --algo LIST     comma-separated algorithms to run; one that cannot be built is then an error\n"
        "  --noise LIST    only these noise kinds (as in manifest.tsv; 'clean' is the unmixed signal)\n"
        "  --snr LIST      only these SNRs in dB (the clean file is kept unless --noise excludes it)\n"
        "  --baselines     adds the detectors 'always-speech' and 'never-speech' (the floor any score must beat)\n"
        "  --json          one JSON object: {\"speech_fraction\":..,\"unavailable\":[..],\"results\":[{\"algorithm\",\n"
        "                  \"noise\",\"snr_db\" (null: clean),\"frame_samples\",\"segments\"|\"state\"|\"raw\":\n"
        "                  {\"precision\",\"recall\",\"f1\",\"false_alarm\",\"tp\",\"fp\",\"fn\",\"tn\"}},..]}\n",
        kLabelFrameMs);
    return kExitOk;
  }
  if (auto bad = args.unknown({"json", "algo", "noise", "snr", "baselines"}); !bad.empty()) {
    return fail("run: unknown option " + bad[0], kExitUsage);
  }
  if (!args.parse_error().empty()) return fail("run: " + args.parse_error(), kExitUsage);
  if (args.positionals().size() != 1) return fail("run: expected one corpus DIR (see --help)", kExitUsage);
  const std::string dir = args.positionals()[0];
  const auto algos = split_list(args, "algo", {"energy", "webrtc", "silero"});
  const auto noises = split_list(args, "noise", {});
  const auto snrs = split_list(args, "snr", {});
  if (!algos || !noises || !snrs) return kExitUsage;

  std::vector<CorpusFile> files;
  std::ifstream manifest(dir + "/manifest.tsv");
  if (!manifest) return fail("run: cannot read " + dir + "/manifest.tsv (make it with tools/vad_eval/make_corpus.sh)");
  for (std::string line; std::getline(manifest, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream ss(line);
    CorpusFile f;
    std::string snr;
    if (!(ss >> f.path >> f.noise >> snr)) return fail("run: bad manifest line '" + line + "'");
    f.path = dir + "/" + f.path;
    if (snr != "clean") {
      char* end = nullptr;
      f.snr_db = std::strtod(snr.c_str(), &end);
      if (end == snr.c_str() || *end != '\0') return fail("run: bad SNR '" + snr + "' in manifest.tsv");
    }
    const bool noise_ok = !args.has("noise") || std::count(noises->begin(), noises->end(), f.noise);
    const bool snr_ok = !f.snr_db || !args.has("snr") ||
                        std::any_of(snrs->begin(), snrs->end(), [&](const std::string& s) { return s == snr; });
    if (noise_ok && snr_ok) files.push_back(f);
  }
  if (files.empty()) return fail("run: no corpus file left after --noise / --snr");

  std::vector<uint8_t> labels;
  std::ifstream label_file(dir + "/labels.txt");
  if (!label_file) return fail("run: cannot read " + dir + "/labels.txt");
  std::vector<std::pair<int64_t, int64_t>> intervals;
  for (std::string line; std::getline(label_file, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream ss(line);
    int64_t start = 0, end = 0;
    if (!(ss >> start >> end) || start < 0 || end < start) return fail("run: bad labels.txt line '" + line + "'");
    intervals.emplace_back(start, end);
  }

  std::vector<Row> rows;
  std::vector<std::pair<std::string, std::string>> unavailable;
  double speech_fraction = 0;
  int rate = 0;
  for (const CorpusFile& file : files) {
    auto audio = read_mono(file.path);
    if (!audio) return kExitFailure;
    if (rate == 0) {
      rate = audio->sample_rate_hz;
      const size_t frame = label_frame_samples(rate);
      labels.assign(audio->mono.size() / frame, 0);
      for (const auto& [start, end] : intervals) {
        const size_t last = std::min(static_cast<size_t>(end) / frame, labels.size());
        for (auto k = static_cast<size_t>(start) / frame; k < last; ++k) labels[k] = 1;
      }
      speech_fraction = labels.empty() ? 0.0
                                       : static_cast<double>(std::count(labels.begin(), labels.end(), 1)) /
                                             static_cast<double>(labels.size());
    } else if (audio->sample_rate_hz != rate) {
      return fail("run: " + file.path + " is at " + std::to_string(audio->sample_rate_hz) + " Hz, the corpus at " +
                  std::to_string(rate) + " Hz");
    }
    for (const std::string& name : *algos) {
      if (std::any_of(unavailable.begin(), unavailable.end(), [&](const auto& u) { return u.first == name; })) {
        continue;
      }
      ae::VadConfig config;  // the engine's defaults
      config.algorithm = name == "energy" ? ae::VadAlgorithm::kEnergy
                         : name == "webrtc" ? ae::VadAlgorithm::kWebRtc
                                            : ae::VadAlgorithm::kSilero;
      auto stream = ae::VadStream::create(config, rate, frame_samples_for(config.algorithm, rate));
      if (!stream.ok()) {
        if (args.has("algo")) return fail("run: " + name + ": " + stream.message());
        unavailable.emplace_back(name, stream.message());
        continue;
      }
      (*stream)->process(audio->mono);
      Row row{name, &file, (*stream)->frame_samples(), {}, {}, {}};
      score_stream(**stream, config, labels, row);
      rows.push_back(row);
    }
    if (args.has("baselines")) {
      for (const bool speech : {true, false}) {
        Row row{speech ? "always-speech" : "never-speech", &file, label_frame_samples(rate), {}, {}, {}};
        for (const uint8_t l : labels) {
          score(row.segments, speech, l);
          score(row.state, speech, l);
          score(row.raw, speech, l);
        }
        rows.push_back(row);
      }
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.algorithm < b.algorithm; });
  if (args.has("json")) {
    print_json(dir, speech_fraction, rows, unavailable);
  } else {
    print_table(dir, speech_fraction, rows, unavailable);
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> rest(argv + std::min(argc, 2), argv + argc);
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "label") return cmd_label(rest);
  if (command == "run") return cmd_run(rest);
  if (command == "--help" || command == "-h" || command == "help") {
    std::printf(
        "usage: vad_eval label FILE | vad_eval run DIR [options]\n\n"
        "Measures the voice activity detectors against labelled speech (docs/vad.md).\n"
        "  label FILE   labels the speech of a clean recording and prints its active level\n"
        "  run DIR      scores every available detector on the corpus made by tools/vad_eval/make_corpus.sh\n"
        "Each command answers --help. Exit codes: 0 success, 1 failure, 2 bad usage.\n");
    return kExitOk;
  }
  return fail(command.empty() ? "expected a command: label or run (see --help)"
                              : "unknown command '" + command + "'; valid: label, run",
              kExitUsage);
}
