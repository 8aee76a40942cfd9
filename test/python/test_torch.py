"""sieve.torch on a GPU machine with torch >= 2.4: against SDPA with the
reference mask and against FlexAttention, strided and GQA inputs, the LSE,
torch.library.opcheck, torch.compile(fullgraph=True), the kernel cache, and
the backward against SDPA's autograd. Skipped elsewhere (Debian's torch is 1.13, CPU
only)."""

import pytest

torch = pytest.importorskip("torch", minversion="2.4")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device for torch", allow_module_level=True)

import sieve  # noqa: E402
from sieve.torch import sieve_attention  # noqa: E402

DTYPES = [torch.bfloat16, torch.float16]
TOLERANCE = {torch.bfloat16: 2e-2, torch.float16: 5e-3}


def inputs(b, h, hkv, lq, lk, e, dtype, seed=0):
    g = torch.Generator(device="cuda").manual_seed(seed)
    make = lambda *s: torch.randn(*s, device="cuda", dtype=dtype, generator=g)  # noqa: E731
    return make(b, h, lq, e), make(b, hkv, lk, e), make(b, hkv, lk, e)


def reference(pattern, q, k, v, scale=None):
    """fp32 SDPA with the dense reference mask; rows that attend nothing: 0."""
    lq, lk = q.shape[2], k.shape[2]
    mask = torch.from_numpy(pattern.to_dense(lq, lk)).cuda()
    rep = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(rep, 1).float(), v.repeat_interleave(rep, 1).float()
    out = torch.nn.functional.scaled_dot_product_attention(q.float(), k, v, attn_mask=mask,
                                                           scale=scale)
    return torch.where(mask.any(-1)[None, None, :, None], out, torch.zeros_like(out))


def rel(a, b):
    return ((a.float() - b.float()).norm() / b.float().norm()).item()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spec, lq, lk, e", [("power_attention", 2048, 2048, 128),
                                             ("sliding_window", 300, 1500, 64),
                                             ("longformer", 1024, 1024, 128)])
def test_matches_sdpa_with_the_reference_mask(spec, lq, lk, e, dtype):
    p = sieve.Pattern(spec)
    q, k, v = inputs(2, 4, 4, lq, lk, e, dtype)
    out = sieve_attention(q, k, v, p)
    assert out.shape == q.shape and out.dtype == dtype and out.is_contiguous()
    assert not out.isnan().any()
    assert rel(out, reference(p, q, k, v)) < TOLERANCE[dtype]


def test_strided_views_of_blhe_and_gqa_and_scale():
    p = sieve.Pattern("power_attention", block_size=128)
    x = torch.randn(2, 1024, 8, 128, device="cuda", dtype=torch.bfloat16)     # [B, L, H, E]
    kv = torch.randn(2, 1024, 2, 128, device="cuda", dtype=torch.bfloat16)
    q, k, v = x.transpose(1, 2), kv.transpose(1, 2), (kv * 2).transpose(1, 2)
    assert not q.is_contiguous()
    with pytest.raises(ValueError, match="enable_gqa=True"):
        sieve_attention(q, k, v, p)
    out = sieve_attention(q, k, v, p, enable_gqa=True, scale=0.05)
    assert rel(out, reference(p, q, k, v, scale=0.05)) < 2e-2


def test_the_lse_is_the_natural_log_sum_exp():
    p = sieve.Pattern("causal")
    q, k, v = inputs(1, 2, 2, 256, 256, 64, torch.float16)
    out, lse = sieve_attention(q, k, v, p, return_lse=True)
    s = (q.float() @ k.float().transpose(-1, -2)) / 8.0
    s = s.masked_fill(~torch.from_numpy(p.to_dense(256)).cuda(), float("-inf"))
    assert lse.shape == (1, 2, 256) and lse.dtype == torch.float32
    assert torch.allclose(lse, torch.logsumexp(s, -1), atol=5e-2)


