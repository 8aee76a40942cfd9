#!/usr/bin/env bash
# What is written but has not run on a GPU yet, in one command (two device
# calls with PARTS): the wgmma backward, the sm80 backward's empty-tile cases
# (after the review's barrier fix), the decode step as a CUDA graph, and the
# PyTorch op's gradients.
#
#   bash bench/gpu/pending.sh SIEVE LIBSIEVE OUT [FLEX_ANCHOR_PY]
#
# SIEVE is a static sieve CLI, LIBSIEVE the build's libsieve.so.0 (for the
# Python tests). PARTS picks from "wgmma empty graph torch timing"
# (default: all but timing, about 5 minutes; "timing" adds the wgmma
# backward's and the graph decode's timings beside FlexAttention, about 8).
set -u
sieve=$1 lib=$2 out=$3 anchor=${4:-}
parts=${PARTS:-wgmma empty graph torch}
has() { case " $parts " in *" $1 "*) return 0;; esac; return 1; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mkdir -p "$out"
export SIEVE_CACHE_DIR=${SIEVE_CACHE_DIR:-/tmp/sieve-cache}
fail=0
step() {  # step NAME COMMAND...: runs it, logs under OUT/NAME.log, keeps going
  local name=$1; shift
  echo "== $name: $*" | tee -a "$out/pending_summary.txt"
  "$@" > "$out/$name.log" 2>&1
  local rc=$?
  if [ $rc = 0 ]; then
    echo "   passed" | tee -a "$out/pending_summary.txt"
  else
    fail=1
    echo "   FAILED (rc $rc): $(tail -c 400 "$out/$name.log")" | tee -a "$out/pending_summary.txt"
  fi
}
: > "$out/pending_summary.txt"

if has wgmma; then
  step wgmma-checks env KERNEL=bwd-sm90-wgmma PARTS="check sanitize" \
    bash "$here/check_backward.sh" "$sieve" "$out/wgmma"
  grep -E "passed|FAILED|sanitizer" "$out/wgmma/backward_summary.txt" >> "$out/pending_summary.txt"
fi
if has empty; then
  for det in "" --deterministic; do
    step "empty-tiles$det" timeout 120 "$sieve" run \
      '{"block_size": 64, "mask": {"band": {"min": 1, "max": 3}}}' --seq-len 700 --heads 2 \
      --kv-heads 1 --backward --check $det
  done
  step empty-racecheck timeout 300 compute-sanitizer --tool racecheck --error-exitcode 9 "$sieve" run \
    '{"block_size": 64, "mask": {"band": {"min": 1, "max": 3}}}' --seq-len 300 --heads 2 \
    --kv-heads 1 --backward --check --deterministic
fi
if has graph; then
  for args in "builtin:power_attention --seq-lens 9000,100 --q-len 3 --heads 8 --kv-heads 2 --page-size 64" \
              "builtin:causal --seq-lens 3000 --q-len 1 --heads 8 --kv-heads 8 --splits 1"; do
    # shellcheck disable=SC2086
    step "graph-$(echo "$args" | cut -d' ' -f1 | tr -c 'a-z\n' '-')" timeout 120 "$sieve" run $args --graph --check
  done
fi
if has torch; then
  if python3 -c "import pytest, torch" 2> /dev/null; then
    step torch env PYTHONPATH="$root/python" SIEVE_LIBRARY="$lib" SIEVE_TOOL="$sieve" \
      timeout 500 python3 -m pytest -q "$root/test/python/test_torch.py" \
      "$root/test/python/test_attention.py"
  else
    echo "== torch: skipped (no pytest or torch for python3)" | tee -a "$out/pending_summary.txt"
  fi
fi
if has timing; then
  step wgmma-timing env KERNEL=bwd-sm90-wgmma PARTS="time" bash "$here/check_backward.sh" "$sieve" "$out/wgmma-t"
  step mma-timing env PARTS="time anchor" bash "$here/check_backward.sh" "$sieve" "$out/mma-t" $anchor
  cat "$out/wgmma-t/backward_summary.txt" "$out/mma-t/backward_summary.txt" >> "$out/pending_summary.txt"
  step decode-graph-timing env PARTS="time" bash "$here/check_decode.sh" "$sieve" "$out/decode-t"
  cat "$out/decode-t/decode_summary.txt" >> "$out/pending_summary.txt"
fi
exit $fail
