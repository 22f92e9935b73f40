"""Comparisons (``eq``, ``ne``, ``lt``, ``le``, ``gt``, ``ge`` and their operators), logic (``logical_and``/
``or``/``xor``/``not``, the bitwise ``& | ^ ~`` of bool and integer tensors), ``all``/``any``, ``isnan``/
``isinf``/``isfinite``, ``isclose``/``allclose``/``equal``. Results are bool tensors without gradient;
operands are promoted as PyTorch does first (a float32 tensor compared with a 0-d float64 tensor is
compared in float32)."""
from __future__ import annotations

import numpy as np

from eigengrad import _trace
from eigengrad.autograd import inplace
from eigengrad import _kernels as K
from eigengrad._errors import ArgumentTypeError
from eigengrad.tensor_ops import _dims, _out
from eigengrad.tensor_ops.arithmetic import operand, result_dtype


def _wrap(arr):
    from eigengrad.tensor import Tensor

    return Tensor._wrap(np.asarray(arr))


def _arr(o, dt):
    a = o._data if hasattr(o, "_data") else o
    if isinstance(a, np.ndarray) and a.dtype != dt:
        return a.astype(dt)
    return a


def _compare(ufunc, name: str):
    def f(input, other, *, out=None):
        other = operand(other)
        dt = result_dtype(input, other)
        return _out.write(_wrap(K.ufunc(ufunc.__name__, _arr(input, dt), _arr(other, dt))), out)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise ``{ufunc.__name__}`` with broadcasting: a bool tensor."
    return f


eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")
lt = _compare(np.less, "lt")
le = _compare(np.less_equal, "le")
gt = _compare(np.greater, "gt")
ge = _compare(np.greater_equal, "ge")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _logical(ufunc, name: str):
    def f(input, other, *, out=None):
        other = operand(other)
        return _out.write(_wrap(K.ufunc(ufunc.__name__, input._data, getattr(other, "_data", other))), out)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise ``{name}`` of the truth values (nonzero is true): a bool tensor."
    return f


logical_and = _logical(np.logical_and, "logical_and")
logical_or = _logical(np.logical_or, "logical_or")
logical_xor = _logical(np.logical_xor, "logical_xor")


def logical_not(input, *, out=None):
    return _out.write(_wrap(K.ufunc("logical_not", input._data)), out)


def _bitwise(ufunc, name: str):
    def f(input, other):
        other = operand(other)
        dt = result_dtype(input, other)
        if dt.kind not in "iub":
            raise ArgumentTypeError(f"\"{name}_cpu\" not implemented for '{_torch_name(dt)}'")
        return _wrap(K.ufunc(ufunc.__name__, _arr(input, dt), _arr(other, dt)))

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise ``{name}`` of bool or integer tensors (the ``{ufunc.__name__}`` operator)."
    return f


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")


def _shift(name: str, kernel: str, left: bool):
    def f(input, other):
        other = operand(other)
        dt = result_dtype(input, other)
        if dt.kind not in "iu":
            raise ArgumentTypeError(f"\"{kernel}_cpu\" not implemented for '{_torch_name(dt)}'")
        a, b = np.asarray(_arr(input, dt), dtype=dt), np.asarray(_arr(other, dt), dtype=dt)
        # a count below 0 or at least the width shifts every bit out, as PyTorch's: 0 to the left, the sign
        # to the right (C leaves those shifts undefined, and NumPy's answer depends on the CPU)
        out_of_range = (b < 0) | (b >= dt.itemsize * 8)
        count = np.where(out_of_range, 0, b).astype(dt)
        if left:
            res = np.where(out_of_range, dt.type(0), np.left_shift(a, count))
        else:
            res = np.where(out_of_range, np.where(a < 0, dt.type(-1) if dt.kind == "i" else 0, dt.type(0)),
                           np.right_shift(a, count))
        return _wrap(np.asarray(res, dtype=dt))

    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"Elementwise ``input {'<<' if left else '>>'} other`` of integer tensors (arithmetic shift; "
                 "a count outside [0, bits) shifts every bit out, as PyTorch's).")
    return f


bitwise_left_shift = _shift("bitwise_left_shift", "lshift", True)
bitwise_right_shift = _shift("bitwise_right_shift", "rshift", False)


def bitwise_not(input):
    if input._data.dtype.kind not in "iub":
        raise ArgumentTypeError(f"\"bitwise_not_cpu\" not implemented for '{_torch_name(input._data.dtype)}'")
    return _wrap(K.ufunc("invert", input._data))


def _torch_name(dt) -> str:
    from eigengrad.autograd.inplace import _torch_name as name

    return name(dt)


def _truth(name: str, ufunc):
    def f(input, dim=None, keepdim: bool = False, *, out=None):
        if isinstance(dim, (tuple, list)) and len(dim) == 0:  # dim=(): no dim reduced, as PyTorch's
            return _out.write(_wrap((input._data != 0).astype(np.uint8 if input._data.dtype == np.uint8 else bool)),
                              out)
        axes = _dims.dims(dim, input.ndim)
        res = ufunc(input._data, axis=axes, keepdims=keepdim)
        # uint8 input gives uint8, anything else bool (PyTorch's rule)
        return _out.write(_wrap(np.asarray(res, dtype=np.uint8 if input._data.dtype == np.uint8 else np.bool_)), out)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"Whether {'every' if name == 'all' else 'some'} element is nonzero, over ``dim`` (an int, a tuple "
                 "or None for all).")
    return f


all = _truth("all", np.all)
any = _truth("any", np.any)


def isnan(input):
    return _wrap(K.ufunc("isnan", input._data))


def isinf(input):
    return _wrap(K.ufunc("isinf", input._data))


def isfinite(input):
    return _wrap(K.ufunc("isfinite", input._data))


def isposinf(input):
    return _wrap(K.ufunc("isposinf", input._data))


def isneginf(input):
    return _wrap(K.ufunc("isneginf", input._data))


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    """|input - other| <= atol + rtol |other| elementwise."""
    other = operand(other)
    if hasattr(other, "_data") and other._data.dtype != input._data.dtype:  # PyTorch wants one dtype
        raise RuntimeError(f"{_torch_name(input._data.dtype)} did not match {_torch_name(other._data.dtype)}")
    close = K.broadcasting(lambda a, b: np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan),
                           (input._data, getattr(other, "_data", other)))
    return _wrap(close)


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    _trace.reject("allclose() inside the step: a Python bool read from the values")
    return builtins_all(isclose(input, other, rtol, atol, equal_nan)._data.ravel().tolist())


def equal(input, other) -> bool:
    """True when both have the same shape and elements (``torch.equal``)."""
    _trace.reject("equal() inside the step: a Python bool read from the values")
    return input.shape == other.shape and bool(np.array_equal(input._data, other._data))


import builtins  # noqa: E402

builtins_all = builtins.all

FUNCTIONS = ("eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal",
             "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
             "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "all", "any", "isnan", "isinf", "isfinite",
             "isposinf", "isneginf", "isclose", "allclose",
             "equal")

# In-place forms (autograd.inplace): x.lt_(y) writes the 0/1 result in x's dtype, as PyTorch's
INPLACE = {n + "_": inplace.method(n, globals()[n]) for n in (
    "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal", "logical_and",
    "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "bitwise_left_shift", "bitwise_right_shift")}
globals().update(INPLACE)
METHODS = FUNCTIONS + tuple(INPLACE)
