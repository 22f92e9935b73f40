"""``torch.linalg``'s decompositions and what is built on them: ``eigh``, ``eigvalsh``, ``qr``, ``svd``,
``svdvals``, ``pinv``, ``lstsq``, ``matrix_rank``, ``solve_triangular``, ``cond`` and the spectral and
nuclear matrix norms; the older top-level ``torch.svd``/``qr``/``pinverse``. The primitives (and the
gradient formulas with their papers) are in autograd/ops_decomp.py; eigengrad.linalg re-exports these."""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from eigengrad._errors import ArgumentError, ArgumentTypeError
from eigengrad.autograd import ops_decomp as D
from eigengrad.autograd.grad_mode import is_grad_enabled

EighResult = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
EigResult = namedtuple("linalg_eig", ["eigenvalues", "eigenvectors"])
QRResult = namedtuple("linalg_qr", ["Q", "R"])
SVDResult = namedtuple("linalg_svd", ["U", "S", "Vh"])
OldSVDResult = namedtuple("svd", ["U", "S", "V"])
LstsqResult = namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])


def _matrices(A, name: str, square: bool = False):
    if A.ndim < 2:
        raise ArgumentError(f"linalg.{name}: The input tensor A must have at least 2 dimensions.")
    if square and A.shape[-1] != A.shape[-2]:
        raise ArgumentError(f"linalg.{name}: A must be batches of square matrices, but they are {A.shape[-2]} by "
                            f"{A.shape[-1]} matrices")
    if A._data.dtype.kind != "f":
        raise ArgumentTypeError(f"linalg.{name}: Expected a floating point or complex tensor as input. Got "
                                f"{A._data.dtype}")
    return A


def _wrap(array):
    from eigengrad.tensor import Tensor

    return Tensor._wrap(array)


def eigh(A, UPLO: str = "L", *, out=None):
    """(eigenvalues ascending, eigenvectors as columns) of the symmetric matrices whose ``UPLO`` triangle A
    holds. The eigenvectors' signs are LAPACK's: only what does not depend on them is unique."""
    if A.ndim >= 2 and A.shape[-1] == A.shape[-2] and A._data.dtype.kind != "f":  # PyTorch: no kernel
        from eigengrad._errors import DtypeNotSupportedError
        from eigengrad.autograd.inplace import _torch_name

        raise DtypeNotSupportedError(f"\"linalg_eigh_cpu\" not implemented for '{_torch_name(A._data.dtype)}'")
    _matrices(A, "eigh", square=True)
    if UPLO not in ("L", "U"):
        raise ArgumentError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    l, q = D.unpack(D.Eigh.apply(A, uplo=UPLO), ((A.shape[-1],), (A.shape[-1],) * 2))
    return EighResult(l, q)


def eigvalsh(A, UPLO: str = "L", *, out=None):
    """The eigenvalues of the symmetric matrices, ascending."""
    return eigh(A, UPLO)[0]


def eig(A, *, out=None):
    """(eigenvalues, eigenvectors) of a general square matrix whose eigenvalues are all real, as real tensors
    (PyTorch's are complex with zero imaginary parts; ``.real`` gives the same numbers). eigengrad has no
    complex tensors: complex eigenvalues raise, naming linalg.eigh for symmetric matrices; no gradient."""
    values, vectors = _real_eig(A, "eig")
    return EigResult(_wrap(values), _wrap(vectors))


def eigvals(A, *, out=None):
    """The eigenvalues of a general square matrix, when all are real (see :func:`eig`)."""
    return _wrap(_real_eig(A, "eigvals")[0])


def _real_eig(A, name: str):
    _matrices(A, name, square=True)
    if A.requires_grad and is_grad_enabled():
        raise ArgumentError(f"linalg.{name}: the gradient of a general eigendecomposition is not built in eigengrad; call it "
                            "under no_grad(), or use linalg.eigh for a symmetric matrix")
    if not np.isfinite(A._data).all():  # (NumPy's error is a ValueError; PyTorch's a RuntimeError)
        raise ArgumentError(f"torch.linalg.{name}: input tensor should not contain infs or NaNs.")
    values, vectors = np.linalg.eig(A._data)
    if np.iscomplexobj(values) and np.any(values.imag != 0):
        raise ArgumentError(f"linalg.{name}: the matrix has complex eigenvalues, and eigengrad has no complex tensors "
                            "(linalg.eigh decomposes symmetric matrices, whose eigenvalues are real)")
    return np.ascontiguousarray(values.real), np.ascontiguousarray(vectors.real)


