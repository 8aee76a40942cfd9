#!/usr/bin/env bash
# Session 6, call 1: decode correctness after the one-walk-site change and
# with the fused (last-CTA ticket) combine; sanitizers on both.
set -u
out=${OUT:-/tmp/out}
mkdir -p "$out"
S=.carry/bin/sieve
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$out/gpu.txt" 2>&1
DECODE_EXTRA="--combine fused" PARTS="check sanitize" timeout 280 bash bench/gpu/check_decode.sh "$S" "$out/fused" > "$out/fused.log" 2>&1
echo "fused rc $?" >> "$out/rc.txt"
PARTS="check sanitize" timeout 280 bash bench/gpu/check_decode.sh "$S" "$out/kernel" > "$out/kernel.log" 2>&1
echo "kernel rc $?" >> "$out/rc.txt"
{ cat "$out/gpu.txt" "$out/rc.txt"; echo "== fused"; cat "$out/fused/decode_summary.txt"; echo "== kernel"; cat "$out/kernel/decode_summary.txt"; } > "$out/summary.txt"
tar czf "$out/logs.tgz" -C "$out" fused kernel 2>/dev/null
rm -rf "$out/fused" "$out/kernel"
cat "$out/summary.txt"
