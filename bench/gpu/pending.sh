#!/usr/bin/env bash
# GPU runs by part, one command each; what has not run yet is said so:
#   check    check_decode.sh's cases and sanitizers (54/54 on 2026-12-02,
#            fifth session: a regression run now) (~3 min);
#   profile  ncu of the decode kernel's fixed cost: durations against
#            splits and length, and the stall reasons of one step (its
#            durations and stalls ran in the fifth session's call2.sh) (~2 min);
#   ws       the warp-specialised forward (fwd-sm90-ws; all 11 checks,
#            racecheck and synccheck passed in the fifth session: a
#            regression run now): checks with mbarrier waits that trap
#            (a deadlock ends in seconds), racecheck and synccheck, timings
#            beside fwd-sm90-wgmma at 32/32 heads (~4 min);
#   anchor   FlexAttention's decode and backward beside sieve's in one call
#            (~8 min);
#   torch    the PyTorch op's tests (passed on 2026-12-02, fifth session:
#            a regression run now), through $SIEVE_LIBRARY (default:
#            libsieve.so.0 beside SIEVE's bin/, in ../lib) (~1 min);
#   flexq    FlexAttention's decode with 16 queries on sieve's mask
#            (flex_decode_queries.py; ran in the sixth session) beside sieve's, 128K,
#            32/32 and 32/8 (~2 min).
#
#   PARTS="check profile" bash bench/gpu/pending.sh SIEVE OUT [FLEX_ANCHOR_PY]
#
# SIEVE is a static sieve CLI (-DSIEVE_STATIC_TOOLS=ON). Default PARTS:
# "check profile" (one device call); "ws", "anchor" and "flexq" are calls of
# their own.
set -u
sieve=$1 out=$2 anchor=${3:-}
parts=${PARTS:-check profile}
has() { case " $parts " in *" $1 "*) return 0;; esac; return 1; }
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
export SIEVE_CACHE_DIR=${SIEVE_CACHE_DIR:-/tmp/sieve-cache}
summary=$out/pending_summary.txt
: > "$summary"
fail=0

if has check; then
  PARTS="check sanitize" bash "$here/check_decode.sh" "$sieve" "$out/decode" || fail=1
  cat "$out/decode/decode_summary.txt" >> "$summary"
fi
if has profile && command -v ncu > /dev/null; then
  for args in "--seq-len 131072 --q-len 1 --kv-heads 8 --splits 1" \
              "--seq-len 131072 --q-len 1 --kv-heads 8 --splits 8" \
              "--seq-len 131072 --q-len 1 --kv-heads 8 --splits auto" \
              "--seq-len 256 --q-len 1 --kv-heads 8 --splits 1" \
              "--seq-len 131072 --q-len 16 --kv-heads 8 --splits auto"; do
    # shellcheck disable=SC2086
    timeout 60 ncu --metrics gpu__time_duration.sum,smsp__inst_executed.sum "$sieve" run \
      builtin:power_attention --decode --heads 32 --repeat 1 $args 2> /dev/null \
      | grep -E "sieve_attention|duration|inst_executed" | head -6 | sed "s/^/[$args] /" >> "$summary"
  done
  timeout 120 ncu -k regex:decode --launch-count 1 --section WarpStateStats --section SourceCounters \
    --section InstructionStats --section LaunchStats "$sieve" run builtin:power_attention --decode \
    --seq-len 131072 --q-len 1 --heads 32 --kv-heads 8 --repeat 1 > "$out/ncu_decode_step.txt" 2>&1
fi
if has ws; then
  ws() { timeout 60 "$sieve" run "$@" --kernel fwd-sm90-ws --check; }
  trap_opt=--nvrtc-option=-DSIEVE_MBARRIER_TRAP_SPINS=100000000
  ok=0 total=0
  # 64-key tiles (a key block that is not a multiple of 128).
  echo '{"block_size": 64, "mask": {"intersect": ["causal", {"union": [{"window": {"blocks": 3}}, {"power_of_two": {}}]}]}}' \
    > "$out/block64.json"
  # Every check traps a stuck mbarrier wait; after the first failure the
  # rest of the part is skipped, so a broken kernel costs seconds, not the call.
  for args in "builtin:causal --seq-len 1000 --heads 2" \
              "builtin:power_attention --seq-len 4096 --heads 4" \
              "builtin:power_attention --seq-len 3000 --q-len 1000 --heads 8 --kv-heads 2" \
              "builtin:sliding_window --seq-len 2500 --heads 4 --head-dim 64" \
              "builtin:longformer --seq-len 2048 --heads 4 --dtype fp16" \
              "builtin:full --seq-len 777 --heads 2 --batch 2" \
              "builtin:causal --seq-len 8192 --heads 4 --kv-heads 4" \
              "$out/block64.json --seq-len 1999 --heads 4 --kv-heads 2" \
              "builtin:dilated --seq-len 3333 --heads 2" \
              "builtin:longnet --seq-len 5000 --heads 2 --kv-heads 1" \
              "builtin:stride_slash --seq-len 4500 --heads 2 --head-dim 64 --dtype fp16"; do
    total=$((total + 1))
    # shellcheck disable=SC2086
    if ws $args $trap_opt > "$out/ws_check.log" 2>&1; then ok=$((ok + 1)); else
      fail=1 ws_fail=1; echo "ws FAILED: $args :: $(tail -c 600 "$out/ws_check.log")" >> "$summary"; fi
    cat "$out/ws_check.log" >> "$out/ws_checks.log"
    [ $ok -eq $total ] || break
  done
  echo "fwd-sm90-ws checks: $ok of $total passed" >> "$summary"
