"""Indexing primitives along a dim: gather, scatter (assign and reductions), scatter_add, index_select,
index_add, masked_fill and masked_select. The data movement and accumulation run in C++ kernels
(``_kernels.gather``, ``scatter_``, ``index_select``, ``index_add_``; deterministic: each output element
is updated by one thread, in index order). Each backward is the adjoint of its forward through the same
kernels: gather's gradient is a scatter-add, index_select's an index_add, and back. Index arrays are
options (no gradient); the gradient formulas are PyTorch's.
"""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K
from eigengrad.autograd.function import Function
from eigengrad.autograd.ops import unbroadcast


def _pad_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """g (an index-shaped gradient) placed in the corner of zeros of ``shape`` (a larger src)."""
    if g.shape == tuple(shape):
        return g
    out = np.zeros(shape, dtype=g.dtype)
    out[tuple(slice(0, s) for s in g.shape)] = g
    return out


def scatter_add_into(shape: tuple, dtype, dim: int, index: np.ndarray, src: np.ndarray) -> np.ndarray:
    """zeros(shape).scatter_add(dim, index, src): the adjoint of gather."""
    out = np.zeros(shape, dtype=dtype)
    return K.scatter_(out, dim, index, src, "add")


class Gather(Function):
    """out = x gathered at ``index`` along ``dim``; dx = zeros.scatter_add(dim, index, g)."""

    @staticmethod
    def forward(ctx, x, index, dim=0):
        ctx.shape, ctx.index, ctx.dim = np.shape(x), index, dim
        return K.gather(x, dim, index)

    @staticmethod
    def backward(ctx, g):
        return (scatter_add_into(ctx.shape, g.dtype, ctx.dim, ctx.index, g),)


class Scatter(Function):
    """out = x with out[index] = src along ``dim`` (src an array or a number; repeated indices: the last write
    in index order). dx = g with the written positions zeroed; dsrc = g.gather(dim, index) (PyTorch's)."""

    @staticmethod
    def forward(ctx, x, src, index, dim=0):
        out = np.array(x, order="C", copy=True)
        values = np.broadcast_to(np.asarray(src, dtype=out.dtype), index.shape) if np.ndim(src) == 0 else src
        K.scatter_(out, dim, index, values, "assign")
        ctx.index, ctx.dim, ctx.src_shape = index, dim, np.shape(src)
        return out

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        gx = gsrc = None
        if need[0]:
            gx = np.array(g, order="C", copy=True)
            K.scatter_(gx, ctx.dim, ctx.index, np.zeros(ctx.index.shape, dtype=g.dtype), "assign")
        if len(need) > 1 and need[1]:
            gsrc = _pad_to(K.gather(g, ctx.dim, ctx.index), ctx.src_shape)
        return gx, gsrc


class ScatterAdd(Function):
    """out = x with src added at ``index`` along ``dim`` (in index order); dx = g, dsrc = g.gather(dim, index)."""

    @staticmethod
    def forward(ctx, x, src, index, dim=0):
        out = np.array(x, order="C", copy=True)
        K.scatter_(out, dim, index, src, "add")
        ctx.index, ctx.dim, ctx.src_shape = index, dim, np.shape(src)
        return out

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        gsrc = _pad_to(K.gather(g, ctx.dim, ctx.index), ctx.src_shape) if need[1] else None
        return (g if need[0] else None), gsrc


_IDENTITY = {"sum": 0, "mean": 0, "prod": 1}


def scatter_reduce_array(x, src, index, dim: int, reduce: str, include_self: bool):
    """x.scatter_reduce(dim, index, src, reduce, include_self) over arrays; also returns the per-position
    count of scattered values (for mean and the gradients)."""
    out = np.array(x, order="C", copy=True)
    count = scatter_add_into(out.shape, np.int64, dim, index, np.ones(index.shape, dtype=np.int64))
    hit = count > 0
    if not include_self:
        if reduce in _IDENTITY:
            ident = _IDENTITY[reduce]
        elif out.dtype.kind == "f":
            ident = -np.inf if reduce == "amax" else np.inf
        else:
            info = np.iinfo(out.dtype) if out.dtype.kind in "iu" else None
            ident = (info.min if reduce == "amax" else info.max) if info else (reduce == "amin")
        out[hit] = ident
    op = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "amax", "amin": "amin"}[reduce]
    K.scatter_(out, dim, index, src, op)
    if reduce == "mean":
        n = np.where(hit, count + (1 if include_self else 0), 1)
        if out.dtype.kind == "f":
            out = out / n.astype(out.dtype)
        else:
            out = np.floor_divide(out, n).astype(out.dtype)
    return out, count


