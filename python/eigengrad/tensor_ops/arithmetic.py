"""Arithmetic with PyTorch's type promotion: ``add``/``sub`` (``alpha``), ``mul``, ``div`` (``rounding_mode``),
``floor_divide``, ``remainder``, ``fmod``, ``pow``, ``neg``, ``maximum``/``minimum``, ``square``.

Operands are tensors or Python numbers. The result dtype is ``torch.result_type``'s (``_dtype.result_type``):
int64 * float32 is float32 (NumPy would give float64), a float32 tensor with a 0-d float64 tensor stays
float32, an integer tensor with a Python float gives the default float dtype; true division of integers
gives the default float dtype. Operands are cast to it (differentiably) before the primitive runs.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from eigengrad._errors import ArgumentError, DtypeNotSupportedError, user_stacklevel
from eigengrad import _dtype
from eigengrad.autograd import inplace, ops, ops_pointwise
from eigengrad.tensor_ops import _out

_SCALARS = (int, float, bool)


def _tensor_cls():
    from eigengrad.tensor import Tensor

    return Tensor


def operand(o):
    """Tensors, arrays and Python numbers pass (NumPy scalars become Python numbers, which are weak in the
    promotion, as in PyTorch); a sequence becomes an array constant."""
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, (int, float, bool, complex, np.ndarray)) or hasattr(o, "_data"):
        return o
    if isinstance(o, Sequence) and not isinstance(o, (str, bytes)):
        from eigengrad.tensor import _to_array

        return _to_array(o)
    raise TypeError(f"unsupported operand type: {type(o).__name__}")


def _array(o):
    return o._data if hasattr(o, "_data") else o


def result_dtype(*operands) -> np.dtype:
    """``torch.result_type`` of tensors and numbers (as NumPy dtype)."""
    from eigengrad.tensor import default_float

    return _dtype.result_type(*(_array(o) for o in operands), default_float=default_float())


def cast(o, dt: np.dtype):
    """``o`` in dtype ``dt``: a tensor through ``to`` (differentiable), an array by astype; numbers stay."""
    if hasattr(o, "_data"):
        return o if o._data.dtype == dt else o.to(dt)
    if isinstance(o, np.ndarray):
        return o if o.dtype == dt else o.astype(dt)
    return o


def binary(op, a, b, true_div: bool = False, **options):
    """Apply a broadcasting binary primitive after PyTorch's promotion of both operands."""
    a, b = operand(a), operand(b)
    da, db = getattr(a, "_data", None), getattr(b, "_data", None)
    if op is ops.Sub:
        _no_bool_subtraction(a, da, b, db)
    # the common cases first: two tensors of one float dtype, a float tensor and a Python number
    if da is not None and da.dtype.kind == "f" and (
            (db is not None and db.dtype == da.dtype) or (db is None and type(b) in _SCALARS)):
        return op.apply(a, b, **options)
    if db is not None and db.dtype.kind == "f" and da is None and type(a) in _SCALARS:
        return op.apply(a, b, **options)
    dt = result_dtype(a, b)
    if true_div and dt.kind in "iub":
        from eigengrad.tensor import default_float

        dt = default_float()
    return op.apply(cast(a, dt), cast(b, dt), **options)


def as_operand_tensor(o, like):
    """A number or array as a tensor for a reflected operator (``2 // t``), typed as PyTorch would wrap it."""
    o = operand(o)
    if hasattr(o, "_data"):
        return o
    Tensor = _tensor_cls()
    return Tensor._wrap(np.asarray(o, dtype=result_dtype(like, o) if not isinstance(o, np.ndarray) else None))


def number_first(name: str, number, rest: tuple, old: str, new: str, keyword_given: bool) -> tuple:
    """The arguments of PyTorch's deprecated overloads that take the scalar first (``x.add_(0.1, y)``,
    ``exp_avg_sq.addcmul_(1 - beta2, g, g)`` of pre-2021 optimizers) in today's order: (the tensors after
    the number, the number), with PyTorch's warning. ``old``/``new``: the two signatures, as its message
    names them."""
    import numbers

    if len(rest) != 1 or not isinstance(number, numbers.Number) or isinstance(number, bool) or \
            not hasattr(rest[0], "_data") or keyword_given:
        raise TypeError(f"{name}() received an invalid combination of arguments: expected {new}")
    warnings.warn(f"This overload of {name} is deprecated:\n\t{name}({old})\nConsider using one of the following "
                  f"signatures instead:\n\t{name}({new})", UserWarning, stacklevel=user_stacklevel())
    return rest[0], number


