#!/usr/bin/env bash
# Nsight Compute on the backward kernels, to see what bounds them:
#   bash bench/gpu/profile_backward.sh SIEVE OUT [SEQ_LEN]
# Profiles one launch of each entry point (atomic and deterministic modes)
# of PowerAttention at SEQ_LEN (default 16384), 32/32 heads, hd128, with the
# speed-of-light, occupancy, launch, warp-state and memory sections; writes
# OUT/ncu_{atomic,deterministic}.txt.
set -u
sieve=$1 out=$2 n=${3:-16384}
mkdir -p "$out"
export SIEVE_CACHE_DIR=${SIEVE_CACHE_DIR:-/tmp/sieve-cache}
for mode in atomic deterministic; do
  flag=""; [ $mode = deterministic ] && flag=--deterministic
  "$sieve" run builtin:power_attention --seq-len "$n" --heads 32 --kv-heads 32 --backward $flag > /dev/null 2>&1  # compile first
  timeout 400 ncu --kernel-name regex:sieve_attention_bwd --launch-count 4 \
    --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats \
    --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis \
    "$sieve" run builtin:power_attention --seq-len "$n" --heads 32 --kv-heads 32 --backward $flag \
    > "$out/ncu_$mode.txt" 2>&1 || echo "ncu $mode failed: $(tail -c 300 "$out/ncu_$mode.txt")"
done
