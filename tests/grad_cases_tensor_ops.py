"""Cases of ``grad_cases.py``'s table for the primitives of the tensor operations (``ops_pointwise``,
``ops_index``, ``ops_reduce``, ``ops_shape``): gradcheck, gradgradcheck and PyTorch parity to second order."""
from __future__ import annotations

import numpy as np

from eigengrad.autograd import ops, ops_decomp as DC, ops_index as X, ops_linalg as LA, ops_pointwise as P, ops_reduce as R, ops_shape as S
from eigengrad import special_zeta as SPZ
from eigengrad.autograd import ops_special as SP
from grad_cases import Case, away, distinct, inputs, normal, positive

IDX_ROWS = np.array([[2, 0], [1, 3], [0, 2]])  # distinct within each row (scatter writes no position twice)
IDX_REPEAT_ROWS = np.array([[1, 1, 0], [2, 0, 2], [3, 3, 3]])
IDX_LIST = np.array([2, 0, 2, 1])
MASK = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]])
MASK_ROW = np.array([True, False, True, True])


def _t(a):
    import torch

    return torch.from_numpy(np.asarray(a))


def between(*shape, low=-0.9, high=0.9):
    return lambda rng: rng.uniform(low, high, shape)


def _matrices(rng):
    """A batch of two well-conditioned 3 x 3 matrices."""
    return rng.standard_normal((2, 3, 3)) * 0.3 + 2.0 * np.eye(3)


def _eigh_parts(a):
    """Of the eigenvalues and Q o Q of the symmetrised input: what does not depend on the eigenvectors' signs
    (the sum of Q o Q times the values would be the trace: linear; its square is not)."""
    l, q = _linalg(a).eigh((a + a.mT) * 0.5)
    return (l * l).sum() + ((q * q) ** 2 * l.unsqueeze(-2)).sum()


def _qr_parts(a):
    q, r = _linalg(a).qr(a)
    sign = r.diagonal(dim1=-2, dim2=-1).sign()
    return (q * sign.unsqueeze(-2)).sum() + (r * sign.unsqueeze(-1) * r).sum()


def _lu_parts(a):
    p, low, up = _linalg(a).lu(a)
    return (low * low.sin()).sum() + (up ** 2).sum()


def _svd_parts(a):
    u, s, vh = _linalg(a).svd(a, full_matrices=False)
    return ((u * u) ** 2 * s).sum() + ((vh * vh) ** 2 * s.unsqueeze(-1)).sum() + (s * s).sum()


def _linalg(t):
    """eigengrad.linalg or torch.linalg, whichever library t belongs to."""
    import eigengrad as eg

    if isinstance(t, eg.Tensor):
        return eg.linalg
    import torch

    return torch.linalg


def _no_ties(*shape):
    return distinct(*shape)


def unary(cls, name: str, method: str, make=None):
    """A case of a unary function: y = f(a) * a (so the piecewise-constant ones still have a gradient)."""
    return Case(cls, name, lambda a: getattr(a, method)() * a, inputs(make or normal(2, 3)),
                lambda a: getattr(a, method)() * a)


