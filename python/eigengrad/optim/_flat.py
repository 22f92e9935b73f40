"""Flat parameter and gradient buffers: a param group's tensors as views into one contiguous array.

With the parameters of a group (of one dtype) laid out back to back, an optimizer step is one pass
over one buffer (one kernel call), global-norm clipping is one call, and an allreduce of all
gradients would be one call. Backward writes each gradient into its slot of the gradient buffer.
"""
from __future__ import annotations

import numpy as np

from eigengrad.tensor import Tensor


class FlatBuffer:
    """One contiguous buffer holding ``params`` (all of one dtype) and one for their gradients.

    Construction moves each parameter's values into the buffer and points the parameter at its slot;
    optimizer state arrays made by :meth:`new_state` are laid out the same way.
    """

    def __init__(self, params: list[Tensor]) -> None:
        self.params = params
        self.dtype = params[0].dtype
        sizes = [p._data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        total = int(self.offsets[-1])
        self.data = np.empty(total, dtype=self.dtype)
        self.grad = np.zeros(total, dtype=self.dtype)
        self.data_views = self.split(self.data)
        self.grad_views = self.split(self.grad)
        for p, view, gview in zip(params, self.data_views, self.grad_views):
            view[...] = p._data
            p._data = view
            p._grad_view = gview
            if p.grad is not None:
                gview[...] = p.grad._data
                p.grad = Tensor._wrap(gview)

    def split(self, flat: np.ndarray) -> list[np.ndarray]:
        """Per-parameter views of an array laid out like the buffer."""
        return [flat[a:b].reshape(p.shape) for p, a, b in zip(self.params, self.offsets[:-1], self.offsets[1:])]

    def new_state(self, fill: float = 0.0) -> tuple[np.ndarray, list[np.ndarray]]:
        flat = np.full(self.data.size, fill, dtype=self.dtype)
        return flat, self.split(flat)

    def params_intact(self) -> bool:
        """True while every parameter still lives in its slot (nobody replaced ``p.data``)."""
        return all(p._data is v for p, v in zip(self.params, self.data_views))

    def grads_intact(self) -> bool:
        """True when every parameter has a gradient, written in its slot of the gradient buffer."""
        return all(p.grad is not None and p.grad._data is g for p, g in zip(self.params, self.grad_views))


def build_flat_buffers(params: list[Tensor]) -> list[FlatBuffer]:
    """One FlatBuffer per dtype among ``params`` (kernels take one dtype per call)."""
    by_dtype: dict = {}
    for p in params:
        by_dtype.setdefault(p.dtype, []).append(p)
    return [FlatBuffer(ps) for ps in by_dtype.values()]
