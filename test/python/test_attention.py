"""sieve.attention: argument checks everywhere; launches on a GPU."""

import numpy as np
import pytest

import sieve
from conftest import needs_gpu, no_gpu
from test_tensors import Cai, Versioned


def cuda(shape, typestr="<f2", **kw):
    return Cai(shape=shape, typestr=typestr, **kw)


def test_cpu_tensors_are_refused():
    q = np.zeros((1, 2, 16, 64), np.float16)
    with pytest.raises(ValueError, match="q is on the CPU; sieve.attention needs CUDA tensors"):
        sieve.attention(q, q, q, "causal")


@pytest.mark.parametrize("q, k, v, message", [
    (cuda((2, 16, 64)), cuda((1, 2, 16, 64)), cuda((1, 2, 16, 64)),
     r"q must be 4-D \[batch, heads, length, head_dim\] but has shape \(2, 16, 64\)"),
    (cuda((1, 2, 16, 64), "<f4"), cuda((1, 2, 16, 64)), cuda((1, 2, 16, 64)),
     "q must be bfloat16 or float16, not fp32"),
    (cuda((1, 2, 16, 64)), Versioned((1, 2, 16, 64), (2048, 1024, 64, 1), device=(2, -1)),
     cuda((1, 2, 16, 64)), "k is bf16 but q is fp16"),
    (cuda((1, 2, 16, 64)), cuda((1, 2, 16, 64)), cuda((1, 2, 20, 64)),
     "k and v must have the same shape"),
    (cuda((1, 2, 16, 96)), cuda((1, 2, 16, 96)), cuda((1, 2, 16, 96)),
     "head_dim must be 64 or 128 but is 96"),
    (cuda((2, 2, 16, 64)), cuda((1, 2, 16, 64)), cuda((1, 2, 16, 64)),
     "does not match q"),
])
def test_arguments_are_checked_before_anything_runs(q, k, v, message):
    with pytest.raises((ValueError, TypeError), match=message):
        sieve.attention(q, k, v, "causal")


def test_outputs_are_checked():
    q = cuda((1, 2, 16, 64))
    with pytest.raises(ValueError, match=r"out must be a writable fp16 tensor of shape"):
        sieve.attention(q, q, q, "causal", out=cuda((1, 2, 8, 64)))
    with pytest.raises(ValueError, match="a read-only"):
        sieve.attention(q, q, q, "causal", out=cuda((1, 2, 16, 64), data=(16, True)))
    with pytest.raises(ValueError, match="lse must be a contiguous float32 tensor"):
        sieve.attention(q, q, q, "causal", lse=cuda((1, 2, 16), "<f2"))
    with pytest.raises(ValueError, match="last dimension must be contiguous"):
        sieve.attention(cuda((1, 2, 16, 64), strides=(4096, 2048, 128, 4)), q, q, "causal")
    with pytest.raises(ValueError, match="scale must be finite"):
        sieve.attention(q, q, q, "causal", scale=float("nan"))
    with pytest.raises(sieve.SpecError):
        sieve.attention(q, q, q, "builtin:nope")


def test_launch_operation_is_decode_for_few_queries_unless_forced():
    n = sieve.DECODE_MAX_QUERIES
    assert [sieve.launch_operation(None, q) for q in (1, 16, n, n + 1, 4096)] == \
        ["decode"] * 3 + ["forward"] * 2
    assert sieve.launch_operation("", 1) == "decode"
    assert sieve.launch_operation("forward", 1) == "forward"
    assert sieve.launch_operation("fwd-sm80-mma", 1) == "forward"
    assert sieve.launch_operation("decode", 4096) == "decode"
    assert sieve.launch_operation("decode-sm80-mma", 4096) == "decode"
    for paged in ("decode-paged", "decode-sm80-mma-paged"):
        with pytest.raises(ValueError, match="paged KV cache"):
            sieve.launch_operation(paged, 1)
    for backward in ("backward", "backward-deterministic", "bwd-sm80-mma", "bwd-sm90-wgmma",
                     "bwd-sm90-2wg"):
        with pytest.raises(ValueError, match="is a backward kernel"):
            sieve.launch_operation(backward, 1)
    # A name sieve does not know reaches the compiler, which lists the names.
    assert sieve.launch_operation("fwd-nope", 1) == "forward"
    # sieve's choice is decode only where decode has run on a GPU.
    assert sieve.launch_operation(None, 1, "sm_90a") == "decode"
    assert sieve.launch_operation(None, 1, "sm_80") == "forward"
    assert sieve.launch_operation(None, 1, "sm_86") == "forward"
    assert sieve.launch_operation("decode", 1, "sm_80") == "decode"


