"""The fused attention kernels (attention_forward/backward) against the NumPy reference in float32 and
float64: odd and large shapes (several query and key blocks), batch 1 and zero sizes, every mask kind
(bool, float, broadcast views read through their strides, causal), grouped-query heads, dropout (the same
draw as the reference, and its statistics), fully masked rows, NaN, strided inputs and the binding's
argument checks."""
import numpy as np
import pytest

from conftest import assert_close
from eigengrad import _kernels as K
from eigengrad import reference as ref
from eigengrad._kernels import _C

# (B, Hq, Hk, L, S, E, Ev): tiny, prime, one block, several query and key blocks (BM = 128, BN = 256)
SHAPES = [
    (1, 1, 1, 1, 1, 1, 1),
    (2, 3, 3, 5, 7, 4, 6),
    (1, 4, 2, 13, 31, 17, 9),
    (2, 2, 1, 257, 129, 33, 64),
    (1, 2, 2, 130, 517, 16, 24),
]


def _arrays(rng, shape, dtype):
    b, hq, hk, lq, lk, e, ev = shape
    q = rng.standard_normal((b, hq, lq, e)).astype(dtype)
    k = rng.standard_normal((b, hk, lk, e)).astype(dtype)
    v = rng.standard_normal((b, hk, lk, ev)).astype(dtype)
    return q, k, v


def _mask(rng, kind, shape, dtype):
    b, hq, _, lq, lk = shape[:5]
    if kind is None:
        return None
    if kind == "bool":
        m = rng.random((b, hq, lq, lk)) > 0.3
        m[..., 0, :] = False  # a fully masked row
        return m
    if kind == "bool_broadcast":  # one (L, S) mask for every batch and head: strides (0, 0, S, 1)
        return np.broadcast_to(rng.random((lq, lk)) > 0.5, (b, hq, lq, lk))
    if kind == "float_broadcast":  # key padding style: (B, 1, 1, S)
        m = rng.standard_normal((b, 1, 1, lk)).astype(dtype)
        m[0, 0, 0, -1] = -np.inf
        return np.broadcast_to(m, (b, hq, lq, lk))
    if kind == "float_transposed":  # a transposed view: the key stride is not 1
        return np.ascontiguousarray(rng.standard_normal((b, hq, lk, lq)).astype(dtype)).swapaxes(-1, -2)
    raise ValueError(kind)


def _check(rng, shape, dtype, mask_kind=None, causal=False, dropout=K.NO_DROPOUT, scale=0.3):
    q, k, v = _arrays(rng, shape, dtype)
    mask = _mask(rng, mask_kind, shape, dtype)
    mask_grad = mask is not None and mask.dtype != np.bool_
    out, lse = K.attention_forward(q, k, v, mask, scale, causal, dropout)
    f64 = [a.astype(np.float64) for a in (q, k, v)]
    m64 = None if mask is None else mask.astype(np.float64) if mask_grad else mask
    r_out, r_lse = ref.attention_forward(*f64, m64, scale, causal, dropout)
    assert_close(out, r_out, dtype)
    finite = np.isfinite(r_lse)
    assert np.array_equal(np.isfinite(lse), finite) and np.all(lse[~finite] == np.inf)
    assert_close(lse[finite], r_lse[finite], dtype)
    g = rng.standard_normal(out.shape).astype(dtype)
    grads = K.attention_backward(q, k, v, out, lse, g, mask, scale, causal, dropout, mask_grad)
    r_grads = ref.attention_backward(*f64, r_out, r_lse, g.astype(np.float64), m64, scale, causal, dropout, mask_grad)
    for got, want in zip(grads, r_grads):
        if want is None:
            assert got is None
        else:
            assert_close(got, want, dtype)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_matches_reference(rng, dtype, shape):
    _check(rng, shape, dtype)


@pytest.mark.parametrize("kind", ["bool", "bool_broadcast", "float_broadcast", "float_transposed"])
def test_masks_match_reference(rng, dtype, kind):
    for shape in (SHAPES[1], SHAPES[3]):
        _check(rng, shape, dtype, mask_kind=kind)


@pytest.mark.parametrize("shape", [(2, 2, 2, 300, 260, 8, 5), (1, 3, 1, 7, 300, 4, 4), (1, 1, 1, 600, 3, 4, 4)])
def test_causal_matches_reference(rng, dtype, shape):
    # L > S, L < S (top-left aligned: rows past S see every key) and key blocks skipped above the diagonal
    _check(rng, shape, dtype, causal=True)


