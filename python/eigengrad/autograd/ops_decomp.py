"""Matrix decompositions as primitives (LAPACK through NumPy): the symmetric eigendecomposition, QR, the SVD,
the pseudo-inverse and the triangular solve.

A primitive has one output, so a decomposition returns its factors packed in one array (``_pack``) that
linalg_decomp.py slices: the slices' backward hands the primitive one packed gradient, zero where a factor
was not used. A factor whose gradient is all zero is treated as unused (PyTorch's undefined gradient), so
``svdvals`` or ``eigvalsh`` of a matrix with repeated values keeps a finite gradient.

Gradients (real matrices), written once over a namespace ``m`` of matrix functions (NumPy's for backward,
the tensor operations' for a backward that is itself differentiable), as PyTorch's so that the two agree:
- eigh, A = Q diag(l) Q^T: gA = Q (diag(gl) + skew(Q^T gQ) / E) Q^T, skew(X) = (X - X^T) / 2,
  E_ij = l_j - l_i (Magnus 1985; Giles 2008, "Collected matrix derivative results").
- QR (reduced), m >= n: M = R gR^T - gQ^T Q, gA = (gQ + Q copyltu(M)) R^-T, copyltu(M) the symmetric matrix
  with M's lower triangle; m < n: A = Q [X Y], R = [Rx Ry], gA = [qr'(gQ + Y gRy^T, gRx), Q gRy]
  (Walter & Lehmann 2018; Liao et al. 2019, "Differentiable programming tensor networks").
- SVD, A = U diag(s) Vh: gA = U [(skew(U^T gU) s^T + s skew(Vh gVh^T)) / E + diag(gs)] Vh
  + (I - U U^T) gU diag(1/s) Vh + U diag(1/s) gVh (I - Vh^T Vh), skew(X) = X - X^T, E_jk = s_k^2 - s_j^2
  (Townsend 2016, "Differentiating the singular value decomposition").
- pinv, P = A^+: gA = -P^T gP P^T + (I - A P) gP^T P P^T + P^T P gP^T (I - P A) (Golub & Pereyra 1973).
- LU with partial pivoting, A = P L U (square): gA = P L^-T (tril_-1(L^T gL) + triu(gU U^T)) U^-T (PyTorch's
  linalg_lu_backward for square matrices).
- solve_triangular, X = A^-1 B: gB = A^-T g, gA = -tri(gB X^T), tri the triangle A is read from (its
  strict part when A is unitriangular).
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from eigengrad.autograd import ops_linalg as _LA


def _numpy_math():
    base = vars(_LA._NUMPY)
    return SimpleNamespace(**base, triu=np.triu, diagonal=lambda x: np.diagonal(x, 0, -2, -1), cat=np.concatenate,
                           diag_embed=lambda v: v[..., :, None] * np.eye(v.shape[-1], dtype=v.dtype),
                           eye=lambda n, like: np.eye(n, dtype=like.dtype))


def _tensor_math():
    from eigengrad.tensor import Tensor
    from eigengrad.tensor_ops import shape

    base = vars(_LA._tensor_math())
    eye = lambda n, like: Tensor._wrap(np.eye(n, dtype=like._data.dtype))  # noqa: E731
    base["tril"] = lambda x, k=0: shape.tril(x, k)
    return SimpleNamespace(**base, triu=lambda x, k=0: shape.triu(x, k), cat=lambda xs, dim: shape.cat(xs, dim),
                           diagonal=lambda x: shape.diagonal(x, 0, -2, -1),
                           diag_embed=lambda v: v.unsqueeze(-1) * eye(v.shape[-1], v), eye=eye)


def _raw(x):
    return getattr(x, "_data", x)


def svd(a: np.ndarray, full_matrices: bool = True, compute_uv: bool = True):
    """``np.linalg.svd``, except as PyTorch 2.13's on the matrices LAPACK cannot decompose: one holding a NaN
    raises its LinAlgError (naming the batch element), one holding an infinity gives NaN factors at once
    (LAPACK's gesdd can loop forever on one: float32 [[inf, 1e30, ...]] never returned)."""
    nan = np.isnan(a).any(axis=(-2, -1))
    if nan.any():
        from eigengrad._errors import LinAlgError

        where = f"(Batch element {int(np.flatnonzero(nan.reshape(-1))[0])}): " if a.ndim > 2 else ""
        raise LinAlgError(f"linalg.svd: {where}The algorithm failed to converge because the input matrix contained "
                          "non-finite values.")
    bad = ~np.isfinite(a).all(axis=(-2, -1))
    if not bad.any():
        return np.linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    out = np.linalg.svd(np.where(bad[..., None, None], 0, a), full_matrices=full_matrices, compute_uv=compute_uv)
    for f in out if compute_uv else (out,):
        f[bad] = np.nan
    return out


def eigh(a: np.ndarray, uplo: str = "L"):
    """``np.linalg.eigh``, except that a matrix whose ``uplo`` triangle holds a NaN or an infinity gives NaN
    eigenvalues and eigenvectors, as PyTorch's (NumPy raises that the eigenvalues did not converge)."""
    n = a.shape[-1]
    triangle = np.tril(np.ones((n, n), bool)) if uplo == "L" else np.triu(np.ones((n, n), bool))
    bad = ~np.isfinite(np.where(triangle, a, 0)).all(axis=(-2, -1))
    if not bad.any():
        return np.linalg.eigh(a, UPLO=uplo)
    w, v = np.linalg.eigh(np.where(bad[..., None, None], np.eye(n, dtype=a.dtype), a), UPLO=uplo)
    w[bad], v[bad] = np.nan, np.nan
    return w, v


def _used(g) -> bool:
    return bool(np.any(_raw(g)))


def _pack(shapes, *factors):
    """The factors (of trailing shapes ``shapes``) flattened and concatenated: (..., sum of their sizes)."""
    lead = factors[0].shape[:factors[0].ndim - len(shapes[0])]
    return np.concatenate([f.reshape(lead + (int(np.prod(s, dtype=np.int64)),)) for f, s in zip(factors, shapes)],
                          axis=-1)


def unpack(packed, shapes):
    """The factors of ``_pack`` (arrays or tensors), each of its trailing shape in ``shapes``."""
    lead, out, at = tuple(packed.shape[:-1]), [], 0
    for s in shapes:
        size = int(np.prod(s, dtype=np.int64))
        out.append(packed[..., at:at + size].reshape(lead + tuple(s)))
        at += size
    return out


class _Matrix(_LA._Linalg):
    """ops_linalg's backward, over this file's wider namespaces."""

    @classmethod
    def backward(cls, ctx, g):
        return cls.grad(_numpy_math(), ctx, g, *ctx.saved)

    @classmethod
    def backward_graph(cls, ctx, g):
        return cls.grad(_tensor_math(), ctx, g, *cls.graph_saved(ctx))


class _Decomp(_LA._Linalg):
    """Backward over the unpacked gradient and the saved (packed) output, with NumPy or tensors."""

    @classmethod
    def backward(cls, ctx, g):
        return cls.grad(_numpy_math(), ctx, *unpack(g, ctx.shapes), *unpack(ctx.saved[0], ctx.shapes))

    @classmethod
    def backward_graph(cls, ctx, g):
        factors = unpack(ctx.output_tensor(ctx.saved[0]), ctx.shapes)
        return cls.grad(_tensor_math(), ctx, *unpack(g, ctx.shapes), *factors)


class Eigh(_Decomp):
    """(eigenvalues l, ascending; eigenvectors Q as columns) of the symmetric matrix in A's ``uplo`` triangle."""

    @staticmethod
    def forward(ctx, a, uplo="L"):
        l, q = eigh(a, uplo)
        n = a.shape[-1]
        ctx.shapes = ((n,), (n, n))
        out = _pack(ctx.shapes, l, q)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def grad(m, ctx, gl, gq, l, q):
        inner = m.diag_embed(gl)
        if _used(gq):
            qtg = m.matmul(m.mT(q), gq)
            e = l[..., None, :] - l[..., :, None]
            e = e + m.eye(l.shape[-1], l)  # the diagonal of skew(.) is zero: any non-zero divisor
            inner = inner + (qtg - m.mT(qtg)) * 0.5 / e
        return (m.matmul(m.matmul(q, inner), m.mT(q)),)


def _copyltu(m, x):
    low = m.tril(x, -1)
    return low + m.mT(low) + m.diag_embed(m.diagonal(x))


def _qr_tall(m, gq, gr, q, r):
    """gA of A = QR with m >= n (R square, invertible): (gQ + Q copyltu(M)) R^-T."""
    mm = m.matmul(r, m.mT(gr)) - m.matmul(m.mT(gq), q)
    b = gq + m.matmul(q, _copyltu(m, mm))
    return m.mT(m.solve(r, m.mT(b)))  # b R^-T = (R^-1 b^T)^T


class QR(_Decomp):
    """The reduced QR: Q (m x k) with orthonormal columns, R (k x n) upper triangular, k = min(m, n); with
    ``complete``, Q is m x m and R m x n."""

    @staticmethod
    def forward(ctx, a, complete=False):
        q, r = np.linalg.qr(a, mode="complete" if complete else "reduced")
        ctx.shapes = (q.shape[-2:], r.shape[-2:])
        out = _pack(ctx.shapes, q, r)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def grad(m, ctx, gq, gr, q, r):
        rows, cols = q.shape[-2], r.shape[-1]
        if rows >= cols:
            return (_qr_tall(m, gq, gr, q, r),)
        rx, ry, grx, gry = r[..., :, :rows], r[..., :, rows:], gr[..., :, :rows], gr[..., :, rows:]
        y = m.matmul(q, ry)  # A's right block
        gx = _qr_tall(m, gq + m.matmul(y, m.mT(gry)), grx, q, rx)
        return (m.cat([gx, m.matmul(q, gry)], -1),)


class SVD(_Decomp):
    """U (m x k), s (k, descending), Vh (k x n) with A = U diag(s) Vh, k = min(m, n); with ``full``, U is
    m x m and Vh n x n (their extra columns and rows get no gradient, as in PyTorch)."""

    @staticmethod
    def forward(ctx, a, full=False):
        u, s, vh = svd(a, full_matrices=full)
        ctx.shapes = (u.shape[-2:], s.shape[-1:], vh.shape[-2:])
        out = _pack(ctx.shapes, u, s, vh)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def grad(m, ctx, gu, gs, gvh, u, s, vh):
        k = s.shape[-1]
        rows, cols = u.shape[-2], vh.shape[-1]
        u, vh, gu, gvh = u[..., :, :k], vh[..., :k, :], gu[..., :, :k], gvh[..., :k, :]
        use_u, use_v = _used(gu), _used(gvh)
        inner = m.diag_embed(gs)
        if use_u or use_v:
            s2 = s * s
            e = s2[..., None, :] - s2[..., :, None] + m.eye(k, s)
            t = 0.0
            if use_u:
                utg = m.matmul(m.mT(u), gu)
                t = (utg - m.mT(utg)) * s[..., None, :]
            if use_v:
                vtg = m.matmul(vh, m.mT(gvh))
                t = t + s[..., :, None] * (vtg - m.mT(vtg))
            inner = inner + t / e
        ga = m.matmul(m.matmul(u, inner), vh)
        if rows > k and use_u:  # the part of gU outside U's span
            gus = gu / s[..., None, :]
            ga = ga + m.matmul(gus - m.matmul(u, m.matmul(m.mT(u), gus)), vh)
        if cols > k and use_v:
            gvs = gvh / s[..., :, None]
            ga = ga + m.matmul(u, gvs - m.matmul(m.matmul(gvs, m.mT(vh)), vh))
        return (ga,)


def pinv_values(a, atol, rtol, hermitian: bool):
    """A^+ through the SVD (or eigh when ``hermitian``): singular values at most max(atol, rtol s_max) are
    treated as zero, as torch.linalg.pinv."""
    if a.size == 0:
        return np.zeros(a.shape[:-2] + (a.shape[-1], a.shape[-2]), a.dtype)
    if hermitian:
        w, v = eigh(a)
        s, u, vh = np.abs(w), v, np.swapaxes(v * np.sign(w)[..., None, :], -1, -2)
    else:
        u, s, vh = svd(a, full_matrices=False)
    cut = np.maximum(np.asarray(atol, a.dtype)[..., None], np.asarray(rtol, a.dtype)[..., None] * s.max(-1, keepdims=True))
    inv = np.where(s > cut, 1.0 / np.where(s > cut, s, 1.0), 0.0).astype(a.dtype)
    return np.swapaxes(vh, -1, -2) @ (inv[..., :, None] * np.swapaxes(u, -1, -2))


class Pinv(_Matrix):
    """The Moore-Penrose pseudo-inverse (gradient: Golub & Pereyra, exact where the rank is constant)."""

    @staticmethod
    def forward(ctx, a, atol=0.0, rtol=0.0, hermitian=False):
        p = pinv_values(a, atol, rtol, hermitian)
        ctx.save_for_backward(a, p)
        return p

    @staticmethod
    def graph_saved(ctx):
        a, p = ctx.saved
        return ctx.input_tensor(0, a), ctx.output_tensor(p)

    @staticmethod
    def grad(m, ctx, g, a, p):
        pt, gt = m.mT(p), m.mT(g)
        rows, cols = a.shape[-2], a.shape[-1]
        left = m.eye(rows, p) - m.matmul(a, p)  # I - A P (m x m)
        right = m.eye(cols, p) - m.matmul(p, a)  # I - P A (n x n)
        return (-m.matmul(m.matmul(pt, g), pt) + m.matmul(m.matmul(left, gt), m.matmul(p, pt))
                + m.matmul(m.matmul(m.matmul(pt, p), gt), right),)


def _triangle(m, x, upper: bool, unit: bool):
    return (m.triu(x, 1) if unit else m.triu(x)) if upper else (m.tril(x, -1) if unit else m.tril(x))


class SolveTriangular(_Matrix):
    """X = A^-1 B with A read from its upper or lower triangle (unit diagonal when ``unitriangular``)."""

    @staticmethod
    def forward(ctx, a, b, upper=False, unitriangular=False):
        n = a.shape[-1]
        tri = np.triu(a, 1 if unitriangular else 0) if upper else np.tril(a, -1 if unitriangular else 0)
        if unitriangular:
            tri = tri + np.eye(n, dtype=a.dtype)
        x = np.linalg.solve(tri, b)
        ctx.upper, ctx.unit = upper, unitriangular
        ctx.save_for_backward(tri, x)
        return x

    @staticmethod
    def graph_saved(ctx):
        tri, x = ctx.saved
        return ctx.input_tensor(0, tri), ctx.output_tensor(x)

    @staticmethod
    def grad(m, ctx, g, tri, x):
        # the graph path gets A itself (not the triangle forward solved with): take the triangle again
        tri = _triangle(m, tri, ctx.upper, ctx.unit) + (m.eye(tri.shape[-1], tri) if ctx.unit else 0.0)
        gb = m.solve(m.mT(tri), g)
        ga = -_triangle(m, m.matmul(gb, m.mT(x)), ctx.upper, ctx.unit) if ctx.needs_input_grad[0] else None
        return ga, (gb if ctx.needs_input_grad[1] else None)


def lu_factor_numpy(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Doolittle LU with partial pivoting of (..., m, n) (LAPACK getrf's choices: the largest magnitude in the
    column, the first on a tie): (LU compact, pivots (..., k) 1-based as LAPACK's). A zero pivot leaves its
    column of L zero, as LAPACK does for a singular matrix."""
    lu = np.array(a, dtype=a.dtype, copy=True)
    m, n = lu.shape[-2:]
    k = min(m, n)
    lead = lu.shape[:-2]
    lu = lu.reshape((int(np.prod(lead)), m, n))  # (not -1: ambiguous for an empty matrix)
    rows = np.arange(lu.shape[0])
    pivots = np.zeros((lu.shape[0], k), dtype=np.int32)
    for j in range(k):
        p = j + np.argmax(np.abs(lu[:, j:, j]), axis=1)
        pivots[:, j] = p + 1
        row = lu[rows, j, :].copy()
        lu[rows, j, :] = lu[rows, p, :]
        lu[rows, p, :] = row
        d = lu[:, j, j]
        safe = np.where(d == 0, 1, d)
        lu[:, j + 1:, j] = np.where(d[:, None] == 0, 0, lu[:, j + 1:, j] / safe[:, None])
        lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j, None] * lu[:, j, None, j + 1:]
    return lu.reshape(lead + (m, n)), pivots.reshape(lead + (k,))


def permutation(pivots: np.ndarray, m: int) -> np.ndarray:
    """The row order ``perm`` (A[perm] = L U) that LAPACK's 1-based row swaps ``pivots`` make of m rows."""
    flat = pivots.reshape((int(np.prod(pivots.shape[:-1])), pivots.shape[-1]))  # (-1: ambiguous when empty)
    perm = np.broadcast_to(np.arange(m), (flat.shape[0], m)).copy()
    rows = np.arange(flat.shape[0])
    for j in range(flat.shape[1]):
        p = flat[:, j] - 1
        at = perm[rows, j].copy()
        perm[rows, j] = perm[rows, p]
        perm[rows, p] = at
    return perm.reshape(pivots.shape[:-1] + (m,))


def lu_unpack_numpy(lu: np.ndarray, perm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P, L, U) of a compact LU and its row permutation: P[perm[i], i] = 1, L unit lower (m x k), U (k x n)."""
    m, n = lu.shape[-2:]
    k = min(m, n)
    low = np.tril(lu[..., :, :k], -1) + np.eye(m, k, dtype=lu.dtype)
    up = np.triu(lu[..., :k, :])
    return permutation_matrix(perm, lu.dtype), low, up


def permutation_matrix(perm: np.ndarray, dtype) -> np.ndarray:
    """P with P[perm[i], i] = 1 (so P^T A = A[perm]), for a batch of row orders."""
    m = perm.shape[-1]
    pt = np.zeros(perm.shape[:-1] + (m, m), dtype=dtype)
    np.put_along_axis(pt, perm[..., :, None], 1, axis=-1)
    return np.swapaxes(pt, -1, -2)


class LU(_Decomp):
    """(P, L, U) of the square A = P L U, partial pivoting; P is a constant of the pivots."""

    @staticmethod
    def forward(ctx, a):
        lu, pivots = lu_factor_numpy(a)
        p, low, up = lu_unpack_numpy(lu, permutation(pivots, a.shape[-2]))
        n = a.shape[-1]
        ctx.shapes = ((n, n), (n, n), (n, n))
        out = _pack(ctx.shapes, p, low, up)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def grad(m, ctx, gp, gl, gu, p, low, up):
        phi = m.tril(m.matmul(m.mT(low), gl), -1) + m.triu(m.matmul(gu, m.mT(up)))
        left = m.solve(m.mT(low), phi)  # L^-T phi
        return (m.matmul(p, m.mT(m.solve(up, m.mT(left)))),)  # P (L^-T phi) U^-T
