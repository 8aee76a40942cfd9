"""sieve's kernels as a PyTorch operator, shaped like FlexAttention.

    from torch.nn.attention.flex_attention import flex_attention
    out = flex_attention(q, k, v, block_mask=block_mask)

becomes

    from sieve.torch import sieve_attention
    out = sieve_attention(q, k, v, pattern)

where pattern is a sieve.Pattern or anything sieve.Pattern takes (a built-in
name, a JSON spec, a path). sieve_attention is the custom operator
torch.ops.sieve.attention (torch.library.custom_op) with a fake
implementation, so it works under torch.compile(fullgraph=True); kernels are
compiled once per pattern, options and device, and cached. Needs torch >= 2.4
and CUDA tensors.

Decode: without kernel_options["kernel"], L <= sieve.DECODE_MAX_QUERIES
queries run the decode kernel on sieve.DECODE_VERIFIED_TARGETS (Hopper) (split over keys, a workspace from torch's
allocator: CUDA-graph capturable), more the forward kernel.

Backward: gradients flow to query, key and value through sieve's backward
kernels (torch.ops.sieve.attention_backward: sieve's choice of backward kernel
for the device: on Hopper bwd-sm90-2wg (head dim 128, key blocks of 128k) or
bwd-sm90-wgmma, elsewhere bwd-sm80-mma; the
pattern's transposed walk; docs/backward.md), from the saved output and LSE.
kernel_options {"deterministic": True} computes dq without atomics (with the
backward kernel fastest so, bwd-sm90-wgmma on Hopper; the same
bits every run). A loss that also uses the returned LSE gets its gradient
too, at the price of one more forward and backward launch (see _backward).
"""

import functools
from typing import Optional, Tuple

from ._torch_version import require

require((2, 4), "sieve.torch (torch.library.custom_op)")

import torch  # noqa: E402  (after the version check, for its message)

import sieve as _sieve  # noqa: E402
from sieve import _lib  # noqa: E402

__all__ = ["sieve_attention"]

_DTYPES = {torch.bfloat16: "bf16", torch.float16: "fp16"}
_KERNEL_OPTIONS = ("arch", "kernel", "deterministic")
# The table's choice of backward kernel, with and without dQ atomics.
_BACKWARD_KERNELS = {False: "backward", True: "backward-deterministic"}


@functools.lru_cache(maxsize=256)
def _pattern(spec: str) -> "_sieve.Pattern":
    return _sieve.Pattern(spec)


def _launchable(x: torch.Tensor) -> torch.Tensor:
    """x, or a contiguous copy when the kernel cannot read it in place (it
    needs the last dimension contiguous, strides that are multiples of 8
    elements and a 16-byte aligned start)."""
    rows_overlap = x.shape[2] > 1 and x.stride(2) < x.shape[3]  # e.g. expanded rows
    if x.stride(-1) != 1 or any(s % 8 for s in x.stride()[:3]) or x.data_ptr() % 16 or rows_overlap:
        return x.contiguous()
    return x


@torch.library.custom_op("sieve::attention", mutates_args=(), device_types="cuda")
def _attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, spec: str,
               scale: float, arch: str, kernel: str,
               deterministic: bool) -> Tuple[torch.Tensor, torch.Tensor]:
    # deterministic: for the backward only (saved by _setup_context).
    q, k, v = _launchable(query), _launchable(key), _launchable(value)
    b, h, lq, e = q.shape
    out = torch.empty(q.shape, dtype=q.dtype, device=q.device)
    lse = torch.empty((b, h, lq), dtype=torch.float32, device=q.device)
    if out.numel() == 0:
        return out, lse
    device = q.device.index if q.device.index is not None else torch.cuda.current_device()
    with torch.cuda.device(device):
        operation = _sieve.launch_operation(kernel, lq,
                                            _sieve._resolved_target(arch or None, device))
        kern = _sieve._kernel(_pattern(spec), e, _DTYPES[q.dtype], arch or None,
                              _sieve._variant(kernel, operation), device)
        stream = torch.cuda.current_stream().cuda_stream
        if operation == "decode":
            _decode(kern, q, k, v, out, lse, scale, stream)
            return out, lse
        args = _lib.AttentionArgs()
        args.q, args.k, args.v = q.data_ptr(), k.data_ptr(), v.data_ptr()
        args.o, args.lse = out.data_ptr(), lse.data_ptr()
        args.batch, args.heads, args.kv_heads = b, h, k.shape[1]
        args.q_len, args.k_len, args.head_dim = lq, k.shape[2], e
        args.dtype = _lib.DTYPES[_DTYPES[q.dtype]]
        for name, t in (("q_stride", q), ("k_stride", k), ("v_stride", v), ("o_stride", out)):
            getattr(args, name)[:] = t.stride()[:3]
        args.scale = scale
        kern.launch(args, stream)
    return out, lse


