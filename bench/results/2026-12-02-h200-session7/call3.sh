#!/usr/bin/env bash
# Session 7, call 3: bwd-sm90-2wg after the post fix: gradient checks and
# sanitizers (and the S/dP-overlap variant, -DSIEVE_BWD_OVERLAP, on a
# subset), timings beside bwd-sm90-wgmma, FlexAttention's backward at 32K.
set -u
O=${OUT:-/tmp/out}; mkdir -p $O; export SIEVE_CACHE_DIR=/tmp/sc
S=$PWD/.carry/bin/sieve
sum=$O/summary.txt; : > $sum
KERNEL=bwd-sm90-2wg PARTS="check sanitize" timeout 300 bash bench/gpu/check_backward.sh $S $O/chk > $O/chk.log 2>&1; echo "check rc=$?" >> $sum
grep -E "FAILED|correctness|sanitizer|skipped" $O/chk.log | head -30 | cut -c1-400 >> $sum
OV=--nvrtc-option=-DSIEVE_BWD_OVERLAP
for c in "builtin:power_attention --seq-len 1000 --heads 2 --kv-heads 2" "builtin:causal --seq-len 1100 --q-len 700 --heads 4 --kv-heads 2" "builtin:longformer --seq-len 4100 --heads 2 --kv-heads 1 --dtype fp16"; do
  timeout 60 $S run $c --backward --check --kernel bwd-sm90-2wg $OV --json > $O/ov.json 2>> $O/ov.err; echo "overlap check rc=$? $c $(python3 -c "import json; d=json.load(open('$O/ov.json')); print(d['dq_rel_err'], d['dk_rel_err'], d['dv_rel_err'])" 2>&1)" >> $sum
done
t() { # t LABEL N KV DET ARGS
  local l=$1 n=$2 kv=$3 det=$4; shift 4
  if timeout 80 $S run builtin:power_attention --seq-len $n --heads 32 --kv-heads $kv --backward $det "$@" --repeat 5 --json > $O/t.json 2>> $O/t.err; then
    python3 -c "import json; d=json.load(open('$O/t.json')); print('%-22s %6d 32/%-2d %-15s %8.3f ms %6.1f TFLOP/s nan %s' % ('$l', $n, $kv, '$det' or 'atomic', d['median_ms'], d['tflops'], d.get('nan_or_unwritten')))" >> $sum
  else echo "$l $n 32/$kv $det: did not run $(tail -c 300 $O/t.err)" >> $sum; fi
}
for n in 32768 131072; do
  t wgmma $n 32 "" --kernel bwd-sm90-wgmma
  t 2wg $n 32 "" --kernel bwd-sm90-2wg
  t 2wg-overlap $n 32 "" --kernel bwd-sm90-2wg $OV
done
t wgmma 32768 32 --deterministic --kernel bwd-sm90-wgmma
t 2wg 32768 32 --deterministic --kernel bwd-sm90-2wg
t 2wg-overlap 32768 32 --deterministic --kernel bwd-sm90-2wg $OV
OUT=$O timeout 150 python3 .carry/flex_anchor.py --pattern power --seq-lens 32768 --backward --no-dense --out $O/anchor_bwd.json > $O/anchor_bwd.log 2>&1; echo "flex rc=$?" >> $sum
grep -E '^\{' $O/anchor_bwd.log >> $sum
rm -f $O/t.json $O/ov.json
cat $sum
