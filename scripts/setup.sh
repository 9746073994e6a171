#!/usr/bin/env bash
# Installs every Debian package audioengine needs to build, test and run its demo. Idempotent: when everything is
# present it prints nothing and touches nothing. Needs root (or sudo) only when something is missing.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # libraries the engine links
  libsoxr-dev libspeexdsp-dev libsndfile1-dev libespeak-ng-dev espeak-ng-data libwebrtc-audio-processing-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # the Python package and its tests
  pybind11-dev python3-pybind11 python3-dev python3-pytest python3-pytest-asyncio python3-numpy python3-websockets
  # independent peers and real recordings used by the tests
  sox libsox-fmt-all espeak-ng alsa-utils
  # real speech for the VAD accuracy corpus (tools/vad_eval/make_corpus.sh)
  asterisk-core-sounds-en-wav codec2-examples
  # sound devices (PortAudio), and the real sound servers the device tests start: JACK (jackd, jack_connect,
  # jack_lsp, jack_metro) and PulseAudio (pulseaudio, pactl, parec; reached through ALSA's pulse plugin)
  portaudio19-dev jackd2 pulseaudio pulseaudio-utils libasound2-plugins
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -ne 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup: done" >&2
fi

# ---- Silero VAD v5 weights -------------------------------------------------------------------------------------
# The native Silero detector reads the official ONNX file shipped by the npm package @ricky0123/vad-web (ISC; the
# model itself is MIT). Fetched once with `npm pack` into third_party_cache/ (git-ignored), both the tarball and
# the model checked against pinned sha256 sums. Quiet when the model is already there and matches.
VAD_WEB_VERSION="0.0.31"
VAD_WEB_TGZ_SHA256="d1a211cf1a2ed26297da52cc08de79e75d79838a274bfc6de546feb1f828c940"
SILERO_V5_SHA256="2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/third_party_cache/vad-web"
MODEL="$CACHE/silero_vad_v5.onnx"
sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }
if ! sha_ok "$MODEL" "$SILERO_V5_SHA256"; then
  command -v npm >/dev/null || { echo "setup: npm is needed to fetch @ricky0123/vad-web" >&2; exit 1; }
  mkdir -p "$CACHE"
  TGZ="$CACHE/ricky0123-vad-web-$VAD_WEB_VERSION.tgz"
  if ! sha_ok "$TGZ" "$VAD_WEB_TGZ_SHA256"; then
    echo "setup: fetching @ricky0123/vad-web@$VAD_WEB_VERSION" >&2
    rm -f "$TGZ"
    (cd "$CACHE" && npm pack --silent "@ricky0123/vad-web@$VAD_WEB_VERSION" >/dev/null)
    sha_ok "$TGZ" "$VAD_WEB_TGZ_SHA256" || { echo "setup: sha256 mismatch for $TGZ" >&2; exit 1; }
  fi
  tar -xzf "$TGZ" -C "$CACHE" --strip-components=2 package/dist/silero_vad_v5.onnx
  sha_ok "$MODEL" "$SILERO_V5_SHA256" || { echo "setup: sha256 mismatch for $MODEL" >&2; rm -f "$MODEL"; exit 1; }
  echo "setup: Silero VAD v5 model in $MODEL" >&2
fi