class ScatterReduce(Function):
    """out = x.scatter_reduce(dim, index, src, reduce, include_self), reduce sum, prod, mean, amax, amin;
    PyTorch's gradients (ties of amax/amin share the gradient evenly; prod handles zeros exactly)."""

    @staticmethod
    def forward(ctx, x, src, index, dim=0, reduce="sum", include_self=True):
        out, count = scatter_reduce_array(x, src, index, dim, reduce, include_self)
        ctx.index, ctx.dim, ctx.reduce, ctx.include_self = index, dim, reduce, include_self
        ctx.save_for_backward(x, src, out)
        ctx.count = count
        return out

    @staticmethod
    def backward(ctx, g):
        x, src, out = ctx.saved
        index, dim, reduce, include_self, count = ctx.index, ctx.dim, ctx.reduce, ctx.include_self, ctx.count
        g = np.ascontiguousarray(g)
        hit = count > 0
        if reduce == "sum":
            gx, gsrc = g, K.gather(g, dim, index)
        elif reduce == "mean":
            n = np.where(hit, count + (1 if include_self else 0), 1).astype(g.dtype)
            gx, gsrc = g / n, K.gather(g / n, dim, index)
        elif reduce in ("amax", "amin"):
            value = K.gather(out, dim, index)
            self_is = (x == out).astype(g.dtype)
            src_is = (src[tuple(slice(0, s) for s in index.shape)] == value).astype(g.dtype)
            share = g / K.scatter_(self_is.copy(), dim, index, src_is, "add")
            gx, gsrc = (x == out) * share, src_is * K.gather(share, dim, index)
        else:
            gx, gsrc = _prod_grads(x, src, index, dim, include_self, g, out)
        if not include_self:
            gx = np.where(hit, 0, gx).astype(g.dtype)
        need = ctx.needs_input_grad
        return (gx if need[0] else None), (_pad_to(np.asarray(gsrc, dtype=g.dtype), src.shape) if need[1] else None)


def _prod_grads(x, src, index, dim, include_self, g, out):
    """PyTorch's exact gradients of a scatter product, where zeros make 'result / value' undefined."""
    src = np.ascontiguousarray(src[tuple(slice(0, s) for s in index.shape)])
    masked_x = np.where(x == 0, 1, x).astype(x.dtype)
    gx = g * scatter_reduce_array(masked_x, src, index, dim, "prod", include_self)[0] / masked_x
    src_zero = src == 0
    zeros_at = K.gather(scatter_add_into(x.shape, x.dtype, dim, index, src_zero.astype(x.dtype)), dim, index)
    single = src_zero & (zeros_at == 1)
    masked_src_result = scatter_reduce_array(x, np.where(single, 1, src).astype(x.dtype), index, dim, "prod",
                                             include_self)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        gsrc = np.where(single, K.gather(np.ascontiguousarray(g * masked_src_result), dim, index),
                        K.gather(np.ascontiguousarray(g * out), dim, index) / np.where(src_zero, 1, src))
    return gx, gsrc


class IndexSelect(Function):
    """out = x's slices at ``index`` (1-D) along ``dim``; dx = zeros.index_add(dim, index, g)."""

    @staticmethod
    def forward(ctx, x, index, dim=0):
        ctx.shape, ctx.index, ctx.dim = np.shape(x), index, dim
        return K.index_select(x, dim, index)

    @staticmethod
    def backward(ctx, g):
        gx = np.zeros(ctx.shape, dtype=g.dtype)
        return (K.index_add_(gx, ctx.dim, ctx.index, g),)


class IndexAdd(Function):
    """out = x with alpha * src's slices added at ``index`` along ``dim`` (in order); dx = g,
    dsrc = alpha * g.index_select(dim, index)."""

    @staticmethod
    def forward(ctx, x, src, index, dim=0, alpha=1):
        out = np.array(x, order="C", copy=True)
        ctx.index, ctx.dim, ctx.alpha = index, dim, alpha
        return K.index_add_(out, dim, index, src, alpha)

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        gsrc = None
        if need[1]:
            gsrc = K.index_select(g, ctx.dim, ctx.index)
            if ctx.alpha != 1:
                gsrc = gsrc * ctx.alpha
        return (g if need[0] else None), gsrc


class MaskedFill(Function):
    """out = value where mask, else x (broadcast together); dx = g where not mask, dvalue = sum of g where mask."""

    @staticmethod
    def forward(ctx, x, value, mask=None):
        shape = np.broadcast_shapes(np.shape(x), mask.shape)
        ctx.mask, ctx.x_shape = mask, np.shape(x)
        return np.where(mask, np.asarray(value).astype(x.dtype), np.broadcast_to(x, shape))

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        gx = unbroadcast(np.where(ctx.mask, 0, g).astype(g.dtype), ctx.x_shape) if need[0] else None
        gv = np.asarray(np.sum(g, where=np.broadcast_to(ctx.mask, g.shape)), dtype=g.dtype) if need[1] else None
        return gx, gv


class MaskedSelect(Function):
    """out = the elements of x where mask (broadcast together), as 1-D; dx = g put back at those places."""

    @staticmethod
    def forward(ctx, x, mask=None):
        shape = np.broadcast_shapes(np.shape(x), mask.shape)
        ctx.mask, ctx.x_shape, ctx.shape = np.broadcast_to(mask, shape), np.shape(x), shape
        return np.broadcast_to(x, shape)[ctx.mask]

    @staticmethod
    def backward(ctx, g):
        gx = np.zeros(ctx.shape, dtype=g.dtype)
        gx[ctx.mask] = g
        return (unbroadcast(gx, ctx.x_shape),)
