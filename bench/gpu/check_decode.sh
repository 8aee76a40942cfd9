#!/usr/bin/env bash
# The decode GPU run, in one command on a GPU machine (issue: verify and time
# decode, paged KV and variable-length batches):
#   1. correctness of the decode kernels over every layout against the CPU
#      executor (`sieve run --check`: NaN-poisoned outputs, every row): dense
#      batched, variable-length, chunked prefill (q_len up to 64), paged KV
#      with page sizes 16-256 and random page permutations, splits 1, 2, 5,
#      33, 64 and auto, head dims 64 and 128, bf16 and fp16, GQA and MHA;
#   2. compute-sanitizer memcheck and racecheck on a split paged case;
#   3. decode timings: PowerAttention and dense causal at 32K and 128K, 1 and
#      16 queries, 32/32 and 32/8 heads, dense and paged KV, launched directly
#      and as a CUDA graph (--graph); FlexAttention and SDPA decode in the
#      same run (FLEX_ANCHOR_PY).
# Writes logs under OUT and prints a summary; exits non-zero if a check failed.
#
#   bash bench/gpu/check_decode.sh SIEVE OUT [FLEX_ANCHOR_PY]
# PARTS (default "check sanitize time anchor") picks the parts to run, so the
# run fits the device tool's 10-minute calls. DECODE_EXTRA adds options to
# every sieve run of the check, sanitize and time parts (e.g.
# DECODE_EXTRA="--combine fused" checks the fused combine).
set -u
sieve=$1 out=$2 anchor=${3:-}
parts=${PARTS:-check sanitize time anchor}
read -r -a extra_opts <<< "${DECODE_EXTRA:-}"
has() { case " $parts " in *" $1 "*) return 0;; esac; return 1; }
mkdir -p "$out"
export SIEVE_CACHE_DIR=${SIEVE_CACHE_DIR:-/tmp/sieve-cache}
summary=$out/decode_summary.txt
: > "$summary"
note() { echo "$*" | tee -a "$summary"; }
fail=0

# 1. Correctness: one line per case in checks.jsonl.
if has check; then
: > "$out/checks.jsonl"
pass=0 total=0
check() {  # check NAME ARGS...
  local name=$1; shift
  total=$((total + 1))
  local opts=(${extra_opts[@]+"${extra_opts[@]}"})
  case " $* " in *" --splits 1 "*) opts=();; esac  # one split: nothing to combine
  if timeout 120 "$sieve" run "$@" ${opts[@]+"${opts[@]}"} --check --json > "$out/c.json" 2>> "$out/checks.err"; then
    pass=$((pass + 1))
  else
    fail=1
    note "FAILED $name: $* :: $(tr -d '\n' < "$out/c.json" | tail -c 300) $(tail -c 200 "$out/checks.err")"
  fi
  python3 -c "import json,sys; d=json.load(open('$out/c.json')); d['case']='$name'; print(json.dumps(d))" \
    >> "$out/checks.jsonl" 2>/dev/null || true
}
for p in power_attention causal sliding_window stride_slash longnet dilated; do
  check "$p-batched" builtin:$p --decode --seq-len 3000 --batch 2 --heads 8 --kv-heads 2
  check "$p-varlen-q4" builtin:$p --seq-lens 1000,4097,77,2500 --q-len 4 --heads 8 --kv-heads 2
  check "$p-paged64-q16" builtin:$p --seq-lens 700,2049 --q-len 16 --heads 8 --kv-heads 8 --page-size 64
done
for ps in 16 32 48 128 256; do
  check "power-paged$ps" builtin:power_attention --seq-lens 1500,333,4096 --q-len 2 --heads 4 --kv-heads 1 --page-size $ps
done
for s in 1 2 5 auto; do
  check "power-splits$s" builtin:power_attention --seq-lens 9000,100 --q-len 3 --heads 8 --kv-heads 2 --splits $s
  check "causal-paged-splits$s" builtin:causal --seq-lens 5000,64,3001 --q-len 1 --heads 4 --kv-heads 4 --page-size 16 --splits $s
