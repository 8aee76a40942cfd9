#!/usr/bin/env bash
# decode diagnosis: kernel durations vs length and splits, stall reasons
S=.carry/bin/sieve; O=$1; export SIEVE_CACHE_DIR=/tmp/sc
dur() { timeout 60 ncu --metrics gpu__time_duration.sum,smsp__pcsamp_warps_issue_stalled_no_instructions.sum,smsp__inst_executed.sum "$S" run "$@" --decode --repeat 1 2>&1 | grep -E "sieve_attention|duration|no_instr|inst_executed" | awk 'NR<=8'; }
for n in 256 4096 32768 131072; do echo "== power 32/8 n=$n splits 1"; dur builtin:power_attention --seq-len $n --q-len 1 --heads 32 --kv-heads 8 --splits 1; done > $O/sweep_len.txt
for sp in 2 4 8 16 33 64; do echo "== power 128K 32/8 splits $sp"; dur builtin:power_attention --seq-len 131072 --q-len 1 --heads 32 --kv-heads 8 --splits $sp; done > $O/sweep_splits.txt
for n in 256 131072; do echo "== causal n=$n splits 1 (1 warp kv group 1)"; dur builtin:causal --seq-len $n --q-len 1 --heads 8 --kv-heads 8 --splits 1; done >> $O/sweep_len.txt
timeout 120 ncu -k regex:decode --launch-count 1 --section WarpStateStats --section SchedulerStats --section InstructionStats --section LaunchStats --section Occupancy --section MemoryWorkloadAnalysis --section SourceCounters "$S" run builtin:power_attention --seq-len 131072 --q-len 1 --heads 32 --kv-heads 8 --splits 8 --decode --repeat 1 > $O/ncu_full.txt 2>&1
timeout 60 ncu -k regex:decode --launch-count 1 --section WarpStateStats --section SourceCounters "$S" run builtin:power_attention --seq-len 256 --q-len 1 --heads 32 --kv-heads 8 --splits 1 --decode --repeat 1 > $O/ncu_short.txt 2>&1
