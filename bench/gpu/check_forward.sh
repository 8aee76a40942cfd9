#!/usr/bin/env bash
# The forward GPU run, in one command on a GPU machine (bench/gpu/README.md):
#   1. every forward kernel variant the device runs, on every built-in and on
#      patterns covering the rest of the algebra, against the CPU executor
#      (NaN-poisoned outputs, every element; the SieveGpuTests binary);
#   2. PowerAttention timed at 32K, 64K and 128K (bf16, 32 heads, hd 128) for
#      each variant, and FlexAttention and dense SDPA in the same run;
#   3. compute-sanitizer memcheck, racecheck and synccheck on one small case
#      per variant (skipped where the tool cannot run).
# Writes a few logs under OUT (what the device tool brings back) and prints a
# summary. Exits non-zero if a check failed.
#
#   bash bench/gpu/check_forward.sh SIEVE SIEVE_GPU_TESTS OUT [FLEX_ANCHOR_PY]
set -u
sieve=$1 tests=$2 out=$3 anchor=${4:-}
mkdir -p "$out"
export SIEVE_CACHE_DIR=${SIEVE_CACHE_DIR:-/tmp/sieve-cache}
summary=$out/summary.txt
: > "$summary"
note() { echo "$*" | tee -a "$summary"; }
fail=0

note "== $(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1)"
note "== sieve $("$sieve" --version 2>&1 | head -1)"

# 1. Correctness of every variant.
if timeout 1200 "$tests" --gtest_color=no > "$out/gpu_tests.log" 2>&1; then
  note "correctness: $(grep -E 'forward checks passed' "$out/gpu_tests.log")"
else
  fail=1
  note "correctness FAILED: $(grep -E 'forward checks passed|FAIL|Failure' "$out/gpu_tests.log" | head -5)"
fi

# 2. Timings, side by side in this run.
variants=$("$sieve" list --kernels | grep -E '^fwd-' | cut -d' ' -f1)
: > "$out/timing.jsonl"
for v in $variants; do
  for n in 32768 65536 131072; do
    if timeout 300 "$sieve" run builtin:power_attention --seq-len $n --heads 32 --repeat 30 \
        --kernel "$v" --json > "$out/t.json" 2>> "$out/timing.err"; then
      python3 -c "import json,sys; d=json.load(open('$out/t.json')); d['variant']='$v'; print(json.dumps(d))" >> "$out/timing.jsonl"
      note "$(python3 -c "import json; d=json.load(open('$out/t.json')); print('sieve %-15s %6d: %8.3f ms %5.0f TFLOP/s' % ('$v', $n, d['median_ms'], d['tflops']))")"
    else
      note "sieve $v $n: did not run ($(tail -c 200 "$out/timing.err"))"
    fi
  done
done
rm -f "$out/t.json"
if [ -n "$anchor" ]; then
  OUT=$out timeout 900 python3 "$anchor" --pattern power --seq-lens 32768,65536,131072 --no-dense \
    --out "$out/anchor.json" > "$out/anchor.log" 2>&1 || note "flex anchor failed: $(tail -c 300 "$out/anchor.log")"
  OUT=$out timeout 600 python3 "$anchor" --pattern power --seq-lens 32768 \
    --out "$out/anchor_dense.json" >> "$out/anchor.log" 2>&1 || note "dense anchor failed"
  grep -E '^\{' "$out/anchor.log" | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    print("anchor", " ".join("%s=%s" % (k, v) for k, v in r.items()))' | tee -a "$summary"
fi

# 3. Sanitizers on one small case per variant.
if command -v compute-sanitizer > /dev/null; then
  for v in $variants; do
    for tool in memcheck racecheck synccheck; do
      if timeout 300 compute-sanitizer --tool $tool --error-exitcode 9 "$sieve" run builtin:power_attention \
          --seq-len 1000 --q-len 700 --heads 2 --kv-heads 1 --kernel "$v" --check > "$out/san.log" 2>&1; then
        note "sanitizer $tool $v: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$out/san.log" | tail -1)"
      else
        note "sanitizer $tool $v: exit $? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|error' "$out/san.log" | tail -2)"
        grep -q "ERROR SUMMARY: [1-9]\|RACECHECK SUMMARY: [1-9]" "$out/san.log" && fail=1
      fi
      cat "$out/san.log" >> "$out/sanitizer.log"
    done
  done
  rm -f "$out/san.log"
fi
exit $fail
