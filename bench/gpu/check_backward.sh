#!/usr/bin/env bash
# The backward GPU run, in one command on a GPU machine:
#   1. correctness of bwd-sm80-mma against the CPU reference gradients
#      (`sieve run --backward --check`: the forward kernel makes o and lse,
#      dq/dk/dv are NaN-poisoned, relative error <= 1e-2 in bf16, 5e-3 in
#      fp16, on dq, dk and dv): every built-in, random-ish JSON patterns with
#      small blocks, lengths that are not multiples of the tile, q_len <
#      k_len, GQA, head dims 64 and 128, bf16 and fp16, the atomic and the
#      deterministic dq (the latter also bit-for-bit repeatable);
#   2. compute-sanitizer memcheck, racecheck and synccheck on one case;
#   3. timings of PowerAttention's backward at 32K-128K (32 heads, hd128),
#      atomic and deterministic; FlexAttention's backward on the same mask in
#      the same run (FLEX_ANCHOR_PY --backward).
# Writes logs under OUT and prints a summary; exits non-zero if a check failed.
#
#   bash bench/gpu/check_backward.sh SIEVE OUT [FLEX_ANCHOR_PY]
# PARTS (default "check split sanitize time anchor") picks the parts to run
# ("split": GQA cases with --head-split on the default kernel, which must
# split heads, and memcheck and racecheck on one);
# KERNEL (default: the table's choice for the device) forces a backward
# variant, e.g. KERNEL=bwd-sm90-2wg; checks it does not take (head dim,
# key block) are counted as skipped, not failed.
set -u
sieve=$1 out=$2 anchor=${3:-}
parts=${PARTS:-check split sanitize time anchor}
has() { case " $parts " in *" $1 "*) return 0;; esac; return 1; }
mkdir -p "$out"
export SIEVE_CACHE_DIR=${SIEVE_CACHE_DIR:-/tmp/sieve-cache}
summary=$out/backward_summary.txt
: > "$summary"
note() { echo "$*" | tee -a "$summary"; }
fail=0
kflag=()
[ -n "${KERNEL:-}" ] && kflag=(--kernel "$KERNEL")

if has check; then
: > "$out/checks.jsonl"
pass=0 total=0 skipped=0
check() {  # check NAME ARGS...
  local name=$1; shift
  total=$((total + 1))
  : > "$out/c.err"
  if timeout 300 "$sieve" run "$@" "${kflag[@]}" --backward --check --json > "$out/c.json" 2> "$out/c.err"; then
    pass=$((pass + 1))
  elif [ -n "${KERNEL:-}" ] && grep -q "kernel '$KERNEL' does not apply" "$out/c.err"; then
    # A forced kernel that does not take this case (head dim, key block).
    total=$((total - 1)) skipped=$((skipped + 1))
    note "skipped $name: $(grep -o "does not apply.*" "$out/c.err" | head -1)"
  else
    fail=1
    note "FAILED $name: $* :: $(tr -d '\n' < "$out/c.json" | tail -c 400) $(tail -c 200 "$out/c.err")"
  fi
  cat "$out/c.err" >> "$out/checks.err"
  python3 -c "import json,sys; d=json.load(open('$out/c.json')); d['case']='$name'; print(json.dumps(d))" \
    >> "$out/checks.jsonl" 2>/dev/null || true
}
for p in power_attention causal sliding_window stride_slash longnet dilated full longformer; do
  check "$p-mha-1000" builtin:$p --seq-len 1000 --heads 2 --kv-heads 2
  check "$p-gqa-q700" builtin:$p --seq-len 1100 --q-len 700 --heads 4 --kv-heads 2
  check "$p-det" builtin:$p --seq-len 777 --heads 2 --kv-heads 1 --deterministic
done
check "power-4096" builtin:power_attention --seq-len 4096 --heads 2 --kv-heads 1
check "power-4100-det" builtin:power_attention --seq-len 4100 --heads 2 --kv-heads 2 --deterministic
check "hd64" builtin:power_attention --seq-len 1500 --heads 4 --kv-heads 2 --head-dim 64
check "hd64-det" builtin:longnet --seq-len 1500 --heads 4 --kv-heads 1 --head-dim 64 --deterministic
check "fp16" builtin:power_attention --seq-len 1300 --heads 2 --kv-heads 2 --dtype fp16
check "fp16-hd64-det" builtin:sliding_window --seq-len 1300 --heads 2 --kv-heads 1 --dtype fp16 --head-dim 64 --deterministic
check "batch2" builtin:causal --seq-len 600 --q-len 333 --batch 2 --heads 2 --kv-heads 1
check "q-short" builtin:power_attention --seq-len 2000 --q-len 65 --heads 2 --kv-heads 2
check "tiny" builtin:causal --seq-len 17 --heads 1 --kv-heads 1
# Query tiles and key tiles that attend nothing (block 0 has no band
# partner; the last key blocks are attended by no query): zero gradients.
check "empty-tiles" '{"block_size": 64, "mask": {"band": {"min": 1, "max": 3}}}' --seq-len 700 --heads 2 --kv-heads 1
check "empty-tiles-det" '{"block_size": 64, "mask": {"band": {"min": 1, "max": 3}}}' --seq-len 700 --heads 2 --kv-heads 1 --deterministic
i=0
for spec in \
  '{"block_size": 64, "mask": {"intersect": ["causal", {"union": [{"sink": {"blocks": 1}}, {"window": {"blocks": 3}}, {"power_of_two": {}}]}]}}' \
  '{"block_size": 32, "mask": {"intersect": ["causal", {"stride": {"blocks": 3}}]}}' \
  '{"block_size": [64, 32], "mask": {"union": [{"band": {"min": -2, "max": 1}}, {"global": {"blocks": 1}}]}}' \
  '{"block_size": 16, "mask": {"intersect": ["causal", {"not": {"window": {"tokens": 40}}}]}}' \
  '{"block_size": 128, "mask": {"intersect": ["causal", {"predicate": "(qb + kb) % 3 != 1"}]}}' \
  '{"block_size": 64, "mask": {"dilated": {"rate": 2, "window_blocks": 9}}}'; do
  i=$((i + 1))
  check "spec$i" "$spec" --seq-len 1234 --q-len 1000 --heads 4 --kv-heads 2
  check "spec$i-det" "$spec" --seq-len 999 --heads 2 --kv-heads 1 --deterministic --head-dim 64