def qr(A, mode: str = "reduced", *, out=None):
    """A = QR: ``reduced`` (Q m x k, R k x n, k = min(m, n)), ``complete`` (Q m x m) or ``r`` (R alone, Q
    empty; not differentiable, as in PyTorch)."""
    _matrices(A, "qr")
    if mode not in ("reduced", "complete", "r"):
        raise ArgumentError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                            "'r', or 'complete'")
    m, n = A.shape[-2], A.shape[-1]
    if mode == "r":
        r = np.linalg.qr(A._data, mode="r")
        return QRResult(_wrap(np.zeros((0,), A._data.dtype)), _wrap(np.ascontiguousarray(r)))
    if mode == "complete" and m > n and A.requires_grad:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
    q_cols = m if mode == "complete" else min(m, n)
    packed = D.QR.apply(A, complete=mode == "complete")
    q, r = D.unpack(packed, ((m, q_cols), (q_cols, n)))
    return QRResult(q, r)


def svd(A, full_matrices: bool = True, *, driver=None, out=None):
    """A = U diag(S) Vh, S descending; ``full_matrices``: U m x m and Vh n x n, else k = min(m, n) columns
    and rows. The singular vectors' signs are LAPACK's."""
    _matrices(A, "svd")
    m, n = A.shape[-2], A.shape[-1]
    k = min(m, n)
    shapes = ((m, m), (k,), (n, n)) if full_matrices else ((m, k), (k,), (k, n))
    return SVDResult(*D.unpack(D.SVD.apply(A, full=bool(full_matrices)), shapes))


def svdvals(A, *, driver=None, out=None):
    """The singular values, descending."""
    return svd(A, full_matrices=False)[1]


def _tolerances(A, atol, rtol):
    """PyTorch's defaults: rtol = eps max(m, n) when neither is given, 0 when only atol is."""
    to_array = lambda t: None if t is None else np.asarray(getattr(t, "_data", t), dtype=A._data.dtype)  # noqa: E731
    atol, rtol = to_array(atol), to_array(rtol)
    if rtol is None:
        rtol = np.asarray(np.finfo(A._data.dtype).eps * max(A.shape[-2:]) if atol is None or not np.any(atol > 0)
                          else 0.0, A._data.dtype)
    return (np.asarray(0.0, A._data.dtype) if atol is None else atol), rtol


def pinv(A, *, atol=None, rtol=None, hermitian: bool = False, out=None):
    """The Moore-Penrose pseudo-inverse; singular values at most max(atol, rtol s_max) count as zero."""
    _matrices(A, "pinv", square=hermitian)
    atol, rtol = _tolerances(A, atol, rtol)
    return D.Pinv.apply(A, atol=atol, rtol=rtol, hermitian=bool(hermitian))


def matrix_rank(A, tol=None, hermitian: bool = False, *, atol=None, rtol=None, out=None):
    """The number of singular values above max(atol, rtol s_max) (int64); PyTorch's older ``tol`` (also
    positional) is ``atol`` with rtol 0."""
    if tol is not None:
        if atol is not None or rtol is not None:
            raise ArgumentError("linalg.matrix_rank: tol cannot be given with atol or rtol")
        atol, rtol = tol, 0.0
    _matrices(A, "matrix_rank", square=hermitian)
    atol, rtol = _tolerances(A, atol, rtol)
    a = A._data
    if a.size == 0:
        return _wrap(np.zeros(a.shape[:-2], np.int64))
    s = np.abs(D.eigh(a)[0]) if hermitian else D.svd(a, compute_uv=False)
    cut = np.maximum(atol[..., None], rtol[..., None] * s.max(-1, keepdims=True))
    return _wrap(np.asarray((s > cut).sum(-1), np.int64))