def test_matches_flex_attention_with_to_block_mask():
    if tuple(int(x) for x in torch.__version__.split(".")[:2]) < (2, 5):
        pytest.skip("Pattern.to_block_mask needs torch >= 2.5")
    from torch.nn.attention.flex_attention import flex_attention
    p = sieve.Pattern("power_attention", block_size=128)
    q, k, v = inputs(1, 4, 4, 2048, 2048, 128, torch.bfloat16)
    block_mask = p.to_block_mask(2048)
    flex = torch.compile(flex_attention)(q, k, v, block_mask=block_mask)
    assert rel(sieve_attention(q, k, v, p), flex) < 2e-2


def test_opcheck():
    q, k, v = inputs(1, 2, 2, 256, 256, 64, torch.bfloat16)
    torch.library.opcheck(torch.ops.sieve.attention.default,
                          (q, k, v, "builtin:sliding_window", 0.0, "", "", False))


def test_torch_compile_fullgraph():
    p = sieve.Pattern("power_attention", block_size=128)
    q, k, v = inputs(1, 4, 4, 1024, 1024, 128, torch.bfloat16)

    @torch.compile(fullgraph=True)
    def f(q, k, v):
        return sieve_attention(q, k, v, p) * 2

    assert rel(f(q, k, v), 2 * sieve_attention(q, k, v, p)) < 1e-6


def test_kernels_are_cached_per_pattern_options_and_device():
    q, k, v = inputs(1, 2, 2, 256, 256, 64, torch.float16)
    sieve_attention(q, k, v, "causal")
    n = len(sieve._kernels)
    sieve_attention(q, k, v, sieve.Pattern({"builtin": "causal"}))  # the same canonical key
    assert len(sieve._kernels) == n
    sieve_attention(q, k, v, "causal", kernel_options={"kernel": "fwd-sm80-mma"})
    assert len(sieve._kernels) == n + 1


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("deterministic", [False, True])
@pytest.mark.parametrize("spec, h, hkv, lq, lk, e", [("power_attention", 4, 2, 700, 1100, 128),
                                                     ("sliding_window", 2, 2, 513, 513, 64)])
def test_gradients_match_sdpa_autograd(spec, h, hkv, lq, lk, e, dtype, deterministic):
    # Every row of these patterns attends at least itself, so fp32 SDPA with
    # the dense mask has no NaN rows to leak into its gradients.
    p = sieve.Pattern(spec)
    q, k, v = (t.requires_grad_() for t in inputs(1, h, hkv, lq, lk, e, dtype))
    do = torch.randn_like(q)
    out = sieve_attention(q, k, v, p, enable_gqa=hkv != h,
                          kernel_options={"deterministic": deterministic})
    out.backward(do)
    qr, kr, vr = (t.detach().float().requires_grad_() for t in (q, k, v))
    reference(p, qr, kr, vr).backward(do.float())
    for got, want in ((q.grad, qr.grad), (k.grad, kr.grad), (v.grad, vr.grad)):
        assert got.dtype == dtype and not got.isnan().any()
        assert rel(got, want) < 1e-2


def test_deterministic_gradients_repeat_bit_for_bit():
    q, k, v = (t.requires_grad_() for t in inputs(1, 4, 1, 1000, 1000, 128, torch.bfloat16))
    grads = []
    for _ in range(2):
        for t in (q, k, v):
            t.grad = None
        sieve_attention(q, k, v, "power_attention", enable_gqa=True,
                        kernel_options={"deterministic": True}).sum().backward()
        grads.append([t.grad.clone() for t in (q, k, v)])
    assert all(torch.equal(a, b) for a, b in zip(*grads))


