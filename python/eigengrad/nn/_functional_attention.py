"""Attention in functional form (re-exported by ``eigengrad.nn.functional``): scaled_dot_product_attention
and multi_head_attention_forward, with PyTorch's arguments, shapes, mask conventions and results.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from eigengrad import _kernels as K
from eigengrad import random as _random
from eigengrad.autograd.ops_attention import ScaledDotProductAttention
from eigengrad.functions import cat
from eigengrad.nn._functional_dropout import dropout
from eigengrad.nn._functional_loss import _input as _float_tensor
from eigengrad.tensor import Tensor, as_tensor


def _check_dropout(p) -> float:
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout_p: dropout probability has to be between 0 and 1, but got {p!r}")
    return float(p)


def _qkv(query, key, value, enable_gqa: bool) -> None:
    for t, name in ((query, "query"), (key, "key"), (value, "value")):
        _float_tensor(t, name)
        if t.ndim < (3 if enable_gqa else 2):
            raise ValueError(f"{name}: expected a tensor of at least {3 if enable_gqa else 2} dimensions "
                             f"(..., {'heads, ' if enable_gqa else ''}length, features), got shape {t.shape}")
    for t, name in ((key, "key"), (value, "value")):
        if t.dtype != query.dtype:
            raise TypeError(f"{name}: expected dtype {query.dtype} (the dtype of query), got {t.dtype}")
    if key.shape[-1] != query.shape[-1]:
        raise ValueError(f"key: expected {query.shape[-1]} features in the last dimension (query's), got shape "
                         f"{key.shape}")
    if value.shape[-2] != key.shape[-2]:
        raise ValueError(f"value: expected length {key.shape[-2]} in dimension -2 (key's), got shape {value.shape}")
    lead = 3 if enable_gqa else 2
    if enable_gqa:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hk != hv or (hq % hk if hk else hq):
            raise ValueError(f"key, value: the number of heads in key ({hk}) and value ({hv}) must be equal and "
                             f"divide the number of heads in query ({hq}) with enable_gqa=True")
    try:
        np.broadcast_shapes(query.shape[:-lead], key.shape[:-lead], value.shape[:-lead])
    except ValueError:
        raise ValueError(f"query, key, value: leading dimensions {query.shape[:-lead]}, {key.shape[:-lead]} and "
                         f"{value.shape[:-lead]} do not broadcast") from None


def _attn_mask(attn_mask, query: Tensor, weights_shape: tuple):
    """The mask as a Tensor (a float mask in query's dtype) broadcastable to the weights' shape."""
    mask = attn_mask if isinstance(attn_mask, Tensor) else as_tensor(np.asarray(attn_mask))
    if mask.dtype != np.bool_:
        if mask.dtype.kind != "f":
            raise TypeError(f"attn_mask: expected dtype to be bool or float or to match query dtype, but got "
                            f"attn_mask.dtype: {mask.dtype} and query.dtype: {query.dtype} instead")
        mask = mask.to(query.dtype)
    try:
        ok = np.broadcast_shapes(mask.shape, weights_shape) == weights_shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"attn_mask: expected a shape that broadcasts to the attention weights' shape "
                         f"{weights_shape}, got {mask.shape}")
    return mask


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """Scaled dot-product attention (Vaswani et al. 2017, "Attention is all you need"), PyTorch's function:

        out = softmax(scale q k^T + mask) v,   scale = 1 / sqrt(E) by default,

    for query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); the leading dims broadcast.
    ``attn_mask``: bool (True = takes part) or float (added to the scores), broadcastable to (..., L, S);
    ``is_causal``: query i attends to keys j <= i (not with attn_mask). A row whose keys are all masked
    gives zeros (and zero gradients), as PyTorch. ``enable_gqa``: dim -3 holds the heads, and the Hk heads
    of key and value serve Hq / Hk query heads each (grouped-query attention).

    One fused C++ kernel forward and one backward, blockwise with an online softmax (FlashAttention,
    Dao et al. 2022 and FlashAttention-2, Dao 2023): the (L, S) weights are never stored for long
    sequences; the backward recomputes them from the saved row log-sum-exp. ``dropout_p`` zeroes weights
    with eigengrad's counter-based generator (the default one; the draw of element (..., i, j) of the
    weights depends only on the seed, the generator's offset and its index, so the backward regenerates
    it, and the result does not depend on the thread count). As in PyTorch, dropout applies whenever
    ``dropout_p > 0`` (this function has no training flag). The dropout stream is eigengrad's, not PyTorch's.
    """
    _qkv(query, key, value, bool(enable_gqa))
    p = _check_dropout(dropout_p)
    lq, lk, e = query.shape[-2], key.shape[-2], query.shape[-1]
    lead = 3 if enable_gqa else 2
    batch = np.broadcast_shapes(query.shape[:-lead], key.shape[:-lead], value.shape[:-lead])
    weights_shape = batch + ((query.shape[-3],) if enable_gqa else ()) + (lq, lk)
    mask = None
    if attn_mask is not None:
        if is_causal:
            raise ValueError("attn_mask: an explicit attn_mask should not be set when is_causal=True")
        mask = _attn_mask(attn_mask, query, weights_shape)
    if scale is None:
        scale = 1.0 / math.sqrt(e) if e > 0 else 1.0
    dropout = K.NO_DROPOUT
    if p > 0.0:
        g = _random.default_generator
        n = int(np.prod(weights_shape, dtype=np.int64))
        dropout = (g.initial_seed(), g._advance(n), K.keep_threshold(p), 1.0 / (1.0 - p) if p < 1.0 else 0.0)
    return ScaledDotProductAttention.apply(query, key, value, mask, scale=float(scale), causal=bool(is_causal),
                                           gqa=bool(enable_gqa), dropout=dropout)


# --- multi-head attention ---------------------------------------------------------------------------

def canonical_mask(mask, mask_name: str, other_type, other_name: str, target_type, check_other: bool = True):
    """PyTorch's ``_canonical_mask``: a bool mask (True = masked out) becomes a float mask of -inf and 0
    in ``target_type``; a float mask is kept (in ``target_type``). Other dtypes raise TypeError."""
    if mask is None:
        return None
    mask = mask if isinstance(mask, Tensor) else as_tensor(np.asarray(mask))
    if mask.dtype != np.bool_ and mask.dtype.kind != "f":
        raise TypeError(f"{mask_name}: only bool and floating types of {mask_name} are supported, got {mask.dtype}")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type for both "
                      "instead.", UserWarning, stacklevel=3)
    if mask.dtype == np.bool_:
        return as_tensor(np.where(mask._data, -np.inf, 0.0).astype(target_type))
    return mask.to(target_type)


def _dtype_or_none(t):
    return None if t is None else (t.dtype if isinstance(t, Tensor) else np.asarray(t).dtype)


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads: int) -> bool:
    """PyTorch's checks of the input ranks; True when the input is batched (3-D)."""
    if query.ndim not in (2, 3):
        raise ValueError(f"query: should be unbatched 2D or batched 3D tensor but received {query.ndim}-D query tensor")
    batched = query.ndim == 3
    rank = 3 if batched else 2
    if key.ndim != rank or value.ndim != rank:
        raise ValueError(f"key, value: for {'batched (3-D)' if batched else 'unbatched (2-D)'} `query`, expected "
                         f"`key` and `value` to be {rank}-D but found {key.ndim}-D and {value.ndim}-D tensors")
    if key_padding_mask is not None and key_padding_mask.ndim != rank - 1:
        raise ValueError(f"key_padding_mask: for {rank}-D `query`, expected `key_padding_mask` to be `None` or "
                         f"{rank - 1}-D but found {key_padding_mask.ndim}-D tensor instead")
    if attn_mask is not None:
        if attn_mask.ndim not in (2, 3):
            raise ValueError(f"attn_mask: expected `attn_mask` to be `None`, 2-D or 3-D but found "
                             f"{attn_mask.ndim}-D tensor instead")
        if not batched and attn_mask.ndim == 3 and attn_mask.shape != (num_heads, query.shape[0], key.shape[0]):
            raise ValueError(f"attn_mask: expected shape {(num_heads, query.shape[0], key.shape[0])}, got "
                             f"{attn_mask.shape}")
    return batched


