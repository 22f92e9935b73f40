"""Indexing primitives along a dim: scatter (assign and reductions), scatter_add, index_select, index_add,
masked_fill and masked_select (gather is ``ops.Gather``). The data movement and accumulation run in C++
kernels (``_kernels.gather``, ``scatter_``, ``index_select``, ``index_add_``; deterministic: each output
element is updated by one thread, in index order). Each backward is the adjoint of its forward through the
same kernels: gather's gradient is a scatter-add, index_select's an index_add, and back; the differentiable
backwards (``backward_graph``) are those adjoints as primitives, so every order stays on the kernels. Index
arrays are options (no gradient); the gradient formulas are PyTorch's.
"""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K
from eigengrad.autograd.function import LinearMap, Primitive, _tensor_type
from eigengrad.autograd.ops import Gather, GetItemBackward, scatter_add_into, sum_to, unbroadcast, where


def _corner(shape: tuple) -> tuple:
    return tuple(slice(0, s) for s in shape)


def _pad_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """g (an index-shaped gradient) placed in the corner of zeros of ``shape`` (a larger src)."""
    if g.shape == tuple(shape):
        return g
    out = np.zeros(shape, dtype=g.dtype)
    out[_corner(g.shape)] = g
    return out


def _pad_to_graph(g, shape: tuple):
    """``_pad_to`` for a Tensor (a differentiable placement)."""
    return g if g.shape == tuple(shape) else GetItemBackward.apply(g, index=_corner(g.shape), shape=tuple(shape))


def _gather_src(g, index: np.ndarray, dim: int, src_shape: tuple):
    """The gradient of a scattered src: g gathered at index, in the corner of src's shape."""
    if hasattr(g, "_data"):
        return _pad_to_graph(Gather.apply(g, index, dim=dim), src_shape)
    return _pad_to(K.gather(g, dim, index), src_shape)


def _zeros(shape, dtype):
    return _tensor_type()._wrap(np.zeros(shape, dtype=dtype))


class Scatter(Primitive):
    """out = x with out[index] = src along ``dim`` (src an array or a number; repeated indices: the last write
    in index order). dx = g with the written positions zeroed (this primitive with src 0: linear in g);
    dsrc = g.gather(dim, index) (PyTorch's)."""

    @staticmethod
    def forward(ctx, x, src, index, dim=0):
        out = np.array(x, order="C", copy=True)
        values = np.broadcast_to(np.asarray(src, dtype=out.dtype), index.shape) if np.ndim(src) == 0 else src
        K.scatter_(out, dim, index, values, "assign")
        ctx.index, ctx.dim, ctx.src_shape = index, dim, np.shape(src)
        return out

    @classmethod
    def _grads(cls, ctx, g, graph: bool):
        need = ctx.needs_input_grad
        gx = gsrc = None
        if need[0]:
            if graph:
                gx = Scatter.apply(g, 0.0, index=ctx.index, dim=ctx.dim)
            else:
                gx = np.array(g, order="C", copy=True)
                K.scatter_(gx, ctx.dim, ctx.index, np.zeros(ctx.index.shape, dtype=g.dtype), "assign")
        if len(need) > 1 and need[1]:
            gsrc = _gather_src(g, ctx.index, ctx.dim, ctx.src_shape)
        return gx, gsrc

    @classmethod
    def backward(cls, ctx, g):
        return cls._grads(ctx, g, False)

    @classmethod
    def backward_graph(cls, ctx, g):
        return cls._grads(ctx, g, True)


class ScatterAdd(Primitive):
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
        return (g if need[0] else None), (_gather_src(g, ctx.index, ctx.dim, ctx.src_shape) if need[1] else None)

    backward_graph = backward


_IDENTITY = {"sum": 0, "mean": 0, "prod": 1}


def scatter_reduce_array(x, src, index, dim: int, reduce: str, include_self: bool):
    """x.scatter_reduce(dim, index, src, reduce, include_self) over arrays, and the per-position count of
    scattered values (for mean and the gradients)."""
    out = np.array(x, order="C", copy=True)
    count = scatter_add_into(out.shape, np.ones(index.shape, dtype=np.int64), index, dim)
    hit = count > 0
    if not include_self:
        out[hit] = _identity(reduce, out.dtype)
    op = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "amax", "amin": "amin"}[reduce]
    K.scatter_(out, dim, index, src, op)
    if reduce == "mean":
        n = np.where(hit, count + (1 if include_self else 0), 1)
        out = out / n.astype(out.dtype) if out.dtype.kind == "f" else np.floor_divide(out, n).astype(out.dtype)
    return out, count


