"""The scaled dot-product attention primitive: one fused C++ kernel forward, one backward.

The kernels (cpp/include/eigengrad/attention.hpp) take q (B, Hq, L, E), k (B, Hk, S, E), v (B, Hk, S, Ev);
this primitive maps PyTorch's shapes onto them: the leading dims of q, k and v broadcast against each
other (a broadcast k or v is copied for the kernel; its gradient is summed back), and are flattened
into B. With grouped-query attention (``gqa``) dim -3 holds the heads (Hq a multiple of Hk); otherwise
every leading dim is batch and Hq = Hk = 1. The mask (bool or float, broadcastable to the weights'
shape) reaches the kernel as a strided view of shape (B, Hq, L, S): broadcast dims have stride 0 and
are never materialised. Only out and the rows' log-sum-exp are saved for the backward.
"""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K
from eigengrad.autograd.function import Function
from eigengrad.autograd.ops import unbroadcast


class Layout:
    """The batch shape shared by q, k, v (broadcast) and the head counts of the kernel call."""

    __slots__ = ("batch", "heads", "kv_heads", "gqa")

    def __init__(self, q_shape: tuple, k_shape: tuple, v_shape: tuple, gqa: bool) -> None:
        lead = 3 if gqa else 2
        self.gqa = gqa
        self.batch = np.broadcast_shapes(q_shape[:-lead], k_shape[:-lead], v_shape[:-lead])
        self.heads, self.kv_heads = (q_shape[-3], k_shape[-3]) if gqa else (1, 1)

    def size(self) -> int:
        return int(np.prod(self.batch, dtype=np.int64))

    def tail(self, shape: tuple) -> tuple:
        """The dims of an array that follow the batch: (heads, rows, cols) with GQA, else (rows, cols)."""
        return shape[-3:] if self.gqa else shape[-2:]

    def kernel_array(self, a: np.ndarray) -> np.ndarray:
        """a as (B, H, rows, cols) for the kernel: a view, or a copy when a is broadcast over the batch."""
        tail = self.tail(a.shape)
        full = np.broadcast_to(a, self.batch + tail) if a.shape[:-len(tail)] != self.batch else a
        return full.reshape((self.size(),) + ((1,) if not self.gqa else ()) + tail)

    def weights_shape(self, lq: int, lk: int) -> tuple:
        return self.batch + ((self.heads,) if self.gqa else ()) + (lq, lk)


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
    full = np.broadcast_to(mask, layout.weights_shape(lq, lk))
    nb = len(layout.batch)
    stride = _merged_stride(full.shape[:nb], full.strides[:nb])
    if stride is None:
        full = np.ascontiguousarray(full)
        stride = _merged_stride(full.shape[:nb], full.strides[:nb])
    head_stride = full.strides[nb] if layout.gqa else 0
    return np.lib.stride_tricks.as_strided(full, (layout.size(), layout.heads, lq, lk),
                                           (stride, head_stride) + full.strides[-2:], writeable=False)


class ScaledDotProductAttention(Function):
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
        q4, k4, v4 = layout.kernel_array(q), layout.kernel_array(k), layout.kernel_array(v)
        mask4 = None if mask is None else mask_view(mask, layout, lq, lk)
        out, lse = K.attention_forward(q4, k4, v4, mask4, scale, causal, dropout)
        ctx.save_for_backward(q4, k4, v4, out, lse, mask4)
        ctx.layout, ctx.options = layout, (scale, causal, dropout)
        ctx.shapes = (q.shape, k.shape, v.shape, None if mask is None else mask.shape)
        return out.reshape(layout.batch + layout.tail(q.shape)[:-1] + (v.shape[-1],))

    @staticmethod
    def backward(ctx, g):
        q4, k4, v4, out, lse, mask4 = ctx.saved
        layout = ctx.layout
        need = ctx.needs_input_grad
        mask_grad = len(need) > 3 and need[3]
        dq, dk, dv, dmask = K.attention_backward(q4, k4, v4, out, lse, g.reshape(out.shape), mask4, *ctx.options,
                                                 mask_grad=mask_grad)
        grads = []
        for d, shape, wanted in zip((dq, dk, dv), ctx.shapes, need):
            grads.append(unbroadcast(d.reshape(layout.batch + layout.tail(shape)), shape) if wanted else None)
        if mask_grad:
            grads.append(unbroadcast(dmask.reshape(layout.weights_shape(*dmask.shape[2:])), ctx.shapes[3]))
        return tuple(grads)
