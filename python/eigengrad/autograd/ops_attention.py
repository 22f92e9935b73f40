"""The scaled dot-product attention primitive: one fused C++ kernel forward, one backward.

The kernels (cpp/include/eigengrad/attention.hpp) take q (B, Hq, L, E), k (B, Hk, S, E), v (B, Hk, S, Ev);
this primitive maps PyTorch's shapes onto them (``Layout``): dim -3 holds the heads, the dims before it
broadcast against each other and are flattened into B (a broadcast input is copied for the kernel; its
gradient is summed back), and key/value heads of size 1, or fewer with grouped-query attention (``gqa``),
serve several query heads without a copy. The mask (bool or float, broadcastable to the weights' shape)
reaches the kernel as a strided view of shape (B, Hq, L, S): broadcast dims have stride 0 and are never
materialised. Out and the rows' log-sum-exp are saved for the backward, and for keys that fit one of the
kernel's key blocks the weights too (``K.attention_weights_buffer``), which spares the backward their
recomputation.
"""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K
from eigengrad.autograd.function import Primitive
from eigengrad.autograd.ops import unbroadcast


class Layout:
    """How PyTorch's shapes map onto the kernel's (B, H, rows, cols) arrays.

    When q, k and v have at least 3 dims, dim -3 holds the heads and the dims before it (broadcast against
    each other) are the batch. Without ``gqa`` the heads broadcast too: key/value heads of size 1 serve every
    query head without a copy (the kernel's grouped heads with Hk = 1), a query head of size 1 is repeated.
    With fewer dims every leading dim is batch and H = 1."""

    __slots__ = ("batch", "heads", "kv_heads", "split")

    def __init__(self, q_shape: tuple, k_shape: tuple, v_shape: tuple, gqa: bool) -> None:
        self.split = min(len(q_shape), len(k_shape), len(v_shape)) >= 3
        lead = 3 if self.split else 2
        self.batch = np.broadcast_shapes(q_shape[:-lead], k_shape[:-lead], v_shape[:-lead])
        if not self.split:
            self.heads = self.kv_heads = 1
        elif gqa:
            self.heads, self.kv_heads = q_shape[-3], k_shape[-3]
        else:
            self.heads = np.broadcast_shapes((q_shape[-3],), (k_shape[-3],), (v_shape[-3],))[0]
            self.kv_heads = 1 if k_shape[-3] == v_shape[-3] == 1 else self.heads

    def size(self) -> int:
        return int(np.prod(self.batch, dtype=np.int64))

    def shape(self, heads: int, rows: int, cols: int) -> tuple:
        """The full (broadcast) shape of an array of ``heads`` heads of (rows, cols)."""
        return self.batch + ((heads,) if self.split else ()) + (rows, cols)

    def kernel_array(self, a: np.ndarray, heads: int) -> np.ndarray:
        """a as (B, heads, rows, cols) for the kernel: a view, or a copy when it is broadcast or strided."""
        full = self.shape(heads, *a.shape[-2:])
        a = np.broadcast_to(a, full) if a.shape != full else a
        return K.reshape(a, (self.size(), heads) + a.shape[-2:])  # (a copy where NumPy must: recorded)


def _merged_stride(shape: tuple, strides: tuple):
    """The stride of dims ``shape`` merged into one, or None when their strides do not allow it."""
    dims = [(n, s) for n, s in zip(shape, strides) if n != 1]
    for (_, s0), (n1, s1) in zip(dims, dims[1:]):
        if s0 != s1 * n1:
            return None
    return dims[-1][1] if dims else 0


def mask_view(mask: np.ndarray, layout: Layout, lq: int, lk: int) -> np.ndarray:
    """``mask`` broadcast to the weights' shape as a (B, Hq, L, S) view (copied only when the batch dims of
    the broadcast view cannot be merged into one stride)."""
    full = np.broadcast_to(mask, layout.shape(layout.heads, lq, lk))
    if full.size == 0:  # no weights (a length or a batch dim 0): an empty view has no stride to merge
        return np.empty((layout.size(), layout.heads, lq, lk), mask.dtype)
    nb = len(layout.batch)
    stride = _merged_stride(full.shape[:nb], full.strides[:nb])
    if stride is None:
        full = np.ascontiguousarray(full)
        stride = _merged_stride(full.shape[:nb], full.strides[:nb])
    head_stride = full.strides[nb] if layout.split else 0
    return np.lib.stride_tricks.as_strided(full, (layout.size(), layout.heads, lq, lk),
                                           (stride, head_stride) + full.strides[-2:], writeable=False)


def _weights_buffer(ctx, q4, k4, causal: bool):
    """Where the forward keeps the weights for the backward (``K.attention_weights_buffer``): only when the
    call is recorded for one (``ctx.inputs`` holds the input tensors then), so inference pays nothing."""
    return K.attention_weights_buffer(q4, k4, causal) if ctx.inputs else None


