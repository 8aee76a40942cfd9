#!/usr/bin/env bash
# Session 4, call 4: fwd-sm90-ws with FA3's consumer order and ping-pong (and the lane-0 tag read):
# checks, racecheck, synccheck; A/B of the schedules beside fwd-sm90-wgmma and Flex; backward kernel durations.
S=.carry/bin/sieve; O=$OUT; export SIEVE_CACHE_DIR=/tmp/sieve-cache
T=--nvrtc-option=-DSIEVE_MBARRIER_TRAP_SPINS=100000000
PARTS=ws timeout 240 bash bench/gpu/pending.sh $S /tmp/ws > /tmp/ws.log 2>&1; cat /tmp/ws/pending_summary.txt
cp /tmp/ws/ws_racecheck.log $O/ 2>/dev/null; cp /tmp/ws/ws_checks.log $O/ 2>/dev/null
for opt in -DSIEVE_WS_SERIAL -DSIEVE_WS_NO_PINGPONG; do
  timeout 60 $S run builtin:power_attention --seq-len 3000 --q-len 1000 --heads 8 --kv-heads 2 --kernel fwd-sm90-ws --check $T --nvrtc-option=$opt 2>&1 | grep -E "check_passed|rel_err" | sed "s/^/[$opt] /"
  for n in 32768 131072; do
    timeout 120 $S run builtin:power_attention --seq-len $n --heads 32 --repeat 20 --kernel fwd-sm90-ws --nvrtc-option=$opt --json > /tmp/t.json 2>>/tmp/t.err &&
    python3 -c "import json; d=json.load(open('/tmp/t.json')); print('fwd-sm90-ws $opt %d: %.3f ms %.0f TFLOP/s' % ($n, d['median_ms'], d['tflops']))"
  done
done
timeout 200 python3 .carry/flex_anchor.py --pattern power --seq-lens 32768,131072 --no-dense --out /tmp/a.json > /tmp/a.log 2>&1; grep -E '^\{' /tmp/a.log
for det in "" --deterministic; do
  timeout 120 ncu -k regex:sieve --metrics gpu__time_duration.sum $S run builtin:power_attention --seq-len 32768 --heads 32 --backward $det --repeat 1 2>/dev/null \
    | grep -E "sieve_|duration" | sed "s/^/[ncu bwd $det] /" | tail -8
  timeout 120 $S run builtin:power_attention --seq-len 32768 --heads 32 --backward $det --repeat 10 --json > /tmp/b.json 2>>/tmp/b.err &&
  python3 -c "import json; d=json.load(open('/tmp/b.json')); print('sieve backward %s 32K: %s %.3f ms %.1f TFLOP/s' % (d['kernel'], '$det' or 'atomic', d['median_ms'], d['tflops']))"
done
