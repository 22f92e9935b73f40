"""The in-place shape methods: ``t_``, ``transpose_``, ``swapaxes_``/``swapdims_``, ``unsqueeze_``, ``squeeze_``
(the tensor becomes its view: same memory, new shape and strides; recorded like the view op, and refused on a
leaf that requires grad, as PyTorch), and ``resize_``/``resize_as_`` (new storage when it must grow; never
on a tensor that requires grad)."""
from __future__ import annotations

import numpy as np

from eigengrad.autograd.grad_mode import _state as _grad_state
from eigengrad.autograd.inplace import LEAF
from eigengrad.autograd.version import bump
from eigengrad.tensor_ops import _dims
from eigengrad.tensor_ops import shape as _shape


def _becomes(t, fn, *args):
    """``t`` takes the shape (and, when recorded, the history) of the view ``fn(t, *args)``."""
    if _grad_state.enabled and t.requires_grad and t._ctx is None:
        raise RuntimeError(LEAF)
    old = type(t)._wrap(t._data)  # t as it was: the nodes that take it see its old shape
    old._requires_grad, old._ctx, old._counter, old._view = t._requires_grad, t._ctx, t._counter, t._view
    view = fn(old, *args)
    t._data = view._data
    if view._ctx is not None:
        t._ctx, t._view, t._counter = view._ctx, view._view, view._counter
    return t


def t_(self):
    return _becomes(self, _shape.t)


def transpose_(self, dim0: int, dim1: int):
    return _becomes(self, _shape.transpose, dim0, dim1)


def unsqueeze_(self, dim: int):
    return _becomes(self, _shape.unsqueeze, dim)


def squeeze_(self, dim=None):
    return _becomes(self, _shape.squeeze) if dim is None else _becomes(self, _shape.squeeze, dim)


def resize_(self, *sizes, memory_format=None):
    """Gives the tensor ``sizes``: the first elements of its memory when there are enough (a view), else a
    new array holding the old elements first and zeros after (PyTorch leaves those uninitialised)."""
    if self.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    shape = tuple(_dims.check_sizes(_dims.sizes(sizes)))
    n = int(np.prod(shape, dtype=np.int64))
    flat = self._data.reshape(-1) if self._data.flags.c_contiguous else np.ascontiguousarray(self._data).reshape(-1)
    if n <= flat.size:
        self._data = flat[:n].reshape(shape)
    else:
        grown = np.zeros(n, dtype=self._data.dtype)
        grown[:flat.size] = flat
        self._data = grown.reshape(shape)
    bump(self)
    return self


def resize_as_(self, other, memory_format=None):
    return resize_(self, *other.shape)


swapaxes_ = swapdims_ = transpose_
METHODS = ("t_", "transpose_", "swapaxes_", "swapdims_", "unsqueeze_", "squeeze_", "resize_", "resize_as_")
FUNCTIONS = ()
