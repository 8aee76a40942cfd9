#!/usr/bin/env bash
# Runs the self-contained sieve binary on a GPU machine: `sieve run --check`
# for every built-in (bf16 and fp16, head dims 128 and 64, batch, GQA,
# q_len < k_len, q_len = 1) and for the specs in SPECS_DIR, then times
# PowerAttention at 32K-128K. Prints one line per run and a summary; exits
# non-zero if any check failed.
#
#   bash bench/run_gpu_checks.sh SIEVE_BINARY SPECS_DIR OUT_DIR [EXTRA sieve run ARGS...]
set -u
sieve=$1 specs=$2 out=$3
shift 3
extra=("$@")
mkdir -p "$out"
fail=0 total=0
check() { # name, args...
  local name=$1; shift
  total=$((total + 1))
  if "$sieve" run "$@" "${extra[@]}" --check --json > "$out/$name.json" 2> "$out/$name.err"; then
    echo "ok   $name $(python3 -c "import json,sys; d=json.load(open('$out/$name.json')); print('err %.2e lse %.1e rows %d from %s' % (d['rel_err'], d['lse_max_abs_err'], d['checked_rows'], d['kernel_from']))")"
  else
    fail=$((fail + 1))
    echo "FAIL $name: $(tail -c 300 "$out/$name.err")"
  fi
}
for b in $("$sieve" list | cut -d' ' -f1); do
  check "$b.bf16.hd128.b2.gqa" builtin:$b --seq-len 1000 --batch 2 --heads 8 --kv-heads 2
  check "$b.bf16.hd128.q77" builtin:$b --seq-len 4097 --q-len 77 --heads 4 --kv-heads 1
  check "$b.bf16.hd128.q1" builtin:$b --seq-len 4097 --q-len 1 --heads 4
  check "$b.fp16.hd64.gqa" builtin:$b --seq-len 4097 --head-dim 64 --dtype fp16 --heads 4 --kv-heads 2
done
check power_attention.bf16.hd128.32k builtin:power_attention --seq-len 32768
for f in "$specs"/*.json; do
  n=$(basename "$f" .json)
  check "$n.bf16.hd128" "$f" --seq-len 4097 --q-len 1500 --batch 2 --heads 4 --kv-heads 2
done
# Key block 192: on Hopper the wgmma kernel with 64-wide key tiles.
printf '%s' '{"block_size": 192, "mask": {"intersect": ["causal", {"union": [{"sink": {"blocks": 1}}, {"window": {"blocks": 3}}, {"power_of_two": {}}]}]}}' > "$out/block192.json"
check block192.bf16.hd128 "$out/block192.json" --seq-len 5000 --q-len 1777 --batch 2 --heads 4 --kv-heads 2
check block192.fp16.hd64 "$out/block192.json" --seq-len 5000 --head-dim 64 --dtype fp16 --heads 2
echo "$((total - fail))/$total sieve run checks passed"
for n in 32768 65536 131072; do
  "$sieve" run builtin:power_attention --seq-len $n --heads 32 --repeat 30 --json "${extra[@]}" > "$out/time.$n.json"
  python3 -c "import json; d=json.load(open('$out/time.$n.json')); print('time power_attention %d: %.3f ms, %.0f TFLOP/s' % ($n, d['median_ms'], d['tflops']))"
done
exit $fail
