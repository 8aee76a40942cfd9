#!/usr/bin/env bash
# Session 6, call 2: decode steps, the previous kernel (sieve-head: the walk
# inlined at five sites, 100 KB) against the new one (one walk site) with
# the combine kernel and with the fused combine, interleaved per shape;
# ncu durations with flushed caches; then FlexAttention with 16 queries.
set -u
out=${OUT:-/tmp/out}
mkdir -p "$out"
export SIEVE_CACHE_DIR=/tmp/sieve-cache
sum=$out/summary.txt
: > "$sum"
for shape in "power_attention 131072 1 8 0" "power_attention 131072 1 32 0" "power_attention 131072 16 8 0" \
             "power_attention 32768 1 8 0" "power_attention 131072 1 8 64" "causal 131072 1 32 0" \
             "power_attention 131072 16 32 0"; do
  read -r pat n q kvh pg <<< "$shape"
  extra=""; [ "$pg" != 0 ] && extra="--page-size $pg"
  for v in head kernel fused; do
    bin=.carry/bin/sieve; opt=""
    [ $v = head ] && bin=.carry/bin/sieve-head
    [ $v = fused ] && opt="--combine fused"
    # shellcheck disable=SC2086
    if timeout 90 $bin run builtin:$pat --decode --seq-len $n --q-len $q --heads 32 --kv-heads $kvh $extra $opt \
        --repeat 50 --json > "$out/t.json" 2>> "$out/t.err"; then
      python3 -c "
import json; d=json.load(open('$out/t.json'))
print('%-15s %6d q%-2d 32/%-2d page %-3d %-6s splits %2d: %7.1f us' % ('$pat', $n, $q, $kvh, $pg, '$v', d['splits'], d['median_us']))" >> "$sum"
      cat "$out/t.json" >> "$out/timing.jsonl"
    else
      echo "$shape $v: did not run: $(tail -c 300 "$out/t.err")" >> "$sum"
    fi
  done
done
# Kernel durations with caches flushed (ncu's default), one step each.
for v in head kernel fused; do
  bin=.carry/bin/sieve; opt=""
  [ $v = head ] && bin=.carry/bin/sieve-head
  [ $v = fused ] && opt="--combine fused"
  # shellcheck disable=SC2086
  timeout 60 ncu --metrics gpu__time_duration.sum,smsp__inst_executed.sum $bin run builtin:power_attention --decode \
    --seq-len 131072 --q-len 1 --heads 32 --kv-heads 8 --repeat 1 $opt 2> /dev/null \
    | grep -E "sieve_attention|duration|inst_executed" | head -8 | sed "s/^/[ncu $v] /" >> "$sum"
done
PARTS=flexq timeout 280 bash bench/gpu/pending.sh .carry/bin/sieve "$out/flexq" > "$out/flexq.log" 2>&1
cat "$out/flexq/pending_summary.txt" >> "$sum" 2>/dev/null
cat "$sum"