def alpha_first(name: str, number, rest: tuple, alpha) -> tuple:
    """(other, alpha) of add/sub's deprecated ``(alpha, other)`` order (``add(x, 0.1, y)``, ``p.data.add_(-lr,
    d_p)``): number_first with the signatures PyTorch's warning names (the methods, ``add_``/``sub_``, without
    the input)."""
    lead = "" if name.endswith("_") else "Tensor input, "
    return number_first(name, number, rest, f"{lead}Number alpha, Tensor other",
                        f"{lead}Tensor other, *, Number alpha = 1", alpha != 1)


def add(input, other, *deprecated, alpha=1, out=None):
    """input + alpha * other (``add(input, alpha, other)``, PyTorch's deprecated order, with its warning)."""
    if deprecated:
        other, alpha = alpha_first("add", other, deprecated, alpha)
    return _out.write(binary(ops.Add, input, other if alpha == 1 else _scaled(input, other, alpha)), out)


def _no_bool_subtraction(a, da, b, db) -> None:
    """PyTorch refuses ``-`` with a bool operand (a tensor or a Python bool), naming what to use instead."""
    bools = [x is not None and x.dtype == np.bool_ or type(o) is bool for o, x in ((a, da), (b, db))]
    if all(bools):
        raise ArgumentError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                            "`logical_xor()` operator instead.")
    if any(bools):
        raise ArgumentError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
                            "invert a mask, use the `~` or `logical_not()` operator instead.")


def sub(input, other, *deprecated, alpha=1, out=None):
    """input - alpha * other (``sub(input, alpha, other)``, PyTorch's deprecated order, with its warning)."""
    if deprecated:
        other, alpha = alpha_first("sub", other, deprecated, alpha)
    if alpha != 1:  # (refused before scaling: a scaled bool is no longer bool)
        a, b = operand(input), operand(other)
        _no_bool_subtraction(a, getattr(a, "_data", None), b, getattr(b, "_data", None))
    return _out.write(binary(ops.Sub, input, other if alpha == 1 else _scaled(input, other, alpha)), out)


def _scaled(input, other, alpha):
    """alpha * other in the dtype of ``input + other`` (PyTorch scales after promoting, so a float32 0-d
    ``other`` of a float64 sum is scaled in float64, and a bool sum stays bool); a float alpha with integer
    tensors is refused, as PyTorch's."""
    a, b = operand(input), operand(other)
    dt = result_dtype(a, b)
    if dt.kind in "iub" and isinstance(alpha, (float, np.floating)) and not float(alpha).is_integer():
        raise ArgumentError("For integral input tensors, argument alpha must not be a floating point number.")
    b = cast(b, dt)
    if hasattr(b, "_data"):
        return cast(b * alpha, dt)
    return np.asarray(np.multiply(b, alpha)).astype(dt) if isinstance(b, np.ndarray) else b * alpha


def rsub(input, other, *, alpha=1):
    """other - alpha * input."""
    return sub(other if hasattr(other, "_data") else as_operand_tensor(other, input), input, alpha=alpha)


def mul(input, other, *, out=None):
    return _out.write(binary(ops.Mul, input, other), out)


def div(input, other, *, rounding_mode=None, out=None):
    """input / other; ``rounding_mode`` 'trunc' or 'floor' rounds the quotient (no gradient, as PyTorch)."""
    if rounding_mode is None:
        return _out.write(binary(ops.Div, input, other, true_div=True), out)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                         f"'{rounding_mode}'")
    _integer_division_checks(f"div_{rounding_mode}", input, other)
    if type(other) is bool:  # a Python bool divisor is the integer 0 or 1 (an int tensor stays integer)
        other = int(other)
    return _out.write(binary(ops_pointwise.DivRounded, input, other, mode=rounding_mode), out)


def _integer_division_checks(name: str, input, other) -> None:
    """PyTorch's refusals of an integer division (``name`` its kernel): bool operands have no kernel, and an
    integer divisor of zero raises (NumPy would give 0 silently)."""
    a, b = operand(input), operand(other)
    dt = result_dtype(a, b)
    if dt == np.bool_:
        raise DtypeNotSupportedError(f"\"{name}_cpu\" not implemented for 'Bool'")
    if dt.kind in "iu" and np.any(np.asarray(_array(b)) == 0) and \
            0 not in np.broadcast_shapes(np.shape(_array(a)), np.shape(_array(b))):  # (nothing divided: no error)
        raise ArgumentError("ZeroDivisionError")


def floor_divide(input, other, *, out=None):
    return div(input, other, rounding_mode="floor", out=out)


def remainder(input, other, *, out=None):
    """Python's modulo (the sign of the divisor): input - floor(input / other) * other."""
    _integer_division_checks("remainder", input, other)
    return _out.write(binary(ops_pointwise.Remainder, input, other), out)


