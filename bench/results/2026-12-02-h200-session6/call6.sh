#!/usr/bin/env bash
# Session 6, call 6: split counts with the fused combine (auto takes one
# wave), then FlexAttention's one-query decode beside sieve's auto step.
set -u
out=${OUT:-/tmp/out}
mkdir -p "$out"
export SIEVE_CACHE_DIR=/tmp/sieve-cache
S=.carry/bin/sieve
sum=$out/summary.txt
: > "$sum"
t() {  # t LABEL ARGS...
  local label=$1; shift
  if timeout 40 $S run "$@" --repeat 50 --json > "$out/t.json" 2>> "$out/t.err"; then
    python3 -c "
import json; d=json.load(open('$out/t.json'))
print('%-40s splits %2d %-6s: %7.1f us' % ('$label', d['splits'], d.get('combine', '?'), d['median_us']))" >> "$sum"
  else echo "$label: did not run: $(tail -c 300 "$out/t.err")" >> "$sum"; fi
}
P="builtin:power_attention --decode --heads 32 --q-len 1"
for s in 8 12 16 24 auto; do t "power 128K 32/8" $P --kv-heads 8 --seq-len 131072 --splits $s; done
for s in 12 16 auto; do t "power 32K 32/8" $P --kv-heads 8 --seq-len 32768 --splits $s; done
for s in 8 16 auto; do t "power 4K 32/8" $P --kv-heads 8 --seq-len 4096 --splits $s; done
for s in 16 32 auto; do t "power 128K 32/4" $P --kv-heads 4 --seq-len 131072 --splits $s; done
for s in 4 8; do t "power 128K 32/32" $P --kv-heads 32 --seq-len 131072 --splits $s; done
for kv in 8 32; do
  t "power 128K 32/$kv auto (beside Flex)" $P --kv-heads $kv --seq-len 131072
  OUT=$out timeout 110 python3 .carry/flex_anchor.py --pattern power --seq-lens 131072 --kv-heads $kv --decode \
    --no-dense --out "$out/anchor_$kv.json" >> "$out/anchor.log" 2>&1 || echo "flex 32/$kv: timed out or failed" >> "$sum"
  grep -E '^\{' "$out/anchor.log" | grep -i decode | tail -1 >> "$sum"
done
rm -f "$out/t.json"
cat "$sum"