def _decode(kern, q, k, v, out, lse, scale, stream):
    """One launch of the decode kernel (and its combine) over dense [B, H, L,
    E]-strided tensors. The split workspace comes from torch's caching
    allocator, so the step allocates nothing from the driver and can be
    captured in a CUDA graph. Decode writes its LSE [B, L, H]: the same
    memory as [B, H, L] for one query, a copy for more."""
    b, h, lq, e = q.shape
    rows = lse if lq == 1 else torch.empty((b, lq, h), dtype=torch.float32, device=q.device)
    args = _sieve._decode_args(
        (q.data_ptr(), k.data_ptr(), v.data_ptr(), out.data_ptr(), rows.data_ptr()),
        (b, h, k.shape[1], lq, k.shape[2], e), _DTYPES[q.dtype],
        (q.stride(), k.stride(), v.stride(), out.stride()), scale)
    splits, size = kern.decode_workspace(args)
    args.splits = splits
    workspace = torch.empty(max(size, 16), dtype=torch.uint8, device=q.device)
    args.workspace, args.workspace_bytes = workspace.data_ptr(), size
    kern.launch_decode(args, stream)
    if rows is not lse:
        lse.copy_(rows.transpose(1, 2))


@_attention.register_fake
def _(query, key, value, spec, scale, arch, kernel, deterministic):
    b, h, lq, _ = query.shape
    return (torch.empty(query.shape, dtype=query.dtype, device=query.device),
            query.new_empty((b, h, lq), dtype=torch.float32))


