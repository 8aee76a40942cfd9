#!/usr/bin/env bash
# Session 4, call 2: fwd-sm90-ws after the tag-race fix, stage counts, Flex forward, ncu; decode checks.
S=.carry/bin/sieve; O=$OUT; export SIEVE_CACHE_DIR=/tmp/sieve-cache
PARTS=ws timeout 200 bash bench/gpu/pending.sh $S $O/ws > $O/ws.log 2>&1; tail -12 $O/ws.log
for st in 3; do for n in 32768 131072; do
  timeout 120 $S run builtin:power_attention --seq-len $n --heads 32 --repeat 20 --kernel fwd-sm90-ws \
    --nvrtc-option=-DSIEVE_WS_STAGES=$st --json > $O/st.json 2>> $O/st.err &&
  python3 -c "import json; d=json.load(open('$O/st.json')); print('ws stages $st $n: %.3f ms %.0f TFLOP/s' % (d['median_ms'], d['tflops']))"
done; done
timeout 60 $S run builtin:power_attention --seq-len 4096 --heads 4 --kernel fwd-sm90-ws --check --nvrtc-option=-DSIEVE_WS_STAGES=3 --nvrtc-option=-DSIEVE_MBARRIER_TRAP_SPINS=100000000 2>&1 | grep -E "check_passed|rel_err|error"
timeout 200 python3 .carry/flex_anchor.py --pattern power --seq-lens 32768,131072 --no-dense --out $O/anchor_fwd.json > $O/anchor_fwd.log 2>&1; grep -E '^\{' $O/anchor_fwd.log
timeout 90 ncu -k regex:sieve_attention --launch-count 1 --section SpeedOfLight --section WarpStateStats --section ComputeWorkloadAnalysis --section Occupancy \
  $S run builtin:power_attention --seq-len 32768 --heads 32 --kernel fwd-sm90-ws --repeat 1 > $O/ncu_ws.txt 2>/dev/null
grep -E "Duration|Compute \(SM\) Throughput|Tensor|Warp Cycles Per Issued|Eligible|Issued Warp|No Eligible|Registers" $O/ncu_ws.txt | head -20
PARTS=check timeout 250 bash bench/gpu/pending.sh $S $O/dec > $O/dec.log 2>&1; tail -8 $O/dec.log
