#!/usr/bin/env python3
"""Checks and times PowerAttention cubins side by side (kernel variants).

Every NAME.hd128.bf16.VARIANT.cubin in DIR (a power_attention kernel built with
different template macros) is checked against the fp32 reference at three
shapes (bench/check_generated.py's check), then timed at the given lengths
(bf16, batch 1, 32 heads, hd128), interleaved over --rounds rounds.

  python3 bench/kernel_dev/time_cubins.py .carry/var90 --lens 32768,131072
"""
import argparse, glob, json, os, sys

import torch
from triton.testing import do_bench

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_generated import check  # noqa: E402
from fwd_dev import Kernel  # noqa: E402


def power_pairs(n, B=256, W=5):
    nb = n // B
    qb = torch.arange(nb)[:, None]
    kb = torch.arange(nb)[None, :]
    d = qb - kb
    on = ((kb < 1) | (d < W) | ((d & (d - 1)) == 0)) & (qb >= kb)
    diag = int(on.diagonal().sum())
    return (int(on.sum()) - diag) * B * B + diag * B * (B + 1) // 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--lens", default="32768,131072")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(os.environ.get("OUT", "."), "time_cubins.json"))
    a = ap.parse_args()
    torch.zeros(1, device="cuda")
    kernels, rows = {}, []
    for path in sorted(glob.glob(os.path.join(a.dir, "*.cubin"))):
        variant = os.path.basename(path)[:-6].split(".", 3)[3]
        kern = Kernel(open(path, "rb").read())
        ok = True
        for i, (b, h, kh, lq, lk) in enumerate([(2, 4, 2, 1000, 1000), (2, 8, 2, 77, 4097), (1, 2, 1, 8192, 8192)]):
            r = check(kern, "bf16", 128, b, h, kh, lq, lk, seed=i)
            ok &= r["ok"]
            print(variant, "check", lq, lk, "err %.2e" % r["rel_err"], "ok" if r["ok"] else "FAIL", flush=True)
        kernels[variant] = (kern, ok)
    for n in [int(x) for x in a.lens.split(",")]:
        q, k, v = (torch.randn(1, 32, n, 128, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        o = torch.empty_like(q)
        lse = torch.empty(1, 32, n, device="cuda")
        flop = 4 * 32 * 128 * power_pairs(n)
        for rnd in range(a.rounds):
            for variant, (kern, ok) in kernels.items():
                if not ok:
                    continue
                ms = do_bench(lambda: kern.launch(q, k, v, o, lse, 128 ** -0.5, 0), warmup=25, rep=100,
                              return_mode="median")
                row = {"variant": variant, "n": n, "round": rnd, "ms": ms, "tflops": flop / (ms * 1e-3) / 1e12,
                       "regs": kern.regs, "local": kern.local}
                rows.append(row)
                print(json.dumps(row), flush=True)
        del q, k, v, o, lse
    json.dump({"device": torch.cuda.get_device_name(), "rows": rows}, open(a.out, "w"), indent=1)
    for variant in kernels:
        line = [f"{variant:>16}"]
        for n in [int(x) for x in a.lens.split(",")]:
            t = [r["ms"] for r in rows if r["variant"] == variant and r["n"] == n]
            if t:
                line.append(f"{n}: {min(t):.3f}-{max(t):.3f} ms ({flop_tf(n, min(t)):.0f} TF/s)")
        print("  ".join(line) + ("" if kernels[variant][1] else "  CHECK FAILED"))


def flop_tf(n, ms):
    return 4 * 32 * 128 * power_pairs(n) / (ms * 1e-3) / 1e12


if __name__ == "__main__":
    main()
