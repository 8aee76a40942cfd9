#!/usr/bin/env python3
"""Dev harness for codegen/templates/SieveFwdSm80.cuh.

Builds prelude + template, compiles with NVRTC (through ctypes, NO include path: proves
the template is self-contained), loads and launches through the CUDA driver API
(ctypes on libcuda, params struct packed by value), checks against an fp32 PyTorch
reference with the dense mask and times PowerAttention / dense causal.

  python3 bench/kernel_dev/fwd_dev.py --compile-only          # here, no GPU needed
  python3 bench/kernel_dev/fwd_dev.py --check --bench          # on the GPU machine
"""
import argparse, ctypes, ctypes.util, glob, json, math, os, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TEMPLATE = os.path.join(ROOT, "codegen", "templates", "SieveFwdSm80.cuh")
COMMON = os.path.join(ROOT, "codegen", "templates", "SieveFwdCommon.cuh")

STRICT_PRELUDE = r"""
// strict causal (k < q): the first key position's row attends nothing -> tests empty rows
#define SIEVE_GEN_PRELUDE 1
namespace sieve_gen {
__device__ __forceinline__ bool mask(long long q, long long k) { return k < q; }
struct Walk {
  long long q_begin, k_len; int t, last;
  __device__ Walk(long long qb, long long qe, long long kl) : q_begin(qb), k_len(kl), t(0),
      last(qe - 1 > 0 ? (int)((qe - 2) / SIEVE_TILE_K) : -1) {}
  __device__ bool next(int &tile, bool &full) {
    if (t > last) return false;
    long long ke = (long long)(t + 1) * SIEVE_TILE_K;
    full = ke - 1 < q_begin && ke <= k_len; tile = t++; return true;
  }
};
}
"""


def prelude_text(pattern):
    if pattern == "strict":
        return STRICT_PRELUDE
    with open(os.path.join(HERE, f"prelude_{pattern}.cuh")) as f:
        return f.read()


def build_source(pattern, hd, dtype, tq, tk, warps=None, stages=None, minb=None, qregs=None, overlap=None):
    head = [f"#define SIEVE_HEAD_DIM {hd}",
            "#define SIEVE_DTYPE_BF16 1" if dtype == "bf16" else "#define SIEVE_DTYPE_FP16 1",
            f"#define SIEVE_TILE_Q {tq}", f"#define SIEVE_TILE_K {tk}"]
    if warps:
        head.append(f"#define SIEVE_FWD_WARPS {warps}")
    if stages:
        head.append(f"#define SIEVE_FWD_STAGES {stages}")
    if qregs is not None:
        head.append(f"#define SIEVE_FWD_Q_IN_REGS {qregs}")
    if overlap is not None:
        head.append(f"#define SIEVE_FWD_OVERLAP {overlap}")
    if minb:
        head.append(f"#define SIEVE_FWD_MIN_BLOCKS {minb}")
    with open(TEMPLATE) as f:
        tmpl = f.read()
    with open(COMMON) as f:
        common = f.read()
    return "\n".join(head) + "\n" + prelude_text(pattern) + "\n" + common + "\n" + tmpl


# ---------------------------------------------------------------- NVRTC via ctypes
def _load_nvrtc():
    cands = ["libnvrtc.so.13", "libnvrtc.so", "/usr/local/cuda/lib64/libnvrtc.so.13"]
    cands += glob.glob("/usr/local/lib/python3*/dist-packages/nvidia/cu13/lib/libnvrtc.so*")
    cands += glob.glob(os.path.join(sys.prefix, "lib/python3*/site-packages/nvidia/cu13/lib/libnvrtc.so*"))
    cands += glob.glob(os.path.join(sys.prefix, "lib/python3*/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so*"))
    for c in cands:
        try:
            return ctypes.CDLL(c)
        except OSError:
            continue
    raise RuntimeError("libnvrtc not found")


