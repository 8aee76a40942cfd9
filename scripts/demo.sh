#!/usr/bin/env bash
# The main job on its built-in default: import the PowerAttention pattern,
# print it in the sieve dialect, and compile its forward kernel to a cubin
# with NVRTC (when the CUDA toolkit's NVRTC is present).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SIEVE_BUILD_DIR:-$root/build}
bash "$root/scripts/build.sh" sieve
sieve="$build/bin/sieve"
"$sieve" compile builtin:power_attention --emit mlir
cubin="$build/power_attention.sm_90.cubin"
# sieve says on stderr what it built: kernel, target, cache, time, size, path.
if ! "$sieve" compile builtin:power_attention --emit cubin --arch sm_90 -o "$cubin"; then
  echo "(no cubin: NVRTC is not available here; 'sieve compile --emit cuda' still prints the kernel source)"
fi
# Where a GPU is present, run the kernel and check it against a reference.
if out=$("$sieve" run builtin:power_attention --seq-len 4096 --heads 8 --check 2>&1); then
  echo "$out"
elif echo "$out" | grep -q "needs a GPU"; then
  echo "(no GPU here: 'sieve run builtin:power_attention --seq-len 4096 --check' runs and checks it on one)"
else
  echo "$out" >&2
  exit 1
fi
