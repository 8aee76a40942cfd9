#!/usr/bin/env bash
# Configures (once) and builds sieve in ./build (or $SIEVE_BUILD_DIR).
# Extra arguments are Ninja targets; none builds everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SIEVE_BUILD_DIR:-$root/build}
bash "$root/scripts/setup.sh"
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release ${SIEVE_CMAKE_ARGS:-}
fi
# Each MLIR translation unit needs ~500 MB and a core: two jobs at most.
ninja -C "$build" -j "${SIEVE_JOBS:-2}" "$@"
