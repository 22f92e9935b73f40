"""``scaled_dot_product_attention`` in functional form (re-exported by ``eigengrad.nn.functional``), with
PyTorch's arguments, shapes, broadcasting, mask conventions and results."""
from __future__ import annotations

import math
import numbers

import numpy as np

from eigengrad import _kernels as K
from eigengrad import random as _random
from eigengrad.autograd.ops_attention import Layout, ScaledDotProductAttention
from eigengrad.tensor import Tensor, as_tensor
from eigengrad._errors import ArgumentError, ArgumentIndexError, ArgumentTypeError, DtypeNotSupportedError


def _check_dropout(p) -> float:
    if not isinstance(p, numbers.Real):  # PyTorch: "argument 'dropout_p' must be float" (TypeError)
        raise TypeError(f"dropout_p: expected a float, got {type(p).__name__}")
    if isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ArgumentError(f"dropout_p: dropout probability has to be between 0 and 1, but got {p!r}")
    return float(p)


def _flag(value, name: str) -> bool:
    """A bool argument (PyTorch's ``bool`` parameters raise TypeError for anything else)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool, got {type(value).__name__}")
    return bool(value)


def _qkv(query, key, value, enable_gqa: bool) -> None:
    for t, name in ((query, "query"), (key, "key"), (value, "value")):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: expected an eigengrad Tensor, got {type(t).__name__}")
        if t.dtype not in (np.float32, np.float64):  # PyTorch: RuntimeError (ArgumentTypeError is both)
            raise DtypeNotSupportedError(f"{name}: expected a float32 or float64 tensor, got dtype {t.dtype}")
        if t.ndim < (3 if enable_gqa else 2):
            raise (ArgumentIndexError if enable_gqa and t.ndim == 2 else ArgumentError)(
                f"{name}: expected a tensor of at least {3 if enable_gqa else 2} dimensions "
                f"(..., {'heads, ' if enable_gqa else ''}length, features), got shape {t.shape}")
    for t, name in ((key, "key"), (value, "value")):
        if t.dtype != query.dtype:
            raise ArgumentTypeError(f"{name}: expected dtype {query.dtype} (the dtype of query), got {t.dtype}")
    if key.shape[-1] != query.shape[-1]:
        raise ArgumentError(f"key: expected {query.shape[-1]} features in the last dimension (query's), got shape "
                         f"{key.shape}")
    if value.shape[-2] != key.shape[-2]:
        raise ArgumentError(f"value: expected length {key.shape[-2]} in dimension -2 (key's), got shape {value.shape}")
    lead = 3 if enable_gqa else 2
    if enable_gqa:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if not hk or not hv or hq % hk or hq % hv:
            raise ArgumentError(f"key, value: the number of heads in key ({hk}) and value ({hv}) must divide the "
                                f"number of heads in query ({hq}) with enable_gqa=True")
    try:
        np.broadcast_shapes(query.shape[:-lead], key.shape[:-lead], value.shape[:-lead])
    except ValueError:
        raise ArgumentError(f"query, key, value: leading dimensions {query.shape[:-lead]}, {key.shape[:-lead]} and "
                         f"{value.shape[:-lead]} do not broadcast") from None


def _attn_mask(attn_mask, query: Tensor, weights_shape: tuple):
    """The mask as a Tensor (a float mask in query's dtype) broadcastable to the weights' shape."""
    mask = attn_mask if isinstance(attn_mask, Tensor) else as_tensor(np.asarray(attn_mask))
    if mask.dtype != np.bool_:
        # PyTorch's rule: bool, float32 or query's dtype (a float64 mask with a float32 query raises)
        if mask.dtype.kind != "f" or mask.dtype not in (np.float32, query.dtype):
            raise ArgumentTypeError(f"attn_mask: expected dtype to be bool or float or to match query dtype, but "
                                    f"got attn_mask.dtype: {mask.dtype} and query.dtype: {query.dtype} instead")
        mask = mask.to(query.dtype)
    try:
        ok = np.broadcast_shapes(mask.shape, weights_shape) == weights_shape
    except ValueError:
        ok = False
    if not ok:
        raise ArgumentError(f"attn_mask: expected a shape that broadcasts to the attention weights' shape "
                         f"{weights_shape}, got {mask.shape}")
    return mask


def _and_causal(mask: Tensor, lq: int, lk: int) -> Tensor:
    """``mask`` with the causal mask applied too (query i, key j > i excluded: False, or -inf added)."""
    causal = Tensor._wrap(np.tril(np.ones((lq, lk), dtype=bool)))
    if mask.dtype == np.bool_:
        return mask & causal
    return mask.masked_fill(~causal, float("-inf"))


def attention_dropout(p: float, weights_shape: tuple) -> tuple:
    """The kernels' dropout options (seed, offset, threshold, keep_scale) of weights of ``weights_shape``
    dropped with probability p: the default generator's next draw of that many elements (none for p = 0)."""
    if p <= 0.0:
        return K.NO_DROPOUT
    g = _random.default_generator
    n = int(np.prod(weights_shape, dtype=np.int64))
    return (g.initial_seed(), g._advance(n), K.keep_threshold(p), 1.0 / (1.0 - p) if p < 1.0 else 0.0)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """Scaled dot-product attention (Vaswani et al. 2017, "Attention is all you need"), PyTorch's function:

        out = softmax(scale q k^T + mask) v,   scale = 1 / sqrt(E) by default,

    for query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); the leading dims broadcast.
    ``attn_mask``: bool (True = takes part) or float (added to the scores), broadcastable to (..., L, S);
    ``is_causal``: query i attends to keys j <= i (with attn_mask too for 4-D inputs: both apply, as in
    PyTorch's 4-D kernels; its other inputs refuse the pair, and so does this function). A row whose keys are all masked
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
    enable_gqa, is_causal = _flag(enable_gqa, "enable_gqa"), _flag(is_causal, "is_causal")
    if scale is not None and not isinstance(scale, numbers.Real):  # PyTorch: TypeError
        raise TypeError(f"scale: expected a float or None, got {type(scale).__name__}")
    _qkv(query, key, value, enable_gqa)
    p = _check_dropout(dropout_p)
    if enable_gqa and key.shape[-3] != value.shape[-3]:
        # as PyTorch: key's and value's heads each serve their share of the query heads; the kernel groups
        # the same number of both, so both are repeated (interleaved) to lcm(Hk, Hv) heads, which divides Hq
        heads = math.lcm(key.shape[-3], value.shape[-3])
        key, value = (t if t.shape[-3] == heads else t.repeat_interleave(heads // t.shape[-3], dim=-3)
                      for t in (key, value))
    lq, lk, e = query.shape[-2], key.shape[-2], query.shape[-1]
    layout = Layout(query.shape, key.shape, value.shape, bool(enable_gqa))
    weights_shape = layout.shape(layout.heads, lq, lk)
    mask = None
    if attn_mask is not None:
        if is_causal and query.ndim != 4:  # (PyTorch's math path refuses both; its 4-D kernels apply both)
            raise ArgumentError("attn_mask: an explicit attn_mask should not be set when is_causal=True")
        mask = _attn_mask(attn_mask, query, weights_shape)
        if is_causal:
            mask, is_causal = _and_causal(mask, lq, lk), False
    if scale is None:
        scale = 1.0 / math.sqrt(e) if e > 0 else 1.0
    dropout = attention_dropout(p, weights_shape)
    return ScaledDotProductAttention.apply(query, key, value, mask, scale=float(scale), causal=bool(is_causal),
                                           gqa=bool(enable_gqa), dropout=dropout)
