"""Elementwise primitives beyond the arithmetic of ``ops.py``: trigonometric, logarithmic and power
functions, rounding (zero gradient, as PyTorch), remainder, fmod and rounded division.

Each unary primitive is a NumPy ufunc plus its derivative written once as ``grad(m, g, saved)``, where
``m`` is a namespace of functions with NumPy's names (``m.cos``, ``m.sin``, ...): NumPy for the ordinary
backward over arrays; the same formula over tensors gives a differentiable backward. ``saves`` says what
the derivative needs, the input ``"x"`` or the output ``"y"`` (PyTorch saves the same one, so an in-place
change of the other does not break backward).
"""
from __future__ import annotations

import math

import numpy as np

from types import SimpleNamespace

from eigengrad.autograd import ops
from eigengrad.autograd.function import Primitive
from eigengrad.autograd.ops import sum_to, unbroadcast

_LN2, _LN10 = math.log(2.0), math.log(10.0)


class UnaryMath(Primitive):
    """y = ufunc(x); backward g * f'(x) from ``grad(m, g, saved)``."""

    ufunc = None
    saves = "x"

    @classmethod
    def forward(cls, ctx, x):
        y = cls.ufunc(x)
        if cls.saves == "x":
            ctx.save_for_backward(x)
        elif cls.saves == "y":
            ctx.save_for_backward(y)
        else:
            ctx.shape = np.shape(x)
        return y

    @classmethod
    def backward(cls, ctx, g):
        if cls.saves is None:
            return (np.zeros(ctx.shape, dtype=g.dtype),)
        return (cls.grad(np, g, ctx.saved[0]),)

    @classmethod
    def backward_graph(cls, ctx, g):
        """The same formula over tensors: the saved input (or output) as a recorded tensor, ``m`` the
        primitives of this module, so the gradient is differentiable again."""
        if cls.saves is None:
            return (g * 0.0,)  # zero, recorded as a function of g (as any gradient under create_graph)
        s = ctx.saved[0]
        return (cls.grad(_TENSOR_MATH, g, ctx.input_tensor(0, s) if cls.saves == "x" else ctx.output_tensor(s)),)

    @staticmethod
    def grad(m, g, s):
        raise NotImplementedError("a UnaryMath subclass with saved values defines grad(m, g, saved) (see _unary)")


def _unary(name: str, ufunc, saves: str | None, grad=None, doc: str = ""):
    """A UnaryMath subclass: ``grad`` is (m, g, saved) -> gradient; None for a piecewise-constant function."""
    attrs = {"ufunc": staticmethod(ufunc), "saves": saves, "__doc__": doc}
    if grad is not None:
        attrs["grad"] = staticmethod(grad)
    return type(name, (UnaryMath,), attrs)


Sin = _unary("Sin", np.sin, "x", lambda m, g, x: g * m.cos(x), "y = sin x; dy/dx = cos x")
Cos = _unary("Cos", np.cos, "x", lambda m, g, x: -(g * m.sin(x)), "y = cos x; dy/dx = -sin x")
Tan = _unary("Tan", np.tan, "y", lambda m, g, y: g * (1 + y * y), "y = tan x; dy/dx = 1 + y^2")
Asin = _unary("Asin", np.arcsin, "x", lambda m, g, x: g / m.sqrt(1 - x * x), "dy/dx = 1 / sqrt(1 - x^2)")
Acos = _unary("Acos", np.arccos, "x", lambda m, g, x: -(g / m.sqrt(1 - x * x)), "dy/dx = -1 / sqrt(1 - x^2)")
Atan = _unary("Atan", np.arctan, "x", lambda m, g, x: g / (1 + x * x), "dy/dx = 1 / (1 + x^2)")
Sinh = _unary("Sinh", np.sinh, "x", lambda m, g, x: g * m.cosh(x), "dy/dx = cosh x")
Cosh = _unary("Cosh", np.cosh, "x", lambda m, g, x: g * m.sinh(x), "dy/dx = sinh x")
Log1p = _unary("Log1p", np.log1p, "x", lambda m, g, x: g / (1 + x), "y = log(1 + x); dy/dx = 1 / (1 + x)")
Expm1 = _unary("Expm1", np.expm1, "y", lambda m, g, y: g * (y + 1), "y = exp(x) - 1; dy/dx = y + 1")
Log2 = _unary("Log2", np.log2, "x", lambda m, g, x: g / (x * _LN2), "dy/dx = 1 / (x ln 2)")
Log10 = _unary("Log10", np.log10, "x", lambda m, g, x: g / (x * _LN10), "dy/dx = 1 / (x ln 10)")
Exp2 = _unary("Exp2", np.exp2, "y", lambda m, g, y: g * y * _LN2, "y = 2^x; dy/dx = y ln 2")
Rsqrt = _unary("Rsqrt", lambda x: 1 / np.sqrt(x), "y", lambda m, g, y: -0.5 * g * (y * y * y),
               "y = 1 / sqrt(x); dy/dx = -y^3 / 2")
