#!/usr/bin/env bash
# Installs the build in $AE_BINARY_DIR into a temporary prefix with `cmake --install`, then consumes it the two
# ways users do: examples/cpp/minimal through find_package(audioengine) (built and run: it must report a barge-in
# interruption), and a one-file program through `pkg-config --cflags --libs audioengine`. Also checks that every
# installed public header compiles on its own with only -I<prefix>/include.
#
# Env: AE_SOURCE_DIR, AE_BINARY_DIR (set by ctest); AE_SANITIZE ('', 'address-undefined' or 'thread'): a
# sanitized library needs the sanitizer runtime in its consumers, so they are built with the same -fsanitize.
set -euo pipefail

fail() { echo "install_consumer: FAIL: $*" >&2; exit 1; }

: "${AE_SOURCE_DIR:?AE_SOURCE_DIR must point at the source tree}"
: "${AE_BINARY_DIR:?AE_BINARY_DIR must point at a configured and built build tree}"
command -v cmake >/dev/null || fail "cmake not found"
command -v pkg-config >/dev/null || fail "pkg-config not found"
CXX_BIN="${CXX:-c++}"
command -v "$CXX_BIN" >/dev/null || fail "C++ compiler '$CXX_BIN' not found"

san_flags=()
case "${AE_SANITIZE:-}" in
  "") ;;
  address-undefined) san_flags=("-fsanitize=address,undefined" -fno-omit-frame-pointer) ;;
  thread) san_flags=(-fsanitize=thread) ;;
  *) fail "AE_SANITIZE='${AE_SANITIZE}': valid are '', 'address-undefined', 'thread'" ;;
esac
san="${san_flags[*]:-}"

work="$(mktemp -d "${TMPDIR:-/tmp}/ae-test-install-XXXXXX")"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

echo "== cmake --install $AE_BINARY_DIR --prefix $prefix"
cmake --install "$AE_BINARY_DIR" --prefix "$prefix" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; fail "cmake --install failed"; }

libdir=""
for d in "$prefix/lib" "$prefix/lib64" "$prefix"/lib/*-linux-gnu; do
  if [[ -e "$d/libaudioengine.so" ]]; then libdir="$d"; break; fi
done
[[ -n "$libdir" ]] || fail "libaudioengine.so not installed under $prefix/lib*"
for f in include/audioengine/audioengine.hpp include/audioengine/engine.hpp include/audioengine/version.hpp; do
  [[ -f "$prefix/$f" ]] || fail "$f not installed"
done
[[ -f "$libdir/cmake/audioengine/audioengineConfig.cmake" ]] || fail "CMake package config not installed"
[[ -f "$libdir/pkgconfig/audioengine.pc" ]] || fail "pkg-config file not installed"

echo "== every public header compiles on its own with only -I$prefix/include"
for h in "$prefix"/include/audioengine/*.hpp; do
  name="audioengine/$(basename "$h")"
  printf '#include <%s>\nint main() { return 0; }\n' "$name" >"$work/header_check.cpp"
  "$CXX_BIN" -std=c++20 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I"$prefix/include" "$work/header_check.cpp" \
    >"$work/header.log" 2>&1 || { cat "$work/header.log" >&2; fail "installed header $name does not compile standalone"; }
done

echo "== find_package(audioengine): configure, build and run examples/cpp/minimal"
cmake -S "$AE_SOURCE_DIR/examples/cpp/minimal" -B "$work/minimal-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >"$work/configure.log" 2>&1 \
  || { cat "$work/configure.log" >&2; fail "configuring examples/cpp/minimal against $prefix failed"; }
cmake --build "$work/minimal-build" >"$work/build.log" 2>&1 \
  || { cat "$work/build.log" >&2; fail "building examples/cpp/minimal failed"; }
# The program must use the installed library, not the build tree's.
out="$(LD_LIBRARY_PATH="$libdir" "$work/minimal-build/minimal" 2>&1)" || { echo "$out" >&2; fail "minimal exited non-zero"; }
echo "$out"
grep -Eq '^INTERRUPT played_ms=[0-9.]+ audio_flushed_ms=[0-9.]+$' <<<"$out" \
  || fail "minimal did not print the INTERRUPT figures"
resolved="$(LD_LIBRARY_PATH="$libdir" ldd "$work/minimal-build/minimal" | awk '/libaudioengine/ {print $3}')"
[[ "$(readlink -f "$resolved")" == "$(readlink -f "$libdir")"/* ]] \
  || fail "minimal resolved libaudioengine to '$resolved', not the installed copy in $libdir"

echo "== pkg-config --cflags --libs audioengine: compile, link and run a one-file program"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
flags="$(pkg-config --cflags --libs audioengine)" || fail "pkg-config does not know audioengine"
echo "pkg-config: $flags"
cat >"$work/pc_consumer.cpp" <<'CPP'
#include <audioengine/audioengine.hpp>
#include <cstdio>
int main() {
  auto engine = ae::AudioEngine::create(ae::EngineConfig::telephony());
  if (!engine->initialize().ok()) return 1;
  std::printf("audioengine %s: %d Hz, %zu-frame periods\n", ae::kVersionString, engine->sample_rate_hz(),
              engine->period_frames());
  return engine->period_frames() == 160 ? 0 : 1;
}
CPP
# shellcheck disable=SC2086  # pkg-config output is a list of words
"$CXX_BIN" $san "$work/pc_consumer.cpp" -o "$work/pc_consumer" $flags >"$work/pc.log" 2>&1 \
  || { cat "$work/pc.log" >&2; fail "compiling/linking with pkg-config flags failed"; }
LD_LIBRARY_PATH="$libdir" "$work/pc_consumer" || fail "the pkg-config consumer exited non-zero"

echo "install_consumer: OK"