def fmod(input, other, *, out=None):
    """C's fmod (the sign of the dividend): input - trunc(input / other) * other."""
    _integer_division_checks("fmod", input, other)
    return _out.write(binary(ops_pointwise.Fmod, input, other), out)


def pow(input, exponent, *, out=None):
    """input ** exponent; either may be a number (``pow(2, t)``). Integers to a negative integer number raise;
    to a tensor's negative elements they give PyTorch's 1 / input rounded toward zero (0 but for +-1)."""
    a, b = operand(input), operand(exponent)
    dt = result_dtype(a, b)
    if dt.kind in "iu" and np.any(np.asarray(_array(b)) < 0):
        if not isinstance(b, (np.ndarray, _tensor_cls())):
            raise ArgumentError("Integers to negative integer powers are not allowed.")
        return _out.write(_tensor_cls()._wrap(_int_pow(_array(cast(a, dt)), _array(cast(b, dt)))), out)
    if dt == np.bool_:  # bool ** bool stays bool (NumPy's power would give int8): a ** b is a or not b
        if hasattr(b, "_data") or not hasattr(a, "_data"):  # PyTorch: only a bool tensor ** a Python bool
            raise DtypeNotSupportedError("\"pow\" not implemented for 'Bool'")
        return _out.write(_tensor_cls()._wrap(np.asarray(np.logical_or(_array(a), np.logical_not(_array(b))))), out)
    return _out.write(binary(ops.Pow, a, b), out)


def _int_pow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    negative = b < 0
    res = np.power(a, np.where(negative, 0, b))
    inverse = np.where(a == 1, 1, np.where(a == -1, np.where(b % 2 == 0, 1, -1), 0)).astype(res.dtype)
    return np.where(negative, inverse, res)


def float_power(input, exponent):
    """input ** exponent in float64 (``torch.float_power``)."""
    a, b = operand(input), operand(exponent)
    return binary(ops.Pow, cast(a, np.dtype(np.float64)), cast(b, np.dtype(np.float64)))


def neg(input, *, out=None):
    if input._data.dtype.kind == "b":
        raise ArgumentError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                           "invert a mask, use the `~` or `logical_not()` operator instead.")
    return _out.write(ops.Neg.apply(input), out)


def square(input, *, out=None):
    if input._data.dtype == np.bool_:  # PyTorch: pow(bool, 2) is int64
        input = input.to(np.int64)
    return _out.write(binary(ops.Mul, input, input), out)


def maximum(input, other, *, out=None):
    """Elementwise maximum (NaN propagates; a tie sends half the gradient to each side, as PyTorch)."""
    return _out.write(binary(ops.Maximum, input, other), out)


def minimum(input, other, *, out=None):
    """Elementwise minimum: -maximum(-input, -other) for floats (the same tie and NaN rules); integers and
    bools directly (no gradient)."""
    other = operand(other)
    dt = result_dtype(input, other)
    if dt.kind != "f":
        return _out.write(_tensor_cls()._wrap(np.minimum(_array(cast(input, dt)), _array(cast(other, dt)))), out)
    neg_other = -other if not hasattr(other, "_data") else neg(cast(other, dt))
    return _out.write(neg(binary(ops.Maximum, neg(cast(input, dt)), neg_other)), out)


negative, multiply, divide, subtract, true_divide = neg, mul, div, sub, div

# In-place forms (autograd.inplace: PyTorch's cast rule, version counter, recorded through views); add_,
# sub_, mul_ and div_ are the Tensor's own (the operators +=, -=, *=, /=).
INPLACE = {name + "_": inplace.method(name, globals()[name]) for name in (
    "pow", "neg", "square", "remainder", "fmod", "floor_divide")}


def _alias_of(method: str):
    """``Tensor.<alias>_`` calling the Tensor's own in-place ``method`` (multiply_ is mul_, ...)."""
    def in_place(self, *args, **kwargs):
        return getattr(self, method)(*args, **kwargs)

    in_place.__name__ = in_place.__qualname__ = method
    in_place.__doc__ = f"``{method}`` under PyTorch's other name."
    return in_place


INPLACE.update({"negative_": INPLACE["neg_"], "multiply_": _alias_of("mul_"), "divide_": _alias_of("div_"),
                "true_divide_": _alias_of("div_"), "subtract_": _alias_of("sub_")})
globals().update(INPLACE)

FUNCTIONS = ("add", "sub", "mul", "div", "floor_divide", "remainder", "fmod", "pow", "float_power", "neg",
             "negative", "square", "maximum", "minimum", "multiply", "divide", "subtract", "true_divide", "rsub")
METHODS = FUNCTIONS[:-1] + tuple(INPLACE)