@no_gpu
def test_without_a_gpu_valid_arguments_reach_a_clear_error():
    q = cuda((1, 2, 16, 64))
    with pytest.raises(sieve.SieveError, match="needs a GPU"):
        sieve.attention(q, q, q, "causal")


def reference(p, q, k, v, scale=None):
    """fp64 attention with the reference mask (rows that attend nothing: 0)."""
    b, h, lq, e = q.shape
    hkv, lk = k.shape[1], k.shape[2]
    mask = p.to_dense(lq, lk)
    scale = 1 / np.sqrt(e) if scale is None else scale
    qf, kf, vf = (x.astype(np.float64) for x in (q, k, v))
    kf, vf = np.repeat(kf, h // hkv, axis=1), np.repeat(vf, h // hkv, axis=1)
    s = np.where(mask, np.einsum("bhqe,bhke->bhqk", qf, kf) * scale, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    w = np.where(mask, np.exp(s - np.where(np.isfinite(m), m, 0)), 0)
    denom = w.sum(axis=-1, keepdims=True)
    out = np.einsum("bhqk,bhke->bhqe", w / np.where(denom > 0, denom, 1), vf)
    lse = np.where(denom[..., 0] > 0, np.log(np.where(denom[..., 0] > 0, denom[..., 0], 1))
                   + np.where(np.isfinite(m[..., 0]), m[..., 0], 0), -np.inf)
    return out, lse


@needs_gpu
@pytest.mark.parametrize("spec, lq, lk, h, hkv, e", [
    ("power_attention", 1024, 1024, 4, 4, 128),
    ({"builtin": "sliding_window", "block_size": 64}, 100, 900, 4, 2, 64),
])
def test_attention_matches_the_reference_on_the_gpu(spec, lq, lk, h, hkv, e):
    rng = np.random.default_rng(0)
    p = sieve.Pattern(spec)
    q, k, v = (rng.standard_normal(s).astype(np.float16)
               for s in ((1, h, lq, e), (1, hkv, lk, e), (1, hkv, lk, e)))
    dq, dk, dv = (sieve.DeviceArray.from_numpy(x) for x in (q, k, v))
    out, lse = sieve.attention(dq, dk, dv, p, return_lse=True)
    got = out.numpy().astype(np.float64)
    want, want_lse = reference(p, q, k, v)
    assert np.isfinite(got).all()
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 5e-3
    assert np.allclose(lse.numpy(), want_lse, atol=5e-2)


@needs_gpu
@pytest.mark.parametrize("lq, with_lse", [(1, True), (16, False), (16, True)])
def test_decode_matches_the_reference_on_the_gpu(lq, with_lse):
    # One query with its LSE, or 16 without, run the decode kernel; 16 with
    # an LSE the forward (decode writes the LSE [batch, q_len, heads]).
    rng = np.random.default_rng(lq)
    p = sieve.Pattern({"builtin": "power_attention", "block_size": 64})
    q, k, v = (rng.standard_normal(s).astype(np.float16)
               for s in ((2, 8, lq, 128), (2, 2, 3001, 128), (2, 2, 3001, 128)))
    dq, dk, dv = (sieve.DeviceArray.from_numpy(x) for x in (q, k, v))
    got = sieve.attention(dq, dk, dv, p, return_lse=with_lse)
    out, lse = got if with_lse else (got, None)
    want, want_lse = reference(p, q, k, v)
    o = out.numpy().astype(np.float64)
    assert np.linalg.norm(o - want) / np.linalg.norm(want) < 5e-3
    if with_lse:
        assert np.allclose(lse.numpy(), want_lse, atol=5e-2)
    if lq > 1 and with_lse:
        with pytest.raises(ValueError, match=r"LSE as \[batch, q_len, heads\]"):
            sieve.attention(dq, dk, dv, p, return_lse=True, kernel="decode")