def _in_projection(query, key, value, w, b, separate):
    """q, k, v = the three input projections (packed weight w (3E, E), or the separate weights)."""
    if separate is not None:
        wq, wk, wv = separate
        bq, bk, bv = (None, None, None) if b is None else (b[:wq.shape[0]], b[wq.shape[0]:2 * wq.shape[0]],
                                                           b[2 * wq.shape[0]:])
        e = query.shape[-1]
        for t, wt, name in ((query, wq, "q_proj_weight"), (key, wk, "k_proj_weight"), (value, wv, "v_proj_weight")):
            if wt.shape != (e, t.shape[-1]):
                raise ValueError(f"{name}: expected shape {(e, t.shape[-1])}, got {wt.shape}")
        return linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)
    e = query.shape[-1]
    if key is value and query is key:  # self-attention: one GEMM for the three projections
        proj = linear(query, w, b)
        return proj[..., :e], proj[..., e:2 * e], proj[..., 2 * e:]
    if key is value:  # encoder-decoder attention: key and value projected together
        kv = linear(key, w[e:], None if b is None else b[e:])
        return linear(query, w[:e], None if b is None else b[:e]), kv[..., :e], kv[..., e:]
    return (linear(query, w[:e], None if b is None else b[:e]), linear(key, w[e:2 * e], None if b is None else b[e:2 * e]),
            linear(value, w[2 * e:], None if b is None else b[2 * e:]))