def test_gradients_through_the_lse_match_autograd():
    # loss = sum(out * do) + sum(lse * dl): the LSE's gradient goes through
    # sieve's extra forward and backward (torch.py, _backward).
    p = sieve.Pattern("power_attention", block_size=128)
    q, k, v = (t.requires_grad_() for t in inputs(1, 4, 2, 500, 900, 64, torch.bfloat16))
    do, dl = torch.randn_like(q), torch.randn(1, 4, 500, device="cuda")
    out, lse = sieve_attention(q, k, v, p, enable_gqa=True, return_lse=True)
    ((out * do).sum() + (lse * dl).sum()).backward()
    qr, kr, vr = (t.detach().float().requires_grad_() for t in (q, k, v))
    mask = torch.from_numpy(p.to_dense(500, 900)).cuda()
    kk, vv = kr.repeat_interleave(2, 1), vr.repeat_interleave(2, 1)
    scores = (qr @ kk.transpose(-1, -2)) * 64 ** -0.5
    scores = scores.masked_fill(~mask, float("-inf"))
    ref_lse = torch.logsumexp(scores, -1)
    ref_out = torch.softmax(scores, -1) @ vv
    ((ref_out * do.float()).sum() + (ref_lse * dl).sum()).backward()
    assert rel(lse, ref_lse) < 1e-3
    for got, want in ((q.grad, qr.grad), (k.grad, kr.grad), (v.grad, vr.grad)):
        assert rel(got, want) < 1e-2


def test_the_lse_alone_has_gradients():
    q, k, v = (t.requires_grad_() for t in inputs(1, 2, 2, 256, 256, 64, torch.bfloat16))
    _, lse = sieve_attention(q, k, v, "causal", return_lse=True)
    lse.sum().backward()
    assert q.grad is not None and not q.grad.isnan().any()
    assert v.grad is not None and v.grad.abs().max().item() == 0  # the LSE does not depend on v


def test_the_backward_op_passes_opcheck():
    q, k, v = inputs(1, 2, 2, 256, 256, 64, torch.bfloat16)
    out, lse = torch.ops.sieve.attention(q, k, v, sieve.Pattern("causal").spec, 0.0, "", "",
                                         False)
    torch.library.opcheck(torch.ops.sieve.attention_backward.default,
                          (torch.randn_like(q), q, k, v, out, lse, sieve.Pattern("causal").spec,
                           0.0, "", False))


