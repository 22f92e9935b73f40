"""The matrix functions under PyTorch's top-level and method names (``inverse``, ``det``, ``logdet``,
``slogdet``, ``matrix_power``, ``cholesky``, ``chain_matmul``, ``svd``, ``qr``, ``pinverse``,
``triangular_solve``, ``matrix_exp``, ``orgqr``, ``geqrf``, ``cholesky_solve``, ``cholesky_inverse``, ``lu``,
``lu_solve``, ``lu_unpack``):
eigengrad.linalg's, which own them."""
from __future__ import annotations


def _linalg():
    from eigengrad import linalg

    return linalg


def inverse(input, *, out=None):
    return _linalg().inv(input)


def det(input):
    return _linalg().det(input)


def logdet(input):
    return _linalg().logdet(input)


def slogdet(input):
    return _linalg().slogdet(input)


def matrix_power(input, n: int):
    return _linalg().matrix_power(input, n)


def cholesky(input, upper: bool = False, *, out=None):
    return _linalg().cholesky(input, upper=upper)


def chain_matmul(*matrices, out=None):
    """The product of the matrices (``torch.chain_matmul``, deprecated; one matrix is itself)."""
    if len(matrices) == 1:
        return matrices[0].clone()
    return _linalg().multi_dot(matrices)


def svd(input, some: bool = True, compute_uv: bool = True, *, out=None):
    """(U, S, V), V not Vh (the older API; see linalg.svd)."""
    return _linalg().svd_old(input, some, compute_uv)


def qr(input, some: bool = True, *, out=None):
    return _linalg().qr_old(input, some)


def pinverse(input, rcond: float = 1e-15):
    return _linalg().pinverse(input, rcond)


def triangular_solve(b, A, upper: bool = True, transpose: bool = False, unitriangular: bool = False):
    """(X, A) with op(A) X = b: the older argument order of linalg.solve_triangular."""
    a = A.mT if transpose else A
    x = _linalg().solve_triangular(a, b, upper=upper != transpose, unitriangular=unitriangular)
    from collections import namedtuple

    return namedtuple("triangular_solve", ["solution", "cloned_coefficient"])(x, A.clone())


def matrix_exp(input):
    return _linalg().matrix_exp(input)


def orgqr(input, tau):
    return _linalg().householder_product(input, tau)


def geqrf(input, *, out=None):
    return _linalg().geqrf(input, out=out)


def cholesky_solve(B, L, upper: bool = False, *, out=None):
    """X with A X = B, A = L L^T (or U^T U with ``upper``) given its Cholesky factor: two triangular solves
    (batch dims broadcast; differentiable in B and L, PyTorch's gradient of L over the whole matrix)."""
    import numpy as np

    from eigengrad._errors import ArgumentError, ArgumentTypeError
    from eigengrad.autograd.ops_linalg import CholeskySolve

    if B.ndim < 2 or L.ndim < 2:
        raise ArgumentError(f"b should have at least 2 dimensions, but has {B.ndim} dimensions instead"
                            if B.ndim < 2 else f"u should have at least 2 dimensions, but has {L.ndim} dimensions "
                            "instead")
    if B._data.dtype != L._data.dtype:
        raise ArgumentTypeError(f"Expected b and A to have the same dtype, but found b of type {B.dtype} and A of "
                                f"type {L.dtype} instead.")
    if L._data.dtype.kind != "f":
        _linalg()._matrices(L, "cholesky_solve")
    if L.shape[-1] != L.shape[-2]:
        raise ArgumentError(f"A must be batches of square matrices, but they are {L.shape[-2]} by {L.shape[-1]} "
                            "matrices")
    if L.shape[-1] != B.shape[-2]:
        raise ArgumentError(f"Incompatible matrix sizes for cholesky_solve: each A matrix is {L.shape[-1]} by "
                            f"{L.shape[-1]} but each b matrix is {B.shape[-2]} by {B.shape[-1]}")
    batch_b, batch_l = tuple(B.shape[:-2]), tuple(L.shape[:-2])
    if batch_b != batch_l:  # broadcast here, so that each gradient comes back in its input's shape
        try:
            batch = tuple(np.broadcast_shapes(batch_b, batch_l))
        except ValueError:
            raise ArgumentError(f"cholesky_solve: the batch dimensions of b {list(batch_b)} and A {list(batch_l)} "
                                "are not broadcastable") from None
        B, L = B.expand(*batch, *B.shape[-2:]), L.expand(*batch, *L.shape[-2:])
    return CholeskySolve.apply(B, L, upper=bool(upper))


def cholesky_inverse(L, upper: bool = False, *, out=None):
    """A^-1 from A's Cholesky factor (``cholesky_solve`` of the identity)."""
    from eigengrad import eye

    n = L.shape[-1]
    return cholesky_solve(eye(n, dtype=L.dtype).expand(*L.shape[:-2], n, n), L, upper)


def lu(input, pivot: bool = True, get_infos: bool = False):
    """``torch.lu`` / ``Tensor.lu`` (deprecated): (A_LU, pivots[, infos]) of ``linalg.lu_factor_ex``."""
    from eigengrad.linalg_lu import lu_old

    return lu_old(input, pivot, get_infos)


def lu_solve(input, LU_data, LU_pivots, *, out=None):
    """``torch.lu_solve(b, LU_data, LU_pivots)`` (deprecated): ``linalg.lu_solve(LU_data, LU_pivots, b)``."""
    from eigengrad.linalg_lu import lu_solve_old

    return lu_solve_old(input, LU_data, LU_pivots)


def lu_unpack(LU_data, LU_pivots, unpack_data: bool = True, unpack_pivots: bool = True):
    """(P, L, U) of a compact LU factorisation (``torch.lu_unpack``)."""
    from eigengrad.linalg_lu import lu_unpack as unpack

    return unpack(LU_data, LU_pivots, unpack_data, unpack_pivots)


METHODS = ("inverse", "det", "logdet", "slogdet", "matrix_power", "cholesky", "svd", "qr", "pinverse",
           "triangular_solve", "matrix_exp", "orgqr", "geqrf", "cholesky_solve", "cholesky_inverse", "lu", "lu_solve")
FUNCTIONS = METHODS + ("chain_matmul", "lu_unpack")
