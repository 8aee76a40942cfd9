#!/usr/bin/env bash
# Call 4: decode with one-wave auto splits and the split combine, beside
# FlexAttention (one query) in one call; decode against forward for 16-64
# queries, to place sieve.DECODE_MAX_QUERIES.
S=$PWD/.carry/bin/sieve O=$1
mkdir -p $O; export SIEVE_CACHE_DIR=/tmp/sc
sum=$O/summary.txt; : > $sum
echo "== crossover: decode (auto splits) vs forward, power" >> $sum
for n in 32768 131072; do for kv in 8 32; do for q in 16 24 32 48 64; do
  d=$(timeout 60 $S run builtin:power_attention --decode --seq-len $n --q-len $q --heads 32 --kv-heads $kv --repeat 30 --json 2>>$O/x.err | python3 -c "import json,sys; d=json.load(sys.stdin); print('%.1f us (splits %d)' % (d['median_us'], d['splits']))")
  f=$(timeout 60 $S run builtin:power_attention --seq-len $n --q-len $q --heads 32 --kv-heads $kv --repeat 30 --json 2>>$O/x.err | python3 -c "import json,sys; d=json.load(sys.stdin); print('%.1f us (%s)' % (d['median_ms']*1e3, d['kernel']))")
  echo "$n 32/$kv q$q: decode $d, forward $f" >> $sum
done; done; done
PARTS="time anchor" timeout 420 bash bench/gpu/check_decode.sh $S $O/t .carry/flex_anchor.py > $O/decode.out 2>&1
echo "time/anchor rc=$?" >> $sum
cat $O/t/decode_summary.txt >> $sum
cp $O/t/decode_timing.jsonl $O/ 2>/dev/null
cat $sum
