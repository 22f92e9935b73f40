"""Multi-head attention in functional form (``F.multi_head_attention_forward``, re-exported by
``eigengrad.nn.functional``), with PyTorch's arguments, checks, mask conventions and results.

The computation keeps the sequences in their own layout, (L, N, E) or batch-first (N, L, E) for the module,
instead of transposing them: the three projections are three GEMMs over the tokens (each element the same
sum as in one packed GEMM), the heads are one reshape + permute each to (N, H, L, d) (the copy the fused
kernel needs), and the output one permute back. Slicing one packed projection instead would make the
backward of every slice a zero-filled copy of the whole projection.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from eigengrad.functions import cat
from eigengrad.autograd.ops import numpy_call
from eigengrad.autograd.ops_attention import PackedSelfAttention
from eigengrad.nn._functional_attention import _attn_mask, _check_dropout, attention_dropout, scaled_dot_product_attention
from eigengrad.nn._functional_dropout import dropout
from eigengrad.tensor import Tensor, as_tensor
from eigengrad._errors import (ArgumentAssertionError, ArgumentError, ArgumentTypeAssertionError,
                               ArgumentTypeError)




def canonical_mask(mask, mask_name: str, other_type, other_name: str, target_type, check_other: bool = True):
    """PyTorch's ``_canonical_mask``: a bool mask (True = masked out) becomes a float mask of -inf and 0
    in ``target_type``; a float mask is kept as it is, in its own dtype (as PyTorch: the attention then
    checks it against query's dtype). Other dtypes raise TypeError (an
    AssertionError too, as in PyTorch)."""
    if mask is None:
        return None
    mask = mask if isinstance(mask, Tensor) else as_tensor(np.asarray(mask))
    if mask.dtype != np.bool_ and mask.dtype.kind != "f":
        raise ArgumentTypeAssertionError(f"{mask_name}: only bool and floating types of {mask_name} are supported, got "
                                 f"{mask.dtype}")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type for both "
                      "instead.", UserWarning, stacklevel=3)
    if mask.dtype == np.bool_:  # (through numpy_call: a compiled step computes it again at every call)
        return as_tensor(numpy_call(_bool_to_additive, mask._data, np.dtype(target_type)))
    return mask


def _bool_to_additive(mask: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return np.where(mask, -np.inf, 0.0).astype(dtype)


def dtype_or_none(t):
    return None if t is None else (t.dtype if isinstance(t, Tensor) else np.asarray(t).dtype)


def _shape_check(query, key, value, key_padding_mask, attn_mask, num_heads: int) -> bool:
    """PyTorch's checks of the input ranks; True when the input is batched (3-D)."""
    if query.ndim not in (2, 3):
        raise ArgumentAssertionError(f"query: should be unbatched 2D or batched 3D tensor but received {query.ndim}-D "
                                     "query tensor")
    batched = query.ndim == 3
    rank = 3 if batched else 2
    if key.ndim != rank or value.ndim != rank:
        raise ArgumentAssertionError(f"key, value: for {'batched (3-D)' if batched else 'unbatched (2-D)'} `query`, "
                                     f"expected `key` and `value` to be {rank}-D but found {key.ndim}-D and "
                                     f"{value.ndim}-D tensors")
    if key_padding_mask is not None and key_padding_mask.ndim != rank - 1:
        raise ArgumentAssertionError(f"key_padding_mask: for {rank}-D `query`, expected `key_padding_mask` to be "
                                     f"`None` or {rank - 1}-D but found {key_padding_mask.ndim}-D tensor instead")
    if attn_mask is not None:
        if attn_mask.ndim not in (2, 3):
            raise ArgumentAssertionError(f"attn_mask: expected `attn_mask` to be `None`, 2-D or 3-D but found "
                                         f"{attn_mask.ndim}-D tensor instead")
        if not batched and attn_mask.ndim == 3 and attn_mask.shape != (num_heads, query.shape[0], key.shape[0]):
            raise ArgumentAssertionError(f"attn_mask: expected shape {(num_heads, query.shape[0], key.shape[0])}, got "
                                         f"{attn_mask.shape}")
    return batched


def _as_tensor(x):
    return x if x is None or isinstance(x, Tensor) else as_tensor(np.asarray(x))