def nvrtc_compile(src, arch="sm_90", extra=()):
    lib = _load_nvrtc()
    prog = ctypes.c_void_p()
    rc = lib.nvrtcCreateProgram(ctypes.byref(prog), src.encode(), b"sieve_fwd.cu", 0, None, None)
    assert rc == 0, rc
    opts = [b"--std=c++17", f"-arch={arch}".encode(), b"-default-device"] + [e.encode() for e in extra]
    arr = (ctypes.c_char_p * len(opts))(*opts)
    t0 = time.perf_counter()
    rc = lib.nvrtcCompileProgram(prog, len(opts), arr)
    dt = time.perf_counter() - t0
    n = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(prog, ctypes.byref(n))
    buf = ctypes.create_string_buffer(n.value)
    lib.nvrtcGetProgramLog(prog, buf)
    log = buf.value.decode(errors="replace")
    if rc != 0:
        raise RuntimeError(f"NVRTC failed ({rc}):\n{log}")
    lib.nvrtcGetCUBINSize(prog, ctypes.byref(n))
    cubin = ctypes.create_string_buffer(n.value)
    lib.nvrtcGetCUBIN(prog, cubin)
    lib.nvrtcDestroyProgram(ctypes.byref(prog))
    return cubin.raw, log, dt


# ---------------------------------------------------------------- driver via ctypes
class Params(ctypes.Structure):
    _fields_ = [("q", ctypes.c_void_p), ("k", ctypes.c_void_p), ("v", ctypes.c_void_p),
                ("o", ctypes.c_void_p), ("lse", ctypes.c_void_p),
                ("batch", ctypes.c_int), ("heads", ctypes.c_int), ("kv_heads", ctypes.c_int),
                ("q_len", ctypes.c_int), ("k_len", ctypes.c_int), ("scale", ctypes.c_float)] + \
               [(f"{t}_stride_{s}", ctypes.c_longlong) for t in "qkvo" for s in "bhr"]


class Kernel:
    def __init__(self, cubin):
        self.cu = ctypes.CDLL("libcuda.so.1")
        self.mod = ctypes.c_void_p()
        self._ck(self.cu.cuModuleLoadData(ctypes.byref(self.mod), cubin), "cuModuleLoadData")
        self.fn = ctypes.c_void_p()
        self._ck(self.cu.cuModuleGetFunction(ctypes.byref(self.fn), self.mod, b"sieve_attention_fwd"), "getfn")
        ptr, size = ctypes.c_ulonglong(), ctypes.c_size_t()
        self._ck(self.cu.cuModuleGetGlobal_v2(ctypes.byref(ptr), ctypes.byref(size), self.mod,
                                              b"sieve_fwd_launch_info"), "getglobal")
        info = (ctypes.c_int * 4)()
        self._ck(self.cu.cuMemcpyDtoH_v2(info, ptr, ctypes.c_size_t(16)), "dtoh")
        self.threads, self.smem, self.tq, self.tk = list(info)
        self._ck(self.cu.cuFuncSetAttribute(self.fn, 8, self.smem), "set smem")  # MAX_DYNAMIC_SHARED
        r = ctypes.c_int()
        self.cu.cuFuncGetAttribute(ctypes.byref(r), 4, self.fn)
        self.regs = r.value
        self.cu.cuFuncGetAttribute(ctypes.byref(r), 3, self.fn)
        self.local = r.value

    def _ck(self, rc, what):
        if rc != 0:
            raise RuntimeError(f"{what}: CUDA error {rc}")

    def launch(self, q, k, v, o, lse, scale, stream):
        B, H, Lq, D = q.shape
        KH, Lk = k.shape[1], k.shape[2]
        p = Params(q.data_ptr(), k.data_ptr(), v.data_ptr(), o.data_ptr(),
                   lse.data_ptr() if lse is not None else None, B, H, KH, Lq, Lk, scale,
                   *q.stride()[:3], *k.stride()[:3], *v.stride()[:3], *o.stride()[:3])
        args = (ctypes.c_void_p * 1)(ctypes.addressof(p))
        gx = (Lq + self.tq - 1) // self.tq
        self._ck(self.cu.cuLaunchKernel(self.fn, gx, H, B, self.threads, 1, 1, self.smem,
                                        ctypes.c_void_p(stream), args, None), "launch")


