#!/usr/bin/env bash
# Session 6, call 3: where a decode step's fixed ~17 us goes. Split counts at
# 128K (the count phase runs for splits >= 2), patterns with short walks, a
# short sequence; ncu durations warm and cold; one SASS stall profile.
set -u
out=${OUT:-/tmp/out}
mkdir -p "$out"
export SIEVE_CACHE_DIR=/tmp/sieve-cache
S=.carry/bin/sieve
sum=$out/summary.txt
: > "$sum"
t() {  # t LABEL ARGS...
  local label=$1; shift
  if timeout 90 $S run "$@" --repeat 50 --json > "$out/t.json" 2>> "$out/t.err"; then
    python3 -c "
import json; d=json.load(open('$out/t.json'))
print('%-44s splits %2d %-6s: %7.1f us' % ('$label', d['splits'], d.get('combine', '?'), d['median_us']))" >> "$sum"
  else echo "$label: did not run: $(tail -c 300 "$out/t.err")" >> "$sum"; fi
}
P="builtin:power_attention --decode --heads 32 --kv-heads 8 --q-len 1"
for s in 1 2 4 8 16 33 64; do t "power 128K 32/8 fused" $P --seq-len 131072 --splits $s $([ $s -gt 1 ] && echo --combine fused); done
for s in 2 8 33; do t "power 128K 32/8 kernel" $P --seq-len 131072 --splits $s; done
for s in 1 2 8; do t "power 4K 32/8 fused" $P --seq-len 4096 --splits $s $([ $s -gt 1 ] && echo --combine fused); done
for s in 1 2; do t "power 256 32/8" $P --seq-len 256 --splits $s $([ $s -gt 1 ] && echo --combine fused); done
for s in 1 2 8 33; do t "sliding_window 128K 32/8" builtin:sliding_window --decode --heads 32 --kv-heads 8 --q-len 1 --seq-len 131072 --splits $s $([ $s -gt 1 ] && echo --combine fused); done
for s in 1 2; do t "causal 256 32/8" builtin:causal --decode --heads 32 --kv-heads 8 --q-len 1 --seq-len 256 --splits $s $([ $s -gt 1 ] && echo --combine fused); done
# ncu: the decode kernel alone, caches flushed (default) and warm.
for cc in all none; do
  for s in 1 33; do
    timeout 60 ncu --cache-control $cc --metrics gpu__time_duration.sum,smsp__inst_executed.sum $S run $P --seq-len 131072 \
      --splits $s $([ $s -gt 1 ] && echo --combine fused) --repeat 1 > "$out/ncu.txt" 2> /dev/null
    grep -E "^  [a-z_]+ |duration|inst_executed" "$out/ncu.txt" | tail -3 | sed "s/^/[ncu cache=$cc splits $s] /" >> "$sum"
  done
done
# Where the stalls are: per-SASS stall samples of one step (warm caches).
timeout 120 ncu --cache-control none -k regex:decode --launch-count 1 --section SourceCounters --section WarpStateStats \
  -o "$out/rep" $S run $P --seq-len 131072 --splits 33 --combine fused --repeat 1 --nvrtc-option=-lineinfo > "$out/ncu_rep.log" 2>&1
timeout 60 ncu -i "$out/rep.ncu-rep" --page source --csv --print-source sass > "$out/sass.csv" 2> "$out/sass.err"
timeout 60 ncu -i "$out/rep.ncu-rep" --page details > "$out/details.txt" 2>&1
gzip -f "$out/sass.csv"; rm -f "$out/rep.ncu-rep" "$out/t.json" "$out/ncu.txt"
cat "$sum"