class _Layout:
    """Where the sequence and batch dims are: (L, N, E), or (N, L, E) with ``batch_first``."""

    def __init__(self, batch_first: bool) -> None:
        self.seq, self.batch = (1, 0) if batch_first else (0, 1)

    def heads(self, x: Tensor, num_heads: int) -> Tensor:
        """(L, N, E) or (N, L, E) -> (N, heads, L, E / heads)."""
        shape = x.shape
        x = x.reshape(shape[0], shape[1], num_heads, shape[2] // num_heads)
        return x.permute(1, 2, 0, 3) if self.seq == 0 else x.permute(0, 2, 1, 3)

    def tokens(self, x: Tensor) -> Tensor:
        """(N, heads, L, d) -> (L * N or N * L, heads * d): the rows in the layout's token order."""
        n, h, length, d = x.shape
        return (x.permute(2, 0, 1, 3) if self.seq == 0 else x.permute(0, 2, 1, 3)).reshape(n * length, h * d)

    def sequence(self, x: Tensor, length: int, n: int) -> Tensor:
        """(L * N or N * L, E) token rows -> (L, N, E) or (N, L, E) (E from x: an empty batch has no -1)."""
        e = x.shape[-1]
        return x.reshape((length, n, e) if self.seq == 0 else (n, length, e))

    def append_position(self, x: Tensor, bias: Tensor) -> Tensor:
        """x with the (1, 1, E) ``bias`` appended at the end of the sequence of every batch entry."""
        n = x.shape[self.batch]
        rows = bias.expand(*((1, n, -1) if self.seq == 0 else (n, 1, -1)))  # (1, N, E) or (N, 1, E)
        return cat([x, rows], dim=self.seq)


def _projections(query, key, value, in_proj_weight, in_proj_bias, separate):
    """q, k, v = query W_q^T + b_q, ... (three GEMMs over the tokens)."""
    e = query.shape[-1]
    if separate is not None:
        weights = separate
        for t, w, name in zip((query, key, value), weights, ("q_proj_weight", "k_proj_weight", "v_proj_weight")):
            if w is None:
                raise ArgumentAssertionError(f"{name}: required with use_separate_proj_weight=True")
            if w.shape != (e, t.shape[-1]):
                raise ArgumentAssertionError(f"{name}: expected shape {(e, t.shape[-1])}, got {w.shape}")
    else:
        if in_proj_weight is None:
            raise ArgumentAssertionError("in_proj_weight: required when use_separate_proj_weight is False")
        weights = (in_proj_weight[:e], in_proj_weight[e:2 * e], in_proj_weight[2 * e:])
    biases = (None,) * 3 if in_proj_bias is None else (in_proj_bias[:e], in_proj_bias[e:2 * e], in_proj_bias[2 * e:])
    return tuple(linear(t, w, b) for t, w, b in zip((query, key, value), weights, biases))


def _pad_last(mask: Tensor) -> Tensor:
    """PyTorch's pad(mask, (0, 1)): one zero column after the last."""
    return cat([mask, as_tensor(numpy_call(np.zeros, mask.shape[:-1] + (1,), mask.dtype))], dim=-1)


def _attn_mask_4d(attn_mask, tgt_len: int, src_len: int, bsz: int, num_heads: int):
    """(L, S) -> (1, 1, L, S); (N * heads, L, S) -> (N, heads, L, S), with PyTorch's shape checks."""
    if attn_mask.ndim == 2:
        if attn_mask.shape != (tgt_len, src_len):
            raise ArgumentError(f"attn_mask: the shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                             f"{(tgt_len, src_len)}.")
        return attn_mask.reshape(1, 1, tgt_len, src_len)
    if attn_mask.shape != (bsz * num_heads, tgt_len, src_len):
        raise ArgumentError(f"attn_mask: the shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                         f"{(bsz * num_heads, tgt_len, src_len)}.")
    return attn_mask.reshape(bsz, num_heads, tgt_len, src_len)


def _static(x, static, bsz: int, num_heads: int, head_dim: int, name: str):
    if static is None:
        return x
    if static.ndim != 3 or static.shape[0] != bsz * num_heads or static.shape[2] != head_dim:
        raise ArgumentAssertionError(f"{name}: expected shape ({bsz * num_heads}, S, {head_dim}), got {static.shape}")
    return static.reshape(bsz, num_heads, static.shape[1], head_dim)


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
    return mha_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias, bias_k,
                       bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias, training, key_padding_mask,
                       need_weights, attn_mask,
                       (q_proj_weight, k_proj_weight, v_proj_weight) if use_separate_proj_weight else None,
                       static_k, static_v, average_attn_weights, is_causal, batch_first=False)


def mha_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v,
                add_zero_attn, dropout_p, out_proj_weight, out_proj_bias, training, key_padding_mask, need_weights,
                attn_mask, separate, static_k, static_v, average_attn_weights, is_causal, batch_first: bool):
    """``multi_head_attention_forward`` on sequences in either layout (``batch_first``: (N, L, E));
    ``separate`` is (q_proj_weight, k_proj_weight, v_proj_weight) or None (the packed in_proj_weight)."""
    key_padding_mask, attn_mask = _as_tensor(key_padding_mask), _as_tensor(attn_mask)
    batched = _shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    layout = _Layout(batch_first and batched)
    if not batched:
        query, key, value = (t.unsqueeze(layout.batch) for t in (query, key, value))
        key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape[layout.seq], query.shape[layout.batch], query.shape[2]
    key_padding_mask = canonical_mask(key_padding_mask, "key_padding_mask", dtype_or_none(attn_mask), "attn_mask",
                                      query.dtype)
    if is_causal and attn_mask is None:
        raise ArgumentError("attn_mask: need attn_mask if specifying the is_causal hint. You may use the Transformer "
                         "module method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the hint alone: the fused kernel's causal mode
    else:
        attn_mask = canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if key_padding_mask is not None:  # merged with the padding, the mask is no longer causal
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise ArgumentAssertionError(f"query: was expecting embedding dimension of {embed_dim_to_check}, but got "
                                     f"{embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise ArgumentAssertionError(f"num_heads: embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    kv_shape = key.shape[:2] if separate is not None else key.shape
    if kv_shape != (value.shape[:2] if separate is not None else value.shape):
        raise ArgumentAssertionError(f"value: key's shape {key.shape} does not match value's {value.shape}")
    if in_proj_weight is not None and _packs(query, key, value, separate, bias_k, bias_v, add_zero_attn, static_k, static_v, need_weights,
              attn_mask, key_padding_mask):
        out = _packed_self_attention(query, in_proj_weight, in_proj_bias, num_heads, layout, attn_mask,
                                     key_padding_mask, dropout_p if training else 0.0, _causal_flag(is_causal))
        return _output(out, layout, out_proj_weight, out_proj_bias, tgt_len, bsz, None, batched, average_attn_weights)
    q, k, v = _projections(query, key, value, in_proj_weight, in_proj_bias, separate)
    src_len = k.shape[layout.seq]
    if attn_mask is not None:
        attn_mask = _attn_mask_4d(attn_mask, tgt_len, src_len, bsz, num_heads)
    if (bias_k is None) != (bias_v is None):
        raise ArgumentAssertionError("bias_k, bias_v: expected both or neither")
    if bias_k is not None:
        if static_k is not None or static_v is not None:
            raise ArgumentAssertionError("bias_k: bias cannot be added to static key or value")
        k, v = layout.append_position(k, bias_k), layout.append_position(v, bias_v)
        attn_mask = None if attn_mask is None else _pad_last(attn_mask)
        key_padding_mask = None if key_padding_mask is None else _pad_last(key_padding_mask)
    q = layout.heads(q, num_heads)
    k = _static(layout.heads(k, num_heads) if static_k is None else None, static_k, bsz, num_heads, head_dim,
                "static_k")
    v = _static(layout.heads(v, num_heads) if static_v is None else None, static_v, bsz, num_heads, head_dim,
                "static_v")
    if add_zero_attn:
        zeros = as_tensor(numpy_call(np.zeros, (bsz, num_heads, 1, head_dim), query.dtype))
        k, v = cat([k, zeros], dim=2), cat([v, zeros], dim=2)
        attn_mask = None if attn_mask is None else _pad_last(attn_mask)
        key_padding_mask = None if key_padding_mask is None else _pad_last(key_padding_mask)
    src_len = k.shape[2]
    if key_padding_mask is not None:
        if key_padding_mask.shape != (bsz, src_len):
            raise ArgumentAssertionError(f"key_padding_mask: expected shape {(bsz, src_len)}, got "
                                         f"{key_padding_mask.shape}")
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0
    weights = None
    if need_weights:
        if attn_mask is not None and attn_mask.dtype != q.dtype:  # PyTorch's baddbmm(mask, q, k^T) raises
            raise ArgumentTypeError(f"attn_mask, key_padding_mask: with need_weights=True a float mask must have "
                                    f"query's dtype {q.dtype}, got {attn_mask.dtype} (Input dtypes must be the same)")
        out, weights = _materialised(q, k, v, attn_mask, dropout_p)
    else:  # (the SDPA rule for the mask: float32, bool or query's dtype)
        out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, _causal_flag(is_causal))
    return _output(out, layout, out_proj_weight, out_proj_bias, tgt_len, bsz, weights, batched, average_attn_weights)


def _causal_flag(is_causal) -> bool:
    """is_causal as it reaches PyTorch's scaled_dot_product_attention, which takes only a bool."""
    if not isinstance(is_causal, (bool, np.bool_)):
        raise TypeError(f"is_causal: expected a bool, got {type(is_causal).__name__}")
    return bool(is_causal)


def _output(out, layout, out_proj_weight, out_proj_bias, tgt_len: int, bsz: int, weights, batched: bool,
            average_attn_weights: bool):
    """(the output projection of the heads out (N, heads, L, d) in the layout's sequence shape, weights)."""
    out = layout.sequence(linear(layout.tokens(out), out_proj_weight, out_proj_bias), tgt_len, bsz)
    if weights is not None and average_attn_weights:
        weights = weights.mean(dim=1)
    if not batched:
        out = out.squeeze(layout.batch)
        weights = None if weights is None else weights.squeeze(0)
    return out, weights


def _packs(query, key, value, separate, bias_k, bias_v, add_zero_attn, static_k, static_v, need_weights, attn_mask,
           key_padding_mask) -> bool:
    """Whether the packed self-attention path applies: one input for query, key and value, the packed
    in_proj_weight, none of the extra key/value rows, no weights wanted and masks that take no gradient."""
    masks_constant = all(m is None or not m.requires_grad for m in (attn_mask, key_padding_mask))
    return (query is key and key is value and query.ndim == 3 and separate is None and bias_k is None
            and bias_v is None and not add_zero_attn and static_k is None and static_v is None and not need_weights
            and masks_constant)


def _packed_self_attention(x, in_proj_weight, in_proj_bias, num_heads: int, layout, attn_mask, key_padding_mask,
                           dropout_p: float, is_causal: bool):
    """The heads' outputs (N, heads, L, d) of self-attention through one packed projection (``PackedSelfAttention``):
    the same masks, scale and dropout draw as ``scaled_dot_product_attention`` on the three projections."""
    length, bsz, embed_dim = x.shape[layout.seq], x.shape[layout.batch], x.shape[2]
    if in_proj_weight.shape != (3 * embed_dim, embed_dim):
        raise ArgumentError(f"in_proj_weight: expected shape {(3 * embed_dim, embed_dim)}, got {in_proj_weight.shape}")
    qkv = linear(x, in_proj_weight, in_proj_bias)
    if attn_mask is not None:
        attn_mask = _attn_mask_4d(attn_mask, length, length, bsz, num_heads)
    if key_padding_mask is not None:
        if key_padding_mask.shape != (bsz, length):
            raise ArgumentAssertionError(f"key_padding_mask: expected shape {(bsz, length)}, got "
                                         f"{key_padding_mask.shape}")
        kpm = key_padding_mask.reshape(bsz, 1, 1, length)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    head_dim = embed_dim // num_heads
    weights_shape = (bsz, num_heads, length, length)
    mask = None if attn_mask is None else _attn_mask(attn_mask, x, weights_shape)
    dropout = attention_dropout(_check_dropout(dropout_p), weights_shape)
    scale = 1.0 / math.sqrt(head_dim) if head_dim > 0 else 1.0
    return PackedSelfAttention.apply(qkv, mask, heads=num_heads, batch_first=layout.seq == 1, scale=scale,
                                     causal=bool(is_causal), dropout=dropout)


def _materialised(q, k, v, attn_mask, dropout_p: float):
    """PyTorch's need_weights path on (N, heads, L, d) heads: the weights softmax(q k^T / sqrt(d) + mask) as a
    tensor (then dropout), and their product with v; returns (output (N, heads, L, d), weights)."""
    scores = (q * math.sqrt(1.0 / float(q.shape[-1]))) @ k.transpose(-2, -1)
    if attn_mask is not None:
        scores = scores + attn_mask
    weights = scores.softmax(-1)
    if dropout_p > 0.0:
        weights = dropout(weights, p=dropout_p)
    return weights @ v, weights


# nn.functional imports this module at its end, after defining linear
from eigengrad.nn.functional import linear  # noqa: E402
