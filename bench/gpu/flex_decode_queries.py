"""FlexAttention decode with several queries, on sieve's own mask.

flex_anchor.py times FlexAttention's decode with one query; this times it
with --q-len queries at the end of the keys (speculative decoding, a short
prefill chunk), the mask being sieve's reference mask of the pattern
(sieve.Pattern.to_dense), so both libraries compute the same thing. One JSON
line per (keys, kv heads), printed as each finishes:

    OUT=... python3 bench/gpu/flex_decode_queries.py --q-len 16 --seq-lens 131072 --kv-heads 32,8

Needs torch >= 2.5 with CUDA, Triton, and the sieve package (PYTHONPATH
python/, SIEVE_LIBRARY at libsieve.so.0) for the mask. bench/gpu/pending.sh, part
"flexq", runs it beside sieve (first on an H200 in the sixth session of
2026-12-02: docs/performance.md).
"""

import argparse
import json

import torch
from torch.nn.attention.flex_attention import create_block_mask, flex_attention
from triton.testing import do_bench

import sieve

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--pattern", default="builtin:power_attention")
p.add_argument("--q-len", type=int, default=16)
p.add_argument("--seq-lens", default="131072")
p.add_argument("--heads", type=int, default=32)
p.add_argument("--kv-heads", default="32,8")
p.add_argument("--head-dim", type=int, default=128)
a = p.parse_args()

pattern = sieve.Pattern(a.pattern)
flex = torch.compile(flex_attention)
for n in (int(x) for x in a.seq_lens.split(",")):
    dense = torch.from_numpy(pattern.to_dense(a.q_len, n)).cuda()

    def mask_mod(b, h, q, kv):
        return dense[q, kv]

    block_mask = create_block_mask(mask_mod, None, None, a.q_len, n, device="cuda", BLOCK_SIZE=128)
    for kvh in (int(x) for x in a.kv_heads.split(",")):
        q = torch.randn(1, a.heads, a.q_len, a.head_dim, device="cuda", dtype=torch.bfloat16)
        k, v = (torch.randn(1, kvh, n, a.head_dim, device="cuda", dtype=torch.bfloat16)
                for _ in range(2))
        gqa = kvh != a.heads
        flex(q, k, v, block_mask=block_mask, enable_gqa=gqa)
        us = 1e3 * do_bench(lambda: flex(q, k, v, block_mask=block_mask, enable_gqa=gqa),
                            warmup=25, rep=100, return_mode="median")
        print(json.dumps({"pattern": pattern.name, "n": n, "q_len": a.q_len, "heads": a.heads,
                          "kv_heads": kvh, "flex_us": us}), flush=True)
        del q, k, v
