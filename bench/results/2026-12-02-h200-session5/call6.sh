#!/usr/bin/env bash
# Call 6: dense decode copies with one address per thread and tile (and the
# combine's NaN passing through): decode checks, memcheck, the Python tests,
# the one-tile instruction count, and timings A/B against row addressing.
S=$PWD/.carry/bin/sieve O=$1
mkdir -p $O; export SIEVE_CACHE_DIR=/tmp/sc
sum=$O/summary.txt; : > $sum
PARTS="check" timeout 200 bash bench/gpu/check_decode.sh $S $O/decode > $O/decode.out 2>&1
echo "check_decode rc=$?" >> $sum; cat $O/decode/decode_summary.txt >> $sum
timeout 90 compute-sanitizer --tool memcheck --error-exitcode 9 $S run builtin:power_attention \
  --seq-lens 9000,100 --q-len 3 --heads 8 --kv-heads 2 --splits 5 --check > $O/memcheck.log 2>&1
echo "memcheck rc=$? $(grep 'ERROR SUMMARY' $O/memcheck.log)" >> $sum
env PYTHONPATH=$PWD/python SIEVE_LIBRARY=$PWD/.carry/lib/libsieve.so.0 SIEVE_TOOL=$S timeout 120 \
  python3 -m pytest -q -rs test/python/test_torch.py test/python/test_attention.py > $O/torch.log 2>&1
echo "torch rc=$? $(tail -1 $O/torch.log)" >> $sum
grep -E "^FAILED|Error" $O/torch.log | head -10 >> $sum
timeout 60 ncu --metrics gpu__time_duration.sum,smsp__inst_executed.sum -k regex:decode $S run builtin:power_attention \
  --decode --seq-len 256 --q-len 1 --heads 32 --kv-heads 8 --splits 1 --repeat 1 2>/dev/null \
  | grep -E "duration|inst_executed" | sed 's/^/one tile: /' >> $sum
t() {
  local label=$1; shift
  timeout 60 $S run "$@" --decode --heads 32 --repeat 30 --json > $O/t.json 2>>$O/t.err &&
    python3 -c "import json; d=json.load(open('$O/t.json')); print('%-40s splits %2s %6.1f us' % ('$label', d['splits'], d['median_us']))" >> $sum
}
for opt in "" --nvrtc-option=-DSIEVE_DECODE_ROW_ADDRESSES; do
  for a in "131072 8 1" "131072 32 1" "131072 8 16" "32768 8 1"; do
    set -- $a
    t "$1 32/$2 q$3 ${opt:+rows}" builtin:power_attention --seq-len $1 --kv-heads $2 --q-len $3 $opt
  done
done
cat $sum
