#!/usr/bin/env bash
# Session 8, call 1: sieve's automatic GQA head split run for the first
# time (session 7's call 6): GQA checks without --head-split, the full
# backward checks with the default kernel and sanitizers, the torch tests;
# backward timings at 32/8 (auto split) and FlexAttention's backward at
# 128K; decode beside FlexAttention's with the 16-split auto default.
set -u
O=${OUT:-/tmp/out}; mkdir -p $O; export SIEVE_CACHE_DIR=/tmp/sc
S=$PWD/.carry/bin/sieve
sum=$O/summary.txt; : > $sum
for c in "power_attention --seq-len 2000 --heads 8 --kv-heads 2" "causal --seq-len 1500 --q-len 1000 --heads 32 --kv-heads 1" "longformer --seq-len 1300 --heads 4 --kv-heads 1 --dtype fp16"; do
  timeout 30 $S run builtin:$c --backward --check --json > $O/c.json 2>> $O/c.err
  echo "auto-split check rc=$? $c: $(python3 -c "import json; d=json.load(open('$O/c.json')); print(d['kernel'], 'split', d.get('head_split'), d['dq_rel_err'], d['dk_rel_err'], d['dv_rel_err'], d['check_passed'])" 2>&1)" >> $sum
done
PARTS="check sanitize" timeout 240 bash bench/gpu/check_backward.sh $S $O/chk > $O/chk.log 2>&1; echo "check_backward (default kernel, auto split) rc=$?" >> $sum
grep -E "FAILED|correctness|sanitizer" $O/chk.log | head -20 | cut -c1-400 >> $sum
python3 -c "
import json; ks={}
for l in open('$O/chk/checks.jsonl'):
    d=json.loads(l); k=(d.get('kernel'), d.get('head_split')); ks[k]=ks.get(k,0)+1
print('kernels/splits in the checks:', ks)" >> $sum 2>&1
SIEVE_LIBRARY=$PWD/.carry/lib/libsieve.so.0 PYTHONPATH=$PWD/python SIEVE_TOOL=$S timeout 80 python3 -m pytest -q test/python/test_torch.py test/python/test_attention.py > $O/torch.log 2>&1; echo "torch rc=$? $(tail -1 $O/torch.log)" >> $sum
t() { # t N KV ARGS
  local n=$1 kv=$2; shift 2
  if timeout 80 $S run builtin:power_attention --seq-len $n --heads 32 --kv-heads $kv --backward "$@" --repeat 5 --json > $O/t.json 2>> $O/t.err; then
    python3 -c "import json; d=json.load(open('$O/t.json')); print('bwd %-15s %6d 32/%-2d split %s %-20s %8.3f ms %6.1f TFLOP/s nan %s' % (d['kernel'], $n, $kv, d.get('head_split'), '$*', d['median_ms'], d['tflops'], d.get('nan_or_unwritten')))" >> $sum
  else echo "bwd $n 32/$kv $*: did not run $(tail -c 300 $O/t.err)" >> $sum; fi
}
t 131072 8
t 131072 32
t 32768 8
OUT=$O timeout 200 python3 .carry/flex_anchor.py --pattern power --seq-lens 131072 --backward --no-dense --out $O/anchor_bwd.json > $O/anchor_bwd.log 2>&1; echo "flex bwd rc=$?" >> $sum
grep -E '^\{' $O/anchor_bwd.log >> $sum
for kv in 8 32; do
  timeout 60 $S run builtin:power_attention --decode --seq-len 131072 --q-len 1 --heads 32 --kv-heads $kv --graph --repeat 50 --json > $O/t.json 2>> $O/t.err && python3 -c "import json; d=json.load(open('$O/t.json')); print('decode 128K 32/%d splits %d: %.1f us, graph %.1f us' % ($kv, d['splits'], d['median_us'], d.get('graph_median_us', float('nan'))))" >> $sum
done
OUT=$O timeout 150 python3 .carry/flex_anchor.py --pattern power --seq-lens 131072 --kv-heads 8 --decode --no-dense --out $O/anchor_dec8.json > $O/anchor_dec.log 2>&1; echo "flex decode 32/8 rc=$?" >> $sum
OUT=$O timeout 120 python3 .carry/flex_anchor.py --pattern power --seq-lens 131072 --kv-heads 32 --decode --no-dense --out $O/anchor_dec32.json >> $O/anchor_dec.log 2>&1; echo "flex decode 32/32 rc=$?" >> $sum
grep -E '^\{' $O/anchor_dec.log >> $sum
rm -f $O/t.json
cat $sum
