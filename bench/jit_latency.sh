#!/usr/bin/env bash
# JIT latency of a sieve binary: cold spec -> cubin (a new process, --no-cache)
# for every built-in at head dims 128 and 64, and a cache hit in a new process.
# Each line: the median of REPS runs, in ms of wall time for the whole process.
#
#   bash bench/jit_latency.sh SIEVE_BINARY [ARCH] [REPS] [EXTRA sieve compile ARGS...]
set -u
sieve=$1 arch=${2:-sm_90} reps=${3:-3}
shift $(( $# < 3 ? $# : 3 ))
median_ms() { # command...: runs it $reps times, prints the median wall time
  local times=()
  for ((i = 0; i < reps; ++i)); do
    local t0=$(date +%s%N)
    "$@" > /dev/null || { echo "FAILED: $*" >&2; return 1; }
    times+=($(( ($(date +%s%N) - t0) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (reps + 1) / 2 ))p"
}
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
echo "options: --arch $arch $*"
for b in $("$sieve" list | cut -d' ' -f1); do
  for hd in 128 64; do
    echo "cold $b hd$hd: $(median_ms "$sieve" compile builtin:$b --emit cubin --no-cache --arch "$arch" --head-dim $hd -o /dev/null "$@") ms"
  done
done
cache=$(mktemp -d)
SIEVE_CACHE_DIR=$cache "$sieve" compile builtin:power_attention --emit cubin --arch "$arch" -o /dev/null "$@"
echo "cache hit power_attention hd128: $(SIEVE_CACHE_DIR=$cache median_ms "$sieve" compile builtin:power_attention --emit cubin --arch "$arch" -o /dev/null "$@") ms"
rm -rf "$cache"
