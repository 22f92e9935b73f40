"""Primitives that combine several tensors: concatenation, stacking and elementwise selection. Their
backwards are linear in the gradient, so the differentiable ones are the same selections as Tensor ops."""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K
from eigengrad.autograd.function import Primitive
from eigengrad.autograd.ops import GetItem, sum_to, unbroadcast


class Cat(Primitive):
    """Concatenate along ``dim``; backward splits the gradient back into the pieces."""

    saves_nothing = True  # (backward reads only ctx's shapes: the node runs again after a free)

    @staticmethod
    def forward(ctx, *arrays, dim=0):
        ctx.dim = dim
        ctx.sizes = [a.shape[dim] for a in arrays]
        return K.concatenate(arrays, dim)  # kernel calls: eg.compile records them

    @staticmethod
    def backward(ctx, g):
        cuts = np.cumsum(ctx.sizes)[:-1]
        return tuple(np.split(g, cuts, axis=ctx.dim))

    @staticmethod
    def backward_graph(ctx, g):
        ends = np.cumsum(ctx.sizes)
        lead = (slice(None),) * ctx.dim
        return tuple(GetItem.apply(g, index=lead + (slice(int(e - n), int(e)),)) if need else None
                     for n, e, need in zip(ctx.sizes, ends, ctx.needs_input_grad))


class Stack(Primitive):
    """Stack along a new axis ``dim``; backward takes the slices of the gradient."""

    saves_nothing = True  # (backward reads only ctx's shapes: the node runs again after a free)

    @staticmethod
    def forward(ctx, *arrays, dim=0):
        ctx.dim = dim % (arrays[0].ndim + 1)
        out = K.stack(arrays, ctx.dim)  # kernel calls: eg.compile records them
        return out

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.dim
        return tuple(g[lead + (i, Ellipsis)] for i in range(g.shape[ctx.dim]))  # views (not fresh: copied when kept)

    @staticmethod
    def backward_graph(ctx, g):
        lead = (slice(None),) * ctx.dim
        return tuple(GetItem.apply(g, index=lead + (i,)) if need else None
                     for i, need in enumerate(ctx.needs_input_grad))


class Where(Primitive):
    """``condition ? a : b`` elementwise with broadcasting; the gradient goes to the chosen side."""

    @staticmethod
    def forward(ctx, a, b, condition=None):
        ctx.condition = condition
        ctx.shapes = (np.shape(a), np.shape(b))
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx, g):
        zero = np.zeros((), dtype=g.dtype)
        ga = unbroadcast(np.where(ctx.condition, g, zero), ctx.shapes[0]) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(np.where(ctx.condition, zero, g), ctx.shapes[1]) if ctx.needs_input_grad[1] else None
        return ga, gb

    @staticmethod
    def backward_graph(ctx, g):
        need = ctx.needs_input_grad
        ga = sum_to(Where.apply(g, 0.0, condition=ctx.condition), ctx.shapes[0]) if need[0] else None
        gb = sum_to(Where.apply(0.0, g, condition=ctx.condition), ctx.shapes[1]) if need[1] else None
        return ga, gb
