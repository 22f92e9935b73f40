"""Elementwise functions composed from the primitives (so their first- and second-order gradients come with
them): ``lerp``, ``addcmul``, ``addcdiv``, ``logaddexp``/``logaddexp2``, ``xlogy``, ``hypot``, ``copysign``,
``sinc``, ``frac``, ``deg2rad``/``rad2deg``, ``heaviside``, ``logit``, ``sgn``, ``signbit``, ``positive``,
``fmax``/``fmin``, and their in-place forms."""
from __future__ import annotations

import builtins
import numbers

import numpy as np

from eigengrad._errors import ArgumentError, ArgumentTypeError, DtypeNotSupportedError
from eigengrad.autograd import inplace
from eigengrad.autograd.grad_mode import is_grad_enabled
from eigengrad.autograd.ops import numpy_call
from eigengrad.tensor_ops import _out
from eigengrad.tensor_ops.pointwise import _floating, clamp, exp, log, log1p, sign, sin, trunc


def lerp(input, end, weight, *, out=None):
    """input + weight (end - input), as PyTorch computes it: end - (end - input)(1 - weight) when
    |weight| >= 0.5, so weight 1 gives ``end`` exactly."""
    diff = end - input
    if isinstance(weight, numbers.Number):
        result = input + weight * diff if builtins.abs(weight) < 0.5 else end - diff * (1 - weight)
    else:
        result = _where(weight.abs() < 0.5, input + weight * diff, end - diff * (1 - weight))
    return _out.write(result, out)


def _value_first(name: str, tensor1, tensor2, deprecated: tuple, value) -> tuple:
    """(tensor1, tensor2, value) of ``name(input, value, tensor1, tensor2)``, PyTorch's deprecated order."""
    from eigengrad.tensor_ops.arithmetic import number_first

    t2, number = number_first(name, tensor1, deprecated, "Tensor input, Number value, Tensor tensor1, Tensor tensor2",
                              "Tensor input, Tensor tensor1, Tensor tensor2, *, Number value = 1", value != 1)
    return tensor2, t2, number


def addcmul(input, tensor1, tensor2, *deprecated, value=1, out=None):
    """input + value * tensor1 * tensor2; ``value`` is cast to the tensors' promoted dtype (an integer result stays
    integer, the value truncated, as PyTorch's). ``addcmul(input, value, tensor1, tensor2)``: PyTorch's deprecated
    order, with its warning."""
    from eigengrad.tensor_ops.arithmetic import result_dtype

    if deprecated:
        tensor1, tensor2, value = _value_first("addcmul", tensor1, tensor2, deprecated, value)

    if isinstance(value, float) and result_dtype(input, tensor1, tensor2).kind in "iu":
        value = int(value)
    return _out.write(input + value * tensor1 * tensor2, out)


def addcdiv(input, tensor1, tensor2, *deprecated, value=1, out=None):
    """input + value * tensor1 / tensor2 (integer tensor1 and tensor2 are refused, as PyTorch);
    ``addcdiv(input, value, tensor1, tensor2)``: PyTorch's deprecated order, with its warning."""
    if deprecated:
        tensor1, tensor2, value = _value_first("addcdiv", tensor1, tensor2, deprecated, value)
    if tensor1._data.dtype.kind in "iub" and tensor2._data.dtype.kind in "iub":
        raise ArgumentError("Integer division with addcdiv is no longer supported, and in a future release addcdiv "
                            "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can be "
                            "implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for "
                            "integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The future "
                            "addcdiv behavior is just the latter implementation: (input + value * tensor1 / tensor2), "
                            "for all dtypes.")
    return _out.write(input + value * tensor1 / tensor2, out)


def _where(cond, a, b):
    from eigengrad.tensor_ops.index import where

    return where(cond, a, b)


def _float_pair(input, other):
    """Both operands in their promoted dtype (PyTorch's result_type: a 0-d float64 tensor with an int32 tensor
    is float64, a float32 tensor with a 0-d float64 one float32), the default float for integers; numbers
    stay numbers."""
    from eigengrad.tensor_ops.arithmetic import cast, operand, result_dtype
    from eigengrad.tensor import default_float

    a, b = operand(input), operand(other)
    dt = result_dtype(a, b)
    dt = dt if dt.kind == "f" else default_float()
    return cast(a, dt), cast(b, dt)


def logaddexp(input, other, *, out=None):
    """log(e^a + e^b) without overflow: max(a, b) + log1p(e^-|a - b|) (equal infinities give that infinity)."""
    a, b = _float_pair(input, other)
    hi = _maximum(a, b)
    diff = (a - b).abs()
    same_inf = (a == b) & hi.isinf()
    return _out.write(_where(same_inf, hi, hi + log1p(exp(-_where(same_inf, 0.0, diff)))), out)


def logaddexp2(input, other, *, out=None):
    """log2(2^a + 2^b), as logaddexp in base 2."""
    ln2 = float(np.log(2.0))
    a, b = _float_pair(input, other)
    return _out.write(logaddexp(a * ln2, b * ln2) / ln2, out)


