#!/usr/bin/env bash
# Installs every Debian package audioengine needs to build, test and run its demo. Idempotent: when everything is
# present it prints nothing and touches nothing. Needs root (or sudo) only when something is missing.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # libraries the engine links
  libsoxr-dev libspeexdsp-dev libsndfile1-dev libespeak-ng-dev espeak-ng-data
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # the Python package and its tests
  pybind11-dev python3-pybind11 python3-dev python3-pytest python3-pytest-asyncio python3-numpy python3-websockets
  # independent peers and real recordings used by the tests
  sox libsox-fmt-all espeak-ng alsa-utils
  # sound devices (PortAudio), and the real sound server the device tests start (jackd, jack_connect, jack_lsp)
  portaudio19-dev jackd2
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2