def _identity(reduce: str, dtype: np.dtype):
    if reduce in _IDENTITY:
        return _IDENTITY[reduce]
    if dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    info = np.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


class ScatterReduce(Primitive):
    """out = x.scatter_reduce(dim, index, src, reduce, include_self), reduce sum, prod, mean, amax, amin, with
    PyTorch's gradients: the ties of amax/amin share the gradient evenly; prod is exact with zeros (its second
    order is differentiable where no scattered value is zero)."""

    @staticmethod
    def forward(ctx, x, src, index, dim=0, reduce="sum", include_self=True):
        out, count = scatter_reduce_array(x, src, index, dim, reduce, include_self)
        ctx.index, ctx.dim, ctx.reduce, ctx.include_self, ctx.count = index, dim, reduce, include_self, count
        ctx.save_for_backward(x, src, out)
        return out

    @classmethod
    def _linear_parts(cls, ctx):
        """(weight of g for x, weight of g for src before the gather) for sum, mean, amax, amin: the gradients
        are gx = g * wx, gsrc = gather(g * wg) * ws, with constant weights."""
        x, src, out = ctx.saved
        index, dim, reduce, count = ctx.index, ctx.dim, ctx.reduce, ctx.count
        dtype = out.dtype
        if reduce == "sum":
            return 1.0, 1.0, 1.0
        if reduce == "mean":
            n = np.where(count > 0, count + (1 if ctx.include_self else 0), 1).astype(dtype)
            return 1.0 / n, 1.0 / n, 1.0
        value = K.gather(out, dim, index)
        self_is = (x == out).astype(dtype)
        src_is = (src[_corner(index.shape)] == value).astype(dtype)
        share = 1.0 / K.scatter_(self_is.copy(), dim, index, src_is, "add")
        return self_is * share, share, src_is

    @classmethod
    def _grads(cls, ctx, g, graph: bool):
        x, src, out = ctx.saved
        index, dim = ctx.index, ctx.dim
        if ctx.reduce == "prod":
            gx, gsrc = (_prod_grads_graph if graph else _prod_grads)(ctx, g)
        else:
            wx, wg, ws = cls._linear_parts(ctx)
            gx = g * wx
            gathered = Gather.apply(g * wg, index, dim=dim) if graph else K.gather(
                np.ascontiguousarray(g * wg), dim, index)
            gsrc = gathered * ws
        if not ctx.include_self:
            hit = ctx.count > 0
            gx = where(hit, 0.0, gx) if graph else np.where(hit, 0, gx).astype(g.dtype)
        need = ctx.needs_input_grad
        pad = _pad_to_graph if graph else _pad_to
        return (gx if need[0] else None), (pad(gsrc, src.shape) if need[1] else None)

    @classmethod
    def backward(cls, ctx, g):
        return cls._grads(ctx, np.ascontiguousarray(g), False)

    @classmethod
    def backward_graph(cls, ctx, g):
        x, src, _ = ctx.saved
        if ctx.reduce == "prod" and (np.any(x == 0) or np.any(src[_corner(ctx.index.shape)] == 0)):
            return Primitive.backward_graph(ctx, g)  # first-order values that a further backward refuses
        return cls._grads(ctx, g, True)


def _prod_grads(ctx, g):
    """PyTorch's exact gradients of a scatter product, where zeros make 'result / value' undefined."""
    x, src, out = ctx.saved
    index, dim, include_self = ctx.index, ctx.dim, ctx.include_self
    src = np.ascontiguousarray(src[_corner(index.shape)])
    masked_x = np.where(x == 0, 1, x).astype(x.dtype)
    gx = g * scatter_reduce_array(masked_x, src, index, dim, "prod", include_self)[0] / masked_x
    src_zero = src == 0
    zeros_at = K.gather(scatter_add_into(x.shape, src_zero.astype(x.dtype), index, dim), dim, index)
    single = src_zero & (zeros_at == 1)
    masked_src_result = scatter_reduce_array(x, np.where(single, 1, src).astype(x.dtype), index, dim, "prod",
                                             include_self)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        gsrc = np.where(single, K.gather(np.ascontiguousarray(g * masked_src_result), dim, index),
                        K.gather(np.ascontiguousarray(g * out), dim, index) / np.where(src_zero, 1, src))
    return gx, gsrc