def _maximum(a, b):
    from eigengrad.tensor_ops.arithmetic import maximum

    return maximum(a, b)


def xlogy(input, other, *, out=None):
    """x * log(y), 0 where x is 0 (unless y is NaN), as PyTorch."""
    return _out.write(x_times(log, input, other, 0.0), out)


def x_times(f, input, other, low: float):
    """x * f(y), 0 where x is 0 (unless y is NaN) (xlogy, xlog1py; numbers broadcast). Where f(y) is finite
    the product itself is kept, so that d/dx = f(y) at x = 0 too, as PyTorch's; only where y <= ``low`` (f
    infinite or undefined) is f's argument replaced, and the gradients there are 0; so is y = inf at x = 0
    (0, not 0 * inf)."""
    x, y = _float_pair(input, other)
    from eigengrad.tensor_ops.arithmetic import as_operand_tensor

    y = y if hasattr(y, "_data") else as_operand_tensor(float(y), x)
    x = x if hasattr(x, "_data") else as_operand_tensor(float(x), y)
    outside = (x == 0) & ((y <= low) | (y == float("inf")))
    return _where(outside, 0.0, x * f(_where(outside, 1.0, y)))


def hypot(input, other, *, out=None):
    """sqrt(a^2 + b^2) without overflow or underflow in the squares, in the operands' promoted float dtype."""
    from eigengrad.autograd import ops_pointwise
    from eigengrad.tensor_ops.arithmetic import binary

    a, b = _float_pair(input, other)
    return _out.write(binary(ops_pointwise.Hypot, a, b), out)


def copysign(input, other, *, out=None):
    """|a| with the sign of b (its sign bit: -0.0 counts as negative)."""
    a, b = _float_pair(input, other)
    a = a if hasattr(a, "_data") else _tensor_of(np.asarray(a, dtype=b._data.dtype))
    b = b._data if hasattr(b, "_data") else np.asarray(b)
    sign = np.where(np.signbit(b), -1.0, 1.0).astype(a._data.dtype)
    result = a.abs() * _tensor_of(sign)
    if getattr(other, "requires_grad", False) and is_grad_enabled():  # (other gets a zero gradient, as PyTorch's)
        from eigengrad.autograd.ops import ZeroGradTo

        result = ZeroGradTo.apply(result, other)
    return _out.write(result, out)


def _tensor_of(arr):
    from eigengrad.tensor import Tensor

    return Tensor._wrap(np.asarray(arr))


def sinc(input, *, out=None):
    """sin(pi x) / (pi x), 1 at 0 (where its gradient is 0)."""
    x = _floating(input)
    zero = x == 0
    safe = _where(zero, 1.0, x) * float(np.pi)
    return _out.write(_where(zero, 1.0, sin(safe) / safe), out)


def frac(input, *, out=None):
    """x - trunc(x): the fractional part, with x's sign (floating inputs only, as PyTorch)."""
    if input._data.dtype.kind != "f":
        from eigengrad.tensor_ops.comparison import _torch_name

        raise DtypeNotSupportedError(f"\"frac_cpu\" not implemented for '{_torch_name(input._data.dtype)}'")
    return _out.write(input - trunc(input), out)


def deg2rad(input, *, out=None):
    return _out.write(_floating(input) * float(np.pi / 180.0), out)


def rad2deg(input, *, out=None):
    return _out.write(_floating(input) * float(180.0 / np.pi), out)


def heaviside(input, values, *, out=None):
    """0 where x < 0, 1 where x > 0, ``values`` where x == 0 (no gradient, as PyTorch)."""
    v = values._data if hasattr(values, "_data") else np.asarray(values)
    x = input._data
    if x.dtype != v.dtype:
        raise ArgumentTypeError(f"heaviside is not yet implemented for tensors with different dtypes")
    result = _tensor_of(numpy_call(_heaviside, x, v))  # (a compiled step: one step per call)
    if is_grad_enabled() and any(getattr(t, "requires_grad", False) for t in (input, values)):
        from eigengrad.autograd.ops import NotDifferentiable  # (it requires grad, and backward raises, as PyTorch's)

        result = NotDifferentiable.apply(result, input, values if hasattr(values, "_data") else None, op="heaviside")
    return _out.write(result, out)


