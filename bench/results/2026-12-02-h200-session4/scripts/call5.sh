#!/usr/bin/env bash
# Session 4, call 5: fwd-sm90-ws (default schedule: serial consumers) checked again; every forward
# at 32/32 heads beside Flex (32/32) in one call; the backward at 32/32 beside Flex's.
S=.carry/bin/sieve; O=$OUT; export SIEVE_CACHE_DIR=/tmp/sieve-cache
PARTS=ws timeout 200 bash bench/gpu/pending.sh $S /tmp/ws > /tmp/ws.log 2>&1; cat /tmp/ws/pending_summary.txt
cp /tmp/ws/ws_checks.log /tmp/ws/ws_racecheck.log $O/ 2>/dev/null
for opt in "-DSIEVE_WS_FA3_ORDER" "-DSIEVE_WS_FA3_ORDER -DSIEVE_WS_PINGPONG"; do
  o=""; for x in $opt; do o="$o --nvrtc-option=$x"; done
  timeout 80 $S run builtin:power_attention --seq-len 32768 --heads 32 --kv-heads 32 --repeat 20 --kernel fwd-sm90-ws $o --json > /tmp/t.json 2>>/tmp/t.err &&
    python3 -c "import json; d=json.load(open('/tmp/t.json')); print('fwd-sm90-ws $opt 32768 32/32: %.3f ms %.0f TFLOP/s' % (d['median_ms'], d['tflops']))"
done
timeout 200 python3 .carry/flex_anchor.py --pattern power --seq-lens 32768,131072 --no-dense --backward --out /tmp/a.json > /tmp/a.log 2>&1; grep -E '^\{' /tmp/a.log
for det in "" --deterministic; do
  timeout 90 $S run builtin:power_attention --seq-len 32768 --heads 32 --kv-heads 32 --backward $det --repeat 10 --json > /tmp/b.json 2>>/tmp/b.err &&
  python3 -c "import json; d=json.load(open('/tmp/b.json')); print('sieve backward %s 32K 32/32: %s %.3f ms %.1f TFLOP/s' % (d['kernel'], '$det' or 'atomic', d['median_ms'], d['tflops']))"
done
