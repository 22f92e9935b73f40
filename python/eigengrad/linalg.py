"""``torch.linalg``: the norms (``vector_norm``, ``norm``, ``matrix_norm`` 'fro', over the C++ reduction kernel),
``cross``, and the square-matrix functions ``inv``, ``det``, ``slogdet``, ``solve``, ``cholesky``,
``matrix_power``, ``multi_dot`` (LAPACK through NumPy; differentiable twice, autograd/ops_linalg.py); the
decompositions and what is built on them come from linalg_decomp.py; ``matrix_exp`` and
``householder_product`` (and ``geqrf``, which eigengrad.geqrf serves) from linalg_matrix_functions.py."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from eigengrad._errors import ArgumentError
from eigengrad.autograd import ops_linalg as L
from eigengrad.linalg_decomp import (_matrices, cond, eig, eigh, eigvals, eigvalsh, lstsq, matrix_norm_ord, matrix_rank,  # noqa: F401
                                     pinv, pinverse, qr, qr_old, solve_triangular, svd, svd_old, svdvals, vander,
                                     vecdot)
from eigengrad.linalg_matrix_functions import geqrf, householder_product, matrix_exp  # noqa: F401
from eigengrad.linalg_lu import lu, lu_factor, lu_factor_ex, lu_solve  # noqa: F401
from eigengrad.tensor_ops.products import matmul  # noqa: F401
from eigengrad.tensor_ops.shape import diagonal as _diagonal
from eigengrad.tensor_ops.composite import cross as _cross
from eigengrad.tensor_ops.reduce import vector_norm


SlogdetResult = namedtuple("slogdet", ["sign", "logabsdet"])


def norm(A, ord=None, dim=None, keepdim: bool = False, *, dtype=None):
    """The vector ``ord``-norm over ``dim`` (all elements when ``ord`` and ``dim`` are None: the 2-norm of the
    flattened tensor, which is also the Frobenius norm); a matrix norm when ``dim`` is two dims, or A is 2-D
    and ``ord`` is given with no ``dim`` (PyTorch's rule)."""
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    matrix = (isinstance(dim, (tuple, list)) and len(dim) == 2) or (dim is None and A.ndim == 2)
    if isinstance(ord, str) or matrix:
        if not matrix:
            raise ArgumentError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                                f"Got {A.ndim}D.")
        return matrix_norm(A, ord, (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None):
    """The matrix norm over ``dim``: 'fro', 'nuc', 2, -2, 1, -1, inf, -inf."""
    if ord == "fro":
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    return matrix_norm_ord(A if dtype is None else A.to(dtype), ord, dim, keepdim)


def diagonal(A, *, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """The diagonal of the matrices over (dim1, dim2), as a view."""
    return _diagonal(A, offset, dim1, dim2)


def cross(input, other, *, dim: int = -1):
    """The cross product of 3-vectors along ``dim`` (default the last), broadcasting."""
    return _cross(input, other, dim)


def _square(A, name: str):
    return _matrices(A, name, square=True)


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
           "matrix_power", "multi_dot", "eigh", "eigvalsh", "eig", "eigvals", "qr", "svd", "svdvals", "pinv",
           "lstsq", "matrix_rank", "solve_triangular", "cond", "vecdot", "vander", "matmul", "diagonal",
           "lu", "lu_factor", "lu_factor_ex", "lu_solve"]