done
note "backward correctness: $pass of $total checks passed ($skipped skipped: the forced kernel does not apply)"
rm -f "$out/c.json" "$out/c.err"
fi

if has split; then
  # The head split (GQA): CTAs per key tile sharing a KV group, dK and dV
  # added in fp32 (BackwardArgs::headSplit).
  pass=0 total=0
  for c in "power_attention --seq-len 1000 --heads 8 --kv-heads 2 --head-split 2" \
           "power_attention --seq-len 1000 --heads 8 --kv-heads 2 --head-split 4" \
           "power_attention --seq-len 4100 --q-len 3000 --heads 8 --kv-heads 1 --head-split 8" \
           "causal --seq-len 1100 --q-len 700 --heads 4 --kv-heads 1 --head-split 2" \
           "longformer --seq-len 2000 --batch 2 --heads 6 --kv-heads 2 --head-split 3 --dtype fp16" \
           "sliding_window --seq-len 300 --heads 4 --kv-heads 2 --head-split 2"; do
    total=$((total + 1))
    read -r -a a <<< "$c"
    if timeout 120 "$sieve" run "builtin:${a[0]}" "${a[@]:1}" --backward --check --json > "$out/s.json" 2>> "$out/split.err"; then
      pass=$((pass + 1))
    else
      fail=1; note "FAILED split $c :: $(tr -d '\n' < "$out/s.json" | tail -c 300)"
    fi
  done
  note "head split correctness: $pass of $total checks passed"
  for tool in memcheck racecheck; do
    if timeout 300 compute-sanitizer --tool $tool --error-exitcode 9 "$sieve" run builtin:power_attention \
        --seq-len 700 --q-len 500 --heads 4 --kv-heads 1 --head-split 2 --backward --check \
        > "$out/sanitizer_${tool}_split.log" 2>&1; then
      note "compute-sanitizer $tool (head split): clean ($(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$out/sanitizer_${tool}_split.log" | head -1))"
    else
      fail=1; note "compute-sanitizer $tool (head split) FAILED: $(grep -E 'ERROR SUMMARY|Error|error' "$out/sanitizer_${tool}_split.log" | head -3)"
    fi
  done
  rm -f "$out/s.json"
fi

if has sanitize && command -v compute-sanitizer > /dev/null; then
  for tool in memcheck racecheck synccheck; do
    for det in "" "--deterministic"; do
      if timeout 300 compute-sanitizer --tool $tool --error-exitcode 9 "$sieve" run builtin:power_attention \
          --seq-len 700 --q-len 500 --heads 2 --kv-heads 1 --backward $det --check "${kflag[@]}" \
          > "$out/sanitizer_$tool$det.log" 2>&1; then
        note "compute-sanitizer $tool $det: clean ($(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$out/sanitizer_$tool$det.log" | head -1))"
      else
        fail=1
        note "compute-sanitizer $tool $det FAILED: $(grep -E 'ERROR SUMMARY|Error|error' "$out/sanitizer_$tool$det.log" | head -3)"
      fi
    done
  done
fi

if has time; then
: > "$out/backward_timing.jsonl"
for n in 32768 65536 131072; do
  for kvh in 32 8; do
    [ $kvh = 8 ] && [ $n != 131072 ] && continue
    for det in "" "--deterministic"; do
      if timeout 300 "$sieve" run builtin:power_attention --seq-len $n --heads 32 --kv-heads $kvh \
          --backward $det "${kflag[@]}" --repeat 10 --json > "$out/t.json" 2>> "$out/timing.err"; then
        python3 -c "import json,sys; print(json.dumps(json.load(open('$out/t.json'))))" >> "$out/backward_timing.jsonl"
        note "$(python3 -c "
import json; d=json.load(open('$out/t.json'))
print('sieve backward power %6d 32/%-2d hd128 %-15s: %8.3f ms %6.1f TFLOP/s (nan %d)' % ($n, $kvh, '$det' or 'atomic', d['median_ms'], d['tflops'], d['nan_or_unwritten']))")"
      else
        note "sieve backward $n 32/$kvh $det: did not run ($(tail -c 300 "$out/timing.err"))"
      fi
    done
  done
done
rm -f "$out/t.json"
fi
if has anchor && [ -n "$anchor" ]; then
  OUT=$out timeout 900 python3 "$anchor" --pattern power --seq-lens 32768,65536,131072 --backward \
    --no-dense --out "$out/anchor_backward.json" > "$out/anchor_backward.log" 2>&1 \
    || note "flex anchor failed: $(tail -c 300 "$out/anchor_backward.log")"
  grep -E '^\{' "$out/anchor_backward.log" | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    tf = 10.0 * 32 * 128 * r["attended_pairs"] / (r["flex_bwd_ms"] * 1e-3) / 1e12
    print("anchor flex power %6d 32/32 hd128: forward %.3f ms, backward %.3f ms %6.1f TFLOP/s" % (r["n"], r["flex_ms"], r["flex_bwd_ms"], tf))' | tee -a "$summary"
fi
exit $fail
