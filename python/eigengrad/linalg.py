"""``torch.linalg``: the norms (``vector_norm``, ``norm``, ``matrix_norm`` 'fro', over the C++ reduction kernel),
``cross``, and the square-matrix functions ``inv``, ``det``, ``slogdet``, ``solve``, ``cholesky``,
``matrix_power``, ``multi_dot`` (LAPACK through NumPy; differentiable twice, autograd/ops_linalg.py); the
decompositions and what is built on them come from linalg_decomp.py; ``matrix_exp`` and
``householder_product`` (and ``geqrf``, which eigengrad.geqrf serves) from linalg_matrix_functions.py."""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from eigengrad._errors import ArgumentError, LinAlgError
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
    if dim is None and A.ndim not in (1, 2):
        raise ArgumentError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                            f"Got {A.ndim}D.")
    matrix = (isinstance(dim, (tuple, list)) and len(dim) == 2) or (dim is None and A.ndim == 2)
    if isinstance(ord, str) or matrix:
        if not matrix:
            raise ArgumentError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                                f"Got {A.ndim}D.")
        return matrix_norm(A, ord, (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None):
    """The matrix norm over ``dim``: 'fro', 'nuc', 2, -2, 1, -1, inf, -inf. A must be a floating (batch of)
    matrix and ``dim`` two distinct dims, as PyTorch checks before it reduces."""
    if isinstance(ord, str) and ord not in ("fro", "nuc") or not isinstance(ord, str) and abs(ord) not in (
            1, 2, float("inf")):
        raise ArgumentError(f"linalg.matrix_norm: Order {ord} not supported.")
    _matrices(A, "matrix_norm")
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise ArgumentError(f"linalg.matrix_norm: dim must be a 2-tuple. Got "
                            f"{' '.join(str(d) for d in dim) if isinstance(dim, (tuple, list)) else dim}")
    from eigengrad.tensor_ops import _dims

    if _dims.wrap(dim[0], A.ndim) == _dims.wrap(dim[1], A.ndim):
        raise ArgumentError(f"Expected dims to be different, got ({dim[0]}, {dim[1]}) instead")
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
    """A^-1 (batched); a singular matrix (a zero pivot, as LAPACK finds it) raises LinAlgError, as PyTorch."""
    return L.Inverse.apply(_square(A, "inv"))


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
    if B.ndim == 0:
        raise ArgumentError("linalg.solve: The input tensor B must have at least 1 dimensions.")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    bm = tuple(B.shape) + (1,) if vector else tuple(B.shape)
    n = A.shape[-1]
    if (bm[-2] if left else bm[-1]) != n:
        raise ArgumentError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                            f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {bm[-2]}x{bm[-1]})")
    if vector and not left:
        raise ArgumentError("linalg.solve: Vector broadcasting of the left hand side is not supported for left=False. "
                            "In this case linalg.solve is equivalent to B / A.squeeze(-1)")
    batch_a, batch_b = tuple(A.shape[:-2]), bm[:-2]
    if batch_a != batch_b:  # broadcast the batches here, so that each gradient comes back in its input's shape
        try:
            batch = tuple(np.broadcast_shapes(batch_a, batch_b))
        except ValueError:
            raise ArgumentError(f"linalg.solve: the batch dimensions of A {list(batch_a)} and B {list(batch_b)} are "
                                "not broadcastable") from None
        A = A.expand(*batch, n, n)
        if not vector:
            B = B.expand(*batch, *bm[-2:])
    if not left:
        return solve(A.mT, B.mT).mT
    x = L.Solve.apply(A, B.unsqueeze(-1) if vector else B)
    return x.squeeze(-1) if vector else x


def cholesky(A, *, upper: bool = False, out=None):
    """The lower (or upper) triangular L with A = L L^T."""
    low = L.Cholesky.apply(_square(A, "cholesky"))
    return low.mT if upper else low


def matrix_power(A, n: int):
    """A^n by repeated squaring (n < 0: of the inverse; n = 0: the identity); integer matrices too for n >= 0,
    as PyTorch."""
    if n >= 0 and A._data.dtype.kind in "iu" and A.ndim >= 2 and A.shape[-1] == A.shape[-2]:
        pass  # (integer matrix products; the inverse of n < 0 needs floats)
    else:
        _square(A, "matrix_power")
    if n == 0:
        from eigengrad.tensor import Tensor

        eye = Tensor._wrap(np.broadcast_to(np.eye(A.shape[-1], dtype=A._data.dtype), A.shape).copy())
        if A.requires_grad:  # PyTorch's identity is in the graph: A's gradient is zeros, not None (I - 0 is I)
            from eigengrad.tensor_ops.index import where

            eye = eye - where(Tensor._wrap(np.zeros((), bool)), A, 0.0)
        return eye
    base, result, k = (inv(A) if n < 0 else A), None, abs(int(n))
    while k:
        if k & 1:
            result = base if result is None else result @ base
        k >>= 1
        if k:
            base = base @ base
    return result.clone() if result is A else result  # n = 1: a new tensor, as PyTorch's (not A itself)


