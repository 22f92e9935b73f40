"""LU factorisation with partial pivoting (``torch.linalg.lu``, ``lu_factor``, ``lu_factor_ex``, ``lu_solve``,
``torch.lu_unpack``, ``torch.lu``, ``torch.lu_solve``), as Glow's invertible 1x1 convolutions and solvers use them.

A = P L U with P a permutation, L unit lower triangular and U upper triangular; ``pivots`` are LAPACK's
(1-based: row i was swapped with row pivots[i] at step i). ``linalg.lu`` of a square matrix is a primitive
with PyTorch's gradient (ops_decomp.LU); the compact ``LU``, ``lu_unpack`` and ``lu_solve`` are made of it and
of differentiable triangle and triangular-solve operations, so they are differentiable too. A rectangular
matrix is factorised without a gradient.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from eigengrad._errors import ArgumentError
from eigengrad.autograd import ops_decomp as D
from eigengrad.autograd.grad_mode import is_grad_enabled

LUResult = namedtuple("LUResult", ["P", "L", "U"])
LUFactorResult = namedtuple("LUFactorResult", ["LU", "pivots"])
LUFactorExResult = namedtuple("LUFactorExResult", ["LU", "pivots", "info"])


def _wrap(a):
    from eigengrad.tensor import Tensor

    return Tensor._wrap(np.ascontiguousarray(a) if np.ndim(a) else np.asarray(a))  # (a 0-d array stays 0-d)


def _input(A, name: str):
    from eigengrad.linalg_decomp import _matrices

    _matrices(A, name)
    return A


def _factor(A, name: str):
    """(P, L, U) tensors and the pivots array of A; differentiable for a square A."""
    _input(A, name)
    lu, pivots = D.lu_factor_numpy(A._data)
    m, n = A.shape[-2:]
    if m == n and A.requires_grad and is_grad_enabled():
        p, low, up = D.unpack(D.LU.apply(A), ((n, n),) * 3)
        return p.detach(), low, up, pivots
    if A.requires_grad and is_grad_enabled():
        raise ArgumentError(f"{name}: the gradient of a rectangular ({m} x {n}) LU factorisation is not built in "
                            "eigengrad; factorise a square matrix, or under no_grad()")
    p, low, up = D.lu_unpack_numpy(lu, D.permutation(pivots, m))
    return _wrap(p), _wrap(low), _wrap(up), pivots


def lu(A, *, pivot: bool = True, out=None) -> LUResult:
    """(P, L, U) with A = P L U: P a permutation matrix, L (m x k) unit lower and U (k x n) upper triangular."""
    _pivoting(pivot, "linalg.lu")
    p, low, up, _ = _factor(A, "linalg.lu")
    return LUResult(p, low, up)


def lu_factor(A, *, pivot: bool = True, out=None) -> LUFactorResult:
    """The compact factorisation: ``LU`` holds L below the diagonal (its unit diagonal implied) and U on and above
    it; ``pivots`` (int32, 1-based) the row swaps. A singular matrix is factorised (U has a zero on its diagonal),
    as PyTorch's."""
    result = lu_factor_ex(A, pivot=pivot)
    return LUFactorResult(result.LU, result.pivots)


def lu_factor_ex(A, *, pivot: bool = True, check_errors: bool = False, out=None) -> LUFactorExResult:
    """``lu_factor`` and ``info`` (0, or i + 1 when U[i, i] is the first exact zero on U's diagonal)."""
    _pivoting(pivot, "linalg.lu_factor")
    _, low, up, pivots = _factor(A, "linalg.lu_factor")
    zero = np.diagonal(up._data, 0, -2, -1) == 0
    first = zero.argmax(-1) if zero.shape[-1] else np.zeros(zero.shape[:-1], np.intp)  # (a 0 x n matrix: none)
    info = np.where(zero.any(-1), first + 1, 0).astype(np.int32)
    if check_errors and np.any(info > 0):
        first = int(info[info > 0].reshape(-1)[0]) - 1
        raise ArgumentError(f"linalg.lu_factor_ex: U[{first}, {first}] is zero, singular U.")
    return LUFactorExResult(_compact(low, up, min(A.shape[-2:])), _wrap(pivots), _wrap(info))


