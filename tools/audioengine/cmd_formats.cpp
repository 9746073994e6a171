// audioengine formats: what the engine converts between, and which file types this build reads and writes.
#include <sndfile.h>

#include <cstdio>
#include <string>

#include "audioengine/format.hpp"
#include "cli.hpp"

namespace ae::cli {
namespace {

struct FileType {
  std::string name;
  std::string extension;
};

std::vector<FileType> sndfile_major_formats() {
  std::vector<FileType> out;
  int count = 0;
  sf_command(nullptr, SFC_GET_FORMAT_MAJOR_COUNT, &count, sizeof count);
  for (int i = 0; i < count; ++i) {
    SF_FORMAT_INFO info{};
    info.format = i;
    if (sf_command(nullptr, SFC_GET_FORMAT_MAJOR, &info, sizeof info) != 0) continue;
    out.push_back({info.name != nullptr ? info.name : "", info.extension != nullptr ? info.extension : ""});
  }
  return out;
}

}  // namespace

int cmd_formats(const std::vector<std::string>& argv) {
  Args args = Args::parse(argv, {"json", "help"});
  if (args.has("help")) {
    std::printf(
        "usage: audioengine formats [--json]\n\n"
        "Lists the sample types, sample rates and channel counts the engine converts between, and the file\n"
        "types (libsndfile major formats) this build can read and write.\n\n"
        "  --json   print one JSON object instead of text\n");
    return kExitOk;
  }
  if (auto bad = args.unknown({"json"}); !bad.empty()) return fail("formats", "unknown option " + bad[0], kExitUsage);
  if (!args.parse_error().empty()) return fail("formats", args.parse_error(), kExitUsage);
  if (!args.positionals().empty()) {
    return fail("formats", "unexpected argument '" + args.positionals()[0] + "'", kExitUsage);
  }
  const SupportedFormats s = get_supported_formats();
  const std::vector<FileType> files = sndfile_major_formats();
  if (args.has("json")) {
    std::string j;
    j += "{\"sample_types\":[";
    for (size_t i = 0; i < s.sample_types.size(); ++i) {
      if (i != 0) j += ',';
      j += '"';
      j += to_string(s.sample_types[i]);
      j += '"';
    }
    j += "],\"min_sample_rate_hz\":";
    j += std::to_string(s.min_sample_rate_hz);
    j += ",\"max_sample_rate_hz\":";
    j += std::to_string(s.max_sample_rate_hz);
    j += ",\"common_sample_rates_hz\":[";
    for (size_t i = 0; i < s.common_sample_rates_hz.size(); ++i) {
      if (i != 0) j += ',';
      j += std::to_string(s.common_sample_rates_hz[i]);
    }
    j += "],\"max_channels\":";
    j += std::to_string(s.max_channels);
    j += ",\"file_types\":[";
    for (size_t i = 0; i < files.size(); ++i) {
      if (i != 0) j += ',';
      j += "{\"name\":\"";
      j += json_escape(files[i].name);
      j += "\",\"extension\":\"";
      j += json_escape(files[i].extension);
      j += "\"}";
    }
    j += "]}";
    std::printf("%s\n", j.c_str());
    return kExitOk;
  }
  std::printf("sample types:  ");
  for (SampleType t : s.sample_types) std::printf(" %s", to_string(t));
  std::printf("\n  (aliases: s16, s16le, int16 = pcm16; float, float32 = f32; mulaw, mu-law, u-law = ulaw; "
              "a-law = alaw)\nsample rates:   %d..%d Hz\ncommon rates:  ",
              s.min_sample_rate_hz, s.max_sample_rate_hz);
  for (int r : s.common_sample_rates_hz) std::printf(" %d", r);
  std::printf("\nchannels:       1..%d\nformat syntax:  TYPE[:RATE_HZ[:CHANNELS]], e.g. ulaw:8000:1\n"
              "file types (libsndfile major formats; convert writes .wav, .flac, .ogg, .raw):\n",
              s.max_channels);
  for (const FileType& f : files) std::printf("  %-6s %s\n", f.extension.c_str(), f.name.c_str());
  return kExitOk;
}

}  // namespace ae::cli
