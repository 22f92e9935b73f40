"""The embedding primitives: Embedding (a row gather) and EmbeddingBag (gather and reduce per bag).

One C++ kernel forward and one backward each (``eigengrad._kernels.embedding_*``). The indices (and a
bag's boundaries) are constants passed as options, already checked and normalised by
``nn.functional`` (padding_idx -1 for none, starts (bags + 1) int64). The table's gradient is a dense
(num, dim) array written by a deterministic scatter-add: the same bits on any thread count.
"""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K
from eigengrad._errors import ArgumentError
from eigengrad.autograd.function import LinearMap, Primitive


class Embedding(Primitive):
    """y = weight[indices], shape (*indices.shape, dim); dweight[r] = sum of dy over the positions holding
    r (times 1 / their count with scale_grad_by_freq), nothing for padding_idx."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, weight, indices=None, padding_idx=-1, scale_grad_by_freq=False):
        ctx.saved = (indices,)
        ctx.options = (weight.shape[0], padding_idx, scale_grad_by_freq)
        return K.embedding_forward(weight, indices)

    @staticmethod
    def backward(ctx, g):
        (indices,) = ctx.saved
        return (K.embedding_backward(g, indices, *ctx.options),)

    @staticmethod
    def backward_graph(ctx, g):
        (indices,) = ctx.saved
        num, padding_idx, freq = ctx.options
        return (EmbeddingBackward.apply(g, indices=indices, num=num, padding_idx=padding_idx, scale_grad_by_freq=freq),)


def _scatter_rows(g, indices=None, num=0, padding_idx=-1, scale_grad_by_freq=False) -> np.ndarray:
    """Embedding's backward: g (*indices.shape, dim) added into the rows indices (see Embedding)."""
    return K.embedding_backward(g, indices, num, padding_idx, scale_grad_by_freq)


def _gather_rows(h, indices=None, num=0, padding_idx=-1, scale_grad_by_freq=False) -> np.ndarray:
    """The scatter's adjoint: h[indices] per position, times 1 / the count of its row with
    scale_grad_by_freq, zero at padding_idx."""
    out = K.embedding_forward(h, indices)
    if not scale_grad_by_freq and padding_idx < 0:
        return out
    idx = np.asarray(indices).reshape(-1).astype(np.int64)
    scale = 1.0 / np.bincount(idx, minlength=num)[idx] if scale_grad_by_freq else np.ones(idx.size)
    scale[idx == padding_idx] = 0.0
    return out * scale.astype(out.dtype).reshape(np.shape(indices) + (1,))


class EmbeddingBackward(LinearMap):
    """Embedding's backward as a primitive (linear in g); its adjoint gathers the rows (``EmbeddingGather``)."""

    fresh_grads = True
    map = staticmethod(_scatter_rows)


class EmbeddingGather(LinearMap):
    """Rows of h at the positions' indices, scaled as the scatter scales them (EmbeddingBackward's adjoint)."""

    fresh_grads = True
    map = staticmethod(_gather_rows)


EmbeddingBackward.adjoint, EmbeddingGather.adjoint = EmbeddingGather, EmbeddingBackward


class EmbeddingBag(Primitive):
    """y[b] = the sum (times per_sample_weights), mean or max of the rows of bag b (positions
    [starts[b], starts[b + 1]) of the 1-D indices, padding_idx left out). Gradients for the table and,
    in 'sum' mode, for the per-sample weights (None: no weights)."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, weight, per_sample_weights, indices=None, starts=None, mode="mean", padding_idx=-1,
                scale_grad_by_freq=False):
        out, bag_size, max_indices = K.embedding_bag_forward(weight, indices, starts, per_sample_weights, mode,
                                                             padding_idx)
        ctx.saved = (weight, per_sample_weights, indices, starts, bag_size, max_indices)
        ctx.options = (mode, padding_idx, scale_grad_by_freq)
        return out

    @staticmethod
    def backward(ctx, g):
        weight, psw, indices, starts, bag_size, max_indices = ctx.saved
        mode, padding_idx, freq = ctx.options
        need = ctx.needs_input_grad
        gw = (K.embedding_bag_backward(g, indices, starts, psw, bag_size, max_indices, weight.shape[0], mode,
                                       padding_idx, freq) if need[0] else None)
        gp = (K.embedding_bag_per_sample_weights_backward(g, weight, indices, starts, padding_idx)
              if psw is not None and need[1] else None)
        return gw, gp


class OneHot(Primitive):
    """int64 one-hot rows of int64 indices: out[..., c] = 1 where idx[...] == c (not differentiable). The
    values are checked here, so that a replayed step checks each call's indices as eager mode does."""

    @staticmethod
    def forward(ctx, idx, num_classes=0):
        if idx.size and idx.min() < 0:
            raise ArgumentError("Class values must be non-negative.")  # PyTorch's RuntimeError
        if idx.size and idx.max() >= num_classes:
            raise ArgumentError("Class values must be smaller than num_classes.")  # PyTorch's RuntimeError
        out = np.zeros(idx.shape + (num_classes,), dtype=np.int64)
        np.put_along_axis(out, idx[..., None], 1, axis=-1)
        return out