TENSOR_OP_CASES = [
    unary(P.Sin, "plain", "sin"),
    unary(P.Cos, "plain", "cos"),
    unary(P.Tan, "plain", "tan", between(2, 3)),
    unary(P.Asin, "plain", "asin", between(2, 3)),
    unary(P.Acos, "plain", "acos", between(2, 3)),
    unary(P.Atan, "plain", "atan"),
    unary(P.Asinh, "plain", "asinh"),
    unary(P.Acosh, "plain", "acosh", positive(2, 3, low=1.2, high=3.0)),
    unary(P.Atanh, "plain", "atanh", between(2, 3)),
    unary(P.Erf, "plain", "erf"),
    unary(P.Erfc, "plain", "erfc"),
    unary(P.Erfinv, "plain", "erfinv", between(2, 3)),
    Case(P.Atan2, "broadcast", lambda a, b: a.atan2(b), inputs(away(2, 3), away(3)), lambda a, b: a.atan2(b)),
    Case(P.Hypot, "broadcast", lambda a, b: a.hypot(b), inputs(away(2, 3), away(3)), lambda a, b: a.hypot(b)),
    # (random values: a tie a == b, where PyTorch's derivative is 0 and the numerical one 1, does not occur)
    # (a bound below every input: where it clamps, the numerical derivative is 0 and PyTorch's rule says 1)
    Case(ops.ClampMinStraight, "unclamped", lambda a: ops.ClampMinStraight.apply(a, -10.0) ** 2, inputs(normal(2, 3))),
    # (b's gradient is zeros, an array: + b.sum() records one, as ZeroGradTo's case)
    Case(ops.Nextafter, "broadcast", lambda a, b: ops.Nextafter.apply(a, b) ** 2 + b.sum(),
         inputs(away(2, 3), away(3)), lambda a, b: a.nextafter(b) ** 2 + b.sum()),
    Case(LA.Inverse, "batch", lambda a: a.inverse(), inputs(_matrices), lambda a: a.inverse()),
    Case(LA.Det, "batch", lambda a: a.det(), inputs(_matrices), lambda a: a.det()),
    Case(LA.LogAbsDet, "batch", lambda a: a.slogdet()[1], inputs(_matrices), lambda a: a.slogdet()[1]),
    Case(LA.Solve, "matrix", lambda a, b: _linalg(a).solve(a, b), inputs(_matrices, normal(2, 3, 2)),
         lambda a, b: _linalg(a).solve(a, b)),
    Case(LA.Cholesky, "spd", lambda a: _linalg(a).cholesky(a @ a.mT), inputs(_matrices),
         lambda a: _linalg(a).cholesky(a @ a.mT)),
    # (the factor's triangle taken first: the value reads only it, the gradient is of the whole factor)
    Case(LA.CholeskySolve, "lower", lambda b, a: b.cholesky_solve(a.tril()), inputs(normal(2, 3, 2), _matrices),
         lambda b, a: b.cholesky_solve(a.tril())),
    Case(LA.CholeskySolve, "upper", lambda b, a: b.cholesky_solve(a.triu(), True),
         inputs(normal(2, 3, 2), _matrices), lambda b, a: b.cholesky_solve(a.triu(), True)),
    Case(DC.Eigh, "invariant", lambda a: _eigh_parts(a), inputs(_matrices), lambda a: _eigh_parts(a)),
    Case(DC.QR, "sign-fixed", lambda a: _qr_parts(a), inputs(normal(2, 4, 3)), lambda a: _qr_parts(a)),
    Case(DC.LU, "pivoted", lambda a: _lu_parts(a), inputs(_matrices), lambda a: _lu_parts(a)),
    Case(DC.SVD, "invariant", lambda a: _svd_parts(a), inputs(normal(3, 5)), lambda a: _svd_parts(a)),
    Case(DC.Pinv, "tall", lambda a: _linalg(a).pinv(a), inputs(normal(4, 3)), lambda a: _linalg(a).pinv(a)),
    Case(DC.SolveTriangular, "lower", lambda a, b: _linalg(a).solve_triangular(a, b, upper=False),
         inputs(_matrices, normal(2, 3, 2)), lambda a, b: _linalg(a).solve_triangular(a, b, upper=False)),
    Case(R.LogCumSumExp, "dim1", lambda a: a.logcumsumexp(1), inputs(normal(2, 4)), lambda a: a.logcumsumexp(1)),
    unary(P.Sinh, "plain", "sinh"),
    unary(P.Cosh, "plain", "cosh"),
    unary(P.Log1p, "plain", "log1p", positive(2, 3)),
    unary(P.Expm1, "plain", "expm1"),
    unary(P.Log2, "plain", "log2", positive(2, 3)),
    unary(P.Log10, "plain", "log10", positive(2, 3)),
    unary(P.Exp2, "plain", "exp2"),
    unary(P.Rsqrt, "plain", "rsqrt", positive(2, 3)),
    unary(P.Reciprocal, "plain", "reciprocal", away(2, 3)),
    unary(P.Sign, "plain", "sign", away(2, 3)),
    unary(P.Floor, "plain", "floor", away(2, 3)),
    unary(P.Ceil, "plain", "ceil", away(2, 3)),
    unary(P.Round, "plain", "round", away(2, 3)),
    unary(P.Trunc, "plain", "trunc", away(2, 3)),
    Case(P.RoundDecimals, "decimals", lambda a: a.round(decimals=1) * a, inputs(away(2, 3)),
         lambda a: a.round(decimals=1) * a),
    Case(P.Remainder, "broadcast", lambda a, b: a.remainder(b) * a, inputs(normal(2, 3), positive(3)),
         lambda a, b: a.remainder(b) * a),
    Case(P.Fmod, "broadcast", lambda a, b: a.fmod(b) * b, inputs(normal(2, 3), positive(3)),
         lambda a, b: a.fmod(b) * b),
    Case(P.DivRounded, "floor", lambda a, b: a.div(b, rounding_mode="floor") * a, inputs(normal(2, 3), positive(3)),
         lambda a, b: a.div(b, rounding_mode="floor") * a),
    Case(ops.Gather, "gather", lambda a: a.gather(1, _eg(IDX_REPEAT_ROWS)) ** 2, inputs(normal(3, 4)),
         lambda a: a.gather(1, _t(IDX_REPEAT_ROWS)) ** 2),
    Case(X.Scatter, "src", lambda x, s: x.scatter(1, _eg(IDX_ROWS), s) ** 2, inputs(normal(3, 4), normal(3, 2)),
         lambda x, s: x.scatter(1, _t(IDX_ROWS), s) ** 2),
    Case(X.Scatter, "value", lambda x: x.scatter(1, _eg(IDX_ROWS), 1.5) * x, inputs(normal(3, 4)),
         lambda x: x.scatter(1, _t(IDX_ROWS), 1.5) * x),
    Case(X.ScatterAdd, "repeated", lambda x, s: x.scatter_add(1, _eg(IDX_REPEAT_ROWS), s) ** 2,
         inputs(normal(3, 4), normal(3, 3)), lambda x, s: x.scatter_add(1, _t(IDX_REPEAT_ROWS), s) ** 2),
    *[Case(X.ScatterReduce, f"{r}-{'self' if inc else 'noself'}",
           lambda x, s, r=r, inc=inc: x.scatter_reduce(1, _eg(IDX_REPEAT_ROWS), s, r, include_self=inc) ** 2,
           inputs(distinct(3, 4) if r in ("amax", "amin") else normal(3, 4),
                  (lambda rng: distinct(3, 3)(rng) + 0.11) if r in ("amax", "amin") else normal(3, 3)),
           lambda x, s, r=r, inc=inc: x.scatter_reduce(1, _t(IDX_REPEAT_ROWS), s, r, include_self=inc) ** 2)
      for r in ("sum", "mean", "amax", "amin", "prod") for inc in (True, False)],
    Case(X.IndexSelect, "repeated", lambda x: x.index_select(1, _eg(IDX_LIST)) ** 2, inputs(normal(3, 3)),
         lambda x: x.index_select(1, _t(IDX_LIST)) ** 2),
    Case(X.IndexSelectAdjoint, "direct",
         lambda g: X.IndexSelectAdjoint.apply(g, index=IDX_LIST, dim=1, shape=(3, 3)) ** 2, inputs(normal(3, 4))),
    Case(X.IndexAdd, "alpha", lambda x, s: x.index_add(0, _eg(IDX_LIST), s, alpha=2.0) ** 2,
         inputs(normal(3, 2), normal(4, 2)), lambda x, s: x.index_add(0, _t(IDX_LIST), s, alpha=2.0) ** 2),
    Case(X.MaskedFill, "tensor-value", lambda x, v: x.masked_fill(_eg(MASK_ROW), v) * x,
         inputs(normal(3, 4), normal()), lambda x, v: x.masked_fill(_t(MASK_ROW), v) * x),
    Case(X.MaskedSelect, "broadcast", lambda x: x.masked_select(_eg(MASK)) ** 2, inputs(normal(4)),
         lambda x: x.masked_select(_t(MASK)) ** 2),
    Case(X.MaskedSelectAdjoint, "direct",
         lambda g: X.MaskedSelectAdjoint.apply(g, mask=MASK, x_shape=(4,)) ** 2, inputs(normal(6))),
    Case(R.Mean, "dims", lambda a: a.mean((0, 2)) ** 2, inputs(normal(2, 3, 2)), lambda a: a.mean((0, 2)) ** 2),
    Case(R.Mean, "all", lambda a: a.mean() * a, inputs(normal(2, 3)), lambda a: a.mean() * a),
    Case(R.Var, "dim", lambda a: a.var(1), inputs(normal(3, 4)), lambda a: a.var(1)),
    Case(R.Var, "std-keepdim-correction0", lambda a: a.std(0, keepdim=True, correction=0) * a,
         inputs(normal(3, 4)), lambda a: a.std(0, keepdim=True, correction=0) * a),
    Case(R.Norm, "p2-dim", lambda a: a.norm(dim=1), inputs(normal(3, 4)), lambda a: a.norm(dim=1)),
    Case(R.Norm, "p1", lambda a: a.norm(p=1) * a, inputs(away(3, 4)), lambda a: a.norm(p=1) * a),
    Case(R.Norm, "inf", lambda a: a.norm(p=float("inf"), dim=0) ** 2, inputs(distinct(3, 4)),
         lambda a: a.norm(p=float("inf"), dim=0) ** 2),
    Case(R.Norm, "p3-keepdim", lambda a: a.norm(p=3, dim=1, keepdim=True) * a, inputs(away(3, 4)),
         lambda a: a.norm(p=3, dim=1, keepdim=True) * a),
    Case(R.Prod, "dim", lambda a: a.prod(1), inputs(away(3, 4)), lambda a: a.prod(1)),
    Case(R.Prod, "all", lambda a: a.prod() * a, inputs(away(2, 3)), lambda a: a.prod() * a),
    Case(R.Prod, "zeros", lambda a: a.prod(1), inputs(lambda rng: np.array([[1.5, 0.0, 2.0], [0.0, 0.0, 1.0],
                                                                          [1.0, -2.0, 0.5]])),
         lambda a: a.prod(1)),
    Case(R.Cumsum, "dim", lambda a: a.cumsum(1) ** 2, inputs(normal(3, 4)), lambda a: a.cumsum(1) ** 2),
    Case(R.Cumprod, "dim", lambda a: a.cumprod(1), inputs(away(3, 4)), lambda a: a.cumprod(1)),
    Case(S.Repeat, "lead", lambda a: a.repeat(2, 1, 3) ** 2, inputs(normal(2, 3)), lambda a: a.repeat(2, 1, 3) ** 2),
    Case(S.Contiguous, "transposed", lambda a: a.t().contiguous() ** 2, inputs(normal(2, 3)),
         lambda a: a.t().contiguous() ** 2),
    Case(S.Flip, "dims", lambda a: a.flip(0, 2) * a, inputs(normal(2, 3, 2)), lambda a: a.flip(0, 2) * a),
    Case(S.Diagonal, "offset", lambda a: a.diagonal(1) ** 2, inputs(normal(3, 4)), lambda a: a.diagonal(1) ** 2),
    Case(S.DiagonalAdjoint, "diag-vector", lambda v: v.diag(-1) ** 2, inputs(normal(3)), lambda v: v.diag(-1) ** 2),
    Case(S.Triangle, "tril", lambda a: a.tril(-1) ** 2, inputs(normal(3, 4)), lambda a: a.tril(-1) ** 2),
    Case(S.Triangle, "triu-batched", lambda a: a.triu(1) * a, inputs(normal(2, 3, 3)), lambda a: a.triu(1) * a),
]


