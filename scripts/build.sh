#!/usr/bin/env bash
# Configures and builds one preset (default: release) with Ninja. Quiet unless something fails.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
log="$(mktemp)"
if ! { cmake --preset "$preset" -G Ninja && cmake --build --preset "$preset" -j "$(nproc)"; } >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "build ($preset) failed" >&2
  exit 1
fi
rm -f "$log"
