#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to every test: installs what is missing, then builds and runs the
# unit and integration tests in the release build, then again under ASan+UBSan and under ThreadSanitizer.
# AE_TEST_PRESETS="release" (space separated) narrows the run for quick local iterations.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
presets="${AE_TEST_PRESETS:-release asan-ubsan tsan}"
jobs="$(nproc)"
total_start=$(date +%s)
for preset in $presets; do
  start=$(date +%s)
  echo "== $preset: build"
  ./scripts/build.sh "$preset"
  echo "== $preset: test"
  ctest --preset "$preset" -j "$jobs" -LE device
  # Tests on a real JACK server, one at a time. Their xrun assertions depend on the virtual machine scheduling
  # the client within each 10 ms period; a run that a descheduled vCPU disturbed is repeated, up to 3 times.
  echo "== $preset: device tests"
  ctest --preset "$preset" -L device --repeat until-pass:3
  echo "== $preset: done in $(( $(date +%s) - start )) s"
done
echo "== all presets passed in $(( $(date +%s) - total_start )) s"
