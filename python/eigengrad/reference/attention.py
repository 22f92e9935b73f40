"""Scaled dot-product attention reference: the whole (B, Hq, L, S) weight matrix in NumPy.

Same signatures and semantics as ``eigengrad._kernels.attention_forward/backward`` (see
cpp/include/eigengrad/attention.hpp): x = scale q k^T + mask (bool masks: -inf where False; causal: -inf
above the diagonal), p = softmax(x) with fully masked rows giving 0 (lse = +inf), out = (p * d / (1 - p_drop)) v
with the dropout draw d of element (b, h, i, j) at index ((b Hq + h) L + i) S + j.
"""
import numpy as np

from eigengrad.reference.dropout import bernoulli_mask

NO_DROPOUT = (0, 0, 1 << 32, 1.0)


def _repeat_heads(a, heads):
    """Key/value heads repeated for grouped-query attention: query head h reads head h // (Hq / Hk)."""
    return np.repeat(a, heads // a.shape[1], axis=1) if a.shape[1] else a


def _scores(q, k, mask, scale, causal):
    x = scale * (q @ _repeat_heads(k, q.shape[1]).swapaxes(-1, -2))
    if mask is not None:
        x = np.where(mask, x, -np.inf) if mask.dtype == np.bool_ else x + mask
    if causal:
        above = np.triu(np.ones(x.shape[-2:], dtype=bool), k=1)
        x = np.where(above, -np.inf, x)
    return x


def _dropout_factor(shape, dropout, dtype):
    seed, offset, threshold, keep_scale = dropout
    if threshold >= 1 << 32:
        return None
    keep = bernoulli_mask(int(np.prod(shape)), seed, offset, threshold).reshape(shape)
    return keep.astype(dtype) * dtype.type(keep_scale)


def attention_forward(q, k, v, mask, scale, causal, dropout=NO_DROPOUT):
    """(out (B, Hq, L, Ev), lse (B, Hq, L))."""
    x = _scores(q, k, mask, scale, causal)
    m = x.max(axis=-1, keepdims=True, initial=-np.inf)
    shift = np.where(m == -np.inf, 0, m)
    e = np.exp(x - shift)
    total = e.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(total == 0, 0, e / total)
        lse = np.where(total == 0, np.inf, shift + np.log(total))[..., 0]
    d = _dropout_factor(p.shape, dropout, q.dtype)
    out = (p if d is None else p * d) @ _repeat_heads(v, q.shape[1])
    return out.astype(q.dtype), lse.astype(q.dtype)


def _sum_groups(g, kv_heads):
    """Gradients of the repeated heads summed back onto their key/value head."""
    b, hq = g.shape[:2]
    return g.reshape(b, kv_heads, hq // kv_heads if kv_heads else 0, *g.shape[2:]).sum(axis=2)


def attention_backward(q, k, v, out, lse, grad_out, mask, scale, causal, dropout=NO_DROPOUT, mask_grad=False):
    """(grad_q, grad_k, grad_v, grad_mask or None)."""
    x = _scores(q, k, mask, scale, causal)
    p = np.exp(x - lse[..., None])
    d = _dropout_factor(p.shape, dropout, q.dtype)
    kk, vv = _repeat_heads(k, q.shape[1]), _repeat_heads(v, q.shape[1])
    dv = (p if d is None else p * d).swapaxes(-1, -2) @ grad_out
    dp = grad_out @ vv.swapaxes(-1, -2)
    if d is not None:
        dp = dp * d
    delta = (grad_out * out).sum(axis=-1, keepdims=True)
    ds = p * (dp - delta)
    dq = scale * (ds @ kk)
    dk = scale * (ds.swapaxes(-1, -2) @ q)
    dt = q.dtype
    return (dq.astype(dt), _sum_groups(dk, k.shape[1]).astype(dt), _sum_groups(dv, v.shape[1]).astype(dt),
            ds.astype(dt) if mask_grad else None)
