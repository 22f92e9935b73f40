"""Primitives that combine several tensors: concatenation, stacking and elementwise selection."""
from __future__ import annotations

import numpy as np

from eigengrad.autograd.function import Function
from eigengrad.autograd.ops import unbroadcast


class Cat(Function):
    """Concatenate along ``dim``; backward splits the gradient back into the pieces."""

    @staticmethod
    def forward(ctx, *arrays, dim=0):
        ctx.dim = dim
        ctx.sizes = [a.shape[dim] for a in arrays]
        return np.concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        cuts = np.cumsum(ctx.sizes)[:-1]
        return tuple(np.split(g, cuts, axis=ctx.dim))


class Stack(Function):
    """Stack along a new axis ``dim``; backward takes the slices of the gradient."""

    @staticmethod
    def forward(ctx, *arrays, dim=0):
        out = np.stack(arrays, axis=dim)
        ctx.dim = dim % out.ndim
        return out

    @staticmethod
    def backward(ctx, g):
        return tuple(np.take(g, i, axis=ctx.dim) for i in range(g.shape[ctx.dim]))


class Where(Function):
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
