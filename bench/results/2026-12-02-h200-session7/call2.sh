#!/usr/bin/env bash
# Session 7, call 2: bwd-sm90-2wg's first run: gradient checks and
# sanitizers, then timings beside bwd-sm90-wgmma (same binary, same call),
# ncu of its main kernel, FlexAttention's backward at 32K.
set -u
O=${OUT:-/tmp/out}; mkdir -p $O; export SIEVE_CACHE_DIR=/tmp/sc
S=$PWD/.carry/bin/sieve
sum=$O/summary.txt; : > $sum
KERNEL=bwd-sm90-2wg PARTS="check" timeout 250 bash bench/gpu/check_backward.sh $S $O/chk > $O/chk.log 2>&1; echo "check rc=$?" >> $sum
grep -E "FAILED|correctness" $O/chk.log | head -12 | cut -c1-600 >> $sum
KERNEL=bwd-sm90-2wg PARTS="sanitize" timeout 150 bash bench/gpu/check_backward.sh $S $O/san > $O/san.log 2>&1; echo "sanitize rc=$?" >> $sum
grep -E "sanitizer" $O/san.log | cut -c1-300 >> $sum
t() { # t KERNEL N KV DET
  if timeout 60 $S run builtin:power_attention --seq-len $2 --heads 32 --kv-heads $3 --backward $4 --kernel $1 --repeat 5 --json > $O/t.json 2>> $O/t.err; then
    python3 -c "import json; d=json.load(open('$O/t.json')); print('%-15s %6d 32/%-2d %-15s %8.3f ms %6.1f TFLOP/s nan %s' % ('$1', $2, $3, '$4' or 'atomic', d['median_ms'], d['tflops'], d.get('nan_or_unwritten')))" >> $sum
  else echo "$1 $2 32/$3 $4: did not run $(tail -c 300 $O/t.err)" >> $sum; fi
}
for n in 32768 131072; do for k in bwd-sm90-wgmma bwd-sm90-2wg; do t $k $n 32 ""; done; done
for k in bwd-sm90-wgmma bwd-sm90-2wg; do t $k 32768 32 --deterministic; t $k 131072 8 ""; done
args="builtin:power_attention --seq-len 16384 --heads 32 --kv-heads 32 --backward --kernel bwd-sm90-2wg"
timeout 100 ncu --section SpeedOfLight --section WarpStateStats --section Occupancy -k sieve_attention_bwd --launch-count 1 $S run $args > $O/ncu2wg.txt 2>&1; echo "ncu rc=$?" >> $sum
grep -E "Duration|Compute \(SM\) Throughput|Memory Throughput|Warp Cycles Per Issued|Achieved Occupancy|Registers" $O/ncu2wg.txt >> $sum
OUT=$O timeout 150 python3 .carry/flex_anchor.py --pattern power --seq-lens 32768 --backward --no-dense --out $O/anchor_bwd.json > $O/anchor_bwd.log 2>&1; echo "flex rc=$?" >> $sum
grep -E '^\{' $O/anchor_bwd.log >> $sum
rm -f $O/t.json
cat $sum