def multi_dot(tensors, *, out=None):
    """The product of the matrices left to right (a 1-D first or last operand is a row or column vector)."""
    ts = list(tensors)
    if len(ts) < 2:
        raise ArgumentError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    result = ts[0]
    for t in ts[1:]:
        result = result @ t
    return result


# --- the *_ex forms: (result, info) with LAPACK's info per matrix instead of an error -----------------------

CholeskyExResult = namedtuple("linalg_cholesky_ex", ["L", "info"])
InvExResult = namedtuple("linalg_inv_ex", ["inverse", "info"])
SolveExResult = namedtuple("linalg_solve_ex", ["result", "info"])


def _infos(A, test):
    """The int32 info of each matrix of A (batch shape): ``test`` of the matrix (0 when it succeeds)."""
    from eigengrad.tensor import Tensor

    a = A._data.reshape((-1,) + tuple(A.shape[-2:]))
    return Tensor._wrap(np.array([test(m[None]) for m in a], dtype=np.int32).reshape(tuple(A.shape[:-2])))


def _ex(compute, A, test, check_errors: bool, result_type, core: int = 2):
    """(``compute(A)``, info): info 0 per matrix; where a matrix fails (``check_errors`` off), its info
    (``test``) and NaN in its place in the result (PyTorch leaves it unspecified), the others computed as
    usual (the failing matrices replaced by the identity; ``core``: the result's non-batch dims)."""
    from eigengrad import eye, where
    from eigengrad.tensor import Tensor

    try:
        return result_type(compute(A), Tensor._wrap(np.zeros(tuple(A.shape[:-2]), dtype=np.int32)))
    except LinAlgError:
        if check_errors:
            raise
    info = _infos(A, test)
    bad = Tensor._wrap(info._data != 0)
    out = compute(where(bad.reshape(*bad.shape, 1, 1), eye(A.shape[-1], dtype=A.dtype), A))
    lead = out.ndim - core - bad.ndim  # (the result's batch dims that A's broadcasting added in front)
    return result_type(where(bad.reshape(*(1,) * lead, *bad.shape, *(1,) * core), float("nan"), out), info)


def cholesky_ex(A, *, upper: bool = False, check_errors: bool = False, out=None):
    """(L, info): ``info`` is 0, or the order of the leading minor that is not positive-definite (L is then NaN)."""
    _square(A, "cholesky_ex")
    return _ex(lambda M: cholesky(M, upper=upper), A, L.not_positive_definite, check_errors, CholeskyExResult)


def inv_ex(A, *, check_errors: bool = False, out=None):
    """(inverse, info): ``info`` is 0, or the 1-based index of the zero pivot of a singular matrix."""
    _square(A, "inv_ex")
    return _ex(inv, A, L.zero_pivot, check_errors, InvExResult)


def solve_ex(A, B, *, left: bool = True, check_errors: bool = False, out=None):
    """(result, info) of ``solve``: ``info`` is 0, or the 1-based index of the zero pivot of a singular A."""
    _square(A, "solve_ex")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    return _ex(lambda M: solve(M, B, left=left), A, L.zero_pivot, check_errors, SolveExResult, 1 if vector else 2)


def tensorinv(A, ind: int = 2, *, out=None):
    """The inverse of A for ``tensordot(A, X, ind)``: A viewed as a square matrix (its first ``ind`` dims by the
    rest) inverted, shaped A.shape[ind:] + A.shape[:ind]."""
    if isinstance(ind, bool) or not isinstance(ind, int) or ind <= 0:
        raise ArgumentError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    n_rows, n_cols = math.prod(rows), math.prod(cols)
    if n_rows != n_cols:
        raise ArgumentError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                            f"prod(self.shape[:ind]), but got {n_cols} != {n_rows}")
    result = inv(A.reshape(n_rows, n_cols)).reshape(cols + rows)
    return result if out is None else out.copy_(result)


def tensorsolve(A, B, dims=None, *, out=None):
    """X with ``tensordot(A, X, X.ndim) == B``: A (its ``dims`` moved last) viewed as a square matrix of B.numel()
    rows, solved for B flattened, shaped A.shape[B.ndim:]."""
    if dims is not None:
        dims = tuple(dims)
        A = A.movedim(dims, tuple(range(A.ndim - len(dims), A.ndim)))
    shape = tuple(A.shape[B.ndim:])
    n = math.prod(shape)
    if B.numel() != n:
        raise ArgumentError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                            f"prod(other.shape), but got {n} != {B.numel()}")
    result = solve(A.reshape(B.numel(), n), B.reshape(-1)).reshape(shape)
    return result if out is None else out.copy_(result)


__all__ = ["norm", "vector_norm", "matrix_norm", "cross", "inv", "det", "slogdet", "solve", "cholesky",
           "matrix_power", "multi_dot", "eigh", "eigvalsh", "eig", "eigvals", "qr", "svd", "svdvals", "pinv",
           "lstsq", "matrix_rank", "solve_triangular", "cond", "vecdot", "vander", "matmul", "diagonal",
           "lu", "lu_factor", "lu_factor_ex", "lu_solve", "cholesky_ex", "inv_ex", "solve_ex", "LinAlgError",
           "tensorinv", "tensorsolve"]
