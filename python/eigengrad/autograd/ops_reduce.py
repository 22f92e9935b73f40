"""Reduction primitives: mean, variance and standard deviation, vector norms (C++ kernels for float input:
double accumulation, fixed chunking, thread-count independent), product and cumulative sum (NumPy).
``Sum`` and ``Amax`` live in ``ops.py``. Backward formulas are PyTorch's (``var_backward``,
``std_backward``, ``norm_backward``, ``prod_backward``, ``cumsum_backward``)."""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K
from eigengrad.autograd.function import Function
from eigengrad.autograd.ops import _expand_back


def _count(shape: tuple, axes: tuple) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _keep(out: np.ndarray, shape: tuple, axes: tuple, keepdim: bool) -> np.ndarray:
    """A kernel's result (the kept dims) with the reduced dims as size 1 when keepdim."""
    return out.reshape(tuple(1 if d in axes else s for d, s in enumerate(shape))) if keepdim else out


class Mean(Function):
    """mean over ``axes`` (one pass: the double sum times 1/n; NaN for an empty reduction)."""

    @staticmethod
    def forward(ctx, x, axes=(), keepdim=False):
        ctx.axes, ctx.keepdim, ctx.shape = axes, keepdim, np.shape(x)
        n = _count(ctx.shape, axes)
        ctx.n = n
        return _keep(K.reduce_sum(x, axes, 1.0 / n if n else float("nan")), ctx.shape, axes, keepdim)

    @staticmethod
    def backward(ctx, g):
        return (_expand_back(g / ctx.n if ctx.n else g * np.nan, ctx.axes, ctx.keepdim, ctx.shape),)


class Var(Function):
    """var (or std with ``take_sqrt``) over ``axes`` with ``correction`` (two-pass, in double).

    d var / dx = 2 (x - mean) / (n - correction);  d std / dx = (x - mean) / ((n - correction) std), 0 where
    std = 0 (PyTorch's std_backward)."""

    @staticmethod
    def forward(ctx, x, axes=(), correction=1.0, keepdim=False, take_sqrt=False):
        out, mean = K.reduce_var(x, axes, correction, take_sqrt, with_mean=True)
        shape = np.shape(x)
        ctx.axes, ctx.keepdim, ctx.shape, ctx.take_sqrt = axes, keepdim, shape, take_sqrt
        ctx.denom = max(0.0, _count(shape, axes) - correction)
        out = _keep(out, shape, axes, keepdim)
        ctx.save_for_backward(x, _keep(mean, shape, axes, True), out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, mean, out = ctx.saved
        centred = x - mean
        if ctx.take_sqrt:
            with np.errstate(divide="ignore", invalid="ignore"):
                g = np.where(out == 0, 0, g / (2 * out)).astype(g.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = (2.0 / ctx.denom) if ctx.denom else np.inf
            return ((scale * centred) * _expand_back(g, ctx.axes, ctx.keepdim, ctx.shape),)


class Norm(Function):
    """The p-norm over ``axes`` (``torch.linalg.vector_norm``); PyTorch's gradients: p = 0: 0; p = 1: sign(x);
    p = 2: x / norm; p = +-inf: sign(x) shared evenly among the elements where |x| = norm; other p:
    sign(x) |x|^(p-1) / norm^(p-1). Zero where the norm is 0."""

    @staticmethod
    def forward(ctx, x, axes=(), p=2.0, keepdim=False):
        out = _keep(K.reduce_norm(x, axes, p), np.shape(x), axes, keepdim)
        ctx.axes, ctx.keepdim, ctx.shape, ctx.p = axes, keepdim, np.shape(x), p
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved
        p, axes, keepdim, shape = ctx.p, ctx.axes, ctx.keepdim, ctx.shape
        norm = _expand_back(out, axes, keepdim, shape)
        g = _expand_back(g, axes, keepdim, shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 0:
                gx = np.zeros(shape, dtype=x.dtype)
            elif p == 1:
                gx = np.sign(x) * g
            elif p == 2:
                gx = np.where(norm == 0, 0, x / norm * g)
            elif np.isinf(p):
                mask = np.abs(x) == norm
                count = _expand_back(mask.sum(axis=axes, keepdims=keepdim), axes, keepdim, shape)
                gx = np.sign(x) * mask * (g / count)
            else:
                gx = np.where(norm == 0, 0, np.sign(x) * np.abs(x) ** (p - 1) / norm ** (p - 1) * g)
        return (np.asarray(gx, dtype=x.dtype),)


class Prod(Function):
    """The product over one dim (or all elements, dim None); the gradient of each element is the product of
    the others (exclusive products from both sides, exact with zeros)."""

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False, dtype=None):
        ctx.dim, ctx.keepdim, ctx.shape = dim, keepdim, np.shape(x)
        ctx.save_for_backward(x)
        return np.asarray(np.prod(x, axis=dim, keepdims=keepdim, dtype=dtype))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        dim = ctx.dim
        flat = x.reshape(-1) if dim is None else x
        axis = 0 if dim is None else dim
        others = _exclusive_products(flat, axis).reshape(ctx.shape)
        axes = tuple(range(len(ctx.shape))) if dim is None else (dim,)
        return (others * _expand_back(g, axes, ctx.keepdim and dim is not None, ctx.shape),)


def _exclusive_products(x: np.ndarray, axis: int) -> np.ndarray:
    """prod of all elements but i along ``axis``, for every i (left and right exclusive cumulative products)."""
    ones = np.ones_like(np.take(x, [0], axis=axis)) if x.shape[axis] else None
    if ones is None:
        return np.ones_like(x)
    left = np.concatenate([ones, np.cumprod(np.take(x, range(x.shape[axis] - 1), axis=axis), axis=axis)], axis=axis)
    rev = np.flip(x, axis)
    right = np.flip(np.concatenate([ones, np.cumprod(np.take(rev, range(x.shape[axis] - 1), axis=axis), axis=axis)],
                                   axis=axis), axis)
    return left * right


class Cumsum(Function):
    """Running sum along ``dim``; the gradient is the running sum of g from the end."""

    @staticmethod
    def forward(ctx, x, dim=0, dtype=None):
        ctx.dim = dim
        return np.cumsum(x, axis=dim, dtype=dtype)

    @staticmethod
    def backward(ctx, g):
        return (np.flip(np.cumsum(np.flip(g, ctx.dim), axis=ctx.dim), ctx.dim),)
