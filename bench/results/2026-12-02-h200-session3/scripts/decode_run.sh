#!/usr/bin/env bash
# decode: correctness (check_decode.sh check+sanitize), then timings, then ncu
S=.carry/bin/sieve; O=$1; export SIEVE_CACHE_DIR=/tmp/sc; mkdir -p $O
PARTS="check sanitize" timeout 270 bash bench/gpu/check_decode.sh $S $O/c; echo "check rc $?" >> $O/c/decode_summary.txt
cat $O/c/decode_summary.txt
T=$O/timing.txt; : > $T
for n in 131072 32768; do for q in 1 16; do for kvh in 8 32; do for pg in 0 64; do
 extra=""; [ $pg != 0 ] && extra="--page-size $pg"
 timeout 40 $S run builtin:power_attention --decode --seq-len $n --q-len $q --heads 32 --kv-heads $kvh $extra --graph --repeat 50 --json > $O/t.json 2>>$O/terr.txt && \
 python3 -c "import json; d=json.load(open('$O/t.json')); print('power %6d q%-2d 32/%-2d page %-3d splits %2d: %7.1f us %6.0f GB/s graph %7.1f us (K/V %.1f MB)' % ($n,$q,$kvh,$pg,d['splits'],d['median_us'],d['kv_gb_per_s'],d.get('graph_median_us',-1),d['kv_bytes']/1e6))" | tee -a $T
 cat $O/t.json >> $O/timing.jsonl
done; done; done; done
for kvh in 8 32; do timeout 60 $S run builtin:causal --decode --seq-len 131072 --q-len 1 --heads 32 --kv-heads $kvh --graph --repeat 20 --json > $O/t.json 2>>$O/terr.txt && python3 -c "import json; d=json.load(open('$O/t.json')); print('causal 131072 q1 32/%-2d splits %2d: %7.1f us %6.0f GB/s graph %7.1f us' % ($kvh,d['splits'],d['median_us'],d['kv_gb_per_s'],d.get('graph_median_us',-1)))" | tee -a $T; cat $O/t.json >> $O/timing.jsonl; done
for sp in 8 16 33; do echo "== splits $sp" >> $O/ncu.txt; timeout 30 ncu --metrics gpu__time_duration.sum,smsp__inst_executed.sum $S run builtin:power_attention --seq-len 131072 --q-len 1 --heads 32 --kv-heads 8 --splits $sp --decode --repeat 1 2>&1 | grep -E "sieve_attention|duration|inst_exec" | head -4 >> $O/ncu.txt; done
cat $O/ncu.txt
