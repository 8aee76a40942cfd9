#!/usr/bin/env bash
# Call 5: the backward at 128K beside FlexAttention's in one call, then the
# decode kernel's SASS-level instruction counts (where a CTA's fixed cost goes).
S=$PWD/.carry/bin/sieve O=$1
mkdir -p $O; export SIEVE_CACHE_DIR=/tmp/sc
sum=$O/summary.txt; : > $sum
for det in ""; do
  timeout 150 $S run builtin:power_attention --seq-len 131072 --heads 32 --kv-heads 32 --backward $det \
    --repeat 5 --json > $O/bwd.json 2>> $O/bwd.err &&
    python3 -c "import json; d=json.load(open('$O/bwd.json')); print('sieve backward %s 128K 32/32: %s %.3f ms %.1f TFLOP/s' % (d['kernel'], '$det' or 'atomic', d['median_ms'], d['tflops']))" >> $sum
done
OUT=$O timeout 200 python3 .carry/flex_anchor.py --pattern power --seq-lens 131072 --backward --no-dense \
  --out $O/anchor_backward.json > $O/anchor_backward.log 2>&1; echo "flex rc=$?" >> $sum
grep -E '^\{' $O/anchor_backward.log >> $sum
args="builtin:power_attention --decode --seq-len 256 --q-len 1 --heads 32 --kv-heads 8 --splits 1 --repeat 1 --nvrtc-option=-lineinfo"
$S run $args > /dev/null 2>&1
for src in sass; do
  timeout 120 ncu --cache-control none --launch-count 1 -k regex:decode --section SourceCounters \
    --page source --print-source $src --csv $S run $args > $O/src_$src.csv 2> $O/src_$src.err
  echo "src $src rc=$? lines=$(wc -l < $O/src_$src.csv)" >> $sum
  head -c 400 $O/src_$src.csv >> $sum; echo >> $sum
  gzip -f $O/src_$src.csv
done
cat $sum