def _compact(low, up, k: int):
    """L's strict lower part and U, as one m x n matrix (differentiable)."""
    from eigengrad.tensor_ops.shape import cat, tril, triu

    m, n = low.shape[-2], up.shape[-1]
    lower = tril(low, -1)  # m x k
    upper = triu(up)  # k x n
    if m == n:
        return lower + upper
    if m > n:  # tall: U sits in the top k rows
        return lower + cat([upper, upper.new_zeros(upper.shape[:-2] + (m - k, n))], -2)
    return cat([lower, lower.new_zeros(lower.shape[:-2] + (m, n - k))], -1) + upper


def _permutation(pivots: np.ndarray, m: int) -> np.ndarray:
    """``D.permutation`` of user-given pivots, checked (LAPACK's 1-based row numbers)."""
    if pivots.size and (pivots.min() < 1 or pivots.max() > m):
        raise ArgumentError(f"pivots: expected values in [1, {m}] (LAPACK's 1-based row swaps), got "
                            f"[{int(pivots.min())}, {int(pivots.max())}]")
    return D.permutation(pivots, m)


def lu_unpack(LU_data, LU_pivots, unpack_data: bool = True, unpack_pivots: bool = True) -> LUResult:
    """(P, L, U) of ``lu_factor``'s output (``torch.lu_unpack``); L and U differentiable in ``LU_data``."""
    from eigengrad.tensor_ops.shape import tril, triu

    m, n = LU_data.shape[-2:]
    k = min(m, n)
    pivots = np.asarray(getattr(LU_pivots, "_data", LU_pivots))
    if pivots.shape[-1:] != (k,):
        raise ArgumentError(f"lu_unpack: expected LU_pivots of trailing size {k} (min of LU_data's last two dims), "
                            f"got shape {tuple(pivots.shape)}")
    empty = _wrap(np.zeros((0,), LU_data._data.dtype))
    if unpack_data:
        eye = _wrap(np.eye(m, k, dtype=LU_data._data.dtype))
        low, up = tril(LU_data[..., :, :k], -1) + eye, triu(LU_data[..., :k, :])
    else:
        low = up = empty
    if unpack_pivots:
        p = _wrap(D.permutation_matrix(_permutation(pivots, m), LU_data._data.dtype))
    else:
        p = empty
    return LUResult(p, low, up)


def lu_solve(LU, pivots, B, *, left: bool = True, adjoint: bool = False, out=None):
    """X with A X = B (``left``) or X A = B, A given by ``lu_factor``; ``adjoint`` solves with A^T."""
    from eigengrad.linalg_decomp import solve_triangular

    p, low, up = lu_unpack(LU, pivots)
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return lu_solve(LU, pivots, B.mT, left=True, adjoint=not adjoint).mT
    if adjoint:  # A^T X = B with A^T = U^T L^T P^T: X = P L^-T U^-T B
        y = solve_triangular(up.mT, B, upper=False)
        return p @ solve_triangular(low.mT, y, upper=True, unitriangular=True)
    y = solve_triangular(low, p.mT @ B, upper=False, unitriangular=True)
    return solve_triangular(up, y, upper=True)


def lu_old(A, pivot: bool = True, get_infos: bool = False):
    """``torch.lu`` (deprecated): (A_LU, pivots) or, with ``get_infos``, (A_LU, pivots, infos)."""
    result = lu_factor_ex(A, pivot=pivot)
    return (result.LU, result.pivots, result.info) if get_infos else (result.LU, result.pivots)


def lu_solve_old(b, LU_data, LU_pivots):
    """``torch.lu_solve(b, LU_data, LU_pivots)`` (deprecated): ``linalg.lu_solve(LU_data, LU_pivots, b)``."""
    return lu_solve(LU_data, LU_pivots, b)


def _pivoting(pivot: bool, name: str) -> None:
    if not pivot:
        raise ArgumentError(f"{name}: LU without pivoting is not implemented on the CPU")
