"""Pattern.compile: cubins through NVRTC and the kernel cache."""

import warnings

import pytest

import sieve
from conftest import needs_nvrtc


@needs_nvrtc
def test_compile_gives_a_cubin_and_what_it_is():
    k = sieve.Pattern("sliding_window").compile(head_dim=64, dtype="fp16", arch="sm_80")
    assert k.cubin[:4] == b"\x7fELF"
    assert (k.arch, k.kernel, k.head_dim, k.dtype) == ("sm_80", "fwd-sm80-mma", 64, "fp16")
    assert (k.tile_q, k.tile_k) == (64, 64)
    assert "sieve_attention_fwd" in k.source
    again = sieve.Pattern("sliding_window").compile(head_dim=64, dtype="fp16", arch="sm_80")
    assert again.cache in ("memory", "disk") and again.cubin == k.cubin


@needs_nvrtc
def test_hopper_gets_the_warp_specialised_kernel_and_a_variant_can_be_forced():
    p = sieve.Pattern("power_attention")
    assert p.compile(arch="sm_90a").kernel == "fwd-sm90-ws"
    assert p.compile(arch="sm_90a", kernel="fwd-sm90-wgmma").kernel == "fwd-sm90-wgmma"
    # An operation word: sieve's choice for that operation (what sieve.torch's
    # backward asks for).
    assert p.compile(arch="sm_90a", kernel="backward").kernel == "bwd-sm90-2wg"
    # Without dQ atomics (what sieve.torch asks for with deterministic=True).
    assert p.compile(arch="sm_90a", kernel="backward-deterministic").kernel == "bwd-sm90-wgmma"
    assert p.compile(arch="sm_80", kernel="backward").kernel == "bwd-sm80-mma"
    assert p.compile(arch="sm_90a", kernel="fwd-sm80-mma").kernel == "fwd-sm80-mma"
    with pytest.raises(sieve.SieveError, match="kernel 'fwd-sm90-wgmma' does not apply"):
        p.compile(arch="sm_80", kernel="fwd-sm90-wgmma")


@needs_nvrtc
def test_decode_and_backward_modules_compile():
    p = sieve.Pattern("power_attention")
    for variant, tiles in (("decode-sm80-mma", (16, 64)), ("bwd-sm80-mma", (64, 64))):
        k = p.compile(64, "bf16", "sm_90a", variant)
        assert k.kernel == variant and (k.tile_q, k.tile_k) == tiles
        assert k.cubin[:4] == b"\x7fELF"
    assert "sieve_attention_bwd_dq" in p.compile(64, "fp16", "sm_80", "bwd-sm80-mma").source


@needs_nvrtc
def test_a_pattern_that_attends_nothing_is_a_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sieve.Pattern({"name": "nothing", "mask": {"not": "full"}}).compile(arch="sm_80")
    assert any(issubclass(w.category, sieve.SieveWarning) and "attends no" in str(w.message)
               for w in caught)


def test_compile_options_are_checked():
    p = sieve.Pattern("causal")
    with pytest.raises(ValueError, match="head_dim must be 64 or 128"):
        p.compile(head_dim=96)
    with pytest.raises(ValueError, match="dtype must be 'bf16' or 'fp16'"):
        p.compile(dtype="fp32")
    with pytest.raises(sieve.SieveError, match="unsupported architecture 'sm_70'"):
        p.compile(arch="sm_70")
    with pytest.raises(sieve.SieveError, match="unknown kernel 'nope'"):
        p.compile(arch="sm_80", kernel="nope")
