"""PyTorch's free functions (``torch.exp(x)``, ``torch.cat([...])``, ``torch.einsum(...)``, ...) over eigengrad
tensors: every name of ``tensor_ops``' areas. A function that is also a method (it takes the tensor as
``input``) checks that argument: a NumPy array is taken as a tensor, anything else is a TypeError."""
from __future__ import annotations

import functools

import numpy as np

from eigengrad import tensor_ops
from eigengrad.tensor import Tensor


def _takes_input(name: str, fn):
    code = getattr(fn, "__code__", None)
    first = code.co_varnames[0] if code is not None and code.co_argcount else "input"  # where's is `condition`

    @functools.wraps(fn)
    def f(*args, **kwargs):
        if args:
            input, args = args[0], args[1:]
        elif first in kwargs:  # given by name: torch.where(condition=c, input=a, other=b)
            input = kwargs.pop(first)
        else:
            return fn(*args, **kwargs)  # its own missing-argument TypeError
        if not isinstance(input, Tensor):
            if not isinstance(input, np.ndarray):
                raise TypeError(f"{name}(): argument '{first}' (position 1) must be Tensor, not {type(input).__name__}")
            input = Tensor._wrap(input)
        return fn(input, *args, **kwargs)

    return f


# Functions whose first argument may be a number (torch.pow(2, t), torch.polygamma(n, t), torch.remainder(5, t):
# PyTorch's Scalar-self overloads).
NUMBER_FIRST = {"pow", "float_power", "polygamma", "xlogy", "add", "sub", "subtract", "mul", "multiply", "div",
                "divide", "true_divide", "floor_divide", "remainder", "bitwise_and", "bitwise_or", "bitwise_xor",
                "bitwise_left_shift", "bitwise_right_shift"}


def _build() -> dict:
    methods = {name for area in tensor_ops.AREAS for name in area.METHODS} - NUMBER_FIRST
    out = {}
    for name, fn in tensor_ops.functions().items():
        out[name] = _takes_input(name, fn) if name in methods and callable(fn) and not isinstance(fn, type) else fn
    return out


FUNCTIONS = _build()
globals().update(FUNCTIONS)
__all__ = sorted(FUNCTIONS)
