#!/usr/bin/env bash
# backward timings: bwd-sm80-mma vs bwd-sm90-wgmma beside FlexAttention, one call
S=.carry/bin/sieve; O=$1; export SIEVE_CACHE_DIR=/tmp/sc; mkdir -p $O
for n in 32768 131072; do for kvh in 32 8; do [ $kvh = 8 ] && [ $n != 131072 ] && continue
 for k in bwd-sm80-mma bwd-sm90-wgmma; do for det in "" --deterministic; do
  if timeout 200 $S run builtin:power_attention --seq-len $n --heads 32 --kv-heads $kvh --backward $det --kernel $k --repeat 5 --json > $O/t.json 2>>$O/err.txt; then
   python3 -c "import json; d=json.load(open('$O/t.json')); print('sieve bwd power %6d 32/%-2d %-15s %-15s %8.3f ms %6.1f TFLOP/s nan %d' % ($n,$kvh,'$k','$det' or 'atomic',d['median_ms'],d['tflops'],d['nan_or_unwritten']))" | tee -a $O/summary.txt
   cat $O/t.json >> $O/all.jsonl
  else echo "sieve $n $kvh $k $det failed: $(tail -c 300 $O/err.txt)" | tee -a $O/summary.txt; fi
 done; done; done; done
OUT=$O timeout 400 python3 .carry/flex_anchor.py --pattern power --seq-lens 32768,131072 --backward --no-dense --out $O/anchor.json > $O/anchor.log 2>&1 || echo "anchor failed $(tail -c 300 $O/anchor.log)" | tee -a $O/summary.txt
grep -E '^\{' $O/anchor.log | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    tf = 10.0 * 32 * 128 * r["attended_pairs"] / (r["flex_bwd_ms"] * 1e-3) / 1e12
    print("flex power %6d 32/32: fwd %.3f ms bwd %.3f ms %6.1f TFLOP/s" % (r["n"], r["flex_ms"], r["flex_bwd_ms"], tf))' | tee -a $O/summary.txt
