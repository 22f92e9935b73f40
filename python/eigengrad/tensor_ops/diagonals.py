"""Tensors built from diagonals: ``diag_embed`` (a batch of vectors to a batch of diagonal matrices, between
any two new dims) and ``diagflat``. Composed of exact operations (products with 0 and 1, sums of zeros), so
they are differentiable to any order."""
from __future__ import annotations

import numpy as np

from eigengrad._errors import ArgumentError


def _placement(n: int, size: int, shift: int, dtype):
    """The (n x size) 0/1 matrix with a one at (i, i + shift)."""
    m = np.zeros((n, size), dtype=dtype)
    m[np.arange(n), np.arange(n) + shift] = 1
    from eigengrad.tensor import Tensor

    return Tensor._wrap(m)


def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """out[..., i, i + offset] = input[..., i] over the output dims (dim1, dim2), zero elsewhere; the output
    has one dim more than the input, the two of size n + |offset|."""
    from eigengrad.tensor_ops.shape import movedim

    nd = input.ndim + 1
    d1, d2 = (d + nd if d < 0 else d for d in (dim1, dim2))
    if not (0 <= d1 < nd and 0 <= d2 < nd):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got "
                         f"{dim1 if not 0 <= d1 < nd else dim2})")
    if d1 == d2:
        raise ArgumentError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    x = input if input.ndim else input.reshape(1)
    n, k = x.shape[-1], int(offset)
    size = n + abs(k)
    rows = _placement(n, size, max(-k, 0), x._data.dtype)
    cols = _placement(n, size, max(k, 0), x._data.dtype)
    out = (x.unsqueeze(-1) * rows).mT @ cols  # (..., size, size): sum_i x_i rows[i, a] cols[i, b]
    return movedim(out, (-2, -1), (d1, d2))


def diagflat(input, offset: int = 0):
    """The 2-D matrix with the flattened input on its ``offset`` diagonal."""
    return diag_embed(input.reshape(-1), offset)


METHODS = ("diag_embed", "diagflat")
FUNCTIONS = METHODS