def _special(t):
    """eigengrad.special or torch.special, whichever library t belongs to."""
    import eigengrad as eg

    if isinstance(t, eg.Tensor):
        return eg.special
    import torch

    return torch.special


ZETA_X = np.array([[1.5, 2.0, 3.5], [2.5, 4.0, 6.0]])
GAMMAINC_A = np.array([[0.6, 1.5, 3.0], [2.2, 0.9, 5.0]])  # the shape parameter: no gradient (as PyTorch)


def _like(t, arr):
    """arr as a constant tensor of t's library."""
    import eigengrad as eg

    if isinstance(t, eg.Tensor):
        return eg.tensor(arr)
    return _t(arr)


def special(cls, name: str, fn: str, make=None, *args):
    """A case of a torch.special function: y = f(a, *args) * a."""
    return Case(cls, name, lambda a: getattr(_special(a), fn)(a, *args) * a, inputs(make or normal(2, 3)),
                lambda a: getattr(_special(a), fn)(a, *args) * a)


# torch's trigamma (the derivative of digamma) is a short asymptotic series, ~1e-9 relative below x = 5:
# the lgamma/digamma cases compare with it at x >= 6, where it is within 1e-11 (values near 1 are checked
# against mpmath in tests/test_special.py)
SPECIAL_CASES = [
    special(SP.Lgamma, "plain", "gammaln", positive(2, 3, low=6.0, high=9.0)),
    Case(SP.Lgamma, "small", lambda a: a.lgamma() * a, inputs(positive(2, 3, low=0.2, high=3.0))),  # not torch's trigamma
    special(SP.Digamma, "plain", "digamma", positive(2, 3, low=6.0, high=9.0)),
    Case(SP.Polygamma, "n2", lambda a: a.polygamma(2) * a, inputs(positive(2, 3)), lambda a: a.polygamma(2) * a),
    Case(SP.Polygamma, "n1-negative", lambda a: a.polygamma(1) * a, inputs(positive(2, 3, low=-2.9, high=-2.1))),
    special(SP.I0, "plain", "i0"),
    special(SP.I1, "plain", "i1"),
    special(SP.I0e, "plain", "i0e", away(2, 3)),
    special(SP.I1e, "plain", "i1e", away(2, 3)),
    special(SP.Erfcx, "plain", "erfcx", normal(2, 3)),
    special(SP.Erfcx, "tail", "erfcx", positive(2, 3, low=2.5, high=6.0)),
    special(SP.Ndtri, "plain", "ndtri", positive(2, 3, low=0.05, high=0.95)),
    special(SP.LogNdtr, "plain", "log_ndtr", normal(2, 3)),
    special(SP.LogNdtr, "tail", "log_ndtr", positive(2, 3, low=-12.0, high=-6.0)),
    special(SP.Entr, "plain", "entr", positive(2, 3)),
    Case(SP.Gammainc, "lower", lambda x: _special(x).gammainc(_like(x, GAMMAINC_A), x) * x, inputs(positive(2, 3)),
         lambda x: _special(x).gammainc(_like(x, GAMMAINC_A), x) * x),
    Case(SP.Gammainc, "upper", lambda x: _special(x).gammaincc(_like(x, GAMMAINC_A), x) * x,
         inputs(positive(2, 3, low=2.0, high=6.0)), lambda x: _special(x).gammaincc(_like(x, GAMMAINC_A), x) * x),
    # Hurwitz zeta(x, q): differentiable in q only (d/dq = -x zeta(x + 1, q); PyTorch has no derivative in x)
    Case(SPZ.Zeta, "q", lambda q: _special(q).zeta(_like(q, ZETA_X), q) * q, inputs(positive(2, 3, low=0.5, high=3.0)),
         lambda q: _special(q).zeta(_like(q, ZETA_X), q) * q),
]
TENSOR_OP_CASES += SPECIAL_CASES

EXEMPT = {
    "UnaryMath": "the base of the unary math primitives (each subclass has its case)",
    "NotDifferentiable": "raises by design: the node of an op PyTorch records without a derivative (heaviside; "
                         "tests/test_parity_sweep_fixes.py)",
    "_Special": "the base of the special-function primitives of ops_special (each subclass has its case)",
    "StandardGamma": "first order only, as PyTorch's _standard_gamma; its output is a random draw (no gradcheck): "
                     "dx/dalpha is checked against mpmath in tests/test_distributions_more.py",
    "_Modulo": "the base of Remainder and Fmod (each has its case)",
    "_Linalg": "the base of the linear-algebra primitives (each subclass has its case)",
    "_Matrix": "the base of Pinv and SolveTriangular (each has its case)",
    "_Decomp": "the base of the decompositions Eigh, QR, SVD, LU (each has its case)",
}


def _eg(a):
    import eigengrad as eg

    return eg.tensor(np.asarray(a))