done
# Over 32 splits a combine lane takes two splits (j and j + 32).
for s in 33 64; do
  check "causal-splits$s" builtin:causal --seq-lens 20000,9000 --q-len 2 --heads 8 --kv-heads 2 --splits $s
  check "power-hd64-splits$s" builtin:power_attention --seq-lens 30000 --q-len 1 --heads 8 --kv-heads 1 \
    --head-dim 64 --dtype fp16 --splits $s
done
for q in 1 7 16 33 64; do
  check "chunk-q$q" builtin:power_attention --seq-lens 2000,5000 --q-len $q --heads 8 --kv-heads 4
done
check "hd64" builtin:power_attention --seq-lens 3000,17 --q-len 5 --heads 8 --kv-heads 2 --head-dim 64
check "hd64-paged" builtin:power_attention --seq-lens 3000,17 --q-len 5 --heads 8 --kv-heads 2 --head-dim 64 --page-size 32
check "fp16" builtin:power_attention --seq-lens 3000,900 --q-len 4 --heads 8 --kv-heads 2 --dtype fp16
check "fp16-paged-hd64" builtin:causal --seq-lens 3000,900 --q-len 4 --heads 8 --kv-heads 2 --dtype fp16 --head-dim 64 --page-size 128
check "long-32k" builtin:power_attention --seq-len 32768 --decode --q-len 2 --heads 8 --kv-heads 2
# Key tiles of 16 and 32 (one and two warps split the tile), a 48-key block,
# a predicate's element mask and a 32/4 group (8 packed rows per query).
check "json-block16" '{"block_size": 16, "mask": {"intersect": ["causal", {"union": [{"window": {"blocks": 3}}, {"sink": {"blocks": 1}}, {"predicate": "d % 5 == 0"}]}]}}' \
  --seq-lens 900,2000 --q-len 3 --heads 4 --kv-heads 2 --splits auto
check "json-block32-paged" '{"block_size": 32, "mask": {"intersect": ["causal", {"union": [{"window": {"blocks": 2}}, {"power_of_two": {}}]}]}}' \
  --seq-lens 1300,77 --q-len 5 --heads 4 --kv-heads 1 --page-size 32 --splits 4
check "json-block48" '{"block_size": 48, "mask": {"intersect": ["causal", {"union": [{"window": {"tokens": 70}}, {"sink": {"tokens": 5}}]}]}}' \
  --seq-lens 3001 --q-len 2 --heads 4 --kv-heads 4
check "json-block16-hd64-fp16-unsplit" '{"block_size": 16, "mask": {"intersect": ["causal", {"union": [{"window": {"blocks": 3}}, {"sink": {"blocks": 1}}]}]}}' \
  --seq-lens 700,64 --q-len 16 --heads 4 --kv-heads 2 --head-dim 64 --dtype fp16 --splits 1
check "json-block32-hd64" '{"block_size": 32, "mask": {"intersect": ["causal", {"union": [{"window": {"blocks": 2}}, {"power_of_two": {}}]}]}}' \
  --seq-lens 2000 --q-len 3 --heads 8 --kv-heads 2 --head-dim 64 --splits auto
check "group8-q16" builtin:power_attention --seq-lens 20000,3000 --q-len 16 --heads 32 --kv-heads 4 --splits auto
check "group8-q3-unsplit" builtin:sliding_window --seq-lens 5000 --q-len 3 --heads 32 --kv-heads 4 --splits 1
# The step captured in a CUDA graph must give the direct launch's bits.
check "graph-split-paged" builtin:power_attention --seq-lens 9000,100 --q-len 3 --heads 8 --kv-heads 2 --page-size 64 --splits auto --graph
check "graph-unsplit" builtin:causal --seq-lens 3000 --q-len 1 --heads 8 --kv-heads 8 --splits 1 --graph
note "decode correctness: $pass of $total checks passed"
rm -f "$out/c.json"
fi

