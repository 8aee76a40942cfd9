#!/usr/bin/env bash
# Session 8, call 2: an Nsight Compute profile of bwd-sm90-2wg's main kernel
# (full set, per-SASS stall samples) at 16K, 32/32, to see what bounds the
# default backward now; GQA backward (32/8, sieve's automatic head split)
# beside FlexAttention's at 32K and 128K.
set -u
O=${OUT:-/tmp/out}; mkdir -p $O; export SIEVE_CACHE_DIR=/tmp/sc
S=$PWD/.carry/bin/sieve
sum=$O/summary.txt; : > $sum
args="builtin:power_attention --seq-len 16384 --heads 32 --kv-heads 32 --backward --nvrtc-option=-lineinfo"
$S run $args > /dev/null 2>&1
timeout 170 ncu --set full --import-source no -k sieve_attention_bwd --launch-count 1 -o $O/bwd2wg_full $S run $args > $O/ncu_full.log 2>&1; echo "ncu full rc=$?" >> $sum
ncu --import $O/bwd2wg_full.ncu-rep --page details > $O/bwd2wg_full.txt 2>&1
ncu --import $O/bwd2wg_full.ncu-rep --page source --print-source sass --csv > $O/bwd2wg_sass.csv 2>&1; gzip -f $O/bwd2wg_sass.csv
rm -f $O/bwd2wg_full.ncu-rep
grep -E "Duration|Compute \(SM\) Throughput|Memory Throughput|Registers Per|Achieved Occupancy|Theoretical Occupancy|Issued Ipc|Warp Cycles Per Issued|No Eligible|Tensor" $O/bwd2wg_full.txt | head -30 >> $sum
t() { # t N KV
  if timeout 80 $S run builtin:power_attention --seq-len $1 --heads 32 --kv-heads $2 --backward --repeat 5 --json > $O/t.json 2>> $O/t.err; then
    python3 -c "import json; d=json.load(open('$O/t.json')); print('bwd %-15s %6d 32/%-2d split %s %8.3f ms %6.1f TFLOP/s nan %s' % (d['kernel'], $1, $2, d.get('head_split'), d['median_ms'], d['tflops'], d.get('nan_or_unwritten')))" >> $sum
  else echo "bwd $1 32/$2: did not run $(tail -c 300 $O/t.err)" >> $sum; fi
}
t 32768 8; t 131072 8
OUT=$O timeout 250 python3 .carry/flex_anchor.py --pattern power --seq-lens 32768,131072 --kv-heads 8 --backward --no-dense --out $O/anchor_bwd8.json > $O/anchor_bwd8.log 2>&1; echo "flex bwd 32/8 rc=$?" >> $sum
grep -E '^\{' $O/anchor_bwd8.log >> $sum
rm -f $O/t.json
cat $sum
