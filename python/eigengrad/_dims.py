"""Dimension arguments, checked as PyTorch's ``maybe_wrap_dim``: an int in [-ndim, ndim - 1] (a 0-d tensor
counts as 1-D), negative ones counted from the end. Anything else is an ``IndexError`` with PyTorch's
message (a dim taken modulo ndim would silently reduce over another axis)."""
from __future__ import annotations

import operator


def wrap_dim(dim, ndim: int, name: str = "dim") -> int:
    """``dim`` as an index in [0, max(ndim, 1)); ``ndim``: the dimensions it may name."""
    try:
        d = operator.index(dim)
    except TypeError:
        raise TypeError(f"{name}: expected an int, got {type(dim).__name__}") from None
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
    return d % n


def wrap_dims(dims, ndim: int, name: str = "dim") -> tuple[int, ...]:
    """Several dims (an int, or a sequence of distinct ints), each as :func:`wrap_dim`."""
    if isinstance(dims, (list, tuple)):
        out = tuple(wrap_dim(d, ndim, name) for d in dims)
        if len(set(out)) != len(out):
            raise ValueError(f"{name}: dim {list(dims)} names a dimension twice")
        return out
    return (wrap_dim(dims, ndim, name),)
