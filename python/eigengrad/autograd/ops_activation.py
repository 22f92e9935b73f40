"""Primitives for LeakyReLU, ELU/SELU, GELU, Softplus, PReLU and Maxout: one fused C++ kernel forward,
one backward (from the saved input x)."""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K
from eigengrad.autograd.function import Function


class Unary(Function):
    """y = f(x) for ``kind`` in leaky_relu, elu, gelu, softplus with the kernel's ``params``."""

    @staticmethod
    def forward(ctx, x, kind="", params=()):
        ctx.saved = (x,)
        ctx.kind, ctx.params = kind, params
        return K.unary_forward(kind, x, *params)

    @staticmethod
    def backward(ctx, g):
        return (K.unary_backward(ctx.kind, g, ctx.saved[0], *ctx.params),)


def _as3d(shape: tuple, shared: bool) -> tuple:
    """(outer, channels, inner) of an input of ``shape`` with the channels on dim 1 (PyTorch's PReLU)."""
    if len(shape) < 2:
        return (1, 1, int(np.prod(shape, dtype=np.int64)))
    inner = int(np.prod(shape[2:], dtype=np.int64))
    return (1, 1, int(np.prod(shape, dtype=np.int64))) if shared else (shape[0], shape[1], inner)


class PReLU(Function):
    """y = x > 0 ? x : w[c] x, c the channel (dim 1); dw[c] = sum over x <= 0 of dy x."""

    @staticmethod
    def forward(ctx, x, weight):
        shape3 = _as3d(np.shape(x), weight.size == 1)
        ctx.saved = (x, weight)
        ctx.shape3 = shape3
        return K.prelu_forward(np.reshape(x, shape3), weight.reshape(-1)).reshape(np.shape(x))

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved
        need = ctx.needs_input_grad
        gx, gw = K.prelu_backward(g.reshape(ctx.shape3), np.reshape(x, ctx.shape3), weight.reshape(-1), need[1])
        return (gx.reshape(g.shape) if need[0] else None), (gw.reshape(weight.shape) if need[1] else None)


class MaxPieces(Function):
    """y[..., j] = max_k z[..., j pieces + k] (Maxout's max over the pieces of each unit); the gradient goes
    to the first maximum."""

    @staticmethod
    def forward(ctx, z, pieces=1):
        shape = np.shape(z)
        units = shape[-1] // pieces
        y, idx = K.maxout_forward(np.reshape(z, (-1, pieces)))
        ctx.saved = (idx,)
        ctx.pieces, ctx.shape = pieces, shape
        return y.reshape(shape[:-1] + (units,))

    @staticmethod
    def backward(ctx, g):
        gz = K.maxout_backward(g.reshape(-1), ctx.saved[0], ctx.pieces)
        return (gz.reshape(ctx.shape),)
