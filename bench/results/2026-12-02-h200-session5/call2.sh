#!/usr/bin/env bash
# Decode fixed cost: where do ~22 us per short step go?
# ncu per-kernel durations with caches flushed (all) and warm (none), stall
# ratios, code size effect (causal 49 KB vs power 108 KB of SASS), event timing.
S=.carry/bin/sieve O=$1
mkdir -p $O; export SIEVE_CACHE_DIR=/tmp/sc
sum=$O/summary.txt; : > $sum
run() { timeout 60 $S run "$@" --decode --heads 32 --repeat 1; }
# warm the JIT cache for every case
for p in builtin:power_attention builtin:causal; do for n in 256 131072; do for kv in 8 32; do
  $S run $p --decode --heads 32 --kv-heads $kv --seq-len $n --q-len 1 --repeat 1 > /dev/null 2>&1; done; done; done
M=gpu__time_duration.sum,smsp__inst_executed.sum,sm__cycles_active.max,smsp__warps_launched.sum
ST='regex:smsp__average_warps_issue_stalled_(no_instruction|long_scoreboard|barrier|wait|short_scoreboard|math_pipe_throttle|branch_resolving|lg_throttle|mio_throttle|imc_miss|membar|dispatch_stall|drain|selected|not_selected|sleeping|misc|tex_throttle)_per_issue_active\.ratio'
for cc in all none; do
 for args in "builtin:power_attention --seq-len 256 --kv-heads 8 --splits 1" \
             "builtin:causal --seq-len 256 --kv-heads 8 --splits 1" \
             "builtin:power_attention --seq-len 131072 --kv-heads 8 --splits 1" \
             "builtin:power_attention --seq-len 131072 --kv-heads 8 --splits auto" \
             "builtin:power_attention --seq-len 131072 --kv-heads 32 --splits auto" \
             "builtin:power_attention --seq-len 131072 --kv-heads 8 --splits auto --q-len 16"; do
  timeout 90 ncu --cache-control $cc --metrics $M $S run $args --decode --heads 32 --q-len 1 --repeat 1 > $O/ncu.tmp 2>&1
  echo "[$cc] $args" >> $sum
  grep -E "sieve_attention|gpu__time|inst_executed|cycles_active|warps_launched" $O/ncu.tmp | grep -v "^==" | sed 's/^ */    /' | tail -10 >> $sum
  cat $O/ncu.tmp >> $O/ncu_all.log
 done
done
echo "== stall ratios (cache all)" >> $sum
for args in "builtin:power_attention --seq-len 256 --kv-heads 8 --splits 1" \
            "builtin:power_attention --seq-len 131072 --kv-heads 8 --splits auto"; do
  timeout 90 ncu --cache-control all -k regex:decode --metrics "$ST" $S run $args --decode --heads 32 --q-len 1 --repeat 1 > $O/ncu.tmp 2>&1
  echo "[$args]" >> $sum
  grep -E "stalled" $O/ncu.tmp | awk '$NF+0 > 0.05' | sed 's/^ */    /' >> $sum
  cat $O/ncu.tmp >> $O/ncu_stall.log
done
echo "== event timing (median of 50, L2 flushed)" >> $sum
for opt in "" --nvrtc-option=-DSIEVE_WALK_NOINLINE; do
for args in "builtin:power_attention --seq-len 256 --kv-heads 8 --splits 1" \
            "builtin:causal --seq-len 256 --kv-heads 8 --splits 1" \
            "builtin:power_attention --seq-len 131072 --kv-heads 8" \
            "builtin:power_attention --seq-len 131072 --kv-heads 32" \
            "builtin:power_attention --seq-len 32768 --kv-heads 8" ; do
  timeout 60 $S run $args --decode --heads 32 --q-len 1 --repeat 50 $opt --json > $O/t.json 2>>$O/t.err &&
   python3 -c "import json; d=json.load(open('$O/t.json')); print('%-70s %s %.1f us splits %s' % ('$args', '$opt' or 'inline', d['median_us'], d.get('splits')))" >> $sum
done; done
cat $sum