def test_dropout_matches_reference_with_the_same_draw(rng, dtype):
    dropout = (123, 4567, K.keep_threshold(0.3), 1 / 0.7)
    _check(rng, (2, 2, 1, 140, 300, 8, 6), dtype, mask_kind="float_broadcast", dropout=dropout)
    _check(rng, (1, 1, 1, 5, 9, 3, 2), dtype, causal=True, dropout=dropout)


def test_dropout_mask_is_the_dropout_kernels_draw(rng):
    # element (b, h, i, j) is kept iff the draw of index ((b Hq + h) L + i) S + j keeps it: with one key
    # and v = 1, out[b, h, i] = keep * keep_scale
    b, h, lq = 2, 3, 50
    q, k = np.zeros((b, h, lq, 1)), np.zeros((b, h, 1, 1))
    v = np.ones((b, h, 1, 1))
    threshold = K.keep_threshold(0.4)
    out, _ = K.attention_forward(q, k, v, None, 1.0, False, (7, 99, threshold, 2.5))
    keep = K.bernoulli_mask(b * h * lq, 7, 99, threshold)
    assert np.array_equal(out.reshape(-1), keep * 2.5)


def test_dropout_statistics(rng):
    # Over many draws, the kept fraction is 1 - p and the output is unbiased (inverted dropout).
    p = 0.25
    q, k, v = _arrays(rng, (1, 1, 1, 64, 64, 8, 4), np.float64)
    clean, _ = K.attention_forward(q, k, v, None, 0.5, False)
    total = np.zeros_like(clean)
    draws = 400
    for seed in range(draws):
        out, _ = K.attention_forward(q, k, v, None, 0.5, False, (seed, 0, K.keep_threshold(p), 1 / (1 - p)))
        total += out
    keep = K.bernoulli_mask(64 * 64 * draws, 5, 0, K.keep_threshold(p)).mean()
    assert abs(keep - (1 - p)) < 0.005
    # the mean of 400 draws is within a few standard errors of the clean output
    assert np.abs(total / draws - clean).mean() < 0.02 * np.abs(clean).mean() + 0.01


def test_fully_masked_rows_give_zeros_and_zero_gradients(rng, dtype):
    q, k, v = _arrays(rng, (1, 2, 2, 4, 6, 3, 5), dtype)
    mask = np.ones((1, 2, 4, 6), bool)
    mask[0, 1, 2] = False
    out, lse = K.attention_forward(q, k, v, mask, 1.0, False)
    assert np.all(out[0, 1, 2] == 0) and lse[0, 1, 2] == np.inf
    fmask = np.where(mask, 0.0, -np.inf).astype(dtype)
    out2, _ = K.attention_forward(q, k, v, fmask, 1.0, False)
    assert np.all(out2[0, 1, 2] == 0)
    g = np.zeros_like(out)
    g[0, 1, 2] = 1.0  # only the masked row's output has a gradient
    dq, dk, dv, dm = K.attention_backward(q, k, v, out2, lse, g, fmask, 1.0, False, mask_grad=True)
    for a in (dq, dk, dv, dm):
        assert not np.any(a)


def test_no_keys_gives_zeros(dtype):
    q = np.ones((2, 1, 3, 4), dtype)
    k, v = np.ones((2, 1, 0, 4), dtype), np.ones((2, 1, 0, 5), dtype)
    out, lse = K.attention_forward(q, k, v, None, 1.0, False)
    assert out.shape == (2, 1, 3, 5) and not np.any(out) and np.all(lse == np.inf)
    dq, dk, dv, _ = K.attention_backward(q, k, v, out, lse, np.ones_like(out), None, 1.0, False)
    assert not np.any(dq) and dk.shape == (2, 1, 0, 4) and dv.shape == (2, 1, 0, 5)


@pytest.mark.parametrize("shape", [(0, 2, 2, 3, 4, 5, 6), (2, 0, 0, 3, 4, 5, 6), (2, 2, 2, 0, 4, 5, 6),
                                   (1, 1, 1, 3, 4, 0, 2), (1, 1, 1, 3, 4, 2, 0)])
def test_zero_sizes(rng, dtype, shape):
    _check(rng, shape, dtype)


