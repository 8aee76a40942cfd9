#!/usr/bin/env bash
# NOT YET RUN: written against parallel/'s interfaces before the pieces a GPU
# run needs exist. It needs (docs/context-parallel.md, "What the GPU run needs"):
#   1. a GPU ChunkBackend (parallel/SieveChunkBackend.h): device memory, 2-D
#      copies and adds, bf16 conversion, on one stream; forward and backward
#      of one query range against one key range at global positions, i.e.
#      sieve's forward kernel with query and key position offsets and a
#      merge-into-(o, lse) epilogue, and a backward kernel (neither exists);
#   2. sieve-cp-check creating it for --backend gpu (today: exits 2 saying so);
#   3. NCCL 2 (libnccl.so.2 or SIEVE_NCCL_LIBRARY) and two GPUs.
#
# What it does, on a 2-GPU machine:
#   1. the CPU path (simulated ranks on the CPU executor): must pass anywhere;
#   2. correctness: two processes, one GPU each, over NCCL, PowerAttention at
#      8K and 16K (bf16, zig-zag too), each rank's o, lse, dq, dk, dv against
#      the CPU reference on its own rows (the oracle of every GPU check);
#   3. timing at 32K and 128K (8 heads, hd 128, --repeat 10): sieve's
#      exchange beside the causal ring over the same shards (same arithmetic,
#      the ring's bytes), and the same problem on one GPU (--world 1).
#      With 2 ranks PowerAttention's rank 1 needs all of rank 0 (the ring's
#      volume): this run checks correctness and overheads; the savings start
#      at 4 ranks (docs/context-parallel.md).
# Every run is under `timeout`. Writes logs and summary.txt under OUT; exits
# non-zero if a check failed.
#
#   bash bench/gpu/check_context_parallel.sh BUILD_DIR OUT
set -u
build=$1 out=$2
check=$build/bin/sieve-cp-check
mkdir -p "$out"
summary=$out/summary.txt
: > "$summary"
note() { echo "$*" | tee -a "$summary"; }
fail=0

note "== $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1 | head -2 | tr '\n' ';')"

# 1. The CPU path.
if timeout 600 "$check" builtin:power_attention --seq-len 2048 --ranks 4 --exchange-block 128 \
    --heads 2 --head-dim 16 --check > "$out/cpu.jsonl" 2> "$out/cpu.err"; then
  note "cpu simulated ranks: ok"
else
  fail=1
  note "cpu simulated ranks FAILED: $(tail -c 300 "$out/cpu.err")"
fi

# Two processes, one GPU each; rank 0 leaves NCCL's unique id in a file.
two() { # name, sieve-cp-check args...
  local name=$1; shift
  rm -f "$out/$name.id"
  local pids=() ok=0 r pid
  for r in 0 1; do
    CUDA_VISIBLE_DEVICES=$r timeout 900 "$check" "$@" --transport nccl --backend gpu \
      --world 2 --rank $r --id-file "$out/$name.id" > "$out/$name.$r.jsonl" 2> "$out/$name.$r.err" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || ok=1; done
  cat "$out/$name.0.jsonl" "$out/$name.1.jsonl" > "$out/$name.jsonl" 2> /dev/null
  return $ok
}
summarise() { # name: one line per rank
  python3 - "$out/$1.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    s, g = d["sieve"], d["ring"]
    c = d.get("check", {})
    print("  rank %d: sieve %s %d rounds %d blocks fwd %.3f ms bwd %.3f ms | ring %d blocks fwd %.3f ms bwd %.3f ms%s" % (
        d["rank"], s["schedule"], s["rounds"], s["received_blocks"], s["forward_ms"], s["backward_ms"],
        g["received_blocks"], g["forward_ms"], g["backward_ms"],
        (" | o err %.2e grad err %.2e %s" % (c["o_rel_err"], c["grad_rel_err"], "ok" if c["ok"] else "FAIL")) if c else ""))
PY
}

# 2. Correctness.
for args in "--seq-len 8192" "--seq-len 16384 --sharding zigzag"; do
  name=check.$(echo $args | tr -c 'a-z0-9' _)
  if two "$name" builtin:power_attention $args --heads 4 --kv-heads 2 --head-dim 128 --check; then
    note "check $args: ok"; summarise "$name" | tee -a "$summary"
  else
    fail=1
    note "check $args FAILED: $(tail -c 300 "$out/$name.0.err") $(tail -c 300 "$out/$name.1.err")"
  fi
done

# 3. Timing, beside the ring and one GPU.
for n in 32768 131072; do
  if two "time.$n" builtin:power_attention --seq-len $n --heads 8 --head-dim 128 --repeat 10; then
    note "timing $n, 2 GPUs:"; summarise "time.$n" | tee -a "$summary"
  else
    fail=1
    note "timing $n FAILED: $(tail -c 300 "$out/time.$n.0.err")"
  fi
  rm -f "$out/one.$n.id"
  if CUDA_VISIBLE_DEVICES=0 timeout 900 "$check" builtin:power_attention --seq-len $n --heads 8 \
      --head-dim 128 --repeat 10 --transport nccl --backend gpu --world 1 --rank 0 \
      --id-file "$out/one.$n.id" > "$out/one.$n.jsonl" 2> "$out/one.$n.err"; then
    note "timing $n, 1 GPU:"; summarise "one.$n" | tee -a "$summary"
  else
    note "timing $n, 1 GPU, did not run: $(tail -c 300 "$out/one.$n.err")"
  fi
done
exit $fail
