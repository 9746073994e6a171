#include <soxr.h>
#include <sndfile.h>

#include <cstdio>

#include "audioengine/version.hpp"
#include "cli.hpp"

namespace ae::cli {

int cmd_version(const std::vector<std::string>& argv) {
  Args args = Args::parse(argv, {"json", "help"});
  if (args.has("help")) {
    std::printf("usage: audioengine version [--json]\n\nPrints the version of audioengine and of the libraries "
                "it was built with.\n");
    return kExitOk;
  }
  if (!args.parse_error().empty()) return fail("version", args.parse_error(), kExitUsage);
  if (auto bad = args.unknown({"json"}); !bad.empty()) return fail("version", "unknown option " + bad[0], kExitUsage);
  char sndfile_version[128];
  sf_command(nullptr, SFC_GET_LIB_VERSION, sndfile_version, sizeof sndfile_version);
  if (args.has("json")) {
    std::printf("{\"audioengine\":\"%s\",\"soxr\":\"%s\",\"sndfile\":\"%s\"}\n", kVersionString, soxr_version(),
                json_escape(sndfile_version).c_str());
  } else {
    std::printf("audioengine %s\n  soxr     %s\n  sndfile  %s\n", kVersionString, soxr_version(), sndfile_version);
  }
  return kExitOk;
}

}  // namespace ae::cli