# 2. Sanitizers on one small split paged case.
if has sanitize && command -v compute-sanitizer > /dev/null; then
  for tool in memcheck racecheck; do
    if timeout 300 compute-sanitizer --tool $tool --error-exitcode 9 "$sieve" run builtin:power_attention \
        --seq-lens 1200,300 --q-len 4 --heads 4 --kv-heads 2 --page-size 16 --splits 3 ${extra_opts[@]+"${extra_opts[@]}"} --check \
        > "$out/sanitizer_$tool.log" 2>&1; then
      note "compute-sanitizer $tool: clean ($(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$out/sanitizer_$tool.log" | head -1))"
    else
      fail=1
      note "compute-sanitizer $tool FAILED: $(grep -E 'ERROR SUMMARY|Error|error' "$out/sanitizer_$tool.log" | head -3)"
    fi
    # A narrow CTA (32-key tiles: 2 warps split each stage).
    if timeout 300 compute-sanitizer --tool $tool --error-exitcode 9 "$sieve" run \
        '{"block_size": 32, "mask": {"intersect": ["causal", {"union": [{"window": {"blocks": 2}}, {"power_of_two": {}}]}]}}' \
        --seq-lens 1300,77 --q-len 5 --heads 4 --kv-heads 1 --page-size 32 --splits 4 ${extra_opts[@]+"${extra_opts[@]}"} --check \
        > "$out/sanitizer_${tool}_narrow.log" 2>&1; then
      note "compute-sanitizer $tool (32-key tiles): clean"
    else
      fail=1
      note "compute-sanitizer $tool (32-key tiles) FAILED: $(grep -E 'ERROR SUMMARY|Error|error' "$out/sanitizer_${tool}_narrow.log" | head -3)"
    fi
  done
fi

# 3. Timings, side by side in this run: microseconds per step and K/V GB/s.
if has time; then
: > "$out/decode_timing.jsonl"
for p in power_attention causal; do
  for n in 32768 131072; do
    for q in 1 16; do
      for kvh in 32 8; do
        for pg in 0 64; do
          extra=""; [ "$pg" != 0 ] && extra="--page-size $pg"
          if timeout 120 "$sieve" run builtin:$p --decode --seq-len $n --q-len $q --heads 32 --kv-heads $kvh \
              $extra ${extra_opts[@]+"${extra_opts[@]}"} --graph --repeat 50 --json > "$out/t.json" 2>> "$out/timing.err"; then
            python3 -c "import json; d=json.load(open('$out/t.json')); print(json.dumps(d))" >> "$out/decode_timing.jsonl"
            note "$(python3 -c "
import json; d=json.load(open('$out/t.json'))
print('sieve decode %-15s %6d q%-2d 32/%-2d page %-3d splits %2d: %8.1f us %7.0f GB/s, graph %8.1f us (K/V %.1f MB)' % ('$p', $n, $q, $kvh, $pg, d['splits'], d['median_us'], d['kv_gb_per_s'], d.get('graph_median_us', float('nan')), d['kv_bytes'] / 1e6))")"
          else
            note "sieve decode $p $n q$q 32/$kvh page $pg: did not run ($(tail -c 200 "$out/timing.err"))"
          fi
        done
      done
    done
  done
done
rm -f "$out/t.json"
fi
if has anchor && [ -n "$anchor" ]; then
  for kvh in 32 8; do
    for pat in power; do
      OUT=$out timeout 900 python3 "$anchor" --pattern $pat --seq-lens 32768,131072 --kv-heads $kvh --decode \
        --no-dense --out "$out/anchor_decode_${pat}_$kvh.json" >> "$out/anchor_decode.log" 2>&1 \
        || note "flex anchor $pat 32/$kvh failed: $(tail -c 300 "$out/anchor_decode.log")"
    done
  done
  grep -E '^\{' "$out/anchor_decode.log" | grep -i decode | tee -a "$summary" > /dev/null
fi
exit $fail
