#!/usr/bin/env bash
# Session 6, call 5: one acq_rel ticket per CTA instead of every warp's
# fences, 16 split rows in flight in the fused merge, the split placement
# by a warp scan; checked with the auto and the fused combine, sanitizers,
# the Python tests; steps against the previous commit (sieve-head).
set -u
out=${OUT:-/tmp/out}
mkdir -p "$out"
export SIEVE_CACHE_DIR=/tmp/sieve-cache
S=.carry/bin/sieve
sum=$out/summary.txt
: > "$sum"
PARTS="check sanitize" timeout 200 bash bench/gpu/check_decode.sh "$S" "$out/auto" > "$out/auto.log" 2>&1
echo "auto rc $?" >> "$sum"; cat "$out/auto/decode_summary.txt" >> "$sum"
DECODE_EXTRA="--combine fused" PARTS="check sanitize" timeout 200 bash bench/gpu/check_decode.sh "$S" "$out/fused" > "$out/fused.log" 2>&1
echo "fused rc $?" >> "$sum"; cat "$out/fused/decode_summary.txt" >> "$sum"
PARTS=torch timeout 200 bash bench/gpu/pending.sh "$S" "$out/torch" > "$out/torch.log" 2>&1
cat "$out/torch/pending_summary.txt" >> "$sum"
t() {  # t LABEL BIN ARGS...
  local label=$1 bin=$2; shift 2
  if timeout 90 $bin run "$@" --repeat 50 --json > "$out/t.json" 2>> "$out/t.err"; then
    python3 -c "
import json; d=json.load(open('$out/t.json'))
print('%-48s splits %2d %-6s: %7.1f us' % ('$label', d['splits'], d.get('combine', '?'), d['median_us']))" >> "$sum"
  else echo "$label: did not run: $(tail -c 300 "$out/t.err")" >> "$sum"; fi
}
for shape in "power_attention 131072 1 8" "power_attention 131072 1 32" "power_attention 131072 16 8" \
             "power_attention 32768 1 8" "power_attention 4096 1 8" "causal 131072 1 32" "power_attention 131072 16 32"; do
  read -r pat n q kvh <<< "$shape"
  a="builtin:$pat --decode --seq-len $n --q-len $q --heads 32 --kv-heads $kvh"
  # shellcheck disable=SC2086
  { t "head    kernel  $pat $n q$q 32/$kvh" .carry/bin/sieve-head $a --combine kernel
    t "head    fused   $pat $n q$q 32/$kvh" .carry/bin/sieve-head $a --combine fused
    t "new kernel  $pat $n q$q 32/$kvh" $S $a --combine kernel
    t "new fused   $pat $n q$q 32/$kvh" $S $a --combine fused
    t "new auto    $pat $n q$q 32/$kvh" $S $a; }
done
for s in 8 16 33; do t "new power 128K 32/8 q1 splits $s" $S builtin:power_attention --decode --seq-len 131072 --heads 32 --kv-heads 8 --splits $s; done
t "new paged64 power 128K 32/8 q1" $S builtin:power_attention --decode --seq-len 131072 --heads 32 --kv-heads 8 --page-size 64
t "head    paged64 power 128K 32/8 q1" .carry/bin/sieve-head builtin:power_attention --decode --seq-len 131072 --heads 32 --kv-heads 8 --page-size 64 --combine fused
tar czf "$out/logs.tgz" -C "$out" auto fused torch 2>/dev/null; rm -rf "$out/auto" "$out/fused" "$out/torch" "$out/t.json"
cat "$sum"
