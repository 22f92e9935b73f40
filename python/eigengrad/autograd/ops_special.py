"""Special functions as autograd primitives (``torch.special``'s and ``torch.lgamma``/``digamma``/...): the
forward is ``special_math``'s NumPy algorithm in float64, cast back to the input's dtype; each derivative is
written once as ``grad(m, g, saved)`` (see ``ops_pointwise.UnaryMath``) over NumPy, or over this module's
primitives for a differentiable backward, so every order of derivative is available:

    d lgamma = digamma,  d digamma = polygamma(1),  d polygamma(n) = polygamma(n + 1),
    d i0 = i1,  d i1 = i0 - i1 / x (1/2 at 0),  d i0e = i1e - sign(x) i0e,  d i1e = i0e - i1e (sign(x) + 1/x),
    d erfcx = 2 x erfcx - 2 / sqrt(pi),  d ndtri = sqrt(2 pi) e^(y^2 / 2),
    d log_ndtr = e^(-x^2 / 2 - log_ndtr(x)) / sqrt(2 pi),  d entr = -(1 + log x).

The x = 0 rules of i1 and i1e are PyTorch's (``i1_backward``: 1/2 where |x| <= eps).
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from eigengrad.autograd import ops, special_math as S
from eigengrad.autograd.function import Primitive
from eigengrad.autograd.ops_pointwise import UnaryMath

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_SQRT1_2 = math.sqrt(0.5)


def _in_float64(fn):
    """fn over float64, the result cast back to the input's dtype (float32 stays float32)."""
    def f(x):
        x = np.asarray(x)
        with np.errstate(all="ignore"):
            return np.asarray(fn(x.astype(np.float64)), dtype=np.float64).astype(x.dtype, copy=False)
    return f


def _log_ndtr64(x: np.ndarray) -> np.ndarray:
    """log Phi(x): log1p(-erfc(x / sqrt 2) / 2) for x >= 0; log(erfcx(-x / sqrt 2) / 2) - x^2 / 2 below (no
    underflow of Phi in the lower tail)."""
    pos = x >= 0
    upper = np.log1p(-0.5 * S.erfc64(np.where(pos, x, 0.0) * _SQRT1_2))
    xn = np.where(pos, 0.0, x)
    lower = np.log(0.5 * S.erfcx(-xn * _SQRT1_2)) - 0.5 * xn * xn
    return np.where(pos, upper, lower)


def _entr64(x: np.ndarray) -> np.ndarray:
    """-x log x for x > 0, 0 at 0, -inf below (NaN stays NaN), as PyTorch."""
    safe = np.where(x > 0, x, 1.0)
    return np.where(x > 0, -x * np.log(safe), np.where(x == 0, 0.0, np.where(x < 0, -np.inf, x)))


def _tiny_safe(m, x):
    """(|x| > eps, x with eps where it is not): PyTorch's guard of the 1/x terms at x = 0."""
    eps = float(np.finfo(x.dtype if isinstance(x, np.ndarray) else x._data.dtype).eps)
    big = m.abs(x) > eps
    return big, m.where(big, x, eps)


def _i1_grad(m, g, x):
    big, safe = _tiny_safe(m, x)
    return g * m.where(big, m.i0(safe) - m.i1(safe) / safe, 0.5)


def _i1e_grad(m, g, x):
    big, safe = _tiny_safe(m, x)
    return g * m.where(big, m.i0e(safe) - m.i1e(safe) * (m.sign(safe) + 1.0 / safe), 0.5)


class _Special(UnaryMath):
    """UnaryMath whose derivative formulas name special functions (``_NP`` over arrays, ``_TENSOR`` over
    tensors, both defined below), not plain NumPy."""

    @classmethod
    def backward(cls, ctx, g):
        with np.errstate(all="ignore"):  # the poles' inf and NaN are the answer there
            return (cls.grad(_NP, g, ctx.saved[0]),)

    @classmethod
    def backward_graph(cls, ctx, g):
        s = ctx.saved[0]
        return (cls.grad(_TENSOR, g, ctx.input_tensor(0, s) if cls.saves == "x" else ctx.output_tensor(s)),)


def _special(name: str, fn, saves: str, grad, doc: str):
    """A _Special primitive: y = fn(x) computed in float64, derivative ``grad(m, g, saved)``."""
    return type(name, (_Special,), {"ufunc": staticmethod(_in_float64(fn)), "saves": saves,
                                    "grad": staticmethod(grad), "__doc__": doc, "__module__": __name__})


Lgamma = _special("Lgamma", S.lgamma, "x", lambda m, g, x: g * m.digamma(x),
                  "y = log |Gamma(x)|; dy/dx = digamma(x)")
