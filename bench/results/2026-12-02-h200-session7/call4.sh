#!/usr/bin/env bash
# Session 7, call 4: bwd-sm90-2wg with dK in flight through the barrier and
# beside dQ, now the table's backward on sm_90a: gradient checks (default
# kernel), sanitizers, the torch tests through libsieve.so.0; timings beside
# the previous 2wg (sieve-prev) and bwd-sm90-wgmma; FlexAttention at 32K.
set -u
O=${OUT:-/tmp/out}; mkdir -p $O; export SIEVE_CACHE_DIR=/tmp/sc
S=$PWD/.carry/bin/sieve P=$PWD/.carry/bin/sieve-prev
sum=$O/summary.txt; : > $sum
PARTS="check sanitize" timeout 300 bash bench/gpu/check_backward.sh $S $O/chk > $O/chk.log 2>&1; echo "check (default kernel) rc=$?" >> $sum
grep -E "FAILED|correctness|sanitizer" $O/chk.log | head -20 | cut -c1-400 >> $sum
python3 -c "
import json; ks={}
for l in open('$O/chk/checks.jsonl'):
    d=json.loads(l); ks[d.get('kernel')]=ks.get(d.get('kernel'),0)+1
print('kernels in the checks:', ks)" >> $sum 2>&1
SIEVE_LIBRARY=$PWD/.carry/lib/libsieve.so.0 PARTS=torch timeout 200 bash bench/gpu/pending.sh $S $O/torch > $O/torch.log 2>&1; echo "torch rc=$?" >> $sum
cat $O/torch/*summary* >> $sum 2>/dev/null
t() { # t LABEL BIN N KV DET ARGS
  local l=$1 bin=$2 n=$3 kv=$4 det=$5; shift 5
  if timeout 80 $bin run builtin:power_attention --seq-len $n --heads 32 --kv-heads $kv --backward $det "$@" --repeat 5 --json > $O/t.json 2>> $O/t.err; then
    python3 -c "import json; d=json.load(open('$O/t.json')); print('%-12s %-15s %6d 32/%-2d %-15s %8.3f ms %6.1f TFLOP/s nan %s' % ('$l', d['kernel'], $n, $kv, '$det' or 'atomic', d['median_ms'], d['tflops'], d.get('nan_or_unwritten')))" >> $sum
  else echo "$l $n 32/$kv $det: did not run $(tail -c 300 $O/t.err)" >> $sum; fi
}
for n in 32768 131072; do
  t prev $P $n 32 "" --kernel bwd-sm90-2wg
  t new $S $n 32 ""
  t wgmma $S $n 32 "" --kernel bwd-sm90-wgmma
done
t new $S 32768 32 --deterministic
OUT=$O timeout 150 python3 .carry/flex_anchor.py --pattern power --seq-lens 32768 --backward --no-dense --out $O/anchor_bwd.json > $O/anchor_bwd.log 2>&1; echo "flex rc=$?" >> $sum
grep -E '^\{' $O/anchor_bwd.log >> $sum
rm -f $O/t.json
cat $sum
