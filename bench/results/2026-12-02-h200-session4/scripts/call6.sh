#!/usr/bin/env bash
# Session 4, call 6: the default forward on sm_90a is now fwd-sm90-ws: sieve run's default and the
# PyTorch op (C API -> runtime -> tensor maps) on the GPU.
S=$PWD/.carry/bin/sieve; export SIEVE_CACHE_DIR=/tmp/sieve-cache
timeout 60 $S run builtin:power_attention --seq-len 3000 --q-len 1000 --heads 8 --kv-heads 2 --check 2>&1 | grep -E "kernel:|rel_err|check_passed|warning"
env PYTHONPATH=$PWD/python SIEVE_LIBRARY=$PWD/.carry/lib/libsieve.so.0 SIEVE_TOOL=$S \
  timeout 170 python3 -m pytest -q test/python/test_torch.py test/python/test_attention.py 2>&1 | tail -15