def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares solution of A X = B, as PyTorch's CPU default (driver 'gelsy'): ``rank`` is
    computed and ``residuals`` and ``singular_values`` are empty unless driver 'gelsd'/'gelss' is asked for
    (then the squared residual norms when m > n and A has full rank, and the singular values)."""
    _matrices(A, "lstsq")
    if driver not in (None, "gelsy", "gelsd", "gelss", "gels"):
        raise ArgumentError(f"torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss), "
                            f"but got {driver}")
    vector = B.ndim == A.ndim - 1
    b = B.unsqueeze(-1) if vector else B
    if b.shape[-2] != A.shape[-2]:
        raise ArgumentError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2). Got {A.shape[-2]} "
                            f"and {b.shape[-2]}")
    rtol = None if rcond is None else rcond
    x = pinv(A, rtol=rtol) @ b
    dtype = A._data.dtype
    empty = _wrap(np.zeros((0,), dtype))
    rank = matrix_rank(A, rtol=rtol) if driver != "gels" else _wrap(np.zeros((0,), np.int64))
    residuals, values = empty, empty
    if driver in ("gelsd", "gelss"):
        values = svdvals(A.detach())
        m, n = A.shape[-2], A.shape[-1]
        if m > n and bool(np.all(rank._data == n)):
            residuals = ((A @ x - b) ** 2).sum(-2)
    return LstsqResult(x.squeeze(-1) if vector else x, residuals, rank, values)


def solve_triangular(A, B, *, upper: bool, left: bool = True, unitriangular: bool = False, out=None):
    """X with A X = B (``left``) or X A = B, A read from its upper or lower triangle."""
    _matrices(A, "solve_triangular", square=True)
    if not left:
        return solve_triangular(A.mT, B.mT, upper=not upper, unitriangular=unitriangular).mT
    if B.ndim < 2:
        raise ArgumentError("linalg.solve_triangular: The input tensor B must have at least 2 dimensions.")
    return D.SolveTriangular.apply(A, B, upper=bool(upper), unitriangular=bool(unitriangular))


def matrix_norm_ord(A, ord, dim=(-2, -1), keepdim: bool = False):
    """The matrix norms other than Frobenius: 'nuc' and +-2 (from the singular values), +-1 and +-inf (the
    largest or smallest absolute column or row sum)."""
    from eigengrad.tensor_ops.shape import movedim

    d0, d1 = (d % A.ndim for d in dim)
    if ord in ("nuc", 2, -2):
        s = svdvals(movedim(A, (d0, d1), (-2, -1)))
        r = s.sum(-1) if ord == "nuc" else _max_min(s, -1, ord, False)
        if keepdim:
            for d in sorted((d0, d1)):
                r = r.unsqueeze(d)
        return r
    if ord in (1, -1, math.inf, -math.inf):
        summed, other = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = A.abs().sum(summed, keepdim=True)
        r = _max_min(sums, other, ord, True)
        return r if keepdim else r.squeeze(max(d0, d1)).squeeze(min(d0, d1))
    raise ArgumentError(f"linalg.matrix_norm: Order {ord} not supported.")


def _max_min(t, dim: int, ord, keepdim: bool):
    """The max (ord > 0) or min over ``dim`` of nonnegative values; PyTorch's max over an empty dim is 0, its
    min raises amin's IndexError."""
    if ord > 0:  # (PyTorch's 0 there is outside the graph for 1, 2 and inf; 'nuc' sums, in the graph)
        return t.sum(dim, keepdim=keepdim).detach() if t.shape[dim] == 0 else t.amax(dim, keepdim=keepdim)
    return t.amin(dim, keepdim=keepdim)


def cond(A, p=None, *, out=None):
    """The condition number ||A|| ||A^-1|| in the ``p`` norm (None: 2, s_max / s_min)."""
    A = _matrices(A, "cond", square=p is not None and p not in (2, -2))
    if 0 in A.shape[-2:]:  # (an empty matrix: 0 for every p, as PyTorch's; a sum keeps the graph and the dtype)
        return A.abs().sum((-2, -1))
    if p is None or p in (2, -2):
        s = svdvals(A)
        return s.amax(-1) / s.amin(-1) if p != -2 else s.amin(-1) / s.amax(-1)
    from eigengrad.linalg import inv, matrix_norm

    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def vecdot(x, y, *, dim: int = -1, out=None):
    """sum(x * y) over ``dim``, broadcasting."""
    return (x * y).sum(dim)


def vander(x, *, N=None):
    """The Vandermonde matrix of x: columns x^0, x^1, ..., x^(N-1) (increasing powers, as torch.linalg)."""
    n = x.shape[-1] if N is None else int(N)
    if n <= 1:
        raise ArgumentError("N must be greater than 1.")
    from eigengrad.tensor_ops.creation import ones_like
    from eigengrad.tensor_ops.shape import stack

    cols = [ones_like(x)]
    while len(cols) < n:  # products, not powers: x**0 would give a NaN gradient at x = 0
        cols.append(cols[-1] * x)
    return stack(cols, -1)


# --- PyTorch's older top-level names ------------------------------------------------------------------------


def svd_old(input, some: bool = True, compute_uv: bool = True, *, out=None):
    """``torch.svd``: (U, S, V) with V, not Vh; ``some=False`` gives the full U and V; without ``compute_uv``,
    U and V are square zero matrices (m x m and n x n, whatever ``some``: PyTorch's)."""
    if not compute_uv:
        S = svdvals(input)
        *batch, m, n = input.shape
        zeros = lambda k: _wrap(np.zeros((*batch, k, k), dtype=input._data.dtype))  # noqa: E731
        return OldSVDResult(zeros(m), S, zeros(n))
    U, S, Vh = svd(input, full_matrices=not some)
    return OldSVDResult(U, S, Vh.mT)


def qr_old(input, some: bool = True, *, out=None):
    return qr(input, "reduced" if some else "complete")


def pinverse(input, rcond: float = 1e-15):
    return pinv(input, rtol=rcond)
