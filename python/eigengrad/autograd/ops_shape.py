"""Shape primitives beyond reshape/permute/expand/indexing (``ops.py``): repeat (tile), contiguous copies,
flips, diagonals and triangles. All are linear, so each differentiable backward is another of these maps
(or the same one): repeat's is a reshape and a sum, a diagonal's is its placement back (``DiagonalAdjoint``),
a flip's a flip, a triangle's the same triangle."""
from __future__ import annotations

import numpy as np

from eigengrad.autograd.function import Primitive, ViewPrimitive
from eigengrad.autograd.ops import Reshape, Sum


class Repeat(Primitive):
    """x tiled ``reps`` times along each dim (``Tensor.repeat``, NumPy's tile; reps may add leading dims).

    Backward: the gradient seen as (r0, s0, r1, s1, ...) summed over the r axes."""

    @staticmethod
    def forward(ctx, x, reps):
        ctx.in_shape, ctx.reps = np.shape(x), tuple(reps)
        return np.tile(x, reps)

    @staticmethod
    def _split(ctx) -> tuple[list, tuple]:
        shape = (1,) * (len(ctx.reps) - len(ctx.in_shape)) + tuple(ctx.in_shape)
        split = []
        for r, s in zip(ctx.reps, shape):
            split += [r, s]
        return split, tuple(range(0, 2 * len(ctx.reps), 2))

    @staticmethod
    def backward(ctx, g):
        split, axes = Repeat._split(ctx)
        return (g.reshape(split).sum(axis=axes).reshape(ctx.in_shape),)

    @staticmethod
    def backward_graph(ctx, g):
        split, axes = Repeat._split(ctx)
        return (Reshape.apply(Sum.apply(Reshape.apply(g, shape=tuple(split)), dim=axes), shape=tuple(ctx.in_shape)),)


class Contiguous(Primitive):
    """A C-contiguous copy (``contiguous()`` of a strided tensor); the gradient passes unchanged."""

    @staticmethod
    def forward(ctx, x):
        return np.ascontiguousarray(x)

    @staticmethod
    def backward(ctx, g):
        return (g,)

    backward_graph = backward


class Flip(Primitive):
    """x reversed along ``dims``: a new array, as PyTorch's flip (NumPy's np.flip is a view, which a write
    into the result would change the input through); backward flips the gradient back."""

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.flip(x, dims).copy()  # (C order; a copy even where the flip is a no-op view)

    @staticmethod
    def backward(ctx, g):
        return (np.flip(g, ctx.dims).copy(),)

    @staticmethod
    def backward_graph(ctx, g):
        return (Flip.apply(g, dims=ctx.dims),)


class Diagonal(ViewPrimitive):
    """The diagonal ``offset`` of the planes (dim1, dim2), moved to the last dim (a writeable view, as
    PyTorch's); backward writes the gradient onto that diagonal of zeros (``DiagonalAdjoint``)."""

    @staticmethod
    def view_of(x, offset, dim1, dim2):
        return _diagonal(x, offset, dim1, dim2)

    @staticmethod
    def forward(ctx, x, offset=0, dim1=0, dim2=1):
        ctx.shape, ctx.args = np.shape(x), (offset, dim1, dim2)
        return _diagonal(x, offset, dim1, dim2)

    @staticmethod
    def backward(ctx, g):
        return (_place_diagonal(g, ctx.shape, *ctx.args),)

    @staticmethod
    def backward_graph(ctx, g):
        offset, dim1, dim2 = ctx.args
        return (DiagonalAdjoint.apply(g, offset=offset, dim1=dim1, dim2=dim2, shape=ctx.shape),)


class DiagonalAdjoint(Primitive):
    """Zeros of ``shape`` with g on the diagonal ``offset`` of the planes (dim1, dim2) (``torch.diag`` of a
    vector, and Diagonal's backward); its backward reads that diagonal."""

    @staticmethod
    def forward(ctx, g, offset=0, dim1=0, dim2=1, shape=()):
        ctx.args = (offset, dim1, dim2)
        return _place_diagonal(g, shape, offset, dim1, dim2)

    @staticmethod
    def backward(ctx, h):
        return (np.diagonal(h, *ctx.args).copy(),)

    @staticmethod
    def backward_graph(ctx, h):
        offset, dim1, dim2 = ctx.args
        return (Diagonal.apply(h, offset=offset, dim1=dim1, dim2=dim2),)


def _diagonal(x, offset: int, dim1: int, dim2: int):
    """NumPy's diagonal view, writeable when x is (NumPy marks it read-only; PyTorch's diagonal is a
    writeable view: ``x.diagonal().zero_()`` changes x)."""
    view = np.diagonal(x, offset, dim1, dim2)
    if isinstance(x, np.ndarray) and x.flags.writeable:
        view.setflags(write=True)
    return view


def _place_diagonal(g, shape: tuple, offset: int, dim1: int, dim2: int) -> np.ndarray:
    out = np.zeros(shape, dtype=g.dtype)
    _diagonal(out, offset, dim1, dim2)[...] = g
    return out


class Triangle(Primitive):
    """The lower (``upper=False``) or upper triangle of the last two dims from ``diagonal`` on, the rest
    zero (``tril``/``triu``); backward keeps the same triangle of the gradient."""

    @staticmethod
    def forward(ctx, x, diagonal=0, upper=False):
        ctx.diagonal, ctx.upper = diagonal, upper
        return _triangle(x, diagonal, upper)

    @staticmethod
    def backward(ctx, g):
        return (_triangle(g, ctx.diagonal, ctx.upper),)

    @staticmethod
    def backward_graph(ctx, g):
        return (Triangle.apply(g, diagonal=ctx.diagonal, upper=ctx.upper),)


def _triangle(x, diagonal: int, upper: bool):
    rows, cols = np.shape(x)[-2:]
    keep = ~np.tri(rows, cols, diagonal - 1, dtype=bool) if upper else np.tri(rows, cols, diagonal, dtype=bool)
    return np.where(keep, x, np.zeros((), dtype=x.dtype))
