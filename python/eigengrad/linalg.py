"""``torch.linalg``: the norms (``vector_norm``, ``norm``, ``matrix_norm`` 'fro', over the C++ reduction kernel),
``cross``, and the square-matrix functions ``inv``, ``det``, ``slogdet``, ``solve``, ``cholesky``,
``matrix_power``, ``multi_dot`` (LAPACK through NumPy; differentiable twice, autograd/ops_linalg.py)."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from eigengrad._errors import ArgumentError, ArgumentTypeError
from eigengrad.autograd import ops_linalg as L
from eigengrad.tensor_ops.composite import cross as _cross
from eigengrad.tensor_ops.reduce import vector_norm


SlogdetResult = namedtuple("slogdet", ["sign", "logabsdet"])


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


def _square(A, name: str):
    if A.ndim < 2:
        raise ArgumentError(f"linalg.{name}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise ArgumentError(f"linalg.{name}: A must be batches of square matrices, but they are {A.shape[-2]} by "
                            f"{A.shape[-1]} matrices")
    if A._data.dtype.kind != "f":
        raise ArgumentTypeError(f"linalg.{name}: Expected a floating point or complex tensor as input. Got "
                                f"{A._data.dtype}")
    return A


def inv(A, *, out=None):
    """A^-1 (batched); a singular matrix raises, as PyTorch."""
    _square(A, "inv")
    if A._data.size and np.any(np.linalg.matrix_rank(A._data) < A.shape[-1]):
        raise ArgumentError("linalg.inv: The diagonal element 1 is zero, the inversion could not be completed "
                            "because the input matrix is singular.")
    return L.Inverse.apply(A)


def det(A, *, out=None):
    return L.Det.apply(_square(A, "det"))


def slogdet(A, *, out=None):
    """(sign, log|det A|); the sign has no gradient."""
    _square(A, "slogdet")
    from eigengrad.tensor import Tensor

    logabs = L.LogAbsDet.apply(A)
    sign = Tensor._wrap(np.asarray(np.linalg.slogdet(A._data)[0]))
    if logabs.requires_grad:  # PyTorch's sign is in the graph too, with a zero gradient
        sign = sign + logabs * 0.0
    return SlogdetResult(sign, logabs)


def logdet(A):
    """log det A: NaN for a negative determinant, -inf for zero."""
    sign, logabs = slogdet(A)
    from eigengrad.tensor import Tensor

    return logabs + Tensor._wrap(np.where(sign._data < 0, np.nan, np.where(sign._data == 0, -np.inf, 0.0)).astype(
        logabs._data.dtype))


def solve(A, B, *, left: bool = True, out=None):
    """X with A X = B (B a matrix or batch of them, or a vector / batch of vectors); ``left=False``: X A = B."""
    _square(A, "solve")
    if not left:
        return solve(A.mT, B.mT).mT
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    x = L.Solve.apply(A, B.unsqueeze(-1) if vector else B)
    return x.squeeze(-1) if vector else x


def cholesky(A, *, upper: bool = False, out=None):
    """The lower (or upper) triangular L with A = L L^T."""
    low = L.Cholesky.apply(_square(A, "cholesky"))
    return low.mT if upper else low


def matrix_power(A, n: int):
    """A^n by repeated squaring (n < 0: of the inverse; n = 0: the identity)."""
    _square(A, "matrix_power")
    if n == 0:
        from eigengrad.tensor import Tensor

        return Tensor._wrap(np.broadcast_to(np.eye(A.shape[-1], dtype=A._data.dtype), A.shape).copy())
    base, result, k = (inv(A) if n < 0 else A), None, abs(int(n))
    while k:
        if k & 1:
            result = base if result is None else result @ base
        k >>= 1
        if k:
            base = base @ base
    return result


def multi_dot(tensors, *, out=None):
    """The product of the matrices left to right (a 1-D first or last operand is a row or column vector)."""
    ts = list(tensors)
    if len(ts) < 2:
        raise ArgumentError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    result = ts[0]
    for t in ts[1:]:
        result = result @ t
    return result


__all__ = ["norm", "vector_norm", "matrix_norm", "cross", "inv", "det", "slogdet", "solve", "cholesky",
           "matrix_power", "multi_dot"]