def _pad_last(mask, dtype):
    """PyTorch's pad(mask, (0, 1)): one zero column after the last."""
    zeros = as_tensor(np.zeros(mask.shape[:-1] + (1,), dtype=dtype))
    return cat([mask, zeros], dim=-1)


def _check_attn_mask_shape(attn_mask, tgt_len: int, src_len: int, bsz: int, num_heads: int):
    if attn_mask.ndim == 2:
        if attn_mask.shape != (tgt_len, src_len):
            raise ValueError(f"attn_mask: the shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                             f"{(tgt_len, src_len)}.")
        return attn_mask.unsqueeze(0)
    if attn_mask.shape != (bsz * num_heads, tgt_len, src_len):
        raise ValueError(f"attn_mask: the shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                         f"{(bsz * num_heads, tgt_len, src_len)}.")
    return attn_mask


def multi_head_attention_forward(query, key, value, embed_dim_to_check: int, num_heads: int, in_proj_weight,
                                 in_proj_bias, bias_k, bias_v, add_zero_attn: bool, dropout_p: float,
                                 out_proj_weight, out_proj_bias, training: bool = True, key_padding_mask=None,
                                 need_weights: bool = True, attn_mask=None, use_separate_proj_weight: bool = False,
                                 q_proj_weight=None, k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights: bool = True, is_causal: bool = False):
    """Multi-head attention (Vaswani et al. 2017), PyTorch's ``F.multi_head_attention_forward``.

    query (L, N, E) or (L, E); key, value (S, N, Ek/Ev) or (S, Ek/Ev). Masks as PyTorch: bool True (or a
    float -inf) masks out; ``key_padding_mask`` (N, S) or (S,), ``attn_mask`` (L, S) or (N * num_heads, L, S).
    Returns (output (L, N, E), weights): weights (N, L, S) averaged over the heads, (N, num_heads, L, S)
    per head, or None when ``need_weights`` is False. With ``need_weights`` the weights are materialised
    (softmax of q k^T / sqrt(d) + mask, dropout, then a batched product: a fully masked row is NaN, as in
    PyTorch); without, the heads go through the fused ``scaled_dot_product_attention`` (a fully masked
    row gives zeros, as PyTorch's).
    """
    batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = (key_padding_mask if isinstance(key_padding_mask, Tensor)
                                else as_tensor(np.asarray(key_padding_mask))).unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = canonical_mask(key_padding_mask, "key_padding_mask", _dtype_or_none(attn_mask), "attn_mask",
                                      query.dtype)
    if is_causal and attn_mask is None:
        raise ValueError("attn_mask: need attn_mask if specifying the is_causal hint. You may use the Transformer "
                         "module method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the hint alone: the fused kernel's causal mode
    else:
        attn_mask = canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise ValueError(f"query: was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise ValueError(f"num_heads: embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise ValueError(f"value: key's sequence and batch dims {key.shape[:2]} do not match value's "
                             f"{value.shape[:2]}")
        q, k, v = _in_projection(query, key, value, None, in_proj_bias, (q_proj_weight, k_proj_weight, v_proj_weight))
    else:
        if key.shape != value.shape:
            raise ValueError(f"value: key shape {key.shape} does not match value shape {value.shape}")
        q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, None)
    if attn_mask is not None:
        attn_mask = _check_attn_mask_shape(attn_mask, tgt_len, src_len, bsz, num_heads)
    if (bias_k is None) != (bias_v is None):
        raise ValueError("bias_k, bias_v: expected both or neither")
    if bias_k is not None:
        if static_k is not None or static_v is not None:
            raise ValueError("bias_k: bias cannot be added to static key or value")
        k = cat([k, cat([bias_k] * bsz, dim=1)])
        v = cat([v, cat([bias_v] * bsz, dim=1)])
        attn_mask = None if attn_mask is None else _pad_last(attn_mask, query.dtype)
        key_padding_mask = None if key_padding_mask is None else _pad_last(key_padding_mask, query.dtype)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = _heads(k, static_k, bsz, num_heads, head_dim, "static_k")
    v = _heads(v, static_v, bsz, num_heads, head_dim, "static_v")
    if add_zero_attn:
        zeros = as_tensor(np.zeros((bsz * num_heads, 1, head_dim), dtype=query.dtype))
        k, v = cat([k, zeros], dim=1), cat([v, zeros], dim=1)
        attn_mask = None if attn_mask is None else _pad_last(attn_mask, query.dtype)
        key_padding_mask = None if key_padding_mask is None else _pad_last(key_padding_mask, query.dtype)
    src_len = k.shape[1]
    if attn_mask is not None:  # (1, L, S) -> (1, 1, L, S); (N * heads, L, S) -> (N, heads, L, S)
        attn_mask = attn_mask.reshape(((1, 1) if attn_mask.shape[0] == 1 else (bsz, num_heads)) + (tgt_len, src_len))
    if key_padding_mask is not None:
        if key_padding_mask.shape != (bsz, src_len):
            raise ValueError(f"key_padding_mask: expected shape {(bsz, src_len)}, got {key_padding_mask.shape}")
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0
    if need_weights:
        out, weights = _materialised(q, k, v, attn_mask, dropout_p, bsz, num_heads, tgt_len, src_len)
    else:
        weights = None
        out = scaled_dot_product_attention(q.reshape(bsz, num_heads, tgt_len, head_dim),
                                           k.reshape(bsz, num_heads, src_len, head_dim),
                                           v.reshape(bsz, num_heads, src_len, head_dim), attn_mask, dropout_p,
                                           is_causal)
        out = out.permute(2, 0, 1, 3)
    out = linear(out.reshape(bsz * tgt_len, embed_dim), out_proj_weight, out_proj_bias)
    out = out.reshape(tgt_len, bsz, embed_dim)
    if weights is not None and average_attn_weights:
        weights = weights.mean(dim=1)
    if not batched:
        out = out.squeeze(1)
        weights = None if weights is None else weights.squeeze(0)
    return out, weights


def _heads(x, static, bsz: int, num_heads: int, head_dim: int, name: str):
    """(S, N, E) -> (N * num_heads, S, head_dim), or the given static key/value (checked)."""
    if static is None:
        return x.reshape(x.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    if static.shape[0] != bsz * num_heads or static.shape[2] != head_dim:
        raise ValueError(f"{name}: expected shape ({bsz * num_heads}, S, {head_dim}), got {static.shape}")
    return static


def _materialised(q, k, v, attn_mask, dropout_p: float, bsz: int, num_heads: int, tgt_len: int, src_len: int):
    """PyTorch's need_weights path: the weights softmax(q k^T / sqrt(d) + mask) as a tensor, then the
    output (L, N, heads * d) of their product with v; returns (output, weights (N, heads, L, S))."""
    q = q * math.sqrt(1.0 / float(q.shape[-1]))
    scores = q @ k.transpose(-2, -1)
    if attn_mask is not None:  # (N or 1, heads or 1, L, S)
        scores = (scores.reshape(bsz, num_heads, tgt_len, src_len) + attn_mask).reshape(-1, tgt_len, src_len)
    weights = scores.softmax(-1)
    if dropout_p > 0.0:
        weights = dropout(weights, p=dropout_p)
    out = (weights @ v).transpose(0, 1)
    return out, weights.reshape(bsz, num_heads, tgt_len, src_len)


# nn.functional imports this module at its end, after defining linear
from eigengrad.nn.functional import linear  # noqa: E402
