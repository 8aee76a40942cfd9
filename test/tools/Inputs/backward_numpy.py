"""Independent check of `sieve run --backward --device cpu`: causal attention
and its gradients in numpy (float64), from the same bf16 files.

  backward_numpy.py make DIR B H KVH QLEN KLEN D    writes q, k, v, do (bf16)
  backward_numpy.py check DIR B H KVH QLEN KLEN D   compares o, lse, dq, dk, dv
"""
import sys
import numpy as np


def to_bf16(x):
    bits = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def from_bf16(u):
    return (u.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def read(path, shape):
    return from_bf16(np.fromfile(path, dtype=np.uint16)).reshape(shape)


mode, out = sys.argv[1], sys.argv[2]
b, h, kvh, ql, kl, d = (int(x) for x in sys.argv[3:9])
qs, ks = (b, h, ql, d), (b, kvh, kl, d)
if mode == "make":
    rng = np.random.default_rng(7)
    for name, shape in (("q", qs), ("k", ks), ("v", ks), ("do", qs)):
        to_bf16(rng.standard_normal(shape)).tofile(f"{out}/{name}.bin")
    sys.exit(0)

q, k, v, do = (read(f"{out}/{n}.bin", s) for n, s in (("q", qs), ("k", ks), ("v", ks), ("do", qs)))
scale = 1.0 / np.sqrt(d)
o = np.zeros(qs); lse = np.zeros((b, h, ql))
dq = np.zeros(qs); dk = np.zeros(ks); dv = np.zeros(ks)
pos = kl - ql + np.arange(ql)[:, None]
allowed = np.arange(kl)[None, :] <= pos  # causal, queries end-aligned
for bi in range(b):
    for hi in range(h):
        g = hi // (h // kvh)
        s = np.where(allowed, scale * q[bi, hi] @ k[bi, g].T, -np.inf)
        m = s.max(axis=1, keepdims=True)
        p = np.exp(s - m)
        l = p.sum(axis=1, keepdims=True)
        p /= l
        o[bi, hi] = p @ v[bi, g]
        lse[bi, hi] = (m + np.log(l))[:, 0]
        dp = do[bi, hi] @ v[bi, g].T
        ds = p * (dp - (do[bi, hi] * o[bi, hi]).sum(axis=1, keepdims=True))
        dq[bi, hi] = scale * ds @ k[bi, g]
        dk[bi, g] += scale * ds.T @ q[bi, hi]
        dv[bi, g] += p.T @ do[bi, hi]

worst = 0.0
for name, want, shape in (("out", o, qs), ("dq", dq, qs), ("dk", dk, ks), ("dv", dv, ks)):
    got = read(f"{out}/{name}.bin", shape)
    rel = np.linalg.norm(got - want) / np.linalg.norm(want)
    print(f"{name} rel err {rel:.2e}")
    worst = max(worst, rel)
got_lse = np.fromfile(f"{out}/lse.bin", dtype=np.float32).reshape(lse.shape)
lse_err = np.abs(got_lse - lse).max()
print(f"lse max abs err {lse_err:.2e}")
# bf16 outputs: each element carries at most 2^-9 relative rounding.
print("OK" if worst < 4e-3 and lse_err < 1e-4 else "MISMATCH")
