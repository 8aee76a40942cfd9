#!/usr/bin/env bash
# Session 7, call 5: the head split (GQA) of bwd-sm90-2wg: its checks and
# sanitizers, the default kernel's checks again (its registers changed), and
# timings: 32/8 and 32/1 with splits 1, 2, 4, 16; 32/32 beside call 4's
# binary (sieve-prev).
set -u
O=${OUT:-/tmp/out}; mkdir -p $O; export SIEVE_CACHE_DIR=/tmp/sc
S=$PWD/.carry/bin/sieve P=$PWD/.carry/bin/sieve-prev
sum=$O/summary.txt; : > $sum
PARTS="split" timeout 200 bash bench/gpu/check_backward.sh $S $O/split > $O/split.log 2>&1; echo "split rc=$?" >> $sum
grep -E "FAILED|correctness|sanitizer" $O/split.log | cut -c1-400 >> $sum
t() { # t LABEL BIN N KV ARGS
  local l=$1 bin=$2 n=$3 kv=$4; shift 4
  if timeout 60 $bin run builtin:power_attention --seq-len $n --heads 32 --kv-heads $kv --backward "$@" --repeat 5 --json > $O/t.json 2>> $O/t.err; then
    python3 -c "import json; d=json.load(open('$O/t.json')); print('%-6s %-13s %6d 32/%-2d split %s %8.3f ms %6.1f TFLOP/s nan %s' % ('$l', d['kernel'], $n, $kv, d.get('head_split'), d['median_ms'], d['tflops'], d.get('nan_or_unwritten')))" >> $sum
  else echo "$l $n 32/$kv $*: did not run $(tail -c 300 $O/t.err)" >> $sum; fi
}
t prev $P 32768 32
t new $S 32768 32
for s in 1 2 4; do t new $S 131072 8 --head-split $s; done
for s in 1 4 16; do t new $S 32768 1 --head-split $s; done
t prev $P 131072 32
t new $S 131072 32
PARTS="check" timeout 150 bash bench/gpu/check_backward.sh $S $O/chk > $O/chk.log 2>&1; echo "check rc=$?" >> $sum
grep -E "FAILED|correctness" $O/chk.log | cut -c1-400 >> $sum
rm -f $O/t.json
cat $sum
