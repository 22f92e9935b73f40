"""Tensors built from diagonals: ``diag_embed`` (a batch of vectors to a batch of diagonal matrices, between
any two new dims) and ``diagflat``. Composed of copies (concatenation with zeros,
reshapes), so a NaN or an infinity stays on the diagonal, and they are differentiable to any order."""
from __future__ import annotations

from eigengrad._errors import ArgumentError


def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """out[..., i, i + offset] = input[..., i] over the output dims (dim1, dim2), zero elsewhere; the output
    has one dim more than the input, the two of size n + |offset|."""
    from eigengrad.functions import cat
    from eigengrad.tensor_ops.shape import movedim

    nd = input.ndim + 1
    d1, d2 = (d + nd if d < 0 else d for d in (dim1, dim2))
    if not (0 <= d1 < nd and 0 <= d2 < nd):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got "
                         f"{dim1 if not 0 <= d1 < nd else dim2})")
    if d1 == d2:
        raise ArgumentError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    x = input if input.ndim else input.reshape(1)
    n, k, batch = x.shape[-1], int(offset), tuple(x.shape[:-1])

    def zeros(*shape):
        return x.new_zeros(*batch, *shape)

    # each x_i followed by n zeros, flattened and cut to n * n: the n x n matrix with x on its diagonal
    padded = cat([x.unsqueeze(-1), zeros(n, n)], -1).reshape(*batch, n * (n + 1))
    out = padded.narrow(-1, 0, n * n).reshape(*batch, n, n)
    if k > 0:  # x at (i, i + k): k zero columns before, k zero rows after
        out = cat([zeros(n, k), out], -1)
        out = cat([out, zeros(k, n + k)], -2)
    elif k < 0:
        out = cat([out, zeros(n, -k)], -1)
        out = cat([zeros(-k, n - k), out], -2)
    return movedim(out, (-2, -1), (d1, d2))


def diagflat(input, offset: int = 0):
    """The 2-D matrix with the flattened input on its ``offset`` diagonal."""
    return diag_embed(input.reshape(-1), offset)


METHODS = ("diag_embed", "diagflat")
FUNCTIONS = METHODS
