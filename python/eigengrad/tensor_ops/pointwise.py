"""Elementwise functions (``exp``, ``log``, ``sin``, ``sqrt``, ``clamp``, ``sigmoid``, ...) and their in-place
forms (``exp_``, ...). Integer and bool inputs of the floating functions give the default float dtype, as
in PyTorch; ``abs``, ``sign``, ``relu``, rounding and ``clamp`` with integer bounds keep integer dtypes."""
from __future__ import annotations

import numbers

import numpy as np

from eigengrad._errors import ArgumentTypeError, DtypeNotSupportedError
from eigengrad.autograd import inplace, ops, ops_inplace, ops_pointwise
from eigengrad.tensor_ops import _dims, _out
from eigengrad.tensor_ops.arithmetic import binary, cast, result_dtype


def _floating(x):
    """x itself when float, else cast to the default float dtype (sin of an int tensor is float32)."""
    if x._data.dtype.kind == "f":
        return x
    from eigengrad.tensor import default_float

    return x.to(default_float())


def _floating_op(name: str, primitive, doc: str):
    def f(input, *, out=None):
        return _out.write(primitive.apply(_floating(input)), out)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc
    return f


exp = _floating_op("exp", ops.Exp, "e^x.")
log = _floating_op("log", ops.Log, "Natural logarithm.")
sqrt = _floating_op("sqrt", ops.Sqrt, "Square root.")
sigmoid = _floating_op("sigmoid", ops.Sigmoid, "1 / (1 + e^-x) (C++ kernel).")
tanh = _floating_op("tanh", ops.Tanh, "Hyperbolic tangent (C++ kernel).")
sin = _floating_op("sin", ops_pointwise.Sin, "Sine.")
cos = _floating_op("cos", ops_pointwise.Cos, "Cosine.")
tan = _floating_op("tan", ops_pointwise.Tan, "Tangent.")
asin = _floating_op("asin", ops_pointwise.Asin, "Arcsine.")
acos = _floating_op("acos", ops_pointwise.Acos, "Arccosine.")
atan = _floating_op("atan", ops_pointwise.Atan, "Arctangent.")
sinh = _floating_op("sinh", ops_pointwise.Sinh, "Hyperbolic sine.")
cosh = _floating_op("cosh", ops_pointwise.Cosh, "Hyperbolic cosine.")
log1p = _floating_op("log1p", ops_pointwise.Log1p, "log(1 + x), accurate for small x.")
expm1 = _floating_op("expm1", ops_pointwise.Expm1, "e^x - 1, accurate for small x.")
log2 = _floating_op("log2", ops_pointwise.Log2, "Base-2 logarithm.")
log10 = _floating_op("log10", ops_pointwise.Log10, "Base-10 logarithm.")
exp2 = _floating_op("exp2", ops_pointwise.Exp2, "2^x.")
rsqrt = _floating_op("rsqrt", ops_pointwise.Rsqrt, "1 / sqrt(x).")
reciprocal = _floating_op("reciprocal", ops_pointwise.Reciprocal, "1 / x.")

erf = _floating_op("erf", ops_pointwise.Erf, "The error function, 2/sqrt(pi) int_0^x e^(-t^2) dt.")
erfc = _floating_op("erfc", ops_pointwise.Erfc, "1 - erf(x), accurate where erf(x) is near 1.")
erfinv = _floating_op("erfinv", ops_pointwise.Erfinv, "The inverse of erf on [-1, 1] (+-inf at +-1).")

asinh = _floating_op("asinh", ops_pointwise.Asinh, "Inverse hyperbolic sine.")
acosh = _floating_op("acosh", ops_pointwise.Acosh, "Inverse hyperbolic cosine (NaN below 1).")
atanh = _floating_op("atanh", ops_pointwise.Atanh, "Inverse hyperbolic tangent (+-inf at +-1).")


def atan2(input, other, *, out=None):
    """The angle of the point (other, input) in (-pi, pi]; integer inputs give the default float."""
    return _out.write(binary(ops_pointwise.Atan2, input, other, true_div=True), out)


def _keep_dtype_op(name: str, primitive, doc: str):
    def f(input, *, out=None):
        if input._data.dtype.kind == "b":  # no bool kernel in PyTorch
            raise DtypeNotSupportedError(f"\"{name}_vml_cpu\" not implemented for 'Bool'")
        return _out.write(primitive.apply(input), out)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc
    return f


def abs(input, *, out=None):
    """|x| (gradient sign(x), 0 at 0, as PyTorch)."""
    if input._data.dtype.kind == "b":
        raise ArgumentTypeError("\"abs_cpu\" not implemented for 'Bool'")
    return _out.write(ops.Abs.apply(input), out)


def sign(input, *, out=None):
    """-1, 0 or 1 (0 at NaN, as PyTorch's; a bool tensor is its own sign); zero gradient."""
    if input._data.dtype.kind == "b":
        return _out.write(type(input)._wrap(input._data.copy()), out)
    return _out.write(ops_pointwise.Sign.apply(input), out)



floor = _keep_dtype_op("floor", ops_pointwise.Floor, "Round down; integers unchanged; zero gradient.")
ceil = _keep_dtype_op("ceil", ops_pointwise.Ceil, "Round up; zero gradient.")
trunc = _keep_dtype_op("trunc", ops_pointwise.Trunc, "Round toward zero; zero gradient.")
fix = trunc