@torch.library.custom_op("sieve::attention_backward", mutates_args=(), device_types="cuda")
def _attention_backward(grad_out: torch.Tensor, query: torch.Tensor, key: torch.Tensor,
                        value: torch.Tensor, out: torch.Tensor, lse: torch.Tensor, spec: str,
                        scale: float, arch: str, deterministic: bool
                        ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    q, k, v = _launchable(query), _launchable(key), _launchable(value)
    o, do = _launchable(out), _launchable(grad_out)
    lse = lse.contiguous()
    dq = torch.empty(q.shape, dtype=q.dtype, device=q.device)
    dk = torch.empty(k.shape, dtype=k.dtype, device=k.device)
    dv = torch.empty(v.shape, dtype=v.dtype, device=v.device)
    if dq.numel() == 0 or dk.numel() == 0:
        return dq, dk.zero_(), dv.zero_()
    b, h, lq, e = q.shape
    device = q.device.index if q.device.index is not None else torch.cuda.current_device()
    with torch.cuda.device(device):
        kern = _sieve._kernel(_pattern(spec), e, _DTYPES[q.dtype], arch or None,
                              _BACKWARD_KERNELS[bool(deterministic)], device)
        args = _lib.BackwardArgs()
        args.q, args.k, args.v, args.o = q.data_ptr(), k.data_ptr(), v.data_ptr(), o.data_ptr()
        args.d_o, args.lse = do.data_ptr(), lse.data_ptr()
        args.dq, args.dk, args.dv = dq.data_ptr(), dk.data_ptr(), dv.data_ptr()
        args.batch, args.heads, args.kv_heads = b, h, k.shape[1]
        args.q_len, args.k_len, args.head_dim = lq, k.shape[2], e
        args.dtype = _lib.DTYPES[_DTYPES[q.dtype]]
        for name, t in (("q_stride", q), ("k_stride", k), ("v_stride", v), ("o_stride", o),
                        ("do_stride", do), ("dq_stride", dq), ("dk_stride", dk),
                        ("dv_stride", dv)):
            getattr(args, name)[:] = t.stride()[:3]
        args.scale = scale
        args.deterministic = int(deterministic)
        size = kern.backward_workspace(args)
        # 16-byte aligned: torch's allocator hands out 512-byte aligned blocks.
        workspace = torch.empty(max(size, 16), dtype=torch.uint8, device=q.device)
        args.workspace, args.workspace_bytes = workspace.data_ptr(), workspace.numel()
        kern.launch_backward(args, torch.cuda.current_stream().cuda_stream)
    return dq, dk, dv


@_attention_backward.register_fake
def _(grad_out, query, key, value, out, lse, spec, scale, arch, deterministic):
    # Contiguous, like the real op's outputs (empty_like would keep a
    # permuted input's strides).
    return tuple(torch.empty(t.shape, dtype=t.dtype, device=t.device)
                 for t in (query, key, value))


def _setup_context(ctx, inputs, output):
    query, key, value, spec, scale, arch, kernel, deterministic = inputs
    out, lse = output
    ctx.save_for_backward(query, key, value, out, lse)
    ctx.spec, ctx.scale, ctx.arch, ctx.kernel = spec, scale, arch, kernel
    ctx.deterministic = deterministic
    ctx.set_materialize_grads(False)


def _backward(ctx, grad_out, grad_lse):
    """dq, dk, dv from sieve's backward kernels. The LSE's gradient g, when
    the loss uses it, adds (with P the attention weights, s the scale)
        dq += s * g * (P K)   and   dk += s * P^T (g * Q),
    since d lse_i / d S_ij = P_ij. P K is the forward with K for V; P^T (g Q)
    is the dV a backward computes for dO = g Q. Both are exact (no extra
    approximation), and cost one forward and one backward launch."""
    query, key, value, out, lse = ctx.saved_tensors
    if grad_out is None and grad_lse is None:
        return (None,) * 8
    if grad_out is None:
        grad_out = torch.zeros_like(out)
    dq, dk, dv = _attention_backward(grad_out, query, key, value, out, lse, ctx.spec, ctx.scale,
                                     ctx.arch, ctx.deterministic)
    if grad_lse is not None:
        s = ctx.scale if ctx.scale else query.shape[-1] ** -0.5
        g = grad_lse.float().unsqueeze(-1)
        o_k, _ = _attention(query, key, key, ctx.spec, ctx.scale, ctx.arch, ctx.kernel, False)
        _, _, pg = _attention_backward((g * query.float()).to(query.dtype), query, key, key, o_k,
                                       lse, ctx.spec, ctx.scale, ctx.arch, ctx.deterministic)
        dq = (dq.float() + s * g * o_k.float()).to(dq.dtype)
        dk = (dk.float() + s * pg.float()).to(dk.dtype)
    return dq, dk, dv, None, None, None, None, None


_attention.register_autograd(_backward, setup_context=_setup_context)


def _spec(pattern) -> str:
    if isinstance(pattern, _sieve.Pattern):
        return pattern.spec
    if isinstance(pattern, str):
        return pattern
    # A dict, a path: sieve.Pattern folds it into a spec string (build the
    # Pattern outside a torch.compile'd function).
    return _sieve.Pattern(pattern).spec


def _check(query, key, value, enable_gqa):
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, not {type(t).__name__}")
        if t.dim() != 4:
            raise ValueError(f"{name} must be 4-D [B, H, L, E] but has shape {tuple(t.shape)}")
        if t.dtype not in _DTYPES:
            raise TypeError(f"{name} must be bfloat16 or float16, not {t.dtype}")
        if t.device.type != "cuda":
            raise ValueError(f"sieve_attention needs CUDA tensors; {name} is on {t.device}")
        if t.dtype != query.dtype or t.device != query.device:
            raise ValueError(f"{name} is {t.dtype} on {t.device} but query is {query.dtype} on "
                             f"{query.device}")
    b, hq, lq, e = query.shape
    if key.shape != value.shape:
        raise ValueError(f"key and value must have the same shape but have {tuple(key.shape)} "
                         f"and {tuple(value.shape)}")
    if key.shape[0] != b or key.shape[3] != e:
        raise ValueError(f"key {tuple(key.shape)} does not match query {tuple(query.shape)} in "
                         "batch or head dim")
    if e not in (64, 128):
        raise ValueError(f"the head dim must be 64 or 128 but is {e}")
    if lq > key.shape[2]:
        raise ValueError(f"query has {lq} rows but key only {key.shape[2]} (queries are aligned "
                         "to the end of the keys)")
    hkv = key.shape[1]
    if hkv != hq and not enable_gqa:
        raise ValueError(f"query has {hq} heads and key {hkv}: pass enable_gqa=True for "
                         "grouped-query attention")
    if hq % hkv:
        raise ValueError(f"query's {hq} heads are not a multiple of key's {hkv}")


def sieve_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, pattern, *,
                    scale: Optional[float] = None, enable_gqa: bool = False,
                    return_lse: bool = False, kernel_options: Optional[dict] = None):
    """Attention with a sieve pattern, like FlexAttention's
    flex_attention(query, key, value, block_mask=...).

    query is [B, Hq, L, E], key and value [B, Hkv, S, E] (strided views of
    [B, L, H, E] tensors work too), bfloat16 or float16 on a CUDA device, E
    64 or 128; queries are aligned to the end of the keys (L <= S). scale
    defaults to 1/sqrt(E); enable_gqa allows Hq a multiple of Hkv. Returns
    the output [B, Hq, L, E] (contiguous), and with return_lse also the
    log-sum-exp of the scaled scores, float32 [B, Hq, L], natural log (-inf
    for a row that attends nothing, whose output is 0). kernel_options:
    {"arch": "sm_90a", "kernel": "fwd-sm80-mma"} to force a target or a
    kernel variant (sieve.kernel_variants()), "forward" or "decode" to force
    an operation, and "deterministic": True for a backward without atomics.
    Without "kernel", L <= sieve.DECODE_MAX_QUERIES (a decode step, a short
    prefill chunk) runs the decode kernel, split over keys, on the targets
    of sieve.DECODE_VERIFIED_TARGETS, and longer L (or another target) the
    forward kernel (sieve.launch_operation). Gradients flow to query, key and
    value, from the output and from the LSE."""
    options = dict(kernel_options or {})
    unknown = sorted(set(options) - set(_KERNEL_OPTIONS))
    if unknown:
        raise ValueError(f"unknown kernel_options {unknown}; sieve takes {list(_KERNEL_OPTIONS)}")
    _check(query, key, value, enable_gqa)
    if scale is not None and scale == 0:
        raise ValueError("scale must be non-zero (None: 1/sqrt(head dim))")
    out, lse = _attention(query, key, value, _spec(pattern), 0.0 if scale is None else scale,
                          options.get("arch") or "", options.get("kernel") or "",
                          bool(options.get("deterministic", False)))
    return (out, lse) if return_lse else out