fi
if has ws && [ "${ws_fail:-0}" -eq 0 ]; then
  for tool in racecheck synccheck; do
    timeout 300 compute-sanitizer --tool $tool --error-exitcode 9 "$sieve" run builtin:power_attention \
      --seq-len 1000 --q-len 700 --heads 2 --kv-heads 1 --kernel fwd-sm90-ws --check $trap_opt \
      > "$out/ws_$tool.log" 2>&1
    echo "fwd-sm90-ws $tool: exit $? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$out/ws_$tool.log" | tail -1)" >> "$summary"
  done
  for k in fwd-sm90-wgmma fwd-sm90-ws; do
    for n in 32768 131072; do
      timeout 200 "$sieve" run builtin:power_attention --seq-len $n --heads 32 --kv-heads 32 --repeat 20 --kernel $k \
        --json > "$out/ws_t.json" 2>> "$out/ws_timing.err" &&
        python3 -c "import json; d=json.load(open('$out/ws_t.json')); print('%s %d: %.3f ms %.0f TFLOP/s' % ('$k', $n, d['median_ms'], d['tflops']))" >> "$summary"
    done
  done
fi
if has anchor && [ -n "$anchor" ]; then
  PARTS="time anchor" bash "$here/check_decode.sh" "$sieve" "$out/decode-t" "$anchor" || fail=1
  cat "$out/decode-t/decode_summary.txt" >> "$summary"
  # The backward at 32K only: a 128K `sieve run --backward` spends ~1.5
  # minutes making its inputs on the host.
  for det in "" --deterministic; do
    timeout 200 "$sieve" run builtin:power_attention --seq-len 32768 --heads 32 --kv-heads 32 --backward $det \
      --repeat 10 --json > "$out/bwd.json" 2>> "$out/bwd.err" &&
      python3 -c "import json; d=json.load(open('$out/bwd.json')); print('sieve backward %s 32K 32/32: %s %.3f ms %.1f TFLOP/s' % (d['kernel'], '$det' or 'atomic', d['median_ms'], d['tflops']))" >> "$summary"
  done
  OUT=$out timeout 400 python3 "$anchor" --pattern power --seq-lens 32768 --backward --no-dense \
    --out "$out/anchor_backward.json" > "$out/anchor_backward.log" 2>&1 || fail=1
  grep -E '^\{' "$out/anchor_backward.log" >> "$summary"
fi
if has torch; then
  root=$(cd "$here/../.." && pwd)
  lib=${SIEVE_LIBRARY:-$(cd "$(dirname "$sieve")/.." && pwd)/lib/libsieve.so.0}
  if env PYTHONPATH="$root/python" SIEVE_LIBRARY="$lib" SIEVE_TOOL="$sieve" timeout 300 \
      "${PYTHON:-python3}" -m pytest -q "$root/test/python/test_torch.py" "$root/test/python/test_attention.py" \
      > "$out/torch.log" 2>&1; then
    echo "torch tests: $(tail -1 "$out/torch.log")" >> "$summary"
  else
    fail=1; echo "torch tests FAILED: $(tail -c 600 "$out/torch.log")" >> "$summary"
  fi
fi
if has flexq; then
  root=$(cd "$here/../.." && pwd)
  lib=${SIEVE_LIBRARY:-$(cd "$(dirname "$sieve")/.." && pwd)/lib/libsieve.so.0}
  for kv in 32 8; do
    timeout 60 "$sieve" run builtin:power_attention --decode --seq-len 131072 --q-len 16 --heads 32 \
      --kv-heads $kv --repeat 30 --json > "$out/q16.json" 2>> "$out/q16.err" &&
      python3 -c "import json; d=json.load(open('$out/q16.json')); print('sieve decode 128K q16 32/$kv: %.1f us (splits %d)' % (d['median_us'], d['splits']))" >> "$summary"
  done
  env PYTHONPATH="$root/python" SIEVE_LIBRARY="$lib" timeout 300 "${PYTHON:-python3}" \
    "$here/flex_decode_queries.py" --q-len 16 --seq-lens 131072 --kv-heads 32,8 >> "$summary" \
    2> "$out/flexq.err" || { fail=1; echo "flexq FAILED: $(tail -c 400 "$out/flexq.err")" >> "$summary"; }
fi
cat "$summary"
exit $fail
