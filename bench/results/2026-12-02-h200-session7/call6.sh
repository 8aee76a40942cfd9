#!/usr/bin/env bash
# Session 7, call 6: sieve's automatic head split: GQA checks without
# --head-split, the torch tests through libsieve.so.0.
set -u
O=${OUT:-/tmp/out}; mkdir -p $O; export SIEVE_CACHE_DIR=/tmp/sc
S=$PWD/.carry/bin/sieve
sum=$O/summary.txt; : > $sum
for c in "power_attention --seq-len 2000 --heads 8 --kv-heads 2" "causal --seq-len 1500 --q-len 1000 --heads 32 --kv-heads 1" "longformer --seq-len 1300 --heads 4 --kv-heads 1 --dtype fp16"; do
  timeout 30 $S run builtin:$c --backward --check --json > $O/c.json 2>> $O/c.err
  echo "auto-split check rc=$? $c: $(python3 -c "import json; d=json.load(open('$O/c.json')); print(d['kernel'], 'split', d.get('head_split'), d['dq_rel_err'], d['dk_rel_err'], d['dv_rel_err'], d['check_passed'])" 2>&1)" >> $sum
done
SIEVE_LIBRARY=$PWD/.carry/lib/libsieve.so.0 PYTHONPATH=$PWD/python SIEVE_TOOL=$S timeout 70 python3 -m pytest -q test/python/test_torch.py test/python/test_attention.py > $O/torch.log 2>&1; echo "torch rc=$? $(tail -1 $O/torch.log)" >> $sum
cat $sum