def _prod_grads_graph(ctx, g):
    """The same as Tensor operations where no value is zero: g out / x and gather(g out) / src."""
    x, src, out = ctx.saved
    gout = g * ctx.output_tensor(out)
    xt = ctx.input_tensor(0, x)
    st = ctx.input_tensor(1, src)[_corner(ctx.index.shape)]
    return gout / xt, Gather.apply(gout, ctx.index, dim=ctx.dim) / st


class IndexSelect(LinearMap):
    """out = x's slices at ``index`` (1-D) along ``dim``; its adjoint adds g's slices back into zeros of
    x's ``shape`` (an index_add)."""

    @staticmethod
    def map(x, index=None, dim=0, shape=()):
        return K.index_select(x, dim, index)


class IndexSelectAdjoint(LinearMap):
    """zeros(shape).index_add(dim, index, g): IndexSelect's adjoint."""

    @staticmethod
    def map(g, index=None, dim=0, shape=()):
        return K.index_add_(np.zeros(shape, dtype=g.dtype), dim, index, g)


IndexSelect.adjoint, IndexSelectAdjoint.adjoint = IndexSelectAdjoint, IndexSelect


class IndexAdd(Primitive):
    """out = x with alpha * src's slices added at ``index`` along ``dim`` (in order); dx = g,
    dsrc = alpha * g.index_select(dim, index)."""

    @staticmethod
    def forward(ctx, x, src, index, dim=0, alpha=1):
        out = np.array(x, order="C", copy=True)
        ctx.index, ctx.dim, ctx.alpha, ctx.src_shape = index, dim, alpha, np.shape(src)
        return K.index_add_(out, dim, index, src, alpha)

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        gsrc = None
        if need[1]:
            gsrc = (IndexSelect.apply(g, index=ctx.index, dim=ctx.dim, shape=g.shape) if hasattr(g, "_data") else
                    K.index_select(g, ctx.dim, ctx.index))
            if ctx.alpha != 1:
                gsrc = gsrc * ctx.alpha
            if gsrc.shape != ctx.src_shape:  # a 0-d src (of a 0-d input) has one slice
                gsrc = gsrc.reshape(ctx.src_shape)
        return (g if need[0] else None), gsrc

    backward_graph = backward


class MaskedFill(Primitive):
    """out = value where mask, else x (broadcast together); dx = g where not mask, dvalue = the sum of g where
    mask (both linear in g)."""

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

    @staticmethod
    def backward_graph(ctx, g):
        need = ctx.needs_input_grad
        gx = sum_to(where(ctx.mask, 0.0, g), ctx.x_shape) if need[0] else None
        gv = where(ctx.mask, g, 0.0).sum() if need[1] else None
        return gx, gv


class MaskedSelect(LinearMap):
    """out = the elements of x where mask (x and mask broadcast together), as 1-D; the adjoint puts g back at
    those places and sums over the broadcast."""

    @staticmethod
    def shape_depends_on_values(arrays, options) -> bool:
        return True

    @staticmethod
    def map(x, mask=None, x_shape=()):
        return np.broadcast_to(x, np.broadcast_shapes(np.shape(x), mask.shape))[np.broadcast_to(
            mask, np.broadcast_shapes(np.shape(x), mask.shape))]


class MaskedSelectAdjoint(LinearMap):
    """MaskedSelect's adjoint: zeros of the broadcast shape with g at the mask's places, summed to x's shape."""

    @staticmethod
    def map(g, mask=None, x_shape=()):
        shape = np.broadcast_shapes(tuple(x_shape), mask.shape)
        out = np.zeros(shape, dtype=g.dtype)
        out[np.broadcast_to(mask, shape)] = g
        return unbroadcast(out, tuple(x_shape))


MaskedSelect.adjoint, MaskedSelectAdjoint.adjoint = MaskedSelectAdjoint, MaskedSelect