class ScaledDotProductAttention(Primitive):
    """out = softmax(scale q k^T + mask) v (dropout on the weights), PyTorch's shapes and broadcasting.

    Inputs (q, k, v, mask); mask may be None, a bool array (True takes part) or a float array (added to
    the scores; its gradient is the scores' gradient, summed over its broadcast dims). Options: scale,
    causal, gqa and dropout = (seed, offset, threshold, keep_scale) of ``eigengrad._kernels``.
    """

    fresh_grads = True

    @staticmethod
    def forward(ctx, q, k, v, mask=None, scale=1.0, causal=False, gqa=False, dropout=K.NO_DROPOUT):
        layout = Layout(q.shape, k.shape, v.shape, gqa)
        lq, lk = q.shape[-2], k.shape[-2]
        # contiguous once, here: the backward reads the same arrays (a strided view, e.g. MultiheadAttention's
        # permuted heads, would be copied again there)
        q4 = K.contiguous(layout.kernel_array(q, layout.heads))
        k4, v4 = (K.contiguous(layout.kernel_array(a, layout.kv_heads)) for a in (k, v))
        mask4 = None if mask is None else mask_view(mask, layout, lq, lk)
        weights = _weights_buffer(ctx, q4, k4, causal)
        out, lse = K.attention_forward(q4, k4, v4, mask4, scale, causal, dropout, weights)
        ctx.save_for_backward(q4, k4, v4, out, lse, mask4, weights)
        ctx.layout, ctx.options = layout, (scale, causal, dropout)
        ctx.shapes = (q.shape, k.shape, v.shape, None if mask is None else mask.shape)
        return out.reshape(layout.shape(layout.heads, lq, v.shape[-1]))

    @staticmethod
    def backward(ctx, g):
        q4, k4, v4, out, lse, mask4, weights = ctx.saved
        layout = ctx.layout
        need = ctx.needs_input_grad
        mask_grad = len(need) > 3 and need[3]
        dq, dk, dv, dmask = K.attention_backward(q4, k4, v4, out, lse, g.reshape(out.shape), mask4, *ctx.options,
                                                 mask_grad=mask_grad, weights=weights)
        grads = []
        for d, shape, wanted in zip((dq, dk, dv, dmask), ctx.shapes, need):
            full = None if d is None else layout.shape(d.shape[1], *d.shape[2:])
            grads.append(unbroadcast(d.reshape(full), shape) if wanted and d is not None else None)
        return tuple(grads)


class PackedSelfAttention(Primitive):
    """Self-attention over the heads of one packed projection qkv = x W_in^T + b_in (MultiheadAttention's
    fast path): qkv (A, C, 3E) holds q, k, v one after the other along its last dim, E = heads d; the
    sequences are (N, L) = (A, C) with ``batch_first``, else (L, N). Returns out (N, heads, L, d) =
    softmax(scale q k^T + mask) v per head, as ``ScaledDotProductAttention`` on the three slices.

    Why: the heads of all three are one transposing copy (3, N, heads, L, d) whose parts are the kernel's
    contiguous q, k and v, and their gradients are written into one such buffer and copied back into
    the packed layout once; so the projection stays one GEMM forward and one per gradient backward. (As
    three slices, each slice's backward would be a zero-filled copy of the whole projection.) The mask
    (bool or float, broadcastable to (N, heads, L, L)) takes no gradient here."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, qkv, mask=None, heads=1, batch_first=True, scale=1.0, causal=False, dropout=K.NO_DROPOUT):
        a, c, e3 = qkv.shape
        order = (2, 0, 3, 1, 4) if batch_first else (2, 1, 3, 0, 4)  # -> (3, N, heads, L, d)
        packed = K.contiguous(qkv.reshape(a, c, 3, heads, e3 // (3 * heads)).transpose(order))
        q4, k4, v4 = packed
        length = q4.shape[2]
        mask4 = None if mask is None else mask_view(mask, Layout(q4.shape, k4.shape, v4.shape, False), length, length)
        weights = _weights_buffer(ctx, q4, k4, causal)
        out, lse = K.attention_forward(q4, k4, v4, mask4, scale, causal, dropout, weights)
        ctx.save_for_backward(packed, out, lse, mask4, weights)
        ctx.options, ctx.order = (scale, causal, dropout), order
        return out

    @staticmethod
    def backward(ctx, g):
        packed, out, lse, mask4, weights = ctx.saved
        grads = np.empty_like(packed)
        K.attention_backward(*packed, out, lse, g, mask4, *ctx.options, weights=weights, grads_out=tuple(grads))
        back = K.contiguous(grads.transpose(np.argsort(ctx.order)))  # (A, C, 3, heads, d), through the glue
        return back.reshape(back.shape[:2] + (-1,)), None
