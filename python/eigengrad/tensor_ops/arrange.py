"""Arranging elements, built from the shape and index operations (so differentiable where PyTorch's are):
``tile``, ``ravel``, ``rot90``, ``column_stack``/``row_stack``/``dstack``, ``hsplit``/``vsplit``/``dsplit``,
``atleast_1d``/``2d``/``3d``, ``broadcast_tensors``/``broadcast_shapes``, ``Tensor.unfold`` (sliding windows),
``split_with_sizes``, ``sum_to_size``, ``combinations``, ``triu_indices``/``tril_indices``."""
from __future__ import annotations

import builtins
import itertools
import numbers

import numpy as np

from eigengrad._errors import ArgumentError
from eigengrad.autograd.ops import numpy_call
from eigengrad.tensor_ops import _dims
from eigengrad.tensor_ops import shape as _shape


def _wrap(arr):
    from eigengrad.tensor import Tensor

    return Tensor._wrap(np.asarray(arr))


def tile(input, *dims):
    """``input`` repeated ``dims`` times along each dim (fewer dims than the tensor: leading 1s, as PyTorch)."""
    reps = _dims.sizes(dims, "dims")
    reps = (1,) * (input.ndim - len(reps)) + tuple(reps)
    return _shape.repeat(input, *reps)


def ravel(input):
    """The elements as one dim (a view when possible)."""
    return _shape.reshape(input, -1)


def rot90(input, k: int = 1, dims=(0, 1)):
    """Rotated by 90 degrees k times in the plane of ``dims`` (from the first towards the second)."""
    if len(dims) != 2:
        raise ArgumentError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise ArgumentError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = (_dims.wrap(d, input.ndim) for d in dims)
    if d0 == d1:
        raise ArgumentError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    k = k % 4
    if k == 1:
        return _shape.transpose(_shape.flip(input, d1), d0, d1)
    if k == 2:
        return _shape.flip(input, d0, d1)
    if k == 3:
        return _shape.flip(_shape.transpose(input, d0, d1), d1)
    return input.clone()


def atleast_1d(*tensors):
    return _each(tensors, lambda t: t.reshape(1) if t.ndim == 0 else t)


def atleast_2d(*tensors):
    return _each(tensors, lambda t: t.reshape(1, -1) if t.ndim < 2 else t)


def atleast_3d(*tensors):
    def three(t):
        if t.ndim == 0:
            return t.reshape(1, 1, 1)
        if t.ndim == 1:
            return t.reshape(1, -1, 1)
        return t.unsqueeze(-1) if t.ndim == 2 else t
    return _each(tensors, three)


def _each(tensors, fn):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(fn(t) for t in tensors[0])
    return fn(tensors[0]) if len(tensors) == 1 else tuple(fn(t) for t in tensors)


def column_stack(tensors, *, out=None):
    """1-D (and 0-D) tensors as columns, side by side with the 2-D ones."""
    _shape._nonempty(tensors, "column_stack")
    ts = [t.reshape(-1, 1) if t.ndim < 2 else t for t in tensors]
    return _shape.cat(ts, 1, out=out)


def dstack(tensors, *, out=None):
    _shape._nonempty(tensors, "dstack")
    return _shape.cat([atleast_3d(t) for t in tensors], 2, out=out)


def _split_along(input, indices_or_sections, dim: int, name: str, min_dims: int):
    if input.ndim < min_dims:
        raise ArgumentError(f"torch.{name} requires a tensor with at least {min_dims} dimension, but got a tensor with "
                            f"{input.ndim} dimensions!")
    if isinstance(indices_or_sections, numbers.Integral) and indices_or_sections and \
            input.shape[dim] % indices_or_sections:
        raise ArgumentError(f"torch.{name} attempted to split along dimension {dim}, but the size of the dimension "
                            f"{input.shape[dim]} is not divisible by the split_size {indices_or_sections}!")
    return _shape.tensor_split(input, indices_or_sections, dim)


