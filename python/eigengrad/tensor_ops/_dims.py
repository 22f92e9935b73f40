"""Dimension and size arguments as PyTorch reads them: negative dims count from the end, a 0-d tensor
takes dims 0 and -1, sizes come as ``f(2, 3)`` or ``f((2, 3))``."""
from __future__ import annotations

import operator

import numpy as np

from eigengrad._dims import wrap_dim
from eigengrad._errors import ArgumentError


wrap = wrap_dim  # PyTorch's maybe_wrap_dim (eigengrad._dims: the one check of a dim argument)


def dims(dim, ndim: int) -> tuple:
    """The sorted, wrapped dims of a reduction: None (and an empty tuple or list, as torch) means all."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (tuple, list)):
        if not dim:
            return tuple(range(ndim))
        out = tuple(sorted(wrap(d, ndim) for d in dim))
        if len(set(out)) != len(out):
            raise ArgumentError(f"dim {list(dim)} appears multiple times in the list of dims")
        return out if ndim else ()
    return (wrap(dim, ndim),) if ndim else ()


def sizes(args: tuple, name: str = "size") -> tuple:
    """A size given as ints, or as one tuple/list/Size (``zeros(2, 3)``, ``zeros((2, 3))``)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    elif len(args) == 1 and hasattr(args[0], "_data") and np.ndim(args[0]._data) == 1:
        args = tuple(args[0]._data.tolist())
    try:
        out = tuple(operator.index(s) for s in args)
    except TypeError:
        raise TypeError(f"{name}: expected a sequence of ints, got {args!r}") from None
    return out


def keyword_sizes(args: tuple, kw: dict, names: tuple, fn: str) -> tuple:
    """``args``, or the one sequence given by keyword (``x.view(size=(2, 3))``, ``x.permute(dims=...)``,
    ``torch.reshape(x, shape=...)``; PyTorch takes these names)."""
    given = [name for name in names if name in kw]
    extra = [name for name in kw if name not in names]
    if extra:
        raise TypeError(f"{fn}() got an unexpected keyword argument {extra[0]!r}")
    if not given:
        return args
    if args or len(given) > 1:
        raise TypeError(f"{fn}() got multiple values for {given[0]!r}")
    return (kw[given[0]],)


def check_sizes(shape: tuple, name: str = "size") -> tuple:
    """Factory sizes: non-negative ints (PyTorch's message for a negative one)."""
    for s in shape:
        if s < 0:
            raise ArgumentError(f"Trying to create tensor with negative dimension {s}: {list(shape)}")
    return shape


def as_3d(shape: tuple, dim: int) -> tuple[int, int, int]:
    """(outer, n, inner): ``shape`` seen as the product of the dims before ``dim``, ``dim``, and those after."""
    outer = int(np.prod(shape[:dim], dtype=np.int64))
    inner = int(np.prod(shape[dim + 1:], dtype=np.int64))
    return outer, shape[dim] if shape else 1, inner