Reciprocal = _unary("Reciprocal", np.reciprocal, "y", lambda m, g, y: -(g * (y * y)), "y = 1 / x; dy/dx = -y^2")
Asinh = _unary("Asinh", np.arcsinh, "x", lambda m, g, x: g / m.sqrt(x * x + 1), "dy/dx = 1 / sqrt(x^2 + 1)")
Acosh = _unary("Acosh", np.arccosh, "x", lambda m, g, x: g / m.sqrt(x * x - 1), "dy/dx = 1 / sqrt(x^2 - 1)")
Atanh = _unary("Atanh", np.arctanh, "x", lambda m, g, x: g / (1 - x * x), "dy/dx = 1 / (1 - x^2)")


def _sign(x):
    """np.sign with PyTorch's 0 at NaN (its sign is (0 < x) - (x < 0))."""
    s = np.asarray(np.sign(x))  # (a 0-d input gives a NumPy scalar, which copyto cannot write)
    if s.dtype.kind == "f":
        np.copyto(s, 0, where=s != s)
    return s


Sign = _unary("Sign", _sign, None, doc="sign(x) (0 at 0 and at NaN, as PyTorch's); zero gradient")
Floor = _unary("Floor", np.floor, None, doc="zero gradient")
Ceil = _unary("Ceil", np.ceil, None, doc="zero gradient")
Round = _unary("Round", np.round, None, doc="round half to even, as PyTorch; zero gradient")
Trunc = _unary("Trunc", np.trunc, None, doc="zero gradient")



# --- the error function ---------------------------------------------------------------------------
# NumPy has no erf: the C library's erf/erfc (about 1 ulp, as PyTorch's) and erfinv run as C++ kernels
# (cpp/src/erf.cpp), in double, rounded once to the input's dtype.
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erf_kernel(kind):
    return lambda x: ops.K.erf_forward(kind, x)


Erf = _unary("Erf", _erf_kernel("erf"), "x",
             lambda m, g, x: g * (_TWO_OVER_SQRT_PI * m.exp(-(x * x))), "y = erf x; dy/dx = 2/sqrt(pi) e^(-x^2)")
Erfc = _unary("Erfc", _erf_kernel("erfc"), "x",
              lambda m, g, x: g * (-_TWO_OVER_SQRT_PI * m.exp(-(x * x))), "y = 1 - erf x; dy/dx = -2/sqrt(pi) e^(-x^2)")
Erfinv = _unary("Erfinv", _erf_kernel("erfinv"), "y", lambda m, g, y: g * ((1.0 / _TWO_OVER_SQRT_PI) * m.exp(y * y)),
                "y = erf^-1(x); dy/dx = sqrt(pi)/2 e^(y^2)")

class RoundDecimals(Primitive):
    """round(x, decimals) as PyTorch: x * 10^d rounded half to even, then divided; zero gradient."""

    @staticmethod
    def forward(ctx, x, decimals=0):
        ctx.shape = np.shape(x)
        scale = 10.0 ** decimals
        return (np.round(x * scale) / scale).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return (np.zeros(ctx.shape, dtype=g.dtype),)

    @staticmethod
    def backward_graph(ctx, g):
        return (g * 0.0,)


# The functions the derivative formulas name, as primitives (over tensors): see ``UnaryMath``.
_TENSOR_MATH = SimpleNamespace(cos=lambda x: Cos.apply(x), sin=lambda x: Sin.apply(x), cosh=lambda x: Cosh.apply(x),
                               sinh=lambda x: Sinh.apply(x), sqrt=lambda x: ops.Sqrt.apply(x),
                               exp=lambda x: ops.Exp.apply(x))


