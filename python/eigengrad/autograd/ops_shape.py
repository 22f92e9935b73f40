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

    saves_nothing = True  # (backward reads only ctx's shapes: the node runs again after a free)

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


class AsStrided(ViewPrimitive):
    """PyTorch's ``as_strided``: x's storage (the memory of its root array) read with ``size`` and ``stride``
    (in elements) from ``storage_offset``; a view, sharing x's memory. Output element i is storage element
    storage_offset + sum_k i_k stride_k.

    Backward (``AsStridedAdjoint``): every output's gradient is added at its storage position, and x's
    gradient read at x's own positions; outputs that share an element add up there."""

    @staticmethod
    def view_of(x, size, stride, storage_offset):
        return _as_strided(x, size, stride, storage_offset)

    @staticmethod
    def forward(ctx, x, size=(), stride=(), storage_offset=0):
        ctx.out_geometry, ctx.in_geometry = (tuple(size), tuple(stride), storage_offset), _geometry(x)
        return _as_strided(x, size, stride, storage_offset)

    @staticmethod
    def backward(ctx, g):
        return (_strided_adjoint(g, ctx.out_geometry, ctx.in_geometry),)

    @staticmethod
    def backward_graph(ctx, g):
        return (AsStridedAdjoint.apply(g, src=ctx.out_geometry, dst=ctx.in_geometry),)


class AsStridedAdjoint(Primitive):
    """g laid out by geometry ``src`` added into a storage, read out by geometry ``dst`` (each a (size,
    stride, offset) in elements): AsStrided's backward, and with the two swapped its own."""

    @staticmethod
    def forward(ctx, g, src=(), dst=()):
        ctx.src, ctx.dst = src, dst
        return _strided_adjoint(g, src, dst)

    @staticmethod
    def backward(ctx, h):
        return (_strided_adjoint(h, ctx.dst, ctx.src),)

    @staticmethod
    def backward_graph(ctx, h):
        return (AsStridedAdjoint.apply(h, src=ctx.dst, dst=ctx.src),)


def _root(x: np.ndarray) -> np.ndarray:
    """The array that owns x's memory (NumPy's base chain to its end)."""
    while isinstance(x.base, np.ndarray):
        x = x.base
    return x


def _geometry(x: np.ndarray) -> tuple:
    """(size, stride, offset) of x in its root's storage, in elements."""
    item = x.itemsize
    offset = (x.__array_interface__["data"][0] - _root(x).__array_interface__["data"][0]) // item
    return x.shape, tuple(s // item for s in x.strides), offset


def _positions(geometry: tuple) -> np.ndarray:
    """The storage position of every element of a (size, stride, offset) geometry, in C order."""
    size, stride, offset = geometry
    pos = np.full(size, offset, dtype=np.int64)
    for d, (n, s) in enumerate(zip(size, stride)):
        pos += (np.arange(n, dtype=np.int64) * s).reshape((n,) + (1,) * (len(size) - d - 1))
    return pos


def _strided_adjoint(g: np.ndarray, src: tuple, dst: tuple) -> np.ndarray:
    p_src, p_dst = _positions(src), _positions(dst)
    length = int(max(p_src.max(initial=-1), p_dst.max(initial=-1))) + 1
    storage = np.bincount(p_src.ravel(), weights=np.asarray(g, np.float64).ravel(), minlength=length)
    return storage[p_dst].astype(g.dtype, copy=False)


def _as_strided(x: np.ndarray, size: tuple, stride: tuple, storage_offset: int) -> np.ndarray:
    root = _root(x)
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        raise ValueError("input: as_strided needs a tensor whose storage is one contiguous block, got one made "
                         "from an array with gaps; call .contiguous() first")
    # an ndarray over the root's memory, so that its base chain leads to the root (storage_offset, a second
    # as_strided); NumPy checks the bounds again
    flat = root.reshape(-1, order="A")
    if 0 in size:
        return flat[:0].reshape(size)
    return np.ndarray(size, x.dtype, buffer=flat, offset=storage_offset * x.itemsize,
                      strides=tuple(s * x.itemsize for s in stride))