def round(input, *, decimals: int = 0, out=None):
    """Round half to even (with ``decimals``, at that many decimal places); zero gradient."""
    if input._data.dtype.kind == "b":  # no bool kernel in PyTorch (NumPy would give float16)
        raise DtypeNotSupportedError("\"round_vml_cpu\" not implemented for 'Bool'")
    if decimals == 0:
        return _out.write(ops_pointwise.Round.apply(input), out)
    return _out.write(ops_pointwise.RoundDecimals.apply(input, decimals=int(decimals)), out)


def relu(input):
    """max(x, 0) (C++ kernel for float tensors; integer tensors stay integer)."""
    if input._data.dtype.kind != "f":
        from eigengrad.tensor import Tensor

        return Tensor._wrap(np.maximum(input._data, 0).astype(input._data.dtype, copy=False))
    return ops.ReLU.apply(input)


def clamp(input, min=None, max=None, *, out=None):
    """min(max(x, min), max) (``max`` wins when min > max; NaN stays NaN); bounds are numbers or tensors
    (broadcast). The result dtype is PyTorch's promotion of input and the bounds."""
    lo, hi = inplace.clamp_bounds(min, max)
    dt = result_dtype(input, *[b for b in (lo, hi) if b is not None])
    x = cast(input, dt)
    lo, hi = (cast(b, dt) if b is not None and hasattr(b, "_data") else b for b in (lo, hi))
    return _out.write(ops_inplace.Clamp.apply(x, lo, hi), out)


clip = clamp


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


def nan_to_num(input, nan: float = 0.0, posinf=None, neginf=None):
    """NaN, +inf and -inf replaced by numbers (by default 0 and the dtype's largest and smallest values);
    the gradient passes where the input was finite."""
    from eigengrad import functions as fn

    data = input._data
    if data.dtype.kind != "f":
        return input.clone()
    info = np.finfo(data.dtype)
    hi = info.max if posinf is None else posinf
    lo = info.min if neginf is None else neginf
    out = fn.where(input.isnan(), nan, input)
    out = fn.where(out == np.inf, hi, out)
    return fn.where(out == -np.inf, lo, out)


def _shifted(input, dim: int, dtype, name: str):
    """``x - max(x)`` over ``dim`` (the max a constant: softmax is shift-invariant); an empty x, copied, has
    nothing to normalise. Softmax needs floats: of ints, the shift and the division would be done in ints."""
    x = input if dtype is None else input.to(dtype)
    if x._data.dtype.kind != "f":  # PyTorch: no kernel for the dtype (NotImplementedError)
        raise DtypeNotSupportedError(f"{name}: expected a float32 or float64 tensor, got dtype {x._data.dtype}")
    _dims.wrap(dim, max(x.ndim, 1))  # PyTorch's IndexError for a dim out of range, also on an empty tensor
    return x * 1.0 if x._data.size == 0 else x - x.amax(dim, keepdim=True).detach()


def softmax(input, dim: int, dtype=None):
    """exp(x - max) / sum over ``dim``."""
    shifted = _shifted(input, dim, dtype, "softmax")
    if shifted.numel() == 0:
        return shifted
    e = shifted.exp()
    return e / e.sum(dim, keepdim=True)


def log_softmax(input, dim: int, dtype=None):
    """x - max - log(sum exp(x - max)) over ``dim``."""
    shifted = _shifted(input, dim, dtype, "log_softmax")
    if shifted.numel() == 0:
        return shifted
    return shifted - shifted.exp().sum(dim, keepdim=True).log()


_UNARY = ("exp", "log", "sqrt", "sigmoid", "tanh", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
          "log1p", "expm1", "log2", "log10", "exp2", "rsqrt", "reciprocal", "abs", "sign", "floor", "ceil",
          "trunc", "round", "relu", "nan_to_num", "fix", "erf", "erfc", "erfinv", "asinh", "acosh", "atanh")
INPLACE = {name + "_": inplace.method(name, globals()[name]) for name in _UNARY + (
    "clamp_min", "clamp_max", "atan2")}
for _name, _fn in INPLACE.items():
    globals()[_name] = _fn
arcsin, arccos, arctan, absolute, arctan2 = asin, acos, atan, abs, atan2
arcsinh, arccosh, arctanh = asinh, acosh, atanh
_OTHERS = ("clamp", "clip", "clamp_min", "clamp_max", "softmax", "log_softmax", "arcsin", "arccos", "arctan", "absolute",
           "atan2", "arctan2", "arcsinh", "arccosh", "arctanh")
INPLACE.update({alias + "_": INPLACE[name + "_"] for alias, name in (
    ("arcsin", "asin"), ("arccos", "acos"), ("arctan", "atan"), ("absolute", "abs"), ("arctan2", "atan2"),
    ("arcsinh", "asinh"), ("arccosh", "acosh"), ("arctanh", "atanh"))})
globals().update(INPLACE)
METHODS = _UNARY + _OTHERS + tuple(INPLACE)
FUNCTIONS = _UNARY + _OTHERS + ("relu_", "sigmoid_", "exp_", "sqrt_")