# ---------------------------------------------------------------- reference
def ref_mask(pattern, Lq, Lk, device):
    import torch
    qp = (Lk - Lq + torch.arange(Lq, device=device))[:, None]
    kp = torch.arange(Lk, device=device)[None, :]
    if pattern == "causal":
        return kp <= qp
    if pattern == "strict":
        return kp < qp
    d = qp // 256 - kp // 256
    return (kp <= qp) & ((kp // 256 < 1) | (d < 5) | ((d & (d - 1)) == 0))


def reference(q, k, v, mask, scale):
    import torch
    B, H, Lq, D = q.shape
    rep = H // k.shape[1]
    kk = k.float().repeat_interleave(rep, 1)
    vv = v.float().repeat_interleave(rep, 1)
    outs, lses = [], []
    for b in range(B):
        s = torch.einsum("hqd,hkd->hqk", q[b].float(), kk[b]) * scale
        s = s.masked_fill(~mask, float("-inf"))
        lse = torch.logsumexp(s, -1)
        pr = torch.exp(s - lse[..., None]).nan_to_num(0.0)
        outs.append(torch.einsum("hqk,hkd->hqd", pr, vv[b]))
        lses.append(lse)
    return torch.stack(outs), torch.stack(lses)


def power_pairs(n, B=256):
    import torch
    qb = torch.arange(n // B)[:, None]
    kb = torch.arange(n // B)[None, :]
    d = qb - kb
    on = ((kb < 1) | (d < 5) | ((d & (d - 1)) == 0)) & (qb >= kb)
    diag = on.diagonal().sum().item()
    return (on.sum().item() - diag) * B * B + diag * B * (B + 1) // 2


# ---------------------------------------------------------------- variants
# name: (tile_q, tile_k, warps, stages)
VARIANTS = {
    "q128k64w8s2": (128, 64, 8, 2, 1),
    "q128k64w8s2b2": (128, 64, 8, 2, 2),
    "q128k64w8s3": (128, 64, 8, 3, 1),
    "q128k128w8s2": (128, 128, 8, 2, 1),
    "q128k32w8s3": (128, 32, 8, 3, 1),
    "q128k64w4s2": (128, 64, 4, 2, 1),
    "q128k64w4s2b2": (128, 64, 4, 2, 2),
    "q64k64w4s2": (64, 64, 4, 2, 1),
    "q64k64w4s2b3": (64, 64, 4, 2, 3),
    "q128k32w4s2": (128, 32, 4, 2, 1),
    "q128k32w4s3": (128, 32, 4, 3, 1),
    "q128k32w4s2qr": (128, 32, 4, 2, 1, 1),
    "q256k32w8s2": (256, 32, 8, 2, 1),
    "q256k64w8s2": (256, 64, 8, 2, 1),
    "q128k64w4s2b2": (128, 64, 4, 2, 2),
    "q128k64w8s3o": (128, 64, 8, 3, 1, None, 1),
    "q128k64w8s4o": (128, 64, 8, 4, 1, None, 1),
    "q128k32w8s4o": (128, 32, 8, 4, 1, None, 1),
    "q64k64w4s3o": (64, 64, 4, 3, 1, None, 1),
    "q64k32w4s4o": (64, 32, 4, 4, 1, None, 1),
    "q128k32w4s3o": (128, 32, 4, 3, 1, None, 1),
    "q128k64w8s2b2nq": (128, 64, 8, 2, 2, 0),
    "q64k64w4s3": (64, 64, 4, 3, 1),
    "q64k128w4s2": (64, 128, 4, 2, 1),
    "q64k32w4s3": (64, 32, 4, 3, 1),
    "q128k64w4s3": (128, 64, 4, 3, 1),
    "q128k32w8s2b2nq": (128, 32, 8, 2, 2, 0),
    "q128k32w8s3b2nq": (128, 32, 8, 3, 2, 0),
    "q64k32w4s2b4nq": (64, 32, 4, 2, 4, 0),
    "q128k32w8s2b2": (128, 32, 8, 2, 2, 1),
    "q128k64w8s3b2nq": (128, 64, 8, 3, 2, 0),
}
DEFAULT = {128: "q128k64w4s2", 64: "q128k64w8s2"}

CHECKS = [  # pattern, hd, dtype, batch, heads, kv_heads, q_len, k_len
    ("power", 128, "bf16", 1, 2, 2, 1000, 1000),
    ("power", 128, "bf16", 1, 2, 2, 4097, 4097),
    ("power", 128, "bf16", 1, 2, 2, 77, 4097),
    ("power", 128, "bf16", 1, 4, 4, 1, 4097),
    ("power", 128, "fp16", 2, 8, 2, 1000, 1000),
    ("power", 128, "bf16", 2, 8, 2, 300, 4097),
    ("power", 64, "bf16", 1, 2, 2, 4097, 4097),
    ("power", 64, "fp16", 2, 8, 2, 77, 4097),
    ("causal", 128, "bf16", 2, 8, 2, 1000, 1000),
    ("causal", 128, "fp16", 1, 2, 2, 1, 1000),
    ("causal", 64, "fp16", 1, 2, 2, 4097, 4097),
    ("strict", 128, "bf16", 1, 2, 2, 200, 200),
    # large scores (q scaled by 6: score std ~6, ~8.7 in log2 units) stress the lazy rescale
    ("power", 128, "bf16", 1, 2, 2, 4097, 4097, 6.0),
    ("causal", 128, "fp16", 2, 4, 2, 1000, 1000, 6.0),
    ("power", 64, "bf16", 1, 2, 2, 77, 4097, 6.0),
]


def compile_variant(pattern, hd, dtype, vname, arch, log):
    tq, tk, w, s, mb, *rest = VARIANTS[vname]
    src = build_source(pattern, hd, dtype, tq, tk, w, s, mb, *rest)
    cubin, nlog, dt = nvrtc_compile(src, arch, ["--ptxas-options=-v"])
    log.write(f"== {pattern} hd{hd} {dtype} {vname} {arch}: nvrtc {dt*1e3:.0f} ms\n{nlog}\n")
    return cubin, nlog, dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compile-only", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--check-variants", default=None, help="variants to run the full check list on")
    ap.add_argument("--seq-lens", default="32768,65536,131072")
    ap.add_argument("--causal-lens", default="16384,32768")
    ap.add_argument("--hd64-lens", default="", help="also time power at head dim 64")
    ap.add_argument("--arch", default="sm_90")
    ap.add_argument("--full-check", action="store_true", help="every check config for every variant")
    ap.add_argument("--profile", action="store_true", help="launch power 32K twice per variant (for ncu)")
    a = ap.parse_args()
    out = os.environ.get("OUT", "/tmp")
    log = open(os.path.join(out, "fwd_dev.log"), "w")
    variants = a.variants.split(",")

    if a.compile_only:
        for arch in [a.arch, "sm_80"]:
            for hd in (128, 64):
                for vn in variants:
                    for dt in ("bf16",):
                        try:
                            _, nlog, t = compile_variant("power", hd, dt, vn, arch, log)
                            info = [l for l in nlog.splitlines() if "registers" in l or "spill" in l]
                            print(f"{arch} hd{hd} {dt} {vn}: {t*1e3:.0f} ms | " + " | ".join(x.strip() for x in info))
                        except Exception as e:  # noqa: BLE001
                            print(f"{arch} hd{hd} {dt} {vn}: FAIL {e}")
        return

    import torch
    torch.manual_seed(0)
    dev = torch.device("cuda")
    torch.cuda.init()
    torch.empty(1, device=dev)
    stream = torch.cuda.current_stream().cuda_stream
    cache = {}

    def kernel(pattern, hd, dtype, vn):
        key = (pattern, hd, dtype, vn)
        if key not in cache:
            cubin, nlog, t = compile_variant(pattern, hd, dtype, vn, a.arch, log)
            kern = Kernel(cubin)
            os.makedirs("/tmp/cubins", exist_ok=True)
            with open("/tmp/cubins/k_%s_%d_%s_%s.cubin" % key, "wb") as f:
                f.write(cubin)
            cache[key] = kern
            print(f"compiled {key}: nvrtc {t*1e3:.0f} ms regs={kern.regs} local={kern.local} "
                  f"smem={kern.smem} threads={kern.threads}", flush=True)
        return cache[key]

    if a.profile:
        n, H, D = 32768, 32, 128
        q, k, v = (torch.randn(1, H, n, D, device=dev, dtype=torch.bfloat16) for _ in range(3))
        o = torch.empty_like(q)
        lse = torch.empty(1, H, n, device=dev)
        for vn in variants:
            kern = kernel("power", 128, "bf16", vn)
            for _ in range(2):
                kern.launch(q, k, v, o, lse, 1.0 / math.sqrt(D), stream)
            torch.cuda.synchronize()
        return

    results = {"checks": [], "bench": []}
    ok_all = True
    if a.check:
        cvs = (a.check_variants or a.variants).split(",")
        for vn in cvs:
            for (pat, hd, dt, B, H, KH, Lq, Lk, *amp) in CHECKS:
                if not a.full_check and vn != DEFAULT[hd] and (Lq, Lk) not in [(4097, 4097), (77, 4097), (1000, 1000)]:
                    continue
                tdt = torch.bfloat16 if dt == "bf16" else torch.float16
                kern = kernel(pat, hd, dt, vn)
                q = (torch.randn(B, H, Lq, hd, device=dev) * (amp[0] if amp else 1.0)).to(tdt)
                k = torch.randn(B, KH, Lk, hd, device=dev, dtype=tdt)
                v = torch.randn(B, KH, Lk, hd, device=dev, dtype=tdt)
                o = torch.full_like(q, float("nan"))
                lse = torch.full((B, H, Lq), float("nan"), device=dev)
                scale = 1.0 / math.sqrt(hd)
                kern.launch(q, k, v, o, lse, scale, stream)
                torch.cuda.synchronize()
                ro, rl = reference(q, k, v, ref_mask(pat, Lq, Lk, dev), scale)
                nan = bool(torch.isnan(o).any() or torch.isnan(lse).any())
                err = ((o.float() - ro).norm() / ro.norm().clamp_min(1e-30)).item()
                fin = torch.isfinite(rl)
                same_inf = bool(torch.equal(fin, torch.isfinite(lse)))
                lerr = ((lse[fin] - rl[fin]).norm() / rl[fin].norm().clamp_min(1e-30)).item()
                good = (not nan) and err <= 1e-2 and lerr <= 1e-3 and same_inf
                ok_all &= good
                r = dict(variant=vn, pattern=pat, amp=amp[0] if amp else 1.0, hd=hd, dtype=dt, batch=B, heads=H, kv_heads=KH,
                         q_len=Lq, k_len=Lk, rel_err=err, lse_rel_err=lerr, nan=nan,
                         empty_rows=int((~fin).sum().item()), inf_match=same_inf, ok=good)
                results["checks"].append(r)
                print(("OK  " if good else "BAD ") + json.dumps(r), flush=True)
                del q, k, v, o, lse, ro, rl

    if a.bench:
        from triton.testing import do_bench
        H = 32
        jobs = [("power", n, vn, 128) for n in map(int, a.seq_lens.split(",")) for vn in variants]
        jobs += [("causal", n, DEFAULT[128], 128) for n in map(int, a.causal_lens.split(",")) if n > 0]
        jobs += [("power", n, vn, 64) for n in map(int, a.hd64_lens.split(",")) if n > 0 for vn in variants]
        last_n = None
        for pat, n, vn, D in jobs:
            if (n, D) != last_n:
                q = torch.randn(1, H, n, D, device=dev, dtype=torch.bfloat16)
                k = torch.randn(1, H, n, D, device=dev, dtype=torch.bfloat16)
                v = torch.randn(1, H, n, D, device=dev, dtype=torch.bfloat16)
                o = torch.empty_like(q)
                lse = torch.empty(1, H, n, device=dev)
                last_n = (n, D)
            kern = kernel(pat, D, "bf16", vn)
            fn = lambda: kern.launch(q, k, v, o, lse, 1.0 / math.sqrt(D), stream)
            fn()
            torch.cuda.synchronize()
            ms = do_bench(fn, warmup=25, rep=100, return_mode="median")
            ms2 = do_bench(fn, warmup=5, rep=50, return_mode="median")
            pairs = power_pairs(n) if pat == "power" else n * (n + 1) // 2
            tf = 4.0 * H * D * pairs / (ms * 1e-3) / 1e12
            r = dict(pattern=pat, n=n, hd=D, variant=vn, ms=ms, ms_repeat=ms2, tflops=tf, pairs=pairs,
                     regs=kern.regs, local=kern.local)
            results["bench"].append(r)
            print(json.dumps(r), flush=True)

    with open(os.path.join(out, "fwd_dev.json"), "w") as f:
        json.dump(results, f, indent=1)
    log.close()
    print("\n==== summary ====")
    for r in results["checks"]:
        print(f"check {r['variant']:14s} {r['pattern']:6s} hd{r['hd']} {r['dtype']} b{r['batch']} h{r['heads']}/{r['kv_heads']} "
              f"q{r['q_len']} k{r['k_len']} x{r['amp']:g}: rel {r['rel_err']:.2e} lse {r['lse_rel_err']:.2e} "
              f"{'OK' if r['ok'] else 'BAD'}")
    for r in results["bench"]:
        print(f"bench {r['pattern']:6s} hd{r['hd']} n={r['n']:6d} {r['variant']:14s} {r['ms']:8.3f} ms ({r['ms_repeat']:.3f}) "
              f"{r['tflops']:6.1f} TFLOP/s regs={r['regs']} local={r['local']}")
    print("ALL CHECKS OK" if ok_all else "SOME CHECKS FAILED")


if __name__ == "__main__":
    main()