@pytest.mark.parametrize("lq", [1, 16, sieve.DECODE_MAX_QUERIES, sieve.DECODE_MAX_QUERIES + 1])
@pytest.mark.parametrize("h, hkv", [(8, 2), (4, 4)])
def test_few_queries_run_the_decode_kernel_and_match_sdpa(lq, h, hkv):
    # Keys not a multiple of any tile; queries end-aligned. Up to
    # DECODE_MAX_QUERIES this is the decode kernel (split over keys), above
    # it the forward kernel; both must agree with SDPA, LSE included.
    p = sieve.Pattern("power_attention", block_size=64)
    q, k, v = inputs(2, h, hkv, lq, 3001, 128, torch.bfloat16, seed=lq)
    target = sieve.target()[0]
    want = "decode" if lq <= sieve.DECODE_MAX_QUERIES and \
        target in sieve.DECODE_VERIFIED_TARGETS else "forward"
    assert sieve.launch_operation(None, lq, target) == want
    before = set(sieve._kernels)
    out, lse = sieve_attention(q, k, v, p, enable_gqa=hkv != h, return_lse=True)
    loaded = set(sieve._kernels) - before  # this call's kernel, unless an earlier case loaded it
    assert all(key[4] == (None if want == "forward" else want) for key in loaded)
    assert (p.key, 128, "bf16", None, None if want == "forward" else want,
            torch.cuda.current_device()) in sieve._kernels
    assert out.shape == q.shape and lse.shape == (2, h, lq) and lse.is_contiguous()
    assert rel(out, reference(p, q, k, v)) < 2e-2
    mask = torch.from_numpy(p.to_dense(lq, 3001)).cuda()
    kk = k.repeat_interleave(h // hkv, 1).float()
    scores = ((q.float() @ kk.transpose(-1, -2)) / 128 ** 0.5).masked_fill(~mask, float("-inf"))
    assert torch.allclose(lse, torch.logsumexp(scores, -1), atol=2e-2)
    # Forcing the other operation gives the same answer.
    other = "forward" if want == "decode" else "decode"
    out2, lse2 = sieve_attention(q, k, v, p, enable_gqa=hkv != h, return_lse=True,
                                 kernel_options={"kernel": other})
    assert rel(out2, out) < 1e-2 and torch.allclose(lse2, lse, atol=1e-2)


def test_a_decode_step_is_captured_in_a_cuda_graph():
    p = sieve.Pattern("power_attention", block_size=64)
    q, k, v = inputs(1, 8, 2, 1, 5000, 128, torch.bfloat16)
    eager = sieve_attention(q, k, v, p, enable_gqa=True)  # compiles and loads outside capture
    graph, stream = torch.cuda.CUDAGraph(), torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        with torch.cuda.graph(graph, stream=stream):
            captured = sieve_attention(q, k, v, p, enable_gqa=True)
    torch.cuda.current_stream().wait_stream(stream)
    q.copy_(torch.randn_like(q))  # a new step's query, replayed in place
    graph.replay()
    torch.cuda.synchronize()
    assert rel(captured, sieve_attention(q, k, v, p, enable_gqa=True)) < 1e-6
    assert rel(captured, eager) > 1e-2  # the replay read the new query


def test_decode_op_passes_opcheck():
    q, k, v = inputs(1, 4, 2, 16, 700, 64, torch.bfloat16)
    torch.library.opcheck(torch.ops.sieve.attention.default,
                          (q, k, v, "builtin:sliding_window", 0.0, "", "", False))


@pytest.mark.parametrize("lq", [1, 16])
def test_gradients_through_a_decode_launched_forward(lq):
    p = sieve.Pattern("power_attention", block_size=64)
    q, k, v = (t.requires_grad_() for t in inputs(1, 4, 2, lq, 2000, 128, torch.bfloat16))
    do = torch.randn_like(q)
    sieve_attention(q, k, v, p, enable_gqa=True).backward(do)
    qr, kr, vr = (t.detach().float().requires_grad_() for t in (q, k, v))
    reference(p, qr, kr, vr).backward(do.float())
    for got, want in ((q.grad, qr.grad), (k.grad, kr.grad), (v.grad, vr.grad)):
        assert rel(got, want) < 1e-2


def test_arguments_are_checked():
    q, k, v = inputs(1, 2, 2, 256, 256, 64, torch.float16)
    with pytest.raises(ValueError, match="unknown kernel_options"):
        sieve_attention(q, k, v, "causal", kernel_options={"BLOCK_M": 64})
    with pytest.raises(ValueError, match="needs CUDA tensors"):
        sieve_attention(q.cpu(), k.cpu(), v.cpu(), "causal")
    with pytest.raises(TypeError, match="bfloat16 or float16"):
        sieve_attention(q.float(), k.float(), v.float(), "causal")
    with pytest.raises(ValueError, match="aligned to the end of the keys"):
        sieve_attention(torch.cat([q, q], 2), k, v, "causal")
    with pytest.raises(ValueError, match="paged KV cache"):
        sieve_attention(q, k, v, "causal", kernel_options={"kernel": "decode-paged"})
    with pytest.raises(ValueError, match="is a backward kernel"):
        sieve_attention(q, k, v, "causal", kernel_options={"kernel": "backward"})


def test_sieve_attention_takes_torch_tensors_through_dlpack():
    p = sieve.Pattern("power_attention", block_size=128)
    q, k, v = inputs(1, 4, 2, 512, 1024, 128, torch.bfloat16)
    out = torch.empty_like(q)
    lse = torch.empty(q.shape[:-1], device="cuda", dtype=torch.float32)
    stream = torch.cuda.current_stream().cuda_stream
    sieve.attention(q, k, v, p, out=out, lse=lse, stream=stream)
    want, want_lse = sieve_attention(q, k, v, p, enable_gqa=True, return_lse=True)
    torch.cuda.synchronize()
    assert torch.equal(out, want) and torch.equal(lse, want_lse)