def hsplit(input, indices_or_sections):
    return _split_along(input, indices_or_sections, 0 if input.ndim == 1 else 1, "hsplit", 1)


def vsplit(input, indices_or_sections):
    return _split_along(input, indices_or_sections, 0, "vsplit", 2)


def dsplit(input, indices_or_sections):
    return _split_along(input, indices_or_sections, 2, "dsplit", 3)


def broadcast_shapes(*shapes):
    """The shape the given shapes broadcast to (PyTorch's error when they do not)."""
    from eigengrad.tensor import Size

    norm = [(s,) if isinstance(s, numbers.Integral) else tuple(s) for s in shapes]
    try:
        return Size(np.broadcast_shapes(*norm))
    except ValueError:
        raise ArgumentError(f"Shape mismatch: objects cannot be broadcast to a single shape") from None


def broadcast_tensors(*tensors):
    """The tensors expanded (views) to their common broadcast shape."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t.expand(*shape) for t in tensors)


def unfold(input, dimension: int, size: int, step: int):
    """Every window of ``size`` elements along ``dimension``, ``step`` apart: that dim becomes the window
    count and a new last dim of ``size`` holds each window. A view of ``input``'s memory (``as_strided``), as
    PyTorch's: writes through it reach ``input``, overlapping windows share elements and their gradients add."""
    from eigengrad.tensor_ops import conversion

    x = input if input.ndim else input.reshape(1)
    d = _dims.wrap(dimension, x.ndim)
    n = x.shape[d]
    if size < 0 or size > n:
        raise ArgumentError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise ArgumentError(f"step is {step} but must be > 0")
    shape, stride = list(x.shape), list(conversion.stride(x))
    inner = stride[d]
    shape[d], stride[d] = (n - size) // step + 1, inner * step
    out = as_strided(x, shape + [size], stride + [inner], conversion.storage_offset(x))
    return out.select(0, 0) if input.ndim == 0 else out  # (a 0-d tensor has one window, of size 0 or 1)


def split_with_sizes(input, split_sizes, dim: int = 0):
    return _shape.split(input, list(split_sizes), dim)


def sum_to_size(input, *size):
    """Summed over the dims that broadcast to ``size`` (the inverse of expand)."""
    target = tuple(_dims.sizes(size, "size"))
    lead = input.ndim - len(target)
    if lead < 0 or builtins.any(t != 1 and t != s for t, s in zip(target, input.shape[lead:])):
        raise ArgumentError(f"size {{{list(target)}}} is not expandable to size {{{list(input.shape)}}}.")
    dims = tuple(range(lead)) + tuple(lead + i for i, t in enumerate(target) if t == 1 and input.shape[lead + i] != 1)
    out = input.sum(dims, keepdim=True) if dims else input
    return out.reshape(*target)


def combinations(input, r: int = 2, with_replacement: bool = False):
    """The length-r combinations of a 1-D tensor's elements, one per row (itertools' order)."""
    if input.ndim != 1:
        raise ArgumentError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise ArgumentError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input.new_zeros(0)
    from eigengrad.tensor_ops.index import index_select

    index = numpy_call(_combinations, input.shape[0], r, bool(with_replacement))
    return index_select(input, 0, _wrap(index)).reshape(-1, r)


# The index arrays below are made through numpy_call: eg.compile makes them at every replay (constants of the
# shapes) instead of arrays it cannot see.

def _combinations(n: int, r: int, with_replacement: bool) -> np.ndarray:
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    return np.array(list(pick(range(n), r)), dtype=np.int64).reshape(-1)


def _triangle_indices(row: int, col: int, offset: int, upper: bool, dtype: np.dtype) -> np.ndarray:
    rows, cols = (np.triu_indices if upper else np.tril_indices)(row, offset, col)
    return np.stack([rows, cols]).astype(dtype).reshape(2, -1)


