#!/usr/bin/env bash
# Instructions per chunk of the fast-lane chunk through the facade and through the same components called by hand
# (the two sides of engine_bench's BM_FacadeOverhead), counted by callgrind: a figure that does not wander with
# the machine's load. Needs valgrind (apt-get install valgrind) and a release build (scripts/build.sh).
#
# usage: scripts/facade_instructions.sh [--json] [chunks]   (default 2000 chunks; build dir: $AE_BUILD_DIR or build)
set -euo pipefail
json=0
chunks=2000
for arg in "$@"; do
  case "$arg" in
    --json) json=1 ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *[!0-9]*|'') echo "facade_instructions.sh: unknown argument '$arg'; valid: --json, a number of chunks" >&2; exit 2 ;;
    *) chunks="$arg" ;;
  esac
done
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${AE_BUILD_DIR:-$root/build}/bin/facade_instructions"
command -v valgrind >/dev/null || { echo "facade_instructions.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
[ -x "$bin" ] || { echo "facade_instructions.sh: $bin not found; build first (scripts/build.sh)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Inclusive instructions of each step function, per chunk.
count() {
  local side="$1"
  valgrind --tool=callgrind --callgrind-out-file="$tmp/$side.out" "$bin" "$side" "$chunks" >/dev/null 2>&1 ||
    { echo "facade_instructions.sh: the $side run failed" >&2; exit 1; }
  callgrind_annotate --auto=no --inclusive=yes --threshold=100 "$tmp/$side.out" 2>/dev/null |
    awk -v n="$chunks" -v side="$side" '
      /step_(inject|tick|read)</ { for (i = 1; i <= NF; ++i) if ($i ~ /step_/) { s = $i; break }
                                 sub(/.*step_/, "", s); sub(/<.*/, "", s); v = $1; gsub(",", "", v);
                                 if (!(s in seen)) { seen[s] = 1; printf "%s %s %.1f\n", side, s, v / n } }'
}
{ count facade; count facade_timed; count direct; } > "$tmp/counts"
awk -v json="$json" '
  { ir[$1 "," $2] = $3 }
  END {
    split("inject tick read", steps, " ")
    split("facade facade_timed direct", sides, " ")
    for (k in sides) { t = 0; for (j in steps) t += ir[sides[k] "," steps[j]]; total[sides[k]] = t }
    if (json) {
      printf "{"
      for (k = 1; k <= 3; ++k) {
        s = sides[k]; printf "\"%s\":{\"inject\":%.1f,\"tick\":%.1f,\"read\":%.1f,\"total\":%.1f},", s,
          ir[s ",inject"], ir[s ",tick"], ir[s ",read"], total[s]
      }
      printf "\"overhead\":%.1f,\"overhead_timed\":%.1f}\n", total["facade"] - total["direct"],
        total["facade_timed"] - total["direct"]
      exit
    }
    printf "%-14s %8s %8s %8s %8s   (instructions per chunk)\n", "", "inject", "tick", "read", "total"
    for (k = 1; k <= 3; ++k) {
      s = sides[k]; printf "%-14s %8.1f %8.1f %8.1f %8.1f\n", s, ir[s ",inject"], ir[s ",tick"], ir[s ",read"], total[s]
    }
    printf "overhead: %.1f (facade - direct), %.1f with stage timing\n", total["facade"] - total["direct"],
      total["facade_timed"] - total["direct"]
  }' "$tmp/counts"
