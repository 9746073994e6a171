#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running demo: installs what is missing, builds, runs
# `audioengine demo` with any arguments given (e.g. --seconds 60, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh release
exec build/bin/audioengine demo "$@"
