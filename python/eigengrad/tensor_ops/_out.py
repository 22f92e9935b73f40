"""The ``out=`` argument of PyTorch's functions: the result is written into a given tensor."""
from __future__ import annotations

import warnings

import numpy as np

from eigengrad._errors import ArgumentError, ArgumentTypeError
from eigengrad.autograd.grad_mode import _state as _grad_state
from eigengrad.autograd.version import bump


def write(result, out):
    """Write ``result`` into ``out`` (resized when its shape differs, as PyTorch does) and return ``out``.

    Like PyTorch, ``out=`` does not record the graph: a result that requires grad is refused."""
    if out is None:
        return result
    if not hasattr(out, "_data"):
        raise TypeError(f"out: expected a Tensor, got {type(out).__name__}")
    if _grad_state.enabled and (result.requires_grad or out.requires_grad):
        raise ArgumentError(f"{_caller()}: functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    arr = result._data
    if not np.can_cast(arr.dtype, out._data.dtype, casting="same_kind"):
        raise ArgumentTypeError(f"result type {arr.dtype} can't be cast to the desired output type {out._data.dtype}")
    if out._data.shape != arr.shape:
        if out._data.size:  # (PyTorch's deprecation warning: a resize can hide a wrong out=, such as an input)
            warnings.warn(f"An output with one or more elements was resized since it had shape {list(out._data.shape)}, "
                          f"which does not match the required output shape {list(arr.shape)}. This behavior is "
                          "deprecated, and in a future PyTorch release outputs will not be resized unless they have "
                          "zero elements. You can explicitly reuse an out tensor t by resizing it, inplace, to zero "
                          "elements with t.resize_(0).", UserWarning, stacklevel=3)
        out._data = np.empty(arr.shape, dtype=out._data.dtype)
    np.copyto(out._data, arr, casting="same_kind")
    bump(out)
    return out


def _caller() -> str:
    import sys

    return sys._getframe(2).f_code.co_name
