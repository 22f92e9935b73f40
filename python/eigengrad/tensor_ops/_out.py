"""The ``out=`` argument of PyTorch's functions: the result is written into a given tensor."""
from __future__ import annotations

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
        out._data = np.empty(arr.shape, dtype=out._data.dtype)
    np.copyto(out._data, arr, casting="same_kind")
    bump(out)
    return out


def _caller() -> str:
    import sys

    return sys._getframe(2).f_code.co_name
