"""Linear-algebra primitives over batches of square matrices (NumPy's LAPACK forward): inverse, determinant,
log|determinant|, solve and the Cholesky factor. Each derivative is written once as ``grad(m, ...)`` over a
namespace ``m`` of matrix functions: NumPy's for the ordinary backward, these primitives' for a backward that
is itself differentiable (second order). The formulas are the standard ones (Giles 2008, "Collected matrix
derivative results"; Murray 2016 for Cholesky); at a singular matrix the inverse-based ones are inf/NaN."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from eigengrad._errors import LinAlgError
from eigengrad.autograd.function import Primitive


def _mT(x):
    return np.swapaxes(x, -1, -2)


_NUMPY = SimpleNamespace(matmul=np.matmul, mT=_mT, inv=np.linalg.inv, solve=np.linalg.solve,
                         tril=np.tril, diag_half=lambda x: x - 0.5 * np.eye(x.shape[-1], dtype=x.dtype) * x,
                         expand=lambda s: s[..., None, None])


def _tensor_math():
    from eigengrad.tensor_ops import products, shape

    return SimpleNamespace(matmul=products.matmul, mT=lambda x: x.mT, inv=lambda x: Inverse.apply(x),
                           solve=lambda a, b: Solve.apply(a, b), tril=lambda x: shape.tril(x),
                           diag_half=lambda x: x - 0.5 * x * _eye_like(x), expand=lambda s: s.unsqueeze(-1).unsqueeze(-1))


def _eye_like(x):
    from eigengrad.tensor import Tensor

    return Tensor._wrap(np.eye(x.shape[-1], dtype=x._data.dtype))


class _Linalg(Primitive):
    """Backward through ``grad`` with NumPy, backward_graph with the tensor namespace."""

    @classmethod
    def backward(cls, ctx, g):
        return cls.grad(_NUMPY, ctx, g, *ctx.saved)

    @classmethod
    def backward_graph(cls, ctx, g):
        return cls.grad(_tensor_math(), ctx, g, *cls.graph_saved(ctx))


def zero_pivot(a: np.ndarray) -> int:
    """LAPACK getrf's info for the first singular matrix of a batch: the 1-based index of U's first zero
    diagonal element (0: none)."""
    from eigengrad.autograd.ops_decomp import lu_factor_numpy

    diag = np.diagonal(lu_factor_numpy(a.reshape((-1,) + a.shape[-2:]))[0], axis1=-2, axis2=-1)
    zeros = [int(np.flatnonzero(d == 0)[0]) + 1 for d in diag if np.any(d == 0)]
    return zeros[0] if zeros else 0


def not_positive_definite(a: np.ndarray) -> int:
    """LAPACK potrf's info for a symmetric matrix (..., n, n): the order of the first leading minor that is not
    positive-definite (0: none), for the first such matrix of a batch."""
    for m in a.reshape((-1,) + a.shape[-2:]):
        for k in range(1, m.shape[-1] + 1):
            try:
                np.linalg.cholesky(m[:k, :k])
            except np.linalg.LinAlgError:
                return k
    return 0


class Inverse(_Linalg):
    """Y = A^-1; dA = -Y^T g Y^T."""

    @staticmethod
    def forward(ctx, a):
        try:
            y = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            raise LinAlgError(f"linalg.inv: The diagonal element {zero_pivot(a)} is zero, the inversion could not be "
                              "completed because the input matrix is singular.") from None
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def graph_saved(ctx):
        return (ctx.output_tensor(ctx.saved[0]),)

    @staticmethod
    def grad(m, ctx, g, y):
        yt = m.mT(y)
        return (-m.matmul(m.matmul(yt, g), yt),)


class Det(_Linalg):
    """d = det A; dA = g d A^-T."""

    @staticmethod
    def forward(ctx, a):
        d = np.linalg.det(a)
        ctx.save_for_backward(a, d)
        return d

    @staticmethod
    def graph_saved(ctx):
        a, d = ctx.saved
        return ctx.input_tensor(0, a), ctx.output_tensor(d)

    @staticmethod
    def grad(m, ctx, g, a, d):
        if m is _NUMPY and not np.all(d != 0):
            # An exactly singular matrix (LAPACK's zero pivot, which made det 0): PyTorch's first-order backward
            # is g det A^-T through a perturbed LU, so 0 there (np.linalg.inv raised); the others as usual.
            # A 1 x 1 matrix's gradient is g (its cofactor is 1), 0 or not, as PyTorch's.
            if a.shape[-1] == 1:
                return (np.broadcast_to(m.expand(g), a.shape).astype(a.dtype),)
            a = np.where((d == 0)[..., None, None], np.eye(a.shape[-1], dtype=a.dtype), a)
        return (m.expand(g * d) * m.mT(m.inv(a)),)


class LogAbsDet(_Linalg):
    """log|det A| (slogdet's second output); d/dA = A^-T."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.linalg.slogdet(a)[1]

    @staticmethod
    def graph_saved(ctx):
        return (ctx.input_tensor(0, ctx.saved[0]),)

    @staticmethod
    def grad(m, ctx, g, a):
        return (m.expand(g) * m.mT(m.inv(a)),)


class Solve(_Linalg):
    """X = A^-1 B (B a batch of matrices); dB = A^-T g, dA = -dB X^T."""

    @staticmethod
    def forward(ctx, a, b):
        try:
            x = np.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix is singular.") from None
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    def graph_saved(ctx):
        a, x = ctx.saved
        return ctx.input_tensor(0, a), ctx.output_tensor(x)

    @staticmethod
    def grad(m, ctx, g, a, x):
        gb = m.solve(m.mT(a), g)
        ga = -m.matmul(gb, m.mT(x)) if ctx.needs_input_grad[0] else None
        return ga, (gb if ctx.needs_input_grad[1] else None)


def _triangle(m, t, upper: bool):
    return m.mT(m.tril(m.mT(t))) if upper else m.tril(t)


def _cholesky_solve(m, b, factor, upper: bool):
    """(L L^T)^-1 b (U^T U with ``upper``), the factor read from its triangle: two triangular solves."""
    t = _triangle(m, factor, upper)
    if upper:
        return m.solve(t, m.solve(m.mT(t), b))
    return m.solve(m.mT(t), m.solve(t, b))


class CholeskySolve(_Linalg):
    """X = A^-1 B given A's Cholesky factor (``torch.cholesky_solve``), batches already broadcast. PyTorch's
    gradients: dB = cholesky_solve(g), dL = -(dB X^T + X dB^T) L (U (...) with ``upper``), over the whole
    factor as given (not only its triangle)."""

    @staticmethod
    def forward(ctx, b, factor, upper=False):
        ctx.upper = upper
        with np.errstate(divide="ignore", invalid="ignore"):
            try:
                x = _cholesky_solve(_NUMPY, b, factor, upper)
            except np.linalg.LinAlgError:  # a zero on the factor's diagonal: LAPACK's potrs divides by it
                x = np.full(np.broadcast_shapes(b.shape, factor.shape[:-1] + b.shape[-1:]), np.nan, b.dtype)
        ctx.save_for_backward(factor, x)
        return x

    @staticmethod
    def graph_saved(ctx):
        factor, x = ctx.saved
        return ctx.input_tensor(1, factor), ctx.output_tensor(x)

    @staticmethod
    def grad(m, ctx, g, factor, x):
        # (in a differentiable backward, through this primitive again: its own gradient is the whole factor's)
        gb = _cholesky_solve(m, g, factor, ctx.upper) if m is _NUMPY else CholeskySolve.apply(g, factor,
                                                                                              upper=ctx.upper)
        if not ctx.needs_input_grad[1]:
            return gb, None
        common = m.matmul(gb, m.mT(x))
        common = common + m.mT(common)
        gl = -(m.matmul(factor, common) if ctx.upper else m.matmul(common, factor))
        return (gb if ctx.needs_input_grad[0] else None), gl


class Cholesky(_Linalg):
    """L with A = L L^T (lower). With Phi(X) the lower triangle of X, diagonal halved:
    S = L^-T Phi(L^T gL) L^-1, dA = (S + S^T) / 2."""

    @staticmethod
    def forward(ctx, a):
        try:
            low = np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            raise LinAlgError("linalg.cholesky: The factorization could not be completed because the input is not "
                              f"positive-definite (the leading minor of order {not_positive_definite(a)} is not "
                              "positive-definite).") from None
        ctx.save_for_backward(low)
        return low

    @staticmethod
    def graph_saved(ctx):
        return (ctx.output_tensor(ctx.saved[0]),)

    @staticmethod
    def grad(m, ctx, g, low):
        phi = m.diag_half(m.tril(m.matmul(m.mT(low), g)))
        inv = m.inv(low)
        s = m.matmul(m.matmul(m.mT(inv), phi), inv)
        return ((s + m.mT(s)) * 0.5,)
