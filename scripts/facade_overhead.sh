#!/usr/bin/env bash
# The facade's overhead per chunk over many runs of engine_bench's BM_FacadeOverhead and
# BM_FacadeOverheadWholeChunks: one run's figure moves by about 10 ns with the machine's state, as much as the
# goal's margin, so the figure to quote is a median over runs. Prints, for each figure, the median, the range and
# how many runs were at or under the goal (50 ns). With --against, a second build's engine_bench runs in turn with
# this one's (same load for both) and the paired differences say which is faster. Needs a release build
# (scripts/build.sh) and python3.
#
# usage: scripts/facade_overhead.sh [--json] [--runs N] [--against BUILD_DIR]
#        (default 20 runs, about 15 s each, twice that with --against; build dir: $AE_BUILD_DIR or build)
set -euo pipefail
json=0
runs=20
against=""
usage() { echo "usage: scripts/facade_overhead.sh [--json] [--runs N] [--against BUILD_DIR]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --json) json=1 ;;
    --runs) [ $# -ge 2 ] || usage; runs="$2"; shift ;;
    --against) [ $# -ge 2 ] || usage; against="$2"; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "facade_overhead.sh: unknown argument '$1'; valid: --json, --runs N, --against BUILD_DIR" >&2; exit 2 ;;
  esac
  shift
done
case "$runs" in
  ''|*[!0-9]*|0) echo "facade_overhead.sh: --runs '$runs' is not a whole number of runs >= 1" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${AE_BUILD_DIR:-$root/build}/bin/engine_bench"
[ -x "$bin" ] || { echo "facade_overhead.sh: $bin not found; build first (scripts/build.sh)" >&2; exit 1; }
other=""
if [ -n "$against" ]; then
  other="$against/bin/engine_bench"
  [ -x "$other" ] || { echo "facade_overhead.sh: --against '$against': $other not found" >&2; exit 1; }
fi
command -v python3 >/dev/null || { echo "facade_overhead.sh: python3 is not installed" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

bench() {  # bench BIN OUT
  "$1" --benchmark_filter='^BM_FacadeOverhead' --benchmark_format=json 2>/dev/null >"$2" ||
    { echo "facade_overhead.sh: $1 failed" >&2; exit 1; }
}
for ((i = 1; i <= runs; ++i)); do
  [ -t 2 ] && printf '\rfacade_overhead.sh: run %d of %d' "$i" "$runs" >&2
  # With a second build, who goes first alternates too.
  if [ -n "$other" ] && ((i % 2 == 0)); then bench "$other" "$tmp/against.$i.json"; fi
  bench "$bin" "$tmp/this.$i.json"
  if [ -n "$other" ] && ((i % 2 == 1)); then bench "$other" "$tmp/against.$i.json"; fi
done
[ -t 2 ] && printf '\r\033[K' >&2

python3 - "$tmp" "$runs" "$json" "${against:+1}" <<'EOF'
import json, statistics, sys

tmp, runs, as_json, paired = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4] == "1"
GOAL_NS = 50.0
FIGURES = [  # (bench, counter, label)
    ("whole", "overhead_ns", "whole chunks, overhead_ns (the goal's figure)"),
    ("whole", "overhead_no_timing_ns", "whole chunks, without stage timing"),
    ("whole", "stage_timing_ns", "whole chunks, stage_timing_ns"),
    ("step", "overhead_ns", "step by step, overhead_ns"),
    ("step", "overhead_no_timing_ns", "step by step, without stage timing"),
    ("step", "stage_timing_ns", "step by step, stage_timing_ns"),
    ("step", "overhead_inject_ns", "the inject step"),
    ("step", "overhead_tick_ns", "the tick step"),
    ("step", "overhead_read_ns", "the read step"),
    ("whole", "facade_ns", "whole chunks, the facade's chunk"),
    ("whole", "direct_ns", "whole chunks, the components by hand"),
    ("whole", "control_ns", "whole chunks, control_ns (resolution)"),
    ("step", "control_ns", "step by step, control_ns (resolution)"),
]

def load(side):
    out = {}
    for i in range(1, runs + 1):
        with open(f"{tmp}/{side}.{i}.json") as f:
            for b in json.load(f)["benchmarks"]:
                kind = "whole" if "WholeChunks" in b["name"] else "step"
                if "error_occurred" in b:
                    sys.exit(f"facade_overhead.sh: {b['name']}: {b.get('error_message', 'failed')}")
                out[(kind, i)] = b
    return out

this = load("this")
other = load("against") if paired else None
result = {"runs": runs, "goal_ns": GOAL_NS, "figures": []}
for kind, counter, label in FIGURES:
    values = [this[(kind, i)][counter] for i in range(1, runs + 1)]
    row = {"bench": kind, "counter": counter, "label": label, "median": statistics.median(values),
           "min": min(values), "max": max(values)}
    if counter in ("overhead_ns", "overhead_no_timing_ns"):  # the chunk's whole overhead, what the goal is about
        row["runs_within_goal"] = sum(v <= GOAL_NS for v in values)
    if paired:
        theirs = [other[(kind, i)][counter] for i in range(1, runs + 1)]
        diffs = [a - b for a, b in zip(values, theirs)]
        row["against_median"] = statistics.median(theirs)
        row["paired_difference_median"] = statistics.median(diffs)
        row["pairs_lower"] = sum(d < 0 for d in diffs)
    result["figures"].append(row)

if as_json:
    print(json.dumps(result))
    sys.exit(0)
print(f"facade overhead over {runs} runs, ns per chunk (median, range); goal <= {GOAL_NS:.0f} ns")
for r in result["figures"]:
    line = f"  {r['label']:<46} {r['median']:7.1f}  ({r['min']:.1f} to {r['max']:.1f})"
    if "runs_within_goal" in r:
        line += f"  {r['runs_within_goal']}/{runs} within the goal"
    if paired:
        line += (f"  | against {r['against_median']:.1f}, paired difference {r['paired_difference_median']:+.1f},"
                 f" lower in {r['pairs_lower']}/{runs}")
    print(line)
EOF
