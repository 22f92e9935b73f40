"""``torch.linalg``'s norms: ``vector_norm``, ``norm`` (vector norms and the Frobenius norm) and ``matrix_norm``
('fro'), and ``cross``, over the C++ reduction kernel (double accumulation, thread-count independent)."""
from __future__ import annotations

from eigengrad.tensor_ops.composite import cross as _cross
from eigengrad.tensor_ops.reduce import vector_norm


def norm(A, ord=None, dim=None, keepdim: bool = False, *, dtype=None):
    """The vector ``ord``-norm over ``dim`` (all elements when ``ord`` and ``dim`` are None: the 2-norm of the
    flattened tensor, which is also the Frobenius norm), or ``ord='fro'`` over two dims."""
    if ord is None or ord == "fro":
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.norm: ord={ord!r} is not supported (eigengrad has vector norms and 'fro')")
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None):
    """The Frobenius norm of the matrices over ``dim``."""
    if ord != "fro":
        raise RuntimeError(f"linalg.matrix_norm: ord={ord!r} is not supported (eigengrad has 'fro')")
    return vector_norm(A, 2, dim, keepdim, dtype=dtype)


def cross(input, other, *, dim: int = -1):
    """The cross product of 3-vectors along ``dim`` (default the last), broadcasting."""
    return _cross(input, other, dim)


__all__ = ["norm", "vector_norm", "matrix_norm", "cross"]
