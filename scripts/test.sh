#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to every test: installs what is missing, then builds and runs the
# unit and integration tests in the release build, then again under ASan+UBSan and under ThreadSanitizer.
# AE_TEST_PRESETS="release" (space separated) narrows the run for quick local iterations.
#
# What each pass skips (ctest labels, see tests/CMakeLists.txt): the sanitizer passes skip "packaging" (installing
# and consuming the package, which a sanitizer does not change); the TSan pass also skips "long_dsp" (long
# single-threaded DSP scenarios, where ThreadSanitizer has no race to find; ASan+UBSan runs them).
# The tests of each pass write their temporary files under a TMPDIR of their own; an ae-test-* directory left
# there is a test that did not clean up after itself, and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
presets="${AE_TEST_PRESETS:-release asan-ubsan tsan}"
jobs="$(nproc)"
total_start=$(date +%s)
for preset in $presets; do
  case "$preset" in
    release | debug) skip="device" ;;
    asan-ubsan) skip="device|packaging" ;;
    tsan) skip="device|packaging|long_dsp" ;;
    *) echo "test.sh: unknown preset '$preset': valid are release, debug, asan-ubsan, tsan" >&2; exit 1 ;;
  esac
  start=$(date +%s)
  echo "== $preset: build"
  ./scripts/build.sh "$preset"
  build_s=$(( $(date +%s) - start ))
  run_tmp="$(mktemp -d "${TMPDIR:-/tmp}/ae-run-XXXXXX")"
  echo "== $preset: test (skipping labels: $skip)"
  TMPDIR="$run_tmp" ctest --preset "$preset" -j "$jobs" -LE "^($skip)\$"
  # Tests on a real JACK server, one at a time. Their xrun assertions depend on the virtual machine scheduling
  # the client within each 10 ms period; a run that a descheduled vCPU disturbed is repeated, up to 3 times.
  echo "== $preset: device tests"
  TMPDIR="$run_tmp" ctest --preset "$preset" -L device --repeat until-pass:3
  left="$(find "$run_tmp" -mindepth 1 -maxdepth 1 -name 'ae-test-*' | sort)"
  if [[ -n "$left" ]]; then
    echo "test.sh: $preset: tests left $(wc -l <<<"$left") temporary directories behind:" >&2
    echo "$left" >&2
    exit 1
  fi
  rm -rf "$run_tmp"
  echo "== $preset: done in $(( $(date +%s) - start )) s (build $build_s s, tests $(( $(date +%s) - start - build_s )) s)"
done
echo "== all presets passed in $(( $(date +%s) - total_start )) s"