# --- binary ---------------------------------------------------------------------------------------------

class _Modulo(Primitive):
    """a - q(a / b) * b with q = floor (remainder) or trunc (fmod): d/da = 1, d/db = -q(a / b)."""

    ufunc = None
    quotient = None

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return cls.ufunc(a, b)

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved
        graph = hasattr(g, "_data")
        fold = sum_to if graph else unbroadcast
        ga = fold(g, np.shape(a)) if ctx.needs_input_grad[0] else None
        gb = None
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):  # the quotient is piecewise constant
                gb = fold(-(g * cls.quotient(np.true_divide(a, b))), np.shape(b))
        return ga, gb

    backward_graph = backward


class Remainder(_Modulo):
    ufunc, quotient = staticmethod(np.remainder), staticmethod(np.floor)


class Fmod(_Modulo):
    ufunc, quotient = staticmethod(np.fmod), staticmethod(np.trunc)


class DivRounded(Primitive):
    """a / b rounded toward zero ('trunc') or down ('floor'); integers stay integers. Zero gradient."""

    @staticmethod
    def forward(ctx, a, b, mode="trunc"):
        ctx.shapes = (np.shape(a), np.shape(b))
        a_arr = np.asarray(a)
        if a_arr.dtype.kind in "iu" and np.asarray(b).dtype.kind in "iu":
            if np.any(np.asarray(b) == 0) and 0 not in np.broadcast_shapes(np.shape(a), np.shape(b)):
                raise RuntimeError("ZeroDivisionError")  # (an empty result divides nothing: no error)
            q = np.floor_divide(a, b)
            if mode == "trunc":  # floor rounds toward -inf; trunc toward 0: add one where signs differ
                q = q + ((np.remainder(a, b) != 0) & ((np.asarray(a) < 0) != (np.asarray(b) < 0)))
            return q.astype(np.result_type(a, b), copy=False)
        with np.errstate(divide="ignore", invalid="ignore"):  # floor: Python's divmod rule, as PyTorch's kernel
            return np.floor_divide(a, b) if mode == "floor" else np.trunc(np.true_divide(a, b))

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        need = ctx.needs_input_grad
        return (np.zeros(sa, g.dtype) if need[0] else None), (np.zeros(sb, g.dtype) if need[1] else None)

    @staticmethod
    def backward_graph(ctx, g):
        sa, sb = ctx.shapes
        need = ctx.needs_input_grad
        return (sum_to(g * 0.0, sa) if need[0] else None), (sum_to(g * 0.0, sb) if need[1] else None)


class Hypot(Primitive):
    """hypot(a, b) = sqrt(a^2 + b^2) without the squares' overflow or underflow (C's hypot, as PyTorch's: float32
    hypot(1e30, 0.5) is 1e30, not inf): d/da = a / h, d/db = b / h."""

    @staticmethod
    def forward(ctx, a, b):
        y = np.hypot(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved
        graph = hasattr(g, "_data")
        if graph:
            a, b, y = ctx.input_tensor(0, a), ctx.input_tensor(1, b), ctx.output_tensor(y)
        fold = sum_to if graph else unbroadcast
        ga = fold(g * a / y, np.shape(ctx.saved[0])) if ctx.needs_input_grad[0] else None
        gb = fold(g * b / y, np.shape(ctx.saved[1])) if ctx.needs_input_grad[1] else None
        return ga, gb

    backward_graph = backward


class Atan2(Primitive):
    """atan2(a, b), the angle of the point (b, a): d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.arctan2(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        graph = hasattr(g, "_data")
        if graph:
            a, b = ctx.input_tensor(0, a), ctx.input_tensor(1, b)
        fold = sum_to if graph else unbroadcast
        r2 = a * a + b * b
        # 1 / r2, 0 at the origin (PyTorch's: both gradients 0 at (0, 0), not NaN)
        r2_values = r2._data if graph else r2
        origin = (r2_values == 0).astype(r2_values.dtype)
        recip = 1.0 / (r2 + origin) * (1 - origin)
        ga = fold(g * b * recip, np.shape(ctx.saved[0])) if ctx.needs_input_grad[0] else None
        gb = fold(-(g * a) * recip, np.shape(ctx.saved[1])) if ctx.needs_input_grad[1] else None
        return ga, gb

    backward_graph = backward