def _heaviside(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.where(x == 0, v, (x > 0).astype(x.dtype)).astype(x.dtype)


def logit(input, eps=None, *, out=None):
    """log(p / (1 - p)), with p clamped to [eps, 1 - eps] when ``eps`` is given, as PyTorch's kernel clamps:
    p < eps gives eps, else p > 1 - eps gives 1 - eps (so an eps above 1/2 maps p >= eps to 1 - eps), and the
    gradient is 0 where p was clamped (NaN stays NaN, its gradient too)."""
    p = _floating(input)
    if eps is not None:
        from eigengrad.tensor_ops.index import where

        lo, hi = float(eps), 1.0 - float(eps)
        p = where(p < lo, lo, where(p > hi, hi, p))
    return _out.write(log(p / (1 - p)), out)


def sgn(input, *, out=None):
    """sign(x) (the same for real tensors)."""
    return sign(input, out=out)


def signbit(input, *, out=None):
    """Whether the sign bit is set (True for -0.0 and negative NaN)."""
    return _out.write(_tensor_of(np.signbit(input._data)), out)


def positive(input):
    """The input itself (unary +)."""
    if input._data.dtype.kind == "b":
        raise ArgumentError("The `+` operator, on a bool tensor is not supported.")
    return input


def fmax(input, other, *, out=None):
    """Elementwise maximum that ignores a NaN (NaN only where both are)."""
    return _out.write(_fmaxmin(input, other, True), out)


def fmin(input, other, *, out=None):
    """Elementwise minimum that ignores a NaN (NaN only where both are)."""
    return _out.write(_fmaxmin(input, other, False), out)


def _fmaxmin(a, b, take_max: bool):
    from eigengrad.tensor_ops.arithmetic import as_operand_tensor, maximum, minimum

    b = b if hasattr(b, "_data") else as_operand_tensor(b, a)
    if a._data.dtype.kind != "f" and b._data.dtype.kind != "f":
        return (maximum if take_max else minimum)(a, b)
    # a where it wins or ties, or where b is NaN (so a tie's gradient goes to a, as PyTorch's)
    return _where(((a >= b) if take_max else (a <= b)) | b.isnan(), a, b)


def ldexp(input, other, *, out=None):
    """input * 2^other (differentiable in input); PyTorch's dtype: the power's (a float64 0-d ``other`` makes an
    integer ``input``'s result float64), the default float for integers."""
    factor = 2.0 ** _floating(other) if hasattr(other, "_data") else 2.0 ** other  # (a float: the product is one)
    return _out.write(input * factor, out)


def frexp(input, *, out=None):
    """(mantissa, exponent) with input = mantissa * 2^exponent, |mantissa| in [0.5, 1) (int32 exponents)."""
    from eigengrad import return_types

    m, e = np.frexp(_floating(input)._data)
    return return_types.frexp(_tensor_of(m), _tensor_of(e.astype(np.int32)))


def _integers(a, b, name: str):
    """Both operands' arrays in their promoted integer dtype (PyTorch's: a 0-d tensor does not widen the other)."""
    from eigengrad.tensor_ops.arithmetic import result_dtype

    dt = result_dtype(a, b)
    a = a._data if hasattr(a, "_data") else np.asarray(a)
    b = b._data if hasattr(b, "_data") else np.asarray(b)
    if a.dtype.kind not in "iub" or b.dtype.kind not in "iub":
        raise ArgumentTypeError(f"\"{name}_cpu\" not implemented for floating-point tensors: expected integer tensors, "
                                f"got {a.dtype} and {b.dtype}")
    if dt.kind == "b":
        raise DtypeNotSupportedError(f"\"{name}_cpu\" not implemented for 'Bool'")
    return a.astype(dt, copy=False), b.astype(dt, copy=False)


def gcd(input, other, *, out=None):
    """The elementwise greatest common divisor of two integer tensors (non-negative)."""
    return _out.write(_tensor_of(np.gcd(*_integers(input, other, "gcd"))), out)


def lcm(input, other, *, out=None):
    """The elementwise least common multiple of two integer tensors (non-negative)."""
    return _out.write(_tensor_of(np.lcm(*_integers(input, other, "lcm"))), out)


_COMPOSED_UNARY = ("sinc", "frac", "deg2rad", "rad2deg", "logit", "sgn")
def nextafter(input, other, *, out=None):
    """The next float after ``input`` towards ``other``, in their promoted float dtype; differentiated as PyTorch's:
    the gradient passes to ``input`` where the value moves (0 where input == other), ``other``'s is zero."""
    from eigengrad.tensor_ops.arithmetic import result_dtype
    from eigengrad.tensor_ops.comparison import _torch_name

    b = other._data if hasattr(other, "_data") else np.asarray(other, dtype=input._data.dtype)
    dt = result_dtype(input, other)
    if dt.kind != "f":
        raise DtypeNotSupportedError(f"\"nextafter_cpu\" not implemented for '{_torch_name(dt)}'")
    from eigengrad.autograd.ops import Nextafter

    other = other if hasattr(other, "_data") else _tensor_of(b)
    return _out.write(Nextafter.apply(input.to(dt), other.to(dt)), out)


INPLACE = {name + "_": inplace.method(name, globals()[name]) for name in _COMPOSED_UNARY + (
    "lerp", "addcmul", "addcdiv", "xlogy", "hypot", "copysign", "heaviside", "ldexp", "gcd", "lcm", "nextafter")}
globals().update(INPLACE)
FUNCTIONS = _COMPOSED_UNARY + ("lerp", "addcmul", "addcdiv", "logaddexp", "logaddexp2", "xlogy", "hypot", "copysign",
                               "heaviside", "signbit", "positive", "fmax", "fmin", "ldexp", "frexp", "gcd", "lcm",
                               "nextafter")
METHODS = FUNCTIONS + tuple(INPLACE)
