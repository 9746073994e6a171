#!/usr/bin/env bash
# Every benchmark program runs each of its benchmarks briefly, and none reports an error. The benchmarks check what
# they time: the two sides of a comparison agree (the block and the per-sample G.711 and PCM16 forms, the facade's
# and the direct pipeline's calls succeed), the AI audio never runs dry, a flush flushed something. A broken
# benchmark would otherwise be found only when someone reruns a figure. Timings here mean nothing: the runs are
# a hundredth of a second and share the machine with the other tests.
set -euo pipefail

NAME=bench_smoke
source "${AE_SOURCE_DIR:?AE_SOURCE_DIR must point at the source directory}/tests/support/integration.sh"
BIN_DIR="${AE_BINARY_DIR:?AE_BINARY_DIR must point at the build directory}/bin"

shopt -s nullglob
benches=("$BIN_DIR"/*_bench)
(( ${#benches[@]} >= 10 )) || fail "expected the benchmark programs in $BIN_DIR, found ${#benches[@]}"

# The ONNX Runtime reference beside the native Silero VAD is an optional install (see bench/silero_bench.cpp):
# without it that side reports so, which is no failure.
optional='^onnxruntime-node not installed'
for bench in "${benches[@]}"; do
  name=$(basename "$bench")
  expect_exit 0 "$bench" --benchmark_min_time=0.01 --benchmark_format=json
  python3 - "$TMP/out" "$name" "$optional" 2>"$TMP/check" <<'PY' || fail "$(cat "$TMP/check")"
import json, re, sys
path, name, optional = sys.argv[1:]
runs = json.load(open(path))["benchmarks"]
if not runs:
    sys.exit(f"{name} ran no benchmark")
bad = [f'{r["name"]}: {r["error_message"]}' for r in runs
       if r.get("error_occurred") and not re.match(optional, r.get("error_message", ""))]
if bad:
    sys.exit(f"{name} reported errors:\n  " + "\n  ".join(bad))
PY
done