def _triangle(row: int, col: int, offset: int, upper: bool, dtype):
    from eigengrad import _dtype

    dt = np.dtype(_dtype.to_numpy(dtype) if dtype is not None else np.int64)
    return _wrap(numpy_call(_triangle_indices, int(row), int(col), int(offset), upper, dt))


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None):
    """The (row, col) coordinates of the upper triangle (from diagonal ``offset``), row by row: 2 x N."""
    return _triangle(row, col, offset, True, dtype)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None):
    """The (row, col) coordinates of the lower triangle (up to diagonal ``offset``), row by row: 2 x N."""
    return _triangle(row, col, offset, False, dtype)


row_stack = _shape.vstack

METHODS = ("tile", "ravel", "rot90", "hsplit", "vsplit", "dsplit", "unfold", "split_with_sizes", "sum_to_size", "as_strided")
FUNCTIONS = ("tile", "ravel", "rot90", "hsplit", "vsplit", "dsplit", "split_with_sizes", "atleast_1d", "atleast_2d",
             "atleast_3d", "column_stack", "row_stack", "dstack", "broadcast_shapes", "broadcast_tensors",
             "combinations", "triu_indices", "tril_indices", "as_strided", "vander")


def as_strided(input, size, stride, storage_offset=None):
    """A view of ``input``'s storage with the given ``size``, ``stride`` (in elements) and ``storage_offset``
    (default: input's own): element i is storage[storage_offset + sum_k i_k stride_k] (PyTorch's
    ``as_strided``; the storage is the memory of input's root tensor, not input's own view of it).
    Overlapping windows (``x.as_strided((n - w + 1, w), (1, 1))``) share elements, and their gradients add up."""
    from eigengrad.autograd import ops_shape
    from eigengrad.tensor_ops import conversion

    size, stride = _dims.check_sizes(_dims.sizes((size,), "size")), _dims.sizes((stride,), "stride")
    if len(size) != len(stride):
        raise ArgumentError(f"stride: mismatch in length of strides and shape, got size {list(size)} and stride "
                            f"{list(stride)}")
    if builtins.any(s < 0 for s in stride):
        raise ArgumentError(f"stride: as_strided: Negative strides are not supported at the moment, got strides: "
                            f"{list(stride)}")
    offset = conversion.storage_offset(input) if storage_offset is None else storage_offset
    if not isinstance(offset, numbers.Integral) or isinstance(offset, bool) or offset < 0:
        raise ArgumentError(f"storage_offset: expected a non-negative int, got {storage_offset!r}")
    storage = ops_shape._root(input._data).size
    needed = 0 if 0 in size else int(offset) + 1 + builtins.sum((n - 1) * s for n, s in zip(size, stride))
    if needed > storage:
        raise ArgumentError(f"size: as_strided: sizes {list(size)}, strides {list(stride)} and storage offset "
                            f"{offset} need a storage of {needed} elements, but input's storage has {storage}")
    return ops_shape.AsStrided.apply(input, size=tuple(size), stride=tuple(stride), storage_offset=int(offset))


def vander(x, N: int | None = None, increasing: bool = False):
    """The Vandermonde matrix of a 1-D ``x``: columns x^(N-1), ..., x^0 (x^0 ... x^(N-1) when ``increasing``),
    N = len(x) by default; differentiable in x (powers of x)."""
    if x.ndim != 1:
        raise ArgumentError(f"x must be a one-dimensional tensor, got shape {list(x.shape)}")
    n = x.shape[0] if N is None else N
    if not isinstance(n, numbers.Integral) or n < 0:
        raise ArgumentError(f"N must be non-negative, got {N!r}")
    powers = range(n) if increasing else range(n - 1, -1, -1)
    if x._data.dtype.kind in "iub":  # (PyTorch's powers of integers are int64)
        x = x.to(np.int64)
    if n == 0:
        return x.new_zeros(x.shape[0], 0)
    from eigengrad.tensor_ops.shape import stack

    return stack([x ** p if p else x.new_ones(x.shape[0]) for p in powers], 1)