Digamma = _special("Digamma", S.digamma, "x", lambda m, g, x: g * m.polygamma(1, x),
                   "y = Gamma'(x) / Gamma(x); dy/dx = polygamma(1, x)")
I0 = _special("I0", lambda x: S.bessel_i(x, 0, False), "x", lambda m, g, x: g * m.i1(x),
              "y = I_0(x), the modified Bessel function of the first kind; dy/dx = I_1(x)")
I1 = _special("I1", lambda x: S.bessel_i(x, 1, False), "x", _i1_grad,
              "y = I_1(x); dy/dx = I_0(x) - I_1(x) / x (1/2 at 0)")
I0e = _special("I0e", lambda x: S.bessel_i(x, 0, True), "x",
               lambda m, g, x: g * (m.i1e(x) - m.sign(x) * m.i0e(x)), "y = e^-|x| I_0(x); dy/dx = i1e(x) - sign(x) y")
I1e = _special("I1e", lambda x: S.bessel_i(x, 1, True), "x", _i1e_grad,
               "y = e^-|x| I_1(x); dy/dx = i0e(x) - y (sign(x) + 1/x) (1/2 at 0)")
Erfcx = _special("Erfcx", S.erfcx, "x", lambda m, g, x: g * (2.0 * x * m.erfcx(x) - _TWO_OVER_SQRT_PI),
                 "y = e^(x^2) erfc(x); dy/dx = 2 x y - 2 / sqrt(pi)")
Ndtri = _special("Ndtri", S.ndtri, "y", lambda m, g, y: g * (_SQRT_2PI * m.exp(0.5 * (y * y))),
                 "y = Phi^-1(p); dy/dp = sqrt(2 pi) e^(y^2 / 2)")
LogNdtr = _special("LogNdtr", _log_ndtr64, "x",
                   lambda m, g, x: g * (m.exp(-0.5 * (x * x) - m.log_ndtr(x)) / _SQRT_2PI),
                   "y = log Phi(x); dy/dx = phi(x) / Phi(x) = e^(-x^2 / 2 - y) / sqrt(2 pi)")
Entr = _special("Entr", _entr64, "x", lambda m, g, x: g * -(1.0 + m.log(x)),
                "y = -x log x; dy/dx = -(1 + log x), as PyTorch (inf at 0, NaN below)")


class Polygamma(Primitive):
    """y = psi^(n)(x), the n-th derivative of digamma; dy/dx = psi^(n+1)(x)."""

    @staticmethod
    def forward(ctx, x, n=1):
        ctx.n = n
        ctx.save_for_backward(x)
        return _in_float64(lambda v: S.polygamma(n, v))(x)

    @staticmethod
    def backward(ctx, g):
        return (g * _in_float64(lambda v: S.polygamma(ctx.n + 1, v))(ctx.saved[0]),)

    @staticmethod
    def backward_graph(ctx, g):
        return (g * Polygamma.apply(ctx.input_tensor(0, ctx.saved[0]), n=ctx.n + 1),)


def _where(cond, a, b):
    from eigengrad.tensor_ops.index import where

    return where(cond, a, b)


def _np_polygamma(n, x):
    return S.polygamma(n, x).astype(x.dtype, copy=False) if n else S.digamma(x).astype(x.dtype, copy=False)


def _cast(fn):
    return lambda x: np.asarray(fn(x)).astype(np.asarray(x).dtype, copy=False)


# The functions the derivatives name: over arrays (NumPy backward) and over tensors (differentiable backward).
_NP = SimpleNamespace(digamma=_cast(S.digamma), polygamma=_np_polygamma, i0=I0.ufunc, i1=I1.ufunc, i0e=I0e.ufunc,
                      i1e=I1e.ufunc, erfcx=Erfcx.ufunc, log_ndtr=LogNdtr.ufunc, exp=np.exp, log=np.log, abs=np.abs,
                      sign=np.sign, where=np.where)
_TENSOR = SimpleNamespace(digamma=lambda x: Digamma.apply(x), polygamma=lambda n, x: Polygamma.apply(x, n=n),
                          i0=lambda x: I0.apply(x), i1=lambda x: I1.apply(x), i0e=lambda x: I0e.apply(x),
                          i1e=lambda x: I1e.apply(x), erfcx=lambda x: Erfcx.apply(x),
                          log_ndtr=lambda x: LogNdtr.apply(x), exp=lambda x: ops.Exp.apply(x),
                          log=lambda x: ops.Log.apply(x), abs=lambda x: ops.Abs.apply(x),
                          sign=lambda x: x.sign(), where=_where)