def test_nan_and_inf_scores_make_their_row_nan(dtype):
    q = np.ones((1, 1, 3, 2), dtype)
    k, v = np.ones((1, 1, 4, 2), dtype), np.ones((1, 1, 4, 2), dtype)
    q[0, 0, 1, 0] = np.nan
    mask = np.zeros((1, 1, 3, 4), dtype)
    mask[0, 0, 2, 1] = np.inf
    out, _ = K.attention_forward(q, k, v, mask, 1.0, False)
    assert np.all(np.isnan(out[0, 0, 1])) and np.all(np.isnan(out[0, 0, 2]))
    assert np.allclose(out[0, 0, 0], 1.0)


def test_strided_inputs_are_read_as_values(rng, dtype):
    q, k, v = _arrays(rng, (2, 2, 2, 9, 11, 6, 4), dtype)
    qt = np.ascontiguousarray(q.swapaxes(1, 2)).swapaxes(1, 2)  # (B, L, H, E) memory, (B, H, L, E) view
    out, lse = K.attention_forward(qt, k[:, :, ::1], v, None, 0.4, False)
    r_out, _ = ref.attention_forward(q.astype(np.float64), k, v, None, 0.4, False)
    assert_close(out, r_out, dtype)


def _call_forward(q, k, v, mask=None, out=None, lse=None, threshold=1 << 32):
    out = np.empty(q.shape[:3] + v.shape[3:], q.dtype) if out is None else out
    lse = np.empty(q.shape[:3], q.dtype) if lse is None else lse
    _C.attention_forward(q, k, v, mask, out, lse, 1.0, False, 0, 0, threshold, 1.0)


def test_binding_rejects_bad_arguments():
    q, k, v = np.zeros((1, 4, 3, 2)), np.zeros((1, 2, 5, 2)), np.zeros((1, 2, 5, 6))
    with pytest.raises(TypeError, match="key: expected dtype float64"):
        _call_forward(q, k.astype(np.float32), v)
    with pytest.raises(TypeError, match="query: expected a float32 or float64"):
        _call_forward(q.astype(np.int64), k, v)
    with pytest.raises(ValueError, match="query: expected a 4-D"):
        _call_forward(q[0], k, v)
    with pytest.raises(ValueError, match="key: expected shape"):
        _call_forward(q, np.zeros((1, 2, 5, 3)), v)
    with pytest.raises(ValueError, match="value: expected shape"):
        _call_forward(q, k, np.zeros((1, 2, 4, 6)))
    with pytest.raises(ValueError, match="must divide the number of query heads"):
        _call_forward(q, np.zeros((1, 3, 5, 2)), np.zeros((1, 3, 5, 6)))
    with pytest.raises(ValueError, match="C-contiguous"):
        _call_forward(np.zeros((1, 4, 2, 3)).swapaxes(2, 3), k, v)
    with pytest.raises(TypeError, match="attn_mask: expected a bool array or dtype float64"):
        _call_forward(q, k, v, mask=np.zeros((1, 4, 3, 5), np.float32))
    with pytest.raises(ValueError, match=r"attn_mask: expected shape \(1, 4, 3, 5\)"):
        _call_forward(q, k, v, mask=np.zeros((1, 4, 3, 4), bool))
    with pytest.raises(ValueError, match=r"out: expected shape \(1, 4, 3, 6\)"):
        _call_forward(q, k, v, out=np.empty((1, 4, 3, 5)))
    with pytest.raises(ValueError, match="lse: expected a writeable"):
        lse = np.empty((1, 4, 3))
        lse.flags.writeable = False
        _call_forward(q, k, v, lse=lse)
    with pytest.raises(ValueError, match="out: must not share memory with query"):
        _call_forward(q, k, np.zeros((1, 2, 5, 2)), out=q)
    with pytest.raises(ValueError, match="threshold"):
        _call_forward(q, k, v, threshold=(1 << 32) + 1)


def test_backward_binding_rejects_overlapping_gradients():
    q, k, v = np.zeros((1, 1, 3, 2)), np.zeros((1, 1, 3, 2)), np.zeros((1, 1, 3, 2))
    out, lse = K.attention_forward(q, k, v, None, 1.0, False)
    dq = np.empty_like(q)
    with pytest.raises(ValueError, match="grad_key: must not share memory with grad_query"):
        _C.attention_backward(q, k, v, out, lse, out, None, dq, dq, np.empty_like(v), None, 1.0, False, 0, 0,
                              1 << 32, 1.0)
    with pytest.raises(ValueError, match="grad_query: must not share memory with grad_out"):
        g = np.zeros_like(out)
        _C.attention_backward(q, k, v, out, lse, g, None, g, np.empty_like(k), np.empty_like(v), None, 1.0, False,
                              0, 0, 1 << 32, 1.0)
