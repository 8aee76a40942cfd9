#!/usr/bin/env bash
# Call 3: the one-warp-per-cell split combine (DecodeCombineSplits) checked,
# the torch op's decode choice tested, then split counts swept.
S=$PWD/.carry/bin/sieve O=$1
mkdir -p $O; export SIEVE_CACHE_DIR=/tmp/sc
sum=$O/summary.txt; : > $sum
PARTS="check sanitize" timeout 300 bash bench/gpu/check_decode.sh $S $O/decode > $O/decode.out 2>&1
echo "check_decode rc=$?" >> $sum; cat $O/decode/decode_summary.txt >> $sum
env PYTHONPATH=$PWD/python SIEVE_LIBRARY=$PWD/.carry/lib/libsieve.so.0 SIEVE_TOOL=$S timeout 200 \
  python3 -m pytest -q -rs test/python/test_torch.py test/python/test_attention.py > $O/torch.log 2>&1
echo "torch rc=$? $(tail -1 $O/torch.log)" >> $sum
grep -E "FAILED|Error|SKIPPED" $O/torch.log | head -20 >> $sum
t() {  # label args...
  local label=$1; shift
  timeout 60 $S run "$@" --decode --heads 32 --repeat 30 --json > $O/t.json 2>>$O/t.err &&
    python3 -c "import json; d=json.load(open('$O/t.json')); print('%-44s splits %2s %6.1f us %6.0f GB/s' % ('$label', d['splits'], d['median_us'], d['kv_gb_per_s']))" >> $sum
}
echo "== sweep (power 128K unless said)" >> $sum
for kv in 8 32; do for q in 1 16; do for s in 4 8 12 16 24 33 48 64 auto; do
  t "kv$kv q$q s$s" builtin:power_attention --seq-len 131072 --q-len $q --kv-heads $kv --splits $s
done; done; done
for kv in 8 32; do for q in 1 16; do
  t "kv$kv q$q auto COLUMNS-combine" builtin:power_attention --seq-len 131072 --q-len $q --kv-heads $kv --nvrtc-option=-DSIEVE_DECODE_COMBINE_COLUMNS
  t "32K kv$kv q$q auto" builtin:power_attention --seq-len 32768 --q-len $q --kv-heads $kv
done; done
t "causal 128K kv8 q1 auto" builtin:causal --seq-len 131072 --q-len 1 --kv-heads 8
t "causal 128K kv32 q1 auto" builtin:causal --seq-len 131072 --q-len 1 --kv-heads 32
echo "== forward vs decode, power 32K 32/8" >> $sum
for q in 16 64 128 256; do
  t "decode q$q" builtin:power_attention --seq-len 32768 --q-len $q --kv-heads 8
  timeout 60 $S run builtin:power_attention --seq-len 32768 --q-len $q --heads 32 --kv-heads 8 --repeat 30 --json > $O/f.json 2>>$O/t.err &&
    python3 -c "import json; d=json.load(open('$O/f.json')); print('forward q%d %s %.1f us' % ($q, d['kernel'], d['median_ms']*1e3))" >> $sum
done
cat $sum
