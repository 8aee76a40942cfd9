#!/usr/bin/env bash
# Session 7, call 1: the 16-split auto decode default (checks, sanitizers,
# timings), then an Nsight Compute profile of bwd-sm90-wgmma's main kernel
# (full set and per-SASS stall samples) at 16K, 32/32, to see what bounds it.
set -u
O=${OUT:-/tmp/out}; mkdir -p $O; export SIEVE_CACHE_DIR=/tmp/sc
S=$PWD/.carry/bin/sieve
sum=$O/summary.txt; : > $sum
PARTS="check sanitize" timeout 240 bash bench/gpu/check_decode.sh $S $O/dec > $O/dec.log 2>&1; echo "decode check rc=$?" >> $sum
grep -E "passed|failed|FAIL|ERROR SUMMARY|hazard" $O/dec.log | tail -8 >> $sum
PARTS=time timeout 100 bash bench/gpu/check_decode.sh $S $O/dect > $O/dect.log 2>&1; echo "decode time rc=$?" >> $sum
tail -30 $O/dect.log >> $sum
args="builtin:power_attention --seq-len 16384 --heads 32 --kv-heads 32 --backward --nvrtc-option=-lineinfo"
$S run $args > /dev/null 2>&1
timeout 150 ncu --set full --import-source no -k sieve_attention_bwd --launch-count 1 -o $O/bwd_full $S run $args > $O/ncu_full.log 2>&1; echo "ncu full rc=$?" >> $sum
ncu --import $O/bwd_full.ncu-rep --page details > $O/bwd_full.txt 2>&1
ncu --import $O/bwd_full.ncu-rep --page source --print-source sass --csv > $O/bwd_sass.csv 2>&1; gzip -f $O/bwd_sass.csv
grep -E "Duration|Compute \(SM\) Throughput|Memory Throughput|Registers Per|Achieved Occupancy|Issue Slots Busy|Tensor|L2 Hit|Warp Cycles Per Issued|Stall" $O/bwd_full.txt | head -40 >> $sum
cat $sum
