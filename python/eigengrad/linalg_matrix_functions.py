"""``torch.matrix_exp`` (``linalg.matrix_exp``), ``torch.linalg.householder_product`` (``torch.orgqr``) and
``torch.geqrf``: what ``nn.utils.parametrizations.orthogonal`` is built from.

``matrix_exp`` and ``householder_product`` are compositions of differentiable operations (matrix products,
``linalg.solve``, elementwise arithmetic), so autograd differentiates them to any order; ``geqrf`` is
LAPACK's QR in its Householder form through NumPy and, as in PyTorch, has no derivative.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from eigengrad._errors import ArgumentError
from eigengrad.linalg_decomp import _matrices
from eigengrad.tensor_ops import _out

GeqrfResult = namedtuple("geqrf", ["a", "tau"])

# Higham, "The scaling and squaring method for the matrix exponential revisited", SIAM J. Matrix Anal.
# Appl. 26(4), 2005: the [13/13] Pade approximant's coefficients, and theta_13, the largest 1-norm for
# which it meets double precision's unit roundoff (float32 then has margin to spare).
_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
           129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0,
           960960.0, 16380.0, 182.0, 1.0)
_THETA13 = 5.371920351148152


def _wrap(array):
    from eigengrad.tensor import Tensor

    return Tensor._wrap(array)


def _squarings(a: np.ndarray) -> int:
    """s such that every matrix of the batch, divided by 2^s, has a 1-norm within theta_13 (one s for the
    batch: scaling further than a matrix needs costs it nothing but the extra squarings' rounding)."""
    norm = float(np.max(np.abs(a).sum(axis=-2), initial=0.0))
    if not math.isfinite(norm) or norm <= _THETA13:
        return 0
    return max(0, math.ceil(math.log2(norm / _THETA13)))


def matrix_exp(A):
    r"""e^A = \sum_k A^k / k! of a square matrix or batch of them.

    Scaling and squaring (Higham 2005): e^A = r(A / 2^s)^(2^s) with r = q^{-1} p the [13/13] Pade
    approximant, p(X) = V + U and q(X) = V - U for the odd (U) and even (V) parts, and s the least that
    brings ||A / 2^s||_1 within theta_13. Built from products and one solve, so its gradient (and the
    gradient's gradient) is autograd's; it equals the exact Frechet derivative's adjoint to the
    approximant's accuracy.
    """
    from eigengrad.linalg import solve

    _matrices(A, "matrix_exp", square=True)
    n = A.shape[-1]
    if A._data.size == 0:
        return A * 1.0
    s = _squarings(A._data)
    X = A * (0.5 ** s) if s else A
    b = _PADE13
    eye = _wrap(np.eye(n, dtype=A._data.dtype))
    X2 = X @ X
    X4 = X2 @ X2
    X6 = X4 @ X2
    U = X @ (X6 @ (X6 * b[13] + X4 * b[11] + X2 * b[9]) + X6 * b[7] + X4 * b[5] + X2 * b[3] + eye * b[1])
    V = X6 @ (X6 * b[12] + X4 * b[10] + X2 * b[8]) + X6 * b[6] + X4 * b[4] + X2 * b[2] + eye * b[0]
    R = solve(V - U, V + U)
    for _ in range(s):
        R = R @ R
    return R


def householder_product(A, tau, *, out=None):
    """The first n columns of H_1 ... H_k (see _householder_product); ``out`` receives them."""
    return _out.write(_householder_product(A, tau), out)


def _householder_product(A, tau):
    r"""The first n columns of H_1 H_2 ... H_k for A (..., m, n) and tau (..., k), k <= n <= m:
    H_i = I - tau_i v_i v_i^T with v_i = (0, ..., 0, 1, A[i+1:, i]) (LAPACK's ``orgqr``; with ``geqrf``'s
    output, the Q of the QR decomposition). Differentiable in A and tau.

    In blocked form (the compact WY representation, H_1 ... H_k = I - V T V^T): T^{-1} = striu(V^T V) +
    diag(1 / tau), the UT transform of Joffrain, Low, Quintana-Orti and van de Geijn, "Accumulating
    Householder transformations, revisited", ACM TOMS 32(2), 2006. So Q = I[:, :n] - V T V[:n]^T is two
    products and one triangular solve (a 512 x 256 Q: ~10x faster than k rank-one updates). A reflector
    with tau = 0 (the identity, as LAPACK leaves for a zero column) has no inverse there: then the
    reflectors are applied one by one, right to left."""
    name = "torch.linalg.householder_product"
    if A.ndim < 2:
        raise ArgumentError(f"{name}: input must have at least 2 dimensions.")
    m, n = A.shape[-2], A.shape[-1]
    if m < n:
        raise ArgumentError(f"{name}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    if tau.ndim != A.ndim - 1:
        raise ArgumentError(f"{name}: Expected tau to have one dimension less than input, but got tau.ndim equal "
                            f"to {tau.ndim} and input.ndim is equal to {A.ndim}")
    k = tau.shape[-1]
    if n < k:
        raise ArgumentError(f"{name}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise ArgumentError(f"{name}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
                            f"{list(tau.shape[:-1])}")
    if A._data.dtype.kind != "f" or tau._data.dtype != A._data.dtype:
        raise ArgumentError(f"{name}: Expected input and tau to be floating point tensors of one dtype, got "
                            f"{A._data.dtype} and {tau._data.dtype}")
    dtype = A._data.dtype
    eye = _wrap(np.eye(m, n, dtype=dtype))
    if k == 0:  # no reflector: the identity's columns, still a function of A and tau (gradient zero)
        return eye + A * 0.0 + tau.sum() * 0.0
    # (a branch on tau's values: eg.compile replays the traced one; tau = 0 comes from LAPACK's geqrf of a
    # zero column, never from orthogonal's 2 / (1 + |v|^2))
    if np.all(tau._data != 0):
        from eigengrad import diag_embed
        from eigengrad.linalg_decomp import solve_triangular

        V = A[..., :, :k].tril(-1) + _wrap(np.eye(m, k, dtype=dtype))
        t_inv = (V.mT @ V).triu(1) + diag_embed(1.0 / tau)
        return eye - V @ solve_triangular(t_inv, V[..., :n, :].mT, upper=True)
    Q = eye + A * 0.0  # (batched as A)
    rows = np.arange(m)
    for i in reversed(range(k)):
        below = _wrap((rows > i).astype(dtype))
        unit = _wrap((rows == i).astype(dtype))
        v = (A[..., :, i] * below + unit).unsqueeze(-1)  # (..., m, 1)
        Q = Q - (tau[..., i].unsqueeze(-1).unsqueeze(-1) * v) @ (v.mT @ Q)
    return Q


orgqr = householder_product


def geqrf(input, *, out=None):
    """(a, tau): the QR decomposition in LAPACK's ``geqrf`` form (R on and above a's diagonal, the
    Householder vectors below it, their scalars in tau). Not differentiable, as in PyTorch. ``out``: a
    pair of tensors that receive a and tau."""
    result = _geqrf(input)
    if out is None:
        return result
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"out: expected a pair of tensors (a, tau), got {type(out).__name__}")
    return GeqrfResult(_out.write(result.a, out[0]), _out.write(result.tau, out[1]))


def _geqrf(input):
    if input.ndim < 2:
        raise ArgumentError("torch.geqrf: input must have at least 2 dimensions.")
    _matrices(input, "geqrf")
    a = input._data
    m, n = a.shape[-2], a.shape[-1]
    if a.size == 0:
        return GeqrfResult(_wrap(a.copy()), _wrap(np.zeros(a.shape[:-2] + (min(m, n),), a.dtype)))
    h, tau = np.linalg.qr(a, mode="raw")  # h is LAPACK's (column-major) a, seen transposed
    return GeqrfResult(_wrap(np.ascontiguousarray(np.swapaxes(h, -1, -2)).astype(a.dtype, copy=False)),
                       _wrap(np.ascontiguousarray(tau).astype(a.dtype, copy=False)))
