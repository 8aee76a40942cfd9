#!/usr/bin/env bash
# The main job on its built-in default: import the PowerAttention pattern and
# print it in the sieve dialect.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SIEVE_BUILD_DIR:-$root/build}
bash "$root/scripts/build.sh" sieve
"$build/bin/sieve" compile builtin:power_attention --emit mlir
