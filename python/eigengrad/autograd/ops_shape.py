"""Shape primitives beyond reshape/permute/indexing (``ops.py``): expand (a broadcast view), repeat (tile),
contiguous copies, flips, diagonals and triangles. Each backward is the adjoint of its forward: expand
sums over the broadcast, repeat sums the tiles, a diagonal's gradient is placed back on the diagonal."""
from __future__ import annotations

import numpy as np

from eigengrad.autograd.function import Function, ViewFunction
from eigengrad.autograd.ops import unbroadcast


class Expand(ViewFunction):
    """x broadcast to ``shape`` without a copy (a read-only view, as NumPy's broadcast_to)."""

    @staticmethod
    def view_of(x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = np.shape(x)
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return (unbroadcast(g, ctx.in_shape),)


class Repeat(Function):
    """x tiled ``reps`` times along each dim (``Tensor.repeat``, NumPy's tile; reps may add leading dims).

    Backward: the gradient seen as (r0, s0, r1, s1, ...) summed over the r axes."""

    @staticmethod
    def forward(ctx, x, reps):
        ctx.in_shape, ctx.reps = np.shape(x), tuple(reps)
        return np.tile(x, reps)

    @staticmethod
    def backward(ctx, g):
        reps = ctx.reps
        shape = (1,) * (len(reps) - len(ctx.in_shape)) + tuple(ctx.in_shape)
        split = []
        for r, s in zip(reps, shape):
            split += [r, s]
        summed = g.reshape(split).sum(axis=tuple(range(0, 2 * len(reps), 2)))
        return (summed.reshape(ctx.in_shape),)


class Contiguous(Function):
    """A C-contiguous copy (``contiguous()`` of a strided tensor); gradient passes unchanged."""

    @staticmethod
    def forward(ctx, x):
        return np.ascontiguousarray(x)

    @staticmethod
    def backward(ctx, g):
        return (g,)


class Flip(ViewFunction):
    """x reversed along ``dims`` (a view with negative strides); backward flips the gradient back."""

    @staticmethod
    def view_of(x, dims):
        return np.flip(x, dims)

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.flip(x, dims)

    @staticmethod
    def backward(ctx, g):
        return (np.flip(g, ctx.dims),)


class Diagonal(ViewFunction):
    """The diagonal ``offset`` of the planes (dim1, dim2), moved to the last dim (a view, as PyTorch);
    backward writes the gradient onto that diagonal of zeros."""

    @staticmethod
    def view_of(x, offset, dim1, dim2):
        return _diagonal(x, offset, dim1, dim2)

    @staticmethod
    def forward(ctx, x, offset=0, dim1=0, dim2=1):
        ctx.shape, ctx.args = np.shape(x), (offset, dim1, dim2)
        return _diagonal(x, offset, dim1, dim2)

    @staticmethod
    def backward(ctx, g):
        gx = np.zeros(ctx.shape, dtype=g.dtype)
        _diagonal(gx, *ctx.args)[...] = g
        return (gx,)


def _diagonal(x, offset: int, dim1: int, dim2: int):
    """NumPy's diagonal view, writeable when x is (NumPy marks it read-only; PyTorch's diagonal is a
    writeable view: ``x.diagonal().zero_()`` changes x)."""
    view = np.diagonal(x, offset, dim1, dim2)
    if isinstance(x, np.ndarray) and x.flags.writeable:
        view.setflags(write=True)
    return view


class DiagEmbed(Function):
    """A 1-D x placed on the diagonal ``offset`` of a square matrix (``torch.diag`` of a vector);
    backward reads that diagonal."""

    @staticmethod
    def forward(ctx, x, offset=0):
        ctx.offset = offset
        return np.diag(x, offset)

    @staticmethod
    def backward(ctx, g):
        return (np.diagonal(g, ctx.offset).copy(),)


class Triangle(Function):
    """The lower (``upper=False``) or upper triangle of the last two dims from ``diagonal`` on, the rest
    zero (``tril``/``triu``); backward keeps the same triangle of the gradient."""

    @staticmethod
    def forward(ctx, x, diagonal=0, upper=False):
        ctx.diagonal, ctx.upper = diagonal, upper
        return _triangle(x, diagonal, upper)

    @staticmethod
    def backward(ctx, g):
        return (_triangle(g, ctx.diagonal, ctx.upper),)


def _triangle(x, diagonal: int, upper: bool):
    rows, cols = np.shape(x)[-2:]
    keep = np.tri(rows, cols, diagonal - 1, dtype=bool) if upper else np.tri(rows, cols, diagonal, dtype=bool)
    if upper:
        keep = ~keep
    return np.where(keep, x, np.zeros((), dtype=x.dtype))
