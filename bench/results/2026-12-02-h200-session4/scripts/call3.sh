#!/usr/bin/env bash
# Session 4, call 3: the ws racecheck hazard located; sieve decode and backward beside Flex in one call; decode profile.
S=.carry/bin/sieve; O=$OUT; export SIEVE_CACHE_DIR=/tmp/sieve-cache
T=--nvrtc-option=-DSIEVE_MBARRIER_TRAP_SPINS=100000000
timeout 200 compute-sanitizer --tool racecheck --racecheck-report hazard --print-limit 6 --show-backtrace device \
  $S run builtin:power_attention --seq-len 1000 --q-len 700 --heads 2 --kv-heads 1 --kernel fwd-sm90-ws --check $T > $O/rc.log 2>&1
grep -E "Race|Error|hazard|Write|Read|address|thread|SUMMARY" $O/rc.log | head -30
$S compile builtin:power_attention --arch sm_90a --kernel fwd-sm90-ws $T --emit cubin -o $O/ws.cubin -q && cuobjdump -sass $O/ws.cubin > $O/ws.sass 2>&1
for off in $(grep -oE "sieve_attention_fwd\+0x[0-9a-f]+" $O/rc.log | sort -u | sed 's/.*+0x//'); do
  echo "== $off"; grep -n -i -B6 -A2 "/\*0*$off\*/" $O/ws.sass | head -12; done > $O/rc_sass.txt; cat $O/rc_sass.txt | head -60
for n in 32768 131072; do for q in 1 16; do for kvh in 32 8; do
  timeout 60 $S run builtin:power_attention --decode --seq-len $n --q-len $q --heads 32 --kv-heads $kvh --repeat 50 --json > $O/t.json 2>>$O/t.err &&
  python3 -c "import json; d=json.load(open('$O/t.json')); print('sieve decode power %d q%d 32/%d splits %d: %.1f us %.0f GB/s' % ($n,$q,$kvh,d['splits'],d['median_us'],d['kv_gb_per_s']))"
done; done; done
for kvh in 32 8; do
  timeout 200 python3 .carry/flex_anchor.py --pattern power --seq-lens 32768,131072 --kv-heads $kvh --decode --no-dense \
    --out $O/anchor_dec_$kvh.json > $O/anchor_dec_$kvh.log 2>&1; grep -E '^\{' $O/anchor_dec_$kvh.log | grep -i decode
done
for det in "" --deterministic; do
  timeout 120 $S run builtin:power_attention --seq-len 32768 --heads 32 --backward $det --repeat 10 --json > $O/bwd.json 2>> $O/bwd.err &&
  python3 -c "import json; d=json.load(open('$O/bwd.json')); print('sieve backward %s 32K 32/32: %s %.3f ms %.1f TFLOP/s' % (d['kernel'], '$det' or 'atomic', d['median_ms'], d['tflops']))"
done
timeout 150 python3 .carry/flex_anchor.py --pattern power --seq-lens 32768 --backward --no-dense --out $O/anchor_bwd.json > $O/anchor_bwd.log 2>&1; grep -E '^\{' $O/anchor_bwd.log
rm -f $O/t.json $O/bwd.json
