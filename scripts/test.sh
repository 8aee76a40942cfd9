#!/usr/bin/env bash
# Builds everything and runs every test (unit, lit, docs freshness, fuzz) with
# one ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SIEVE_BUILD_DIR:-$root/build}
bash "$root/scripts/build.sh"
cd "$build"
ctest --output-on-failure -j "${SIEVE_JOBS:-2}"
