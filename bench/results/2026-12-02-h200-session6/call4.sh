#!/usr/bin/env bash
# Session 6, call 4: strided splits (no count phase) checked with the auto
# and the fused combine, sanitizers; the Python tests (sieve.attention now
# passes tickets); steps against the counted kernel (sieve-counted: the
# previous commit), interleaved; the floor of a trivial kernel under the
# same timing.
set -u
out=${OUT:-/tmp/out}
mkdir -p "$out"
export SIEVE_CACHE_DIR=/tmp/sieve-cache
S=.carry/bin/sieve
sum=$out/summary.txt
: > "$sum"
PARTS="check sanitize" timeout 200 bash bench/gpu/check_decode.sh "$S" "$out/auto" > "$out/auto.log" 2>&1
echo "auto rc $?" >> "$sum"; cat "$out/auto/decode_summary.txt" >> "$sum"
DECODE_EXTRA="--combine fused" PARTS="check sanitize" timeout 200 bash bench/gpu/check_decode.sh "$S" "$out/fused" > "$out/fused.log" 2>&1
echo "fused rc $?" >> "$sum"; cat "$out/fused/decode_summary.txt" >> "$sum"
PARTS=torch timeout 200 bash bench/gpu/pending.sh "$S" "$out/torch" > "$out/torch.log" 2>&1
cat "$out/torch/pending_summary.txt" >> "$sum"
t() {  # t LABEL BIN ARGS...
  local label=$1 bin=$2; shift 2
  if timeout 90 $bin run "$@" --repeat 50 --json > "$out/t.json" 2>> "$out/t.err"; then
    python3 -c "
import json; d=json.load(open('$out/t.json'))
print('%-48s splits %2d %-6s: %7.1f us' % ('$label', d['splits'], d.get('combine', '?'), d['median_us']))" >> "$sum"
  else echo "$label: did not run: $(tail -c 300 "$out/t.err")" >> "$sum"; fi
}
for shape in "power_attention 131072 1 8" "power_attention 131072 1 32" "power_attention 131072 16 8" \
             "power_attention 32768 1 8" "power_attention 4096 1 8" "causal 131072 1 32" "power_attention 131072 16 32"; do
  read -r pat n q kvh <<< "$shape"
  a="builtin:$pat --decode --seq-len $n --q-len $q --heads 32 --kv-heads $kvh"
  # shellcheck disable=SC2086
  { t "counted kernel  $pat $n q$q 32/$kvh" .carry/bin/sieve-counted $a --combine kernel
    t "counted fused   $pat $n q$q 32/$kvh" .carry/bin/sieve-counted $a --combine fused
    t "strided kernel  $pat $n q$q 32/$kvh" $S $a --combine kernel
    t "strided fused   $pat $n q$q 32/$kvh" $S $a --combine fused
    t "strided auto    $pat $n q$q 32/$kvh" $S $a; }
done
for s in 1 4 8 16 33 64; do t "strided power 128K 32/8 q1 splits $s" $S builtin:power_attention --decode --seq-len 131072 --heads 32 --kv-heads 8 --splits $s; done
t "strided paged64 power 128K 32/8 q1" $S builtin:power_attention --decode --seq-len 131072 --heads 32 --kv-heads 8 --page-size 64
t "counted paged64 power 128K 32/8 q1" .carry/bin/sieve-counted builtin:power_attention --decode --seq-len 131072 --heads 32 --kv-heads 8 --page-size 64 --combine fused
# The floor: a one-element fill, timed as do_bench times (L2 flushed).
timeout 60 python3 -c "
import torch
from triton.testing import do_bench
x = torch.empty(1, device='cuda')
print('floor: a one-element fill under do_bench: %.1f us' % (1e3 * do_bench(lambda: x.zero_(), warmup=50, rep=200)))
" >> "$sum" 2>> "$out/floor.err"
tar czf "$out/logs.tgz" -C "$out" auto fused torch 2>/dev/null; rm -rf "$out/auto" "$out/fused" "$out/torch" "$out/t.json"
cat "$sum"
