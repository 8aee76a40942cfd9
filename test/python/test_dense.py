"""Pattern.to_dense: the reference mask, against the formulas it means."""

import numpy as np
import pytest

import sieve


def formula(q_len, kv_len, rule):
    """The mask from a rule over absolute positions (q, k), queries aligned
    to the end of the keys."""
    q = np.arange(kv_len - q_len, kv_len)[:, None]
    k = np.arange(kv_len)[None, :]
    return rule(q, k)


def test_causal_is_the_lower_triangle_aligned_to_the_end():
    m = sieve.Pattern("causal").to_dense(5, 12)
    assert m.dtype == np.bool_ and m.shape == (5, 12)
    assert (m == formula(5, 12, lambda q, k: k <= q)).all()
    assert (sieve.Pattern("causal").to_dense(7) == np.tril(np.ones((7, 7), bool))).all()


@pytest.mark.parametrize("q_len, kv_len", [(256, 256), (100, 700), (1, 1000)])
def test_power_attention_is_the_papers_rule(q_len, kv_len):
    # causal & (sink | window | power-of-two block distance), blocks of 32.
    B, sink, window = 32, 1, 3
    p = sieve.Pattern("power_attention", block_size=B, sink_blocks=sink, window_blocks=window)

    def rule(q, k):
        d = q // B - k // B
        power = (d > 0) & ((d & (d - 1)) == 0)
        return (k <= q) & ((k // B < sink) | ((d >= 0) & (d < window)) | power)

    assert (p.to_dense(q_len, kv_len) == formula(q_len, kv_len, rule)).all()


def test_the_mask_agrees_with_inspect():
    p = sieve.Pattern("longformer")
    m = p.to_dense(2048)
    r = p.inspect(2048)
    assert int(m.sum()) == r["attended_pairs"]
    assert int((~m.any(axis=1)).sum()) == r["empty_rows"]


def test_lengths_are_checked():
    p = sieve.Pattern("causal")
    with pytest.raises(ValueError, match="q_len <= kv_len"):
        p.to_dense(10, 5)
    with pytest.raises(ValueError, match="q_len <= kv_len"):
        p.to_dense(-1, 5)
    assert p.to_dense(0, 4).shape == (0, 4)
